/**
 * Reads and validates the tier configuration. Nothing is registered before this passes; all
 * problems are returned at once, each with its field path (e.g. `tier.aws.instanceType`).
 */
import * as fs from "fs";
import * as YAML from "yaml";
import { tierSchema, TierConfigParsed } from "./schema";
import { crossFieldProblems } from "./cross-checks";
import { expandOpenApiRoutes, type RouteConfig } from "./openapi";
import { readJwksFiles } from "./jwks";
import type { PublicJwk } from "../../components/services/render-auth-policy";

/** The Pulumi project name and the config key holding the tier object. */
export const PROJECT_NAME = "api-proxy-security";
export const TIER_CONFIG_KEY = `${PROJECT_NAME}:tier`;
/** Secret config: the inventory target's SSH private key (its delivery account). */
export const SSH_PRIVATE_KEY_CONFIG_KEY = "sshPrivateKey";

export interface ConfigProblem {
    /** Dotted path from the config key, e.g. `tier.routes[2].path`. */
    readonly path: string;
    readonly message: string;
}

export class ConfigError extends Error {
    constructor(readonly source: string, readonly problems: readonly ConfigProblem[]) {
        super(`${source}: ${problems.length} configuration problem(s):\n` +
            problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n"));
        this.name = "ConfigError";
    }
}

/** The validated tier: hand-written routes plus those generated from OpenAPI documents, and
 *  the public keys of JWT issuers given by jwksFile (issuer name -> keys). */
export type TierConfig = Omit<TierConfigParsed, "routes"> & { readonly routes: RouteConfig[]; readonly jwksFiles?: Readonly<Record<string, PublicJwk[]>> };
/** A tier whose target is aws: the schema guarantees its `aws` section. */
export type AwsTierConfig = TierConfig & { readonly target: "aws"; readonly aws: NonNullable<TierConfig["aws"]> };
/** A tier whose target is inventory: the schema guarantees its `inventory` section. */
export type InventoryTierConfig = TierConfig & { readonly target: "inventory"; readonly inventory: NonNullable<TierConfig["inventory"]> };
/** One host of the inventory. */
export type InventoryHostConfig = InventoryTierConfig["inventory"]["hosts"][number];
/** A tier whose target is local: the schema guarantees its `local` section. */
export type LocalTierConfig = TierConfig & { readonly target: "local"; readonly local: NonNullable<TierConfig["local"]> };

export function formatPath(path: readonly PropertyKey[]): string {
    let out = "tier";
    for (const part of path) {
        out += typeof part === "number" ? `[${part}]` : `.${String(part)}`;
    }
    return out;
}

/** Validates a raw tier object; throws ConfigError listing every problem. */
export function validateTierConfig(raw: unknown, source = "config"): TierConfig {
    const parsed = tierSchema.safeParse(raw);
    if (!parsed.success) {
        const problems = parsed.error.issues.map((issue) => {
            if (issue.code === "unrecognized_keys") {
                return { path: formatPath(issue.path), message: `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")} (typo?)` };
            }
            return { path: formatPath(issue.path), message: issue.message };
        });
        throw new ConfigError(source, problems);
    }
    const expanded = expandOpenApiRoutes(parsed.data);
    if (expanded.problems.length > 0) {
        throw new ConfigError(source, expanded.problems);
    }
    const jwks = readJwksFiles(parsed.data);
    if (jwks.problems.length > 0) {
        throw new ConfigError(source, jwks.problems);
    }
    const tier: TierConfig = { ...parsed.data, routes: expanded.routes, jwksFiles: jwks.jwks };
    const problems = crossFieldProblems(tier);
    if (problems.length > 0) {
        throw new ConfigError(source, problems);
    }
    return tier;
}

/** Stack file path for a stack name (stackConfigDir: stacks). */
export function stackFilePath(projectRoot: string, stack: string): string {
    return `${projectRoot}/stacks/Pulumi.${stack}.yaml`;
}

/** Reads stacks/Pulumi.<stack>.yaml and validates its tier object. */
export function loadStackFile(file: string): TierConfig {
    if (!fs.existsSync(file)) {
        throw new ConfigError(file, [{ path: "(file)", message: "stack configuration file does not exist" }]);
    }
    let document: unknown;
    try {
        document = YAML.parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
        throw new ConfigError(file, [{ path: "(file)", message: `is not valid YAML: ${(err as Error).message}` }]);
    }
    const config = (document as { config?: Record<string, unknown> } | null)?.config;
    if (!config || typeof config !== "object") {
        throw new ConfigError(file, [{ path: "config", message: "the stack file has no `config:` mapping" }]);
    }
    if (!(TIER_CONFIG_KEY in config)) {
        throw new ConfigError(file, [{ path: TIER_CONFIG_KEY, message: "is missing: the tier object is required" }]);
    }
    return validateTierConfig(config[TIER_CONFIG_KEY], file);
}

/** For the command-line tools: the stack's validated tier, or undefined after printing every
 *  problem to stderr (the tool then exits 2, having changed nothing). */
export function loadStackOrReport(projectRoot: string, stack: string): TierConfig | undefined {
    try {
        return loadStackFile(stackFilePath(projectRoot, stack));
    } catch (err) {
        if (err instanceof ConfigError) {
            console.error(err.message);
            return undefined;
        }
        throw err;
    }
}

/** For the command-line tools taking `<stack> [--out PATH]`: the two, or undefined when the
 *  arguments do not fit (the tool then prints its usage and exits 2). */
export function stackAndOut(argv: readonly string[]): { stack: string; out?: string } | undefined {
    const stack = argv.find((a) => !a.startsWith("--"));
    const outAt = argv.indexOf("--out");
    if (stack === undefined || (outAt >= 0 && (!argv[outAt + 1] || argv[outAt + 1].startsWith("--")))) return undefined;
    return { stack, ...(outAt >= 0 ? { out: argv[outAt + 1] } : {}) };
}
