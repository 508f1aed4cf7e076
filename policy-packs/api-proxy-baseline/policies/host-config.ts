/**
 * The rendered host configuration, read from the text the resources carry (user data, launch
 * template user data, Image Builder components) and parsed by the pack's own nginx reader —
 * never the renderer's model. Each policy is one control, so a violation names it.
 *
 * The checks run per HOST FILE SET (lib/file-sets.ts), not per resource: the golden image
 * spreads nginx.conf and its includes over several components, and only their union is what
 * a host runs. That needs sibling resources, so these are stack policies; a violation names
 * the carrier of the offending file. A set without nginx config is fine;
 * `proxy-host-config-present` makes sure every proxy gets one somewhere.
 */
import type { PolicyResource, ReportViolation, StackValidation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { NGINX_CONF, SYSCTL_FILE, carriedFiles, nginxFiles, type CarriedFiles } from "../lib/carriers";
import { blame, hostFileSets, type HostFileSet } from "../lib/file-sets";
import { launchTemplateOf, proxyGroups } from "../lib/auto-scaling";
import { NginxParseError, parseWithIncludes } from "../lib/nginx-parse";
import {
    authRequestTargets, effective, effectiveHeaders, effectiveList, everywhere, limitReqZone, own, parseSize, rateZones, sslConfCommand, viewOf,
    type Chain, type LocationView, type NginxView, type ServerView,
} from "../lib/nginx-query";
import { TYPES, asRecord, asString, identifiersOf, known, ofType, roleOf } from "../lib/resource";
import { configSchemaFor, readConfig, type BaselineConfig } from "./config";
import * as NGINX_APPROVED from "../../../components/nginx/constants";

/** The NIST SP 800-52r2 allow-lists the stack schema and the nginx renderer use (components/nginx/constants.ts): one list for all three. */
export const APPROVED_TLS12_CIPHERS: readonly string[] = [...NGINX_APPROVED.APPROVED_TLS12_CIPHERS];
export const APPROVED_TLS13_SUITES: readonly string[] = [...NGINX_APPROVED.APPROVED_TLS13_CIPHERSUITES];
export const APPROVED_PROTOCOLS: readonly string[] = [...NGINX_APPROVED.APPROVED_TLS_PROTOCOLS];
/** The approved groups under each name OpenSSL accepts for them in rendered text (ssl_ecdh_curve, Groups). */
const GROUP_ALIASES: Readonly<Record<string, readonly string[]>> = {
    "P-256": ["P-256", "prime256v1", "secp256r1"], "P-384": ["P-384", "secp384r1"], "P-521": ["P-521", "secp521r1"],
};
export const APPROVED_GROUPS: readonly string[] = NGINX_APPROVED.APPROVED_TLS_GROUPS.flatMap((g) => GROUP_ALIASES[g] ?? [g]);

// ---------------------------------------------------------------------------------------------
// Shared plumbing

type ParsedNginx = { readonly view: NginxView } | { readonly error: string };
const parseCache = new Map<string, ParsedNginx>();

/** Parses a carrier's nginx files once per distinct content (the same bundle feeds many policies). */
function parseCarrier(files: ReadonlyMap<string, string>): ParsedNginx {
    const key = JSON.stringify([...files.entries()].sort(([a], [b]) => a.localeCompare(b)));
    const cached = parseCache.get(key);
    if (cached) {
        return cached;
    }
    let result: ParsedNginx;
    try {
        result = { view: viewOf(parseWithIncludes(files, NGINX_CONF)) };
    } catch (err) {
        if (!(err instanceof NginxParseError)) {
            throw err;
        }
        result = { error: err.message };
    }
    if (parseCache.size > 32) {
        parseCache.clear();
    }
    parseCache.set(key, result);
    return result;
}

type NginxCheck = (view: NginxView, cfg: BaselineConfig, report: (message: string) => void, hostFiles: ReadonlyMap<string, string>) => void;

/**
 * Reports once per (message, carrier): a carrier can sit in several sets (an image set and the
 * image + user data overlay of an instance), and the same finding must not repeat.
 */
function reporterFor(reportViolation: ReportViolation): (message: string, urn?: string) => void {
    const seen = new Set<string>();
    return (message, urn) => {
        const key = `${urn ?? ""}\u0000${message}`;
        if (!seen.has(key)) {
            seen.add(key);
            reportViolation(message, urn);
        }
    };
}

/** A stack validation that runs `check` on every host file set holding nginx.conf that parses. */
export function onNginx(check: NginxCheck): StackValidation {
    return async (args: StackValidationArgs, reportViolation: ReportViolation) => {
        const cfg = readConfig(args);
        const report = reporterFor(reportViolation);
        for (const set of await hostFileSets(args.resources)) {
            const files = nginxFiles(set);
            if (!files) {
                continue;
            }
            const parsed = parseCarrier(files);
            if ("error" in parsed) {
                continue; // nginx-config-parses reports it
            }
            check(parsed.view, cfg, (message) => report(message, blame(set, message, NGINX_CONF)?.urn), set.files);
        }
    };
}

function conflictMessage(set: HostFileSet, path: string, carriers: readonly PolicyResource[]): string {
    return `Host files conflict in ${set.label}: ${path} is written with different content by ${carriers.map((c) => c.name).join(", ")}; `
        + "the host's copy depends on component order, so its configuration cannot be verified.";
}

export function tlsServers(view: NginxView): ServerView[] {
    return view.servers.filter((s) => s.tls);
}

function proxiedLocations(view: NginxView): { server: ServerView; location: LocationView }[] {
    return view.servers.flatMap((server) => server.locations.filter((l) => l.passes.length > 0).map((location) => ({ server, location })));
}

function locationLabel(server: ServerView, location: LocationView): string {
    return `location ${location.modifier ? `${location.modifier} ` : ""}${location.path} (${location.source}) of ${server.label}`;
}

function enabledProtocols(chain: Chain): string[] {
    // nginx >= 1.23.4 defaults to TLSv1.2 TLSv1.3.
    return effective(chain, "ssl_protocols")?.args.slice() ?? ["TLSv1.2", "TLSv1.3"];
}

// ---------------------------------------------------------------------------------------------
// Host file set checks (stack policies: one pass over every set, see lib/file-sets.ts)

export const nginxConfigParses: StackValidationPolicy = {
    name: "nginx-config-parses",
    description: "Checks that every carried cloud-config/component document can be read, that no host file set writes one path with two contents, and that each set's nginx configuration (nginx.conf with its includes) parses; an unreadable config cannot be verified.",
    enforcementLevel: "mandatory",
    validateStack: async (args, reportViolation) => {
        const report = reporterFor(reportViolation);
        for (const set of await hostFileSets(args.resources)) {
            for (const carrier of set.carriers) {
                const carried = await carriedFiles(carrier.type, carrier.props);
                for (const problem of carried?.problems ?? []) {
                    report(`Host files cannot be read: ${problem}.`, carrier.urn);
                }
            }
            for (const conflict of set.conflicts) {
                report(conflictMessage(set, conflict.path, conflict.carriers), conflict.carriers[conflict.carriers.length - 1].urn);
            }
            const files = nginxFiles(set);
            if (!files) {
                continue;
            }
            const parsed = parseCarrier(files);
            if ("error" in parsed) {
                report(`nginx configuration does not parse: ${parsed.error}.`, blame(set, parsed.error, NGINX_CONF)?.urn);
            }
        }
    },
};

export const nginxTlsProtocols: StackValidationPolicy = {
    name: "nginx-tls-protocols",
    description: "Checks that nginx enables only TLSv1.2/TLSv1.3 and that every TLS server has ssl_protocols set (in the server or at http level).",
    enforcementLevel: "mandatory",
    validateStack: onNginx((view, _cfg, report) => {
        for (const d of everywhere(view.main.directives, "ssl_protocols")) {
            const bad = d.args.filter((p) => !APPROVED_PROTOCOLS.includes(p));
            if (bad.length > 0) {
                report(`ssl_protocols at ${d.source} enables ${bad.join(", ")}; only ${APPROVED_PROTOCOLS.join(" ")} are allowed (NIST SP 800-52r2 3.1).`);
            }
        }
        for (const server of tlsServers(view)) {
            if (!effective(server.chain, "ssl_protocols")) {
                report(`${server.label} has no ssl_protocols (in the server or at http level); set "ssl_protocols TLSv1.2 TLSv1.3".`);
            }
        }
    }),
};

function cipherEntries(cipherString: string): string[] {
    return cipherString.split(/[:,\s]+/).filter((c) => c.length > 0 && !/^[!\-+@]/.test(c));
}

export const nginxTlsCiphers: StackValidationPolicy = {
    name: "nginx-tls-ciphers",
    description: "Checks that nginx allows only NIST SP 800-52r2 suites: ECDHE with AES-GCM for TLS 1.2 (ssl_ciphers) and AES-GCM for TLS 1.3 (ssl_conf_command Ciphersuites, or where nginx lacks it the openssl.cnf its unit loads) - the stack schema's own lists - set for every TLS server.",
    enforcementLevel: "mandatory",
    validateStack: onNginx((view, _cfg, report, hostFiles) => {
        const viaOpenssl = opensslTls13Suites(hostFiles);
        if (viaOpenssl) {
            const bad = viaOpenssl.suites.filter((s) => !APPROVED_TLS13_SUITES.includes(s));
            if (bad.length > 0 || viaOpenssl.suites.length === 0) {
                report(`${viaOpenssl.path} (OPENSSL_CONF of the nginx unit) allows TLS 1.3 suites ${bad.join(", ") || "by default"}; they must be among ${APPROVED_TLS13_SUITES.join(":")}.`);
            }
        }
        for (const d of everywhere(view.main.directives, "ssl_ciphers")) {
            const bad = cipherEntries(d.args.join(":")).filter((c) => !APPROVED_TLS12_CIPHERS.includes(c));
            if (bad.length > 0) {
                report(`ssl_ciphers at ${d.source} allows ${bad.join(", ")}; TLS 1.2 suites must be ECDHE with AES-GCM (${APPROVED_TLS12_CIPHERS.join(":")}).`);
            }
        }
        for (const d of everywhere(view.main.directives, "ssl_conf_command")) {
            if ((d.args[0] ?? "").toLowerCase() !== "ciphersuites") {
                continue;
            }
            const bad = (d.args[1] ?? "").split(":").filter((s) => s.length > 0 && !APPROVED_TLS13_SUITES.includes(s));
            if (bad.length > 0 || !d.args[1]) {
                report(`ssl_conf_command Ciphersuites at ${d.source} allows ${bad.join(", ") || "nothing"}; TLS 1.3 suites must be among ${APPROVED_TLS13_SUITES.join(":")}.`);
            }
        }
        for (const server of tlsServers(view)) {
            const protocols = enabledProtocols(server.chain);
            if (protocols.includes("TLSv1.2") && !effective(server.chain, "ssl_ciphers")) {
                report(`${server.label} enables TLS 1.2 without ssl_ciphers; nginx's default (HIGH:!aNULL:!MD5) admits CBC and SHA-1 suites.`);
            }
            if (protocols.includes("TLSv1.3") && !sslConfCommand(server.chain, "Ciphersuites") && !viaOpenssl) {
                report(`${server.label} enables TLS 1.3 without "ssl_conf_command Ciphersuites" (or an openssl.cnf the nginx unit loads); OpenSSL's default admits TLS_CHACHA20_POLY1305_SHA256.`);
            }
        }
    }),
};

/**
 * Where nginx has no ssl_conf_command (1.18), the TLS 1.3 suites come from an OpenSSL
 * configuration its systemd unit names (Environment=OPENSSL_CONF=...): that file's
 * Ciphersuites, when both the unit line and the file are among the host's files.
 */
function opensslTls13Suites(hostFiles: ReadonlyMap<string, string>): { path: string; suites: string[] } | undefined {
    for (const [path, content] of hostFiles) {
        if (!/\/nginx\.service(\.d\/[^/]+\.conf)?$/.test(path)) continue;
        const conf = /^Environment=OPENSSL_CONF=(\S+)\s*$/m.exec(content)?.[1];
        const text = conf === undefined ? undefined : hostFiles.get(conf);
        if (conf === undefined || text === undefined) continue;
        const line = /^\s*Ciphersuites\s*=\s*(\S*)\s*$/m.exec(text);
        return { path: conf, suites: (line?.[1] ?? "").split(":").filter((s) => s.length > 0) };
    }
    return undefined;
}

export const nginxTlsGroups: StackValidationPolicy = {
    name: "nginx-tls-groups",
    description: "Checks that nginx key exchange uses only NIST groups P-256/P-384/P-521 (ssl_ecdh_curve, ssl_conf_command Groups/Curves), set for every TLS server.",
    enforcementLevel: "mandatory",
    validateStack: onNginx((view, _cfg, report) => {
        const checkList = (list: string, where: string): void => {
            const bad = list.split(":").filter((g) => g.length > 0 && !APPROVED_GROUPS.includes(g));
            if (bad.length > 0 || list.length === 0) {
                report(`${where} allows ${bad.join(", ") || "the default groups"}; only P-256, P-384 and P-521 (prime256v1/secp256r1, secp384r1, secp521r1) are allowed (NIST SP 800-52r2 3.3.2).`);
            }
        };
        for (const d of everywhere(view.main.directives, "ssl_ecdh_curve")) {
            checkList(d.args[0] ?? "", `ssl_ecdh_curve at ${d.source}`);
        }
        for (const d of everywhere(view.main.directives, "ssl_conf_command")) {
            const command = (d.args[0] ?? "").toLowerCase();
            if (command === "groups" || command === "curves") {
                checkList(d.args[1] ?? "", `ssl_conf_command ${d.args[0]} at ${d.source}`);
            }
        }
        for (const server of tlsServers(view)) {
            if (!effective(server.chain, "ssl_ecdh_curve") && !sslConfCommand(server.chain, "Groups") && !sslConfCommand(server.chain, "Curves")) {
                report(`${server.label} sets no ssl_ecdh_curve; nginx's "auto" offers X25519, which NIST SP 800-52r2 does not list.`);
            }
        }
    }),
};

export const nginxServerTokensOff: StackValidationPolicy = {
    name: "nginx-server-tokens-off",
    description: "Checks that nginx does not reveal its version: server_tokens off in effect for every server, never switched back on.",
    enforcementLevel: "mandatory",
    validateStack: onNginx((view, _cfg, report) => {
        for (const d of everywhere(view.main.directives, "server_tokens")) {
            if (d.args[0] !== "off" || d.args.length !== 1) {
                report(`server_tokens at ${d.source} is "${d.args.join(" ")}"; it must be off.`);
            }
        }
        for (const server of view.servers) {
            if (!effective(server.chain, "server_tokens")) {
                report(`${server.label} has no server_tokens (nginx defaults to on); set "server_tokens off" at http level.`);
            }
        }
    }),
};

export const nginxHideUpstreamHeaders: StackValidationPolicy = {
    name: "nginx-hide-upstream-headers",
    description: "Checks that every proxied location hides the upstream's Server and X-Powered-By headers (proxy_hide_header, or grpc_hide_header for grpc_pass), honouring nginx's array inheritance; internal auth_request targets are exempt.",
    enforcementLevel: "mandatory",
    validateStack: onNginx((view, _cfg, report) => {
        const authTargets = authRequestTargets(view);
        for (const { server, location } of proxiedLocations(view)) {
            // An internal auth_request target: nginx uses only its status, its headers never reach the client.
            if (location.internal && location.modifier === "=" && authTargets.has(location.path)) {
                continue;
            }
            const kinds = new Set(location.passes.map((p) => p.name));
            for (const pass of kinds) {
                const directive = pass === "grpc_pass" ? "grpc_hide_header" : "proxy_hide_header";
                const hidden = effectiveList(location.chain, directive).map((d) => (d.args[0] ?? "").toLowerCase());
                const missing = ["Server", "X-Powered-By"].filter((h) => !hidden.includes(h.toLowerCase()));
                if (missing.length > 0) {
                    report(`${locationLabel(server, location)} does not hide upstream header(s) ${missing.join(", ")}; add "${directive} ${missing[0]}" (a ${directive} in the location drops inherited ones).`);
                }
            }
        }
    }),
};

function missingSecurityHeaders(chain: Chain, cfg: BaselineConfig): string[] {
    const headers = effectiveHeaders(chain);
    const missing: string[] = [];
    const frame = headers.get("x-frame-options")?.toUpperCase();
    if (frame !== "DENY" && frame !== "SAMEORIGIN") {
        missing.push("X-Frame-Options (DENY or SAMEORIGIN)");
    }
    if (headers.get("x-content-type-options")?.toLowerCase() !== "nosniff") {
        missing.push("X-Content-Type-Options nosniff");
    }
    if (!headers.get("content-security-policy")?.trim()) {
        missing.push("Content-Security-Policy");
    }
    const maxAge = /max-age=(\d+)/i.exec(headers.get("strict-transport-security") ?? "")?.[1];
    if (maxAge === undefined || Number(maxAge) < cfg.minHstsMaxAgeSeconds) {
        missing.push(`Strict-Transport-Security (max-age >= ${cfg.minHstsMaxAgeSeconds})`);
    }
    return missing;
}

export const nginxSecurityHeaders: StackValidationPolicy = {
    name: "nginx-security-headers",
    description: "Checks that every TLS server and each of its locations sends X-Frame-Options, X-Content-Type-Options nosniff, Content-Security-Policy and Strict-Transport-Security (add_header, honouring nginx's array inheritance).",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("minHstsMaxAgeSeconds"),
    validateStack: onNginx((view, cfg, report) => {
        for (const server of tlsServers(view)) {
            const serverMissing = missingSecurityHeaders(server.chain, cfg);
            if (serverMissing.length > 0) {
                report(`${server.label} is missing security header(s): ${serverMissing.join(", ")}.`);
            }
            for (const location of server.locations) {
                const missing = missingSecurityHeaders(location.chain, cfg).filter((m) => !serverMissing.includes(m));
                if (missing.length > 0) {
                    report(`${locationLabel(server, location)} drops security header(s) ${missing.join(", ")}: its own add_header replaces the inherited ones.`);
                }
            }
        }
    }),
};

export const nginxRateLimitPerIp: StackValidationPolicy = {
    name: "nginx-rate-limit-per-ip",
    description: "Checks that every client-reachable (non-internal) location with proxy_pass/grpc_pass has a per-IP limit_req in effect (a zone keyed by $binary_remote_addr) and that no zone's rate exceeds the ceiling.",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("rateLimitCeilingPerSecond"),
    validateStack: onNginx((view, cfg, report) => {
        const zones = rateZones(view);
        for (const zone of zones) {
            if (zone.ratePerSecond === undefined) {
                report(`limit_req_zone ${zone.name} at ${zone.source} has no readable rate ("${zone.rateText}"); use rate=Nr/s.`);
            } else if (zone.ratePerSecond > cfg.rateLimitCeilingPerSecond) {
                report(`limit_req_zone ${zone.name} at ${zone.source} allows ${zone.rateText}; the ceiling is ${cfg.rateLimitCeilingPerSecond}r/s.`);
            }
        }
        const perIp = new Set(zones.filter((z) => z.key === "$binary_remote_addr" && z.ratePerSecond !== undefined
            && z.ratePerSecond <= cfg.rateLimitCeilingPerSecond).map((z) => z.name));
        for (const d of everywhere(view.main.directives, "limit_req")) {
            const name = limitReqZone(d);
            if (!name || !zones.some((z) => z.name === name)) {
                report(`limit_req at ${d.source} uses zone "${name ?? ""}", which no limit_req_zone defines.`);
            }
        }
        for (const { server, location } of proxiedLocations(view)) {
            // Clients cannot address internal locations; nginx applies limit_req once per main request.
            if (location.internal) {
                continue;
            }
            const inEffect = effectiveList(location.chain, "limit_req").map(limitReqZone);
            if (!inEffect.some((z) => z !== undefined && perIp.has(z))) {
                report(`${locationLabel(server, location)} proxies without a per-IP limit_req (zone keyed by $binary_remote_addr) in effect.`);
            }
        }
    }),
};

export const nginxClientMaxBodySize: StackValidationPolicy = {
    name: "nginx-client-max-body-size",
    description: "Checks that client_max_body_size is set for every proxied location and never exceeds the ceiling (0 = unlimited is a violation).",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("maxBodyBytesCeiling"),
    validateStack: onNginx((view, cfg, report) => {
        const all = everywhere(view.main.directives, "client_max_body_size");
        for (const d of all) {
            const size = parseSize(d.args[0] ?? "");
            if (size === undefined || size === 0 || size > cfg.maxBodyBytesCeiling) {
                report(`client_max_body_size ${d.args.join(" ")} at ${d.source} exceeds the ceiling of ${cfg.maxBodyBytesCeiling} bytes (0 means unlimited).`);
            }
        }
        if (all.length === 0) {
            report("client_max_body_size is not set anywhere; set it at http level (payload-exhaustion control).");
            return;
        }
        for (const { server, location } of proxiedLocations(view)) {
            if (!effective(location.chain, "client_max_body_size")) {
                report(`${locationLabel(server, location)} has no client_max_body_size in effect.`);
            }
        }
    }),
};

/** `location /`, `location ^~ /` and regexes that match every path. */
function isCatchAll(location: LocationView): boolean {
    if ((location.modifier === "" || location.modifier === "^~") && location.path === "/") {
        return true;
    }
    if (location.modifier === "~" || location.modifier === "~*") {
        return ["/", "^/", ".*", "^/.*", "^.*", "^/.*$", "^.*$", ""].includes(location.path);
    }
    return false;
}

/** The catch-all denies: `return 4xx` / `return 444`, or `deny all`. */
function denies(location: LocationView): boolean {
    const body = location.chain[location.chain.length - 1];
    const returns = own(body, "return").some((d) => /^4\d\d$/.test(d.args[0] ?? ""));
    const deny = own(body, "deny").some((d) => d.args[0] === "all");
    return returns || deny;
}

export const nginxDefaultDeny: StackValidationPolicy = {
    name: "nginx-default-deny",
    description: "Checks that nginx denies by default: no proxy_pass/grpc_pass in server context, in a catch-all location or in a stream block, and every proxying server ends in a catch-all location that returns 4xx.",
    enforcementLevel: "mandatory",
    validateStack: onNginx((view, _cfg, report) => {
        for (const server of view.servers) {
            const body = server.chain[server.chain.length - 1];
            for (const d of body.directives.filter((x) => x.name === "proxy_pass" || x.name === "grpc_pass")) {
                report(`${d.name} at ${d.source} sits in server context of ${server.label}; only declared routes may proxy.`);
            }
            for (const location of server.locations.filter(isCatchAll)) {
                if (location.passes.length > 0) {
                    report(`${locationLabel(server, location)} is a catch-all that proxies (${location.passes[0].name}); undeclared paths must be denied.`);
                }
            }
            if (server.locations.some((l) => l.passes.length > 0)) {
                const catchAll = server.locations.find((l) => l.chain.length === server.chain.length + 1 && isCatchAll(l));
                if (!catchAll || !denies(catchAll)) {
                    report(`${server.label} has no catch-all "location /" that returns 4xx; unmatched paths fall through to nginx's static file handler.`);
                }
            }
        }
        for (const stream of view.streams) {
            for (const d of everywhere(stream.directives, "proxy_pass")) {
                report(`stream proxy_pass at ${d.source} forwards raw TCP around every HTTP control.`);
            }
        }
    }),
};

export const nginxMtlsVerifyClient: StackValidationPolicy = {
    name: "nginx-mtls-verify-client",
    description: "Checks that the server listening on the mTLS port (8443) is TLS with ssl_verify_client on and a client CA (ssl_client_certificate).",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("mtlsPort"),
    validateStack: onNginx((view, cfg, report) => {
        for (const server of view.servers.filter((s) => s.listens.some((l) => l.port === cfg.mtlsPort))) {
            if (!server.tls) {
                report(`${server.label} listens on the mTLS port ${cfg.mtlsPort} without ssl.`);
            }
            const verify = effective(server.chain, "ssl_verify_client");
            if (verify?.args[0] !== "on") {
                report(`${server.label} listens on the mTLS port ${cfg.mtlsPort} with ssl_verify_client ${verify?.args[0] ?? "unset (off)"}; it must be "on".`);
            }
            if (!effective(server.chain, "ssl_client_certificate") && !effective(server.chain, "ssl_trusted_certificate")) {
                report(`${server.label} listens on the mTLS port ${cfg.mtlsPort} without ssl_client_certificate (the CA that client certificates must chain to).`);
            }
        }
    }),
};

/** The variable a route declared public sets (components/nginx render-routes.ts): its value is the stated reason. */
const PUBLIC_ROUTE_VARIABLE = "$apiproxy_public_route";

/** What checks a client's request before it is proxied: an auth_request in effect, or a client certificate the server requires. (A validated route proxies from a named location only its njs validator redirects to: internal, so never flagged.) */
function requestCheck(server: ServerView, location: LocationView): string | undefined {
    const auth = effective(location.chain, "auth_request");
    if (auth && auth.args[0] !== "off") return `auth_request ${auth.args[0]}`;

    if (effective(server.chain, "ssl_verify_client")?.args[0] === "on") return "client certificate (ssl_verify_client on)";
    return undefined;
}

function publicReason(location: LocationView): string | undefined {
    const set = own(location.chain[location.chain.length - 1], "set").find((d) => d.args[0] === PUBLIC_ROUTE_VARIABLE);
    return set?.args[1];
}

export const nginxRequestsChecked: StackValidationPolicy = {
    name: "nginx-requests-checked",
    description: "Checks that no client-reachable location proxies requests nothing checks: each needs an auth_request (API key, signature, token) or a required client certificate, unless the route is declared public with a stated reason (set $apiproxy_public_route \"reason\"; see nginx-public-routes-declared).",
    enforcementLevel: "mandatory",
    validateStack: onNginx((view, _cfg, report) => {
        for (const { server, location } of proxiedLocations(view)) {
            if (location.internal || requestCheck(server, location) || publicReason(location) !== undefined) continue;
            report(`${locationLabel(server, location)} proxies requests that nothing checks (no auth_request, no client certificate): require an API key, or declare the route public with its reason.`);
        }
    }),
};

export const nginxPublicRoutesDeclared: StackValidationPolicy = {
    name: "nginx-public-routes-declared",
    description: "Checks that the reviewer sees every route declared public (proxied with no request check): each is reported with its stated reason.",
    enforcementLevel: "advisory",
    validateStack: onNginx((view, _cfg, report) => {
        for (const { server, location } of proxiedLocations(view)) {
            const reason = publicReason(location);
            if (reason !== undefined && !location.internal && !requestCheck(server, location)) {
                report(`${locationLabel(server, location)} is public by declaration: "${reason}".`);
            }
        }
    }),
};

/** key -> value of a sysctl.d file ("a.b = v", "a/b=v"; # and ; comments). */
export function parseSysctl(text: string): Map<string, string> {
    const values = new Map<string, string>();
    for (const raw of text.split("\n")) {
        const line = raw.trim().replace(/^-/, "");
        if (line === "" || line.startsWith("#") || line.startsWith(";")) {
            continue;
        }
        const eq = line.indexOf("=");
        if (eq < 0) {
            continue;
        }
        values.set(line.slice(0, eq).trim().replace(/\//g, "."), line.slice(eq + 1).trim().replace(/\s+/g, " "));
    }
    return values;
}

export const sysctlNetworkHardening: StackValidationPolicy = {
    name: "sysctl-network-hardening",
    description: "Checks that the carried /etc/sysctl.d/zz-apiproxy.conf sets the seed's SYN-flood and connection-queue values (syncookies, SYN backlog, port range, FIN timeout, somaxconn).",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("minTcpMaxSynBacklog", "minSomaxconn", "maxTcpFinTimeoutSeconds"),
    validateStack: async (args, reportViolation) => {
        const cfg = readConfig(args);
        const report = reporterFor(reportViolation);
        for (const set of await hostFileSets(args.resources)) {
            const text = set.files.get(SYSCTL_FILE);
            if (text !== undefined) {
                checkSysctl(text, cfg, (message) => report(message, set.origin.get(SYSCTL_FILE)?.urn));
            }
        }
    },
};

function checkSysctl(text: string, cfg: BaselineConfig, reportViolation: (message: string) => void): void {
    const values = parseSysctl(text);
    const num = (key: string): number | undefined => {
        const v = values.get(key);
        return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
    };
    const require = (ok: boolean, key: string, wanted: string): void => {
        if (!ok) {
            reportViolation(`${SYSCTL_FILE} sets ${key} = ${values.get(key) ?? "(unset)"}; it must be ${wanted}.`);
        }
    };
    require(num("net.ipv4.tcp_syncookies") === 1, "net.ipv4.tcp_syncookies", "1");
    require((num("net.ipv4.tcp_max_syn_backlog") ?? 0) >= cfg.minTcpMaxSynBacklog, "net.ipv4.tcp_max_syn_backlog", `>= ${cfg.minTcpMaxSynBacklog}`);
    require(values.get("net.ipv4.ip_local_port_range") === "1024 65535", "net.ipv4.ip_local_port_range", "1024 65535");
    const fin = num("net.ipv4.tcp_fin_timeout");
    require(fin !== undefined && fin > 0 && fin <= cfg.maxTcpFinTimeoutSeconds, "net.ipv4.tcp_fin_timeout", `<= ${cfg.maxTcpFinTimeoutSeconds}`);
    require((num("net.core.somaxconn") ?? 0) >= cfg.minSomaxconn, "net.core.somaxconn", `>= ${cfg.minSomaxconn}`);
}

// ---------------------------------------------------------------------------------------------
// Presence

async function carriedBy(resource: PolicyResource): Promise<CarriedFiles | undefined> {
    return carriedFiles(resource.type, resource.props);
}

/** An instance's `launchTemplate: { id | name }` refers to the template (by dependency or id). */
function usesTemplate(instance: PolicyResource, template: PolicyResource): boolean {
    if (instance.propertyDependencies?.launchTemplate?.some((d) => d.urn === template.urn)) {
        return true;
    }
    const spec = known(() => asRecord(instance.props.launchTemplate));
    const ref = spec ? known(() => asString(spec.id) ?? asString(spec.name)) : undefined;
    const name = known(() => asString(template.props.name));
    return ref !== undefined && (identifiersOf(template).includes(ref) || ref === name);
}

export const proxyHostConfigPresent: StackValidationPolicy = {
    name: "proxy-host-config-present",
    description: "Checks that every proxy instance (and every proxy Auto Scaling group's launch template) receives an nginx configuration and the sysctl file, from its user data, its launch template or an Image Builder component in the stack.",
    enforcementLevel: "mandatory",
    validateStack: async (args, reportViolation) => {
        const proxies = ofType(args.resources, TYPES.instance).filter((i) => roleOf(i.props) === "proxy");
        if (proxies.length === 0 && proxyGroups(args.resources).length === 0) {
            return;
        }
        const shared: CarriedFiles[] = [];
        for (const component of ofType(args.resources, TYPES.imageComponent)) {
            const carried = await carriedBy(component);
            if (carried) {
                shared.push(carried);
            }
        }
        const templates = ofType(args.resources, TYPES.launchTemplate);
        for (const proxy of proxies) {
            const sources = [...shared];
            const own = await carriedBy(proxy);
            if (own) {
                sources.push(own);
            }
            if (own === undefined && known(() => asString(proxy.props.userData) ?? asString(proxy.props.userDataBase64)) === undefined
                && known(() => "userData" in proxy.props)) {
                continue; // user data computed during preview: no verdict
            }
            for (const template of templates.filter((t) => usesTemplate(proxy, t))) {
                const carried = await carriedBy(template);
                if (carried) {
                    sources.push(carried);
                }
            }
            if (!sources.some((s) => s.files.has(NGINX_CONF))) {
                reportViolation(`Proxy instance ${proxy.name} gets no ${NGINX_CONF} from its user data, launch template or any image component.`, proxy.urn);
            }
            if (!sources.some((s) => s.files.has(SYSCTL_FILE))) {
                reportViolation(`Proxy instance ${proxy.name} gets no ${SYSCTL_FILE} from its user data, launch template or any image component.`, proxy.urn);
            }
        }
        // Proxies launched by Auto Scaling: their group's launch template (its user data) and the images.
        for (const group of proxyGroups(args.resources)) {
            const template = launchTemplateOf(group, templates);
            const carried = template ? await carriedBy(template) : undefined;
            if (template && carried === undefined && known(() => asString(template.props.userData)) === undefined && known(() => "userData" in template.props)) {
                continue; // user data computed during preview: no verdict
            }
            const sources = [...shared, ...(carried ? [carried] : [])];
            for (const file of [NGINX_CONF, SYSCTL_FILE]) {
                if (!sources.some((s) => s.files.has(file))) {
                    reportViolation(`Proxy Auto Scaling group ${group.name} launches instances that get no ${file} from their launch template${template ? ` ${template.name}` : " (none found)"} or any image component.`, group.urn);
                }
            }
        }
    },
};

export const hostConfigPolicies = [
    nginxConfigParses,
    nginxTlsProtocols,
    nginxTlsCiphers,
    nginxTlsGroups,
    nginxServerTokensOff,
    nginxHideUpstreamHeaders,
    nginxSecurityHeaders,
    nginxRateLimitPerIp,
    nginxClientMaxBodySize,
    nginxDefaultDeny,
    nginxMtlsVerifyClient,
    nginxRequestsChecked,
    nginxPublicRoutesDeclared,
    sysctlNetworkHardening,
    proxyHostConfigPresent,
];
