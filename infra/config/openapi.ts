/**
 * Upstream pools with an `openapi` source: their documents become routes (components/openapi),
 * appended to the hand-written ones before the cross-field checks run, so generated and
 * hand-written routes obey the same rules (unique names, one owner per path and listener). A
 * missing, unreadable or unsupported document is a configuration problem naming the field and
 * the JSON pointer inside the document.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { OpenApiError, routesFromOpenApi } from "../../components/openapi/routes";
import { DEFAULTS } from "./defaults";
import type { ConfigProblem } from "./load";
import type { TierConfigParsed } from "./schema";
import type { RouteValidation } from "../../components/nginx/types";

/** Where relative document paths start: the project root (the directory of Pulumi.yaml). */
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/** A route as the rest of the program sees it: hand-written, or generated from an OpenAPI document. */
export type RouteConfig = TierConfigParsed["routes"][number] & {
    /** The full path template when the OpenAPI path has {params}; `path` then holds its literal part before the first {. */
    readonly template?: string;
    /** What each operation requires of a request (generated routes only). */
    readonly validation?: RouteValidation;
    /** The document a generated route comes from. */
    readonly source?: string;
};

export function expandOpenApiRoutes(tier: TierConfigParsed, root = PROJECT_ROOT): { routes: RouteConfig[]; problems: ConfigProblem[] } {
    const routes: RouteConfig[] = [...tier.routes];
    const problems: ConfigProblem[] = [];
    tier.upstreams.forEach((pool, i) => {
        const source = pool.openapi;
        if (!source) return;
        const field = `tier.upstreams[${i}].openapi.document`;
        const file = path.join(root, source.document);
        let document: unknown;
        try {
            document = YAML.parse(fs.readFileSync(file, "utf8"));
        } catch (err) {
            const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : `is not readable YAML/JSON: ${(err as Error).message.split("\n")[0]}`;
            problems.push({ path: field, message: `${source.document} ${reason}` });
            return;
        }
        try {
            for (const generated of routesFromOpenApi(document, pool.name, source.basePath)) {
                const literal = generated.template ? generated.template.slice(0, generated.template.indexOf("{")) : generated.path;
                routes.push({
                    name: generated.name,
                    path: literal,
                    exact: generated.template === undefined,
                    methods: generated.methods,
                    upstream: pool.name,
                    protocol: "http",
                    apiKey: source.apiKey,
                    ...(source.signature ? { signature: source.signature } : {}),
                    ...(source.jwt ? { jwt: source.jwt } : {}),
                    listeners: source.listeners,
                    timeouts: { connect: DEFAULTS.connectTimeoutSeconds, send: DEFAULTS.sendTimeoutSeconds, read: DEFAULTS.readTimeoutSeconds },
                    ...(generated.template ? { template: generated.template } : {}),
                    validation: generated.validation,
                    source: source.document,
                });
            }
        } catch (err) {
            if (!(err instanceof OpenApiError)) throw err;
            problems.push({ path: field, message: `${source.document}#${err.message}` });
        }
    });
    return { routes, problems };
}
