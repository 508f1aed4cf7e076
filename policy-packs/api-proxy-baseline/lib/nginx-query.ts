/**
 * Questions the policies ask of a parsed nginx configuration, answered with nginx's own
 * inheritance rules:
 *  - single-value directives (server_tokens, client_max_body_size, ssl_protocols...): the
 *    innermost level that sets it wins;
 *  - array directives (add_header, proxy_hide_header, limit_req, ssl_conf_command...): a level
 *    inherits the outer list only if it declares none of its own — the classic pitfall where
 *    one add_header in a location silently drops every server-level security header.
 */
import type { Directive } from "./nginx-parse";

export interface Scope {
    readonly kind: string;
    readonly directives: readonly Directive[];
    readonly source: string;
}

/** Outermost first: [http, server, location, nested location...]. */
export type Chain = readonly Scope[];

export interface Listen {
    readonly port: number | undefined;
    readonly ssl: boolean;
    readonly source: string;
}

export interface LocationView {
    readonly chain: Chain;
    readonly modifier: string;
    readonly path: string;
    /** proxy_pass / grpc_pass in the location itself (or its if / limit_except blocks). */
    readonly passes: readonly Directive[];
    /** `internal;` or a named location: reachable only by subrequests and internal redirects, never by a client URI. */
    readonly internal: boolean;
    readonly source: string;
}

export interface ServerView {
    readonly chain: Chain;
    readonly listens: readonly Listen[];
    readonly tls: boolean;
    readonly label: string;
    readonly source: string;
    readonly locations: readonly LocationView[];
}

export interface NginxView {
    readonly main: Scope;
    readonly http: Scope | undefined;
    readonly servers: readonly ServerView[];
    /** `stream {}` blocks: raw TCP proxying that bypasses every HTTP control. */
    readonly streams: readonly Scope[];
}

export const PASS_DIRECTIVES: readonly string[] = ["proxy_pass", "grpc_pass"];

export function own(scope: Scope, name: string): Directive[] {
    return scope.directives.filter((d) => d.name === name);
}

/** The innermost value of a single-value directive. */
export function effective(chain: Chain, name: string): Directive | undefined {
    for (let i = chain.length - 1; i >= 0; i--) {
        const found = own(chain[i], name);
        if (found.length > 0) {
            return found[found.length - 1];
        }
    }
    return undefined;
}

/** The effective list of an array directive (inherited only when a level declares none). */
export function effectiveList(chain: Chain, name: string): Directive[] {
    for (let i = chain.length - 1; i >= 0; i--) {
        const found = own(chain[i], name);
        if (found.length > 0) {
            return found;
        }
    }
    return [];
}

/** Every occurrence of `name` anywhere in the tree (for "everywhere it appears" rules). */
export function everywhere(directives: readonly Directive[], name: string): Directive[] {
    const out: Directive[] = [];
    for (const d of directives) {
        if (d.name === name) {
            out.push(d);
        }
        if (d.block) {
            out.push(...everywhere(d.block, name));
        }
    }
    return out;
}

function scopeOf(d: Directive): Scope {
    return { kind: d.name, directives: d.block ?? [], source: d.source };
}

function parseListen(d: Directive): Listen {
    const address = d.args[0] ?? "";
    let port: number | undefined;
    if (/^\d+$/.test(address)) {
        port = Number(address);
    } else if (address.startsWith("unix:")) {
        port = undefined;
    } else {
        const m = /:(\d+)$/.exec(address);
        port = m ? Number(m[1]) : 80;
    }
    return { port, ssl: d.args.slice(1).includes("ssl"), source: d.source };
}

/** proxy_pass / grpc_pass of a location, looking through if / limit_except but not nested locations. */
function passesOf(directives: readonly Directive[]): Directive[] {
    const out: Directive[] = [];
    for (const d of directives) {
        if (PASS_DIRECTIVES.includes(d.name)) {
            out.push(d);
        } else if (d.block && (d.name === "if" || d.name === "limit_except")) {
            out.push(...passesOf(d.block));
        }
    }
    return out;
}

function collectLocations(parent: Chain, directives: readonly Directive[], into: LocationView[]): void {
    for (const d of directives) {
        if (d.name !== "location" || !d.block) {
            continue;
        }
        const [first = "", second] = d.args;
        const modifier = second !== undefined ? first : "";
        const path = second !== undefined ? second : first;
        const chain = [...parent, scopeOf(d)];
        // A named location (@name) is never addressed by a client URI either: only error_page,
        // try_files and internal redirects (e.g. an njs validator's) reach it.
        const internal = d.block.some((x) => x.name === "internal") || path.startsWith("@");
        into.push({ chain, modifier, path, passes: passesOf(d.block), internal, source: d.source });
        collectLocations(chain, d.block, into);
    }
}

export function viewOf(tree: readonly Directive[]): NginxView {
    const main: Scope = { kind: "main", directives: tree, source: "main" };
    const httpDirective = tree.find((d) => d.name === "http" && d.block);
    const http = httpDirective ? scopeOf(httpDirective) : undefined;
    const streams = tree.filter((d) => d.name === "stream" && d.block).map(scopeOf);
    const servers: ServerView[] = [];
    for (const d of http?.directives ?? []) {
        if (d.name !== "server" || !d.block || !http) {
            continue;
        }
        const server = scopeOf(d);
        const chain: Chain = [http, server];
        const listens = own(server, "listen").map(parseListen);
        const sslOn = effective(chain, "ssl")?.args[0] === "on";
        const names = own(server, "server_name").flatMap((n) => n.args);
        const ports = [...new Set(listens.map((l) => l.port).filter((p) => p !== undefined))];
        const locations: LocationView[] = [];
        collectLocations(chain, d.block, locations);
        servers.push({
            chain,
            listens,
            tls: sslOn || listens.some((l) => l.ssl),
            label: `server ${names[0] ?? "_"}:${ports.join(",") || "80"} (${d.source})`,
            source: d.source,
            locations,
        });
    }
    return { main, http, servers, streams };
}

/** "2M" -> 2097152. nginx accepts k/K, m/M, g/G suffixes; undefined when malformed. */
export function parseSize(text: string): number | undefined {
    const m = /^(\d+)([kKmMgG]?)$/.exec(text.trim());
    if (!m) {
        return undefined;
    }
    const unit = m[2].toLowerCase();
    const factor = unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1;
    return Number(m[1]) * factor;
}

/** "50r/s" -> 50, "600r/m" -> 10 (requests per second). */
export function parseRate(text: string): number | undefined {
    const m = /^(\d+(?:\.\d+)?)r\/([sm])$/.exec(text.trim());
    if (!m) {
        return undefined;
    }
    return m[2] === "s" ? Number(m[1]) : Number(m[1]) / 60;
}

export interface RateZone {
    readonly name: string;
    readonly key: string;
    readonly ratePerSecond: number | undefined;
    readonly rateText: string;
    readonly source: string;
}

/** limit_req_zone definitions (http context). */
export function rateZones(view: NginxView): RateZone[] {
    if (!view.http) {
        return [];
    }
    return everywhere(view.http.directives, "limit_req_zone").map((d) => {
        const zoneArg = d.args.find((a) => a.startsWith("zone=")) ?? "";
        const rateArg = d.args.find((a) => a.startsWith("rate=")) ?? "";
        const rateText = rateArg.slice("rate=".length);
        return {
            name: zoneArg.slice("zone=".length).split(":")[0],
            key: d.args[0] ?? "",
            ratePerSecond: parseRate(rateText),
            rateText,
            source: d.source,
        };
    });
}

/** The zone name of a `limit_req zone=NAME ...` directive. */
export function limitReqZone(d: Directive): string | undefined {
    return d.args.find((a) => a.startsWith("zone="))?.slice("zone=".length);
}

/** Header name (lower-case) -> value, of the effective add_header list at a chain. */
export function effectiveHeaders(chain: Chain): Map<string, string> {
    const headers = new Map<string, string>();
    for (const d of effectiveList(chain, "add_header")) {
        if (d.args[0] !== undefined) {
            headers.set(d.args[0].toLowerCase(), d.args[1] ?? "");
        }
    }
    return headers;
}

/** Values of `ssl_conf_command NAME value` effective at a chain (command names case-insensitive). */
export function sslConfCommand(chain: Chain, command: string): Directive | undefined {
    const matches = effectiveList(chain, "ssl_conf_command").filter((d) => (d.args[0] ?? "").toLowerCase() === command.toLowerCase());
    return matches[matches.length - 1];
}

/** URIs used as `auth_request` targets anywhere (their responses never reach the client). */
export function authRequestTargets(view: NginxView): Set<string> {
    return new Set(everywhere(view.main.directives, "auth_request").map((d) => d.args[0] ?? "").filter((u) => u !== "off"));
}
