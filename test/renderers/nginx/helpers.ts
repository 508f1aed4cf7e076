/** Shared view of a rendered config: the parsed tree and its servers/locations. */
import { renderNginx } from "../../../components/nginx";
import { nginxLayout } from "../../../components/nginx/layout";
import type { NginxSpec } from "../../../components/nginx/types";
import type { HostFile } from "../../../components/core/host-file";
import { argsOf, children, only, parseRendered, walk, type Directive } from "./parse";

export interface Rendered {
    readonly files: HostFile[];
    readonly text: string;
    /** Directive names and arguments only (comments dropped). */
    readonly directivesText: string;
    readonly main: Directive[];
    readonly http: Directive;
    readonly publicServer: Directive;
    readonly mtlsServer: Directive;
    readonly healthServer: Directive;
    file(suffix: string): HostFile;
}

export function render(spec: NginxSpec): Rendered {
    const files = renderNginx(spec);
    const main = parseRendered(files, nginxLayout(spec).mainConf);
    const http = only(main, "http");
    const servers = children(http, "server");
    const byPort = (port: number) => {
        const found = servers.filter((s) => children(s, "listen").some((l) => l.args[0] === String(port) || l.args[0].endsWith(`:${port}`)));
        if (found.length !== 1) throw new Error(`expected one server on ${port}, found ${found.length}`);
        return found[0];
    };
    return {
        files,
        text: files.map((f) => f.content).join("\n"),
        directivesText: walk(main).map((d) => `${d.name} ${d.args.join(" ")}`).join("\n"),
        main,
        http,
        publicServer: byPort(spec.httpsPort),
        mtlsServer: byPort(spec.mtlsPort),
        healthServer: byPort(spec.health.port),
        file: (suffix) => {
            const found = files.find((f) => f.path.endsWith(suffix));
            if (found === undefined) throw new Error(`no rendered file ends with ${suffix}`);
            return found;
        },
    };
}

export function locations(server: Directive): Directive[] {
    return children(server, "location");
}

/** "/api/v1/orders/" or "= /api/v1/status" -> the location directive. */
export function location(server: Directive, matcher: string): Directive {
    const found = locations(server).filter((l) => argsOf(l) === matcher);
    if (found.length !== 1) throw new Error(`expected one location ${matcher}, found ${found.length}`);
    return found[0];
}

/** Client-reachable locations that reach an upstream (the internal key check excluded). */
export function proxiedLocations(server: Directive): Directive[] {
    return locations(server).filter(
        (l) => children(l, "internal").length === 0 && children(l, "proxy_pass").length + children(l, "grpc_pass").length > 0,
    );
}

export function routeMatcher(route: { pathPrefix: string; exact: boolean }): string {
    return route.exact ? `= ${route.pathPrefix}` : route.pathPrefix;
}

export function values(parent: Directive | readonly Directive[], name: string): string[] {
    return children(parent, name).map(argsOf);
}
