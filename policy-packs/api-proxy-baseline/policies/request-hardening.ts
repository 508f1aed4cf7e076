/**
 * nginx request handling beyond TLS and headers: slow-client timeouts, bounded header buffers,
 * the upstream circuit breaker, logging, and (advisory) TLS session tickets. Each reads the
 * parsed configuration of every proxy host (nginx-parse + nginx-query, nginx's own inheritance).
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import type { Directive } from "../lib/nginx-parse";
import { effective, everywhere, type NginxView } from "../lib/nginx-query";
import { configSchemaFor } from "./config";
import { onNginx, tlsServers } from "./host-config";

/** nginx time values: "10", "10s", "1m", "500ms" -> seconds; undefined when malformed. */
export function parseSeconds(text: string | undefined): number | undefined {
    const m = /^(\d+)(ms|s|m|h)?$/.exec(text ?? "");
    if (!m) return undefined;
    const n = Number(m[1]);
    return m[2] === "ms" ? n / 1000 : m[2] === "m" ? n * 60 : m[2] === "h" ? n * 3600 : n;
}

const CLIENT_TIMEOUTS = ["client_header_timeout", "client_body_timeout", "send_timeout", "keepalive_timeout"] as const;

export const nginxClientTimeouts: StackValidationPolicy = {
    name: "nginx-client-timeouts",
    description: "Checks that slow clients are cut: client_header_timeout, client_body_timeout, send_timeout and keepalive_timeout are set (nginx's defaults are 60-75 s) and at most the ceiling in every server.",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("maxClientTimeoutSeconds"),
    validateStack: onNginx((view, cfg, report) => {
        for (const server of tlsServers(view)) {
            for (const name of CLIENT_TIMEOUTS) {
                const d = effective(server.chain, name);
                const seconds = parseSeconds(d?.args[0]);
                if (d === undefined) {
                    report(`${server.label} has no ${name} (nginx's default is 60 s or more; a slow client holds the connection): set it to at most ${cfg.maxClientTimeoutSeconds} s.`);
                } else if (seconds === undefined || seconds <= 0 || seconds > cfg.maxClientTimeoutSeconds) {
                    report(`${name} at ${d.source} is "${d.args.join(" ")}"; it must be 1-${cfg.maxClientTimeoutSeconds} s.`);
                }
            }
        }
    }),
};

export const nginxHeaderBuffersBounded: StackValidationPolicy = {
    name: "nginx-header-buffers-bounded",
    description: "Checks that request headers are bounded: large_client_header_buffers is set with buffers of at most the ceiling (oversized request lines and headers are refused, not buffered).",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("maxLargeHeaderBufferKb"),
    validateStack: onNginx((view, cfg, report) => {
        for (const server of tlsServers(view)) {
            const d = effective(server.chain, "large_client_header_buffers");
            if (d === undefined) {
                report(`${server.label} has no large_client_header_buffers: bound the request line and headers explicitly.`);
                continue;
            }
            const size = /^(\d+)k$/i.exec(d.args[1] ?? "");
            const count = Number(d.args[0]);
            if (!size || !Number.isInteger(count) || count < 1 || Number(size[1]) > cfg.maxLargeHeaderBufferKb) {
                report(`large_client_header_buffers at ${d.source} is "${d.args.join(" ")}"; each buffer must be at most ${cfg.maxLargeHeaderBufferKb}k.`);
            }
        }
    }),
};

/** `server` lines of the upstream blocks that proxied locations name (pool -> servers). */
function upstreamServers(view: NginxView): Map<string, Directive[]> {
    const pools = new Map<string, Directive[]>();
    for (const d of everywhere(view.http?.directives ?? [], "upstream")) {
        pools.set(d.args[0], (d.block ?? []).filter((s) => s.name === "server"));
    }
    return pools;
}

export const nginxUpstreamCircuitBreaker: StackValidationPolicy = {
    name: "nginx-upstream-circuit-breaker",
    description: "Checks that the seed's circuit breaker is in place: every server of a proxied upstream pool is taken out after failures (max_fails >= 1 with a fail_timeout), and every proxied location bounds its retries (proxy/grpc_next_upstream_tries set and not 0, which is unbounded).",
    enforcementLevel: "mandatory",
    validateStack: onNginx((view, _cfg, report) => {
        const pools = upstreamServers(view);
        const used = new Set<string>();
        for (const server of view.servers) {
            for (const location of server.locations) {
                for (const pass of location.passes) {
                    const pool = /^(?:https?|grpcs?):\/\/([^/:$]+)/.exec(pass.args[0] ?? "")?.[1];
                    if (pool !== undefined && pools.has(pool)) used.add(pool);
                    const prefix = pass.name === "grpc_pass" ? "grpc" : "proxy";
                    const tries = effective(location.chain, `${prefix}_next_upstream_tries`);
                    if (tries === undefined || tries.args[0] === "0") {
                        report(`location ${location.path} (${location.source}) of ${server.label} has ${tries ? `${prefix}_next_upstream_tries 0 (unbounded)` : `no ${prefix}_next_upstream_tries (unbounded retries)`}: bound it.`);
                    }
                }
            }
        }
        for (const pool of used) {
            for (const s of pools.get(pool) ?? []) {
                const maxFails = s.args.find((a) => a.startsWith("max_fails="))?.slice("max_fails=".length);
                const failTimeout = s.args.find((a) => a.startsWith("fail_timeout="));
                if (maxFails === "0" || (maxFails !== undefined && !/^[1-9]\d*$/.test(maxFails)) || failTimeout === undefined) {
                    report(`upstream ${pool} server ${s.args[0]} (${s.source}) ${maxFails === "0" ? "disables the breaker (max_fails=0)" : "needs max_fails >= 1 and a fail_timeout"}: a dead peer must be taken out (fast 503), not retried.`);
                }
            }
        }
    }),
};

export const nginxLogging: StackValidationPolicy = {
    name: "nginx-logging",
    description: "Checks that requests and errors are logged: an error_log at main level, and an access_log in effect (not off) in every TLS server, in a format with escape=json, whose condition (if any) skips nothing but sampled 429 refusals; and that a flood cannot grow the logs at its own rate: limit_req/limit_conn refusals log below error_log's level.",
    enforcementLevel: "mandatory",
    validateStack: onNginx((view, _cfg, report) => {
        const errorLog = view.main.directives.find((d) => d.name === "error_log");
        if (errorLog === undefined || errorLog.args[0] === "/dev/null") {
            report(`nginx.conf has ${errorLog ? "error_log /dev/null" : "no error_log at main level"}: errors must be logged.`);
        }
        const formats = new Map(everywhere(view.http?.directives ?? [], "log_format").map((d) => [d.args[0], d]));
        for (const server of tlsServers(view)) {
            const access = effective(server.chain, "access_log");
            if (access === undefined || access.args[0] === "off") {
                report(`${server.label} ${access ? `switches access_log off (${access.source})` : "has no access_log"}: requests must be logged.`);
                continue;
            }
            const format = formats.get(access.args[1] ?? "combined");
            if (!format?.args.includes("escape=json")) {
                report(`access_log at ${access.source} uses format "${access.args[1] ?? "combined"}", which is not a JSON format (log_format ... escape=json).`);
            }
            const condition = access.args.find((a) => a.startsWith("if="))?.slice(3);
            if (condition !== undefined) {
                for (const problem of unloggedAnswers(view, condition)) report(`access_log at ${access.source} (${condition}): ${problem}`);
            }
        }
        // One error-log line per refused request grows the log with the attacker's rate (~4 MB/s
        // at 19k refusals/s): refusals must log below the error_log level (and be sampled in the access log).
        const http = view.http?.directives ?? [];
        const errorLevel = errorLog?.args[1] ?? "error";
        for (const [name, zone] of [["limit_req_log_level", "limit_req_zone"], ["limit_conn_log_level", "limit_conn_zone"]]) {
            const set = everywhere(http, name);
            // Unset, nginx logs refusals at "error" - wherever the limit is used at all.
            const levels = set.length > 0 ? set.map((d) => ({ level: d.args[0], what: `${name} ${d.args[0]} at ${d.source}` }))
                : everywhere(http, zone).length > 0 ? [{ level: "error", what: `${name} unset (nginx logs refusals at "error")` }] : [];
            for (const { what } of levels.filter((l) => LOG_LEVELS.indexOf(l.level) <= LOG_LEVELS.indexOf(errorLevel))) {
                report(`${what} is at or above error_log's level (${errorLevel}): each refused request writes an error-log line, so a flood fills the log; log refusals at a lower level and sample them in the access log.`);
            }
        }
    }),
};

/** nginx's error_log levels, most severe first. */
const LOG_LEVELS = ["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"];

/** What an access_log `if=$var` leaves unlogged: $var must come from a map whose default logs
 *  (not "" or "0") and whose only unlogged entries are keyed on status 429 (sampled refusals). */
function unloggedAnswers(view: NginxView, variable: string): string[] {
    const map = everywhere(view.http?.directives ?? [], "map").find((d) => d.args[1] === variable);
    if (!map) return [`${variable} is not set by a map at http level, so what it leaves unlogged cannot be checked`];
    const off = (value: string | undefined) => value === undefined || value === "" || value === "0";
    const problems: string[] = [];
    const entries = map.block ?? [];
    const fallback = entries.find((e) => e.name === "default");
    if (off(fallback?.args[0])) problems.push(`the map at ${map.source} leaves every answer it does not list unlogged (default ${fallback?.args[0] ?? "\"\""})`);
    for (const e of entries.filter((e) => e.name !== "default" && off(e.args[0]))) {
        if (!/^429(:|$)/.test(e.name)) problems.push(`the map at ${e.source} leaves "${e.name}" unlogged: only refusals (429) may be sampled`);
    }
    return problems;
}

export const nginxSessionTicketsOff: StackValidationPolicy = {
    name: "nginx-session-tickets-off",
    description: "Checks that ssl_session_tickets is off in every TLS server (nginx's default is on, with a key that is never rotated: forward secrecy is lost for resumed sessions). Advisory: tickets with rotated keys are acceptable.",
    enforcementLevel: "advisory",
    validateStack: onNginx((view, _cfg, report) => {
        for (const server of tlsServers(view)) {
            const d = effective(server.chain, "ssl_session_tickets");
            if (d?.args[0] !== "off") {
                report(`${server.label} leaves ssl_session_tickets ${d ? d.args[0] : "on (nginx's default)"}: turn it off unless ticket keys are rotated.`);
            }
        }
    }),
};

/** Raw request paths a normalising upstream (a servlet container, a proxy chain) could read
 *  differently from nginx's routing: each must be caught before it is proxied. */
export const AMBIGUOUS_PATHS: readonly string[] = [
    "/a/..;/b", "/a/x;jsessionid=1/b", "/a/%2e%2e/b", "/a/%2E%2E/b", "/a/%c0%ae%c0%ae/b", "/a//b", "/a/%2fb", "/a/%5cb", "/a/%252e/b", "/a\\b",
];

/** The map variables set from $request_uri, as JavaScript regexes per value ("0"/"" = not flagged). */
function requestUriMaps(view: NginxView): Map<string, { regex: RegExp; value: string }[]> {
    const maps = new Map<string, { regex: RegExp; value: string }[]>();
    for (const d of everywhere(view.http?.directives ?? [], "map")) {
        if (d.args[0] !== "$request_uri" || d.args[1] === undefined) continue;
        const entries: { regex: RegExp; value: string }[] = [];
        for (const entry of d.block ?? []) {
            const m = /^~(\*?)(.*)$/.exec(entry.name);
            if (!m) continue;
            try {
                entries.push({ regex: new RegExp(m[2], m[1] ? "i" : ""), value: entry.args[0] ?? "" });
            } catch {
                // A PCRE-only construct: that entry catches nothing the pack can prove.
            }
        }
        maps.set(d.args[1], entries);
    }
    return maps;
}

function flagged(entries: readonly { regex: RegExp; value: string }[], uri: string): boolean {
    const hit = entries.find((e) => e.regex.test(uri));
    return hit !== undefined && hit.value !== "0" && hit.value !== "";
}

export const nginxEncodedPathsRefused: StackValidationPolicy = {
    name: "nginx-encoded-paths-refused",
    description: "Checks that every client-reachable location that proxies or validates refuses ambiguous raw paths (path parameters, encoded dots/slashes/backslashes/percents, overlong UTF-8, backslashes, empty segments) with `if ($var) { return 400; }` on a map of $request_uri that catches each of them: nginx routes on the normalised path but proxies the raw one.",
    enforcementLevel: "mandatory",
    validateStack: onNginx((view, _cfg, report) => {
        const maps = requestUriMaps(view);
        for (const server of tlsServers(view)) {
            for (const location of server.locations) {
                const own = location.chain[location.chain.length - 1].directives;
                const handles = location.passes.length > 0 || own.some((d) => d.name === "js_content");
                if (location.internal || !handles) continue;
                const guards = own.filter((d) => d.name === "if" && /^\(?\$[A-Za-z0-9_]+\)?$/.test(d.args.join(""))
                    && (d.block ?? []).some((b) => b.name === "return" && b.args[0] === "400"));
                const variables = guards.map((d) => d.args.join("").replace(/[()]/g, ""));
                const caught = (uri: string) => variables.some((v) => flagged(maps.get(v) ?? [], uri));
                const missed = AMBIGUOUS_PATHS.filter((uri) => !caught(uri));
                if (missed.length > 0) {
                    report(`location ${location.path} (${location.source}) of ${server.label} proxies raw paths such as ${missed.slice(0, 3).join(", ")} without refusing them (if ($var) { return 400; } on a map of $request_uri).`);
                }
            }
        }
    }),
};

export const requestHardeningPolicies = [nginxEncodedPathsRefused, nginxClientTimeouts, nginxHeaderBuffersBounded, nginxUpstreamCircuitBreaker, nginxLogging, nginxSessionTicketsOff];
