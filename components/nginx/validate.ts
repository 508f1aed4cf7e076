/**
 * Defence in depth: the config schema validates the stack first, but the renderer refuses to
 * emit a weak or unparseable nginx config even if handed one. Every check names the field.
 */
import {
    APPROVED_TLS12_CIPHERS,
    APPROVED_TLS13_CIPHERSUITES,
    APPROVED_TLS_GROUPS,
    APPROVED_TLS_PROTOCOLS,
    MAX_CONCURRENCY_TARGET,
    MIN_CONCURRENCY_TARGET,
} from "./constants";
import type { NginxSpec } from "./types";

export class NginxSpecError extends Error {
    constructor(readonly field: string, message: string) {
        super(`nginx spec: ${field}: ${message}`);
        this.name = "NginxSpecError";
    }
}

const NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
/** Absolute path without characters that would end or bend an nginx token. */
const SAFE_PATH = /^\/[A-Za-z0-9._\-/]*$/;
/** URI path prefix: unreserved characters only (RFC 3986), no nginx metacharacters. */
const URI_PATH = /^\/[A-Za-z0-9._~\-/]*$/;
/** Client certificate CNs a route may name: no characters RFC 2253 escapes or regex syntax needs. */
export const CLIENT_COMMON_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;
/** A path template from OpenAPI: literal segments of URI_PATH characters and whole-segment {param}s. */
const TEMPLATE = /^(\/([A-Za-z0-9._~-]+|\{[A-Za-z0-9_.-]+\}))+\/?$/;
const JSON_MEDIA_TYPE = /^application\/([a-z0-9.+-]+\+)?json$/;
/** The stated reason of a public route: rendered inside a quoted nginx string. */
export const PUBLIC_REASON = /^[A-Za-z0-9][A-Za-z0-9 ,.:()'/_-]{9,199}$/;
const HOST_PORT = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const ACCOUNT = /^[a-z_][a-z0-9_-]*$/;
const IP_ADDRESS = /^([0-9.]+|\[[0-9A-Fa-f:.]+\])$/;
const IPV4_OR_CIDR = /^(\d{1,3}\.){3}\d{1,3}(\/\d{1,2})?$/;

function check(condition: boolean, field: string, message: string): void {
    if (!condition) throw new NginxSpecError(field, message);
}

function checkSubset(values: readonly string[], approved: readonly string[], field: string): void {
    check(values.length > 0, field, "must not be empty");
    for (const value of values) {
        check(approved.includes(value), field, `"${value}" is not approved (allowed: ${approved.join(", ")})`);
    }
    check(new Set(values).size === values.length, field, "contains duplicates");
}

function checkPort(port: number, field: string): void {
    check(Number.isInteger(port) && port >= 1 && port <= 65535, field, `invalid port ${port}`);
}

function checkPositiveInt(value: number, field: string): void {
    check(Number.isInteger(value) && value > 0, field, `must be a positive integer, got ${value}`);
}

function checkPath(path: string, field: string): void {
    check(SAFE_PATH.test(path) && !path.split("/").includes(".."), field, `unsafe path "${path}"`);
}

export function validateNginxSpec(spec: NginxSpec): void {
    // TLS: only NIST SP 800-52r2 approved protocols, suites and groups.
    checkSubset(spec.tls.protocols, APPROVED_TLS_PROTOCOLS, "tls.protocols");
    checkSubset(spec.tls.tls12Ciphers, APPROVED_TLS12_CIPHERS, "tls.tls12Ciphers");
    checkSubset(spec.tls.tls13Ciphersuites, APPROVED_TLS13_CIPHERSUITES, "tls.tls13Ciphersuites");
    checkSubset(spec.tls.groups, APPROVED_TLS_GROUPS, "tls.groups");
    checkPositiveInt(spec.tls.sessionCacheMegabytes, "tls.sessionCacheMegabytes");
    checkPositiveInt(spec.tls.sessionTimeoutMinutes, "tls.sessionTimeoutMinutes");
    checkPositiveInt(spec.tls.hstsMaxAgeSeconds, "tls.hstsMaxAgeSeconds");

    if (spec.configRoot !== undefined) checkPath(spec.configRoot, "configRoot");
    checkPath(spec.pidFile, "pidFile");
    checkPath(spec.logDirectory, "logDirectory");
    if (spec.tempDirectory !== undefined) checkPath(spec.tempDirectory, "tempDirectory");
    checkPath(spec.certificates.serverCertificate, "certificates.serverCertificate");
    checkPath(spec.certificates.serverKey, "certificates.serverKey");
    checkPath(spec.certificates.clientCa, "certificates.clientCa");
    if (spec.certificates.upstreamCa !== undefined) checkPath(spec.certificates.upstreamCa, "certificates.upstreamCa");
    check(ACCOUNT.test(spec.runUser), "runUser", `invalid account name "${spec.runUser}"`);
    if (spec.runGroup !== undefined) check(ACCOUNT.test(spec.runGroup), "runGroup", `invalid group "${spec.runGroup}"`);
    if (spec.listenAddress !== undefined) {
        check(IP_ADDRESS.test(spec.listenAddress), "listenAddress", `must be an IP address, got "${spec.listenAddress}"`);
    }
    check(HOSTNAME.test(spec.serverName), "serverName", `invalid host name "${spec.serverName}"`);
    if (spec.proxyProtocol !== undefined) {
        check(spec.proxyProtocol.trustedAddresses.length > 0, "proxyProtocol.trustedAddresses",
            "must name the load balancer's address(es): PROXY protocol from anyone else would let clients forge their address");
        spec.proxyProtocol.trustedAddresses.forEach((a, i) => check(IPV4_OR_CIDR.test(a), `proxyProtocol.trustedAddresses[${i}]`,
            `must be an IPv4 address or CIDR, got "${a}"`));
    }

    checkPort(spec.httpsPort, "httpsPort");
    checkPort(spec.mtlsPort, "mtlsPort");
    checkPort(spec.health.port, "health.port");
    check(new Set([spec.httpsPort, spec.mtlsPort, spec.health.port]).size === 3, "health.port", "httpsPort, mtlsPort and health.port must differ");
    check(URI_PATH.test(spec.health.path), "health.path", `unsafe path "${spec.health.path}"`);
    checkPositiveInt(spec.mtlsVerifyDepth, "mtlsVerifyDepth");
    check(
        Number.isInteger(spec.concurrencyTarget) &&
            spec.concurrencyTarget >= MIN_CONCURRENCY_TARGET &&
            spec.concurrencyTarget <= MAX_CONCURRENCY_TARGET,
        "concurrencyTarget",
        `must be an integer in ${MIN_CONCURRENCY_TARGET}..${MAX_CONCURRENCY_TARGET}`,
    );
    if (spec.listenBacklog !== undefined) {
        // The kernel caps the backlog at net.core.somaxconn (<= 65535 on the supported kernels).
        check(Number.isInteger(spec.listenBacklog) && spec.listenBacklog >= 1 && spec.listenBacklog <= 65535,
            "listenBacklog", `must be an integer in 1..65535, got ${spec.listenBacklog}`);
    }

    for (const kind of ["perIp", "perApiKey"] as const) {
        const limit = spec.rateLimits[kind];
        checkPositiveInt(limit.ratePerSecond, `rateLimits.${kind}.ratePerSecond`);
        check(Number.isInteger(limit.burst) && limit.burst >= 0, `rateLimits.${kind}.burst`, "must be an integer >= 0");
    }
    checkPositiveInt(spec.rateLimits.perIp.zoneMegabytes, "rateLimits.perIp.zoneMegabytes");
    if (spec.rateLimits.connectionsPerIp !== undefined) {
        checkPositiveInt(spec.rateLimits.connectionsPerIp, "rateLimits.connectionsPerIp");
    }
    checkPositiveInt(spec.maxBodyBytes, "maxBodyBytes");
    checkPositiveInt(spec.headerLimits.clientHeaderBufferKb, "headerLimits.clientHeaderBufferKb");
    checkPositiveInt(spec.headerLimits.largeHeaderBuffers, "headerLimits.largeHeaderBuffers");
    checkPositiveInt(spec.headerLimits.largeHeaderBufferKb, "headerLimits.largeHeaderBufferKb");

    check(HOST_PORT.test(spec.apiKeyService.address), "apiKeyService.address", `must be host:port, got "${spec.apiKeyService.address}"`);
    if (spec.apiKeyService.checkPath !== undefined) {
        check(URI_PATH.test(spec.apiKeyService.checkPath), "apiKeyService.checkPath", "unsafe path");
    }
    // Emitted inside a double-quoted nginx string: no quote, backslash, variable or newline.
    check(/^[^"\\$\n\r]+$/.test(spec.contentSecurityPolicy), "contentSecurityPolicy", "contains characters nginx would interpret");

    const pools = new Map<string, (typeof spec.upstreams)[number]>();
    spec.upstreams.forEach((pool, i) => {
        const at = `upstreams[${i}]`;
        check(NAME.test(pool.name), `${at}.name`, `must match ${NAME}`);
        check(!pools.has(pool.name), `${at}.name`, `duplicate pool "${pool.name}"`);
        pools.set(pool.name, pool);
        check(pool.servers.length > 0, `${at}.servers`, "a pool needs at least one server");
        pool.servers.forEach((server, j) => {
            check(HOST_PORT.test(server.address), `${at}.servers[${j}].address`, `must be host:port, got "${server.address}"`);
            checkPositiveInt(server.weight, `${at}.servers[${j}].weight`);
        });
        check(Number.isInteger(pool.keepalive) && pool.keepalive >= 0, `${at}.keepalive`, "must be an integer >= 0");
        checkPositiveInt(pool.maxFails, `${at}.maxFails`);
        checkPositiveInt(pool.failTimeoutSeconds, `${at}.failTimeoutSeconds`);
        if (pool.tls) {
            check(spec.certificates.upstreamCa !== undefined, "certificates.upstreamCa", `pool "${pool.name}" speaks TLS: an upstream CA is required (no unverified TLS)`);
        }
        if (pool.tlsServerName !== undefined) {
            check(HOSTNAME.test(pool.tlsServerName), `${at}.tlsServerName`, "invalid host name");
        }
    });

    const routeNames = new Set<string>();
    const locations = new Set<string>();
    if (spec.nginxVersion !== undefined) {
        check(/^\d+\.\d+\.\d+$/.test(spec.nginxVersion), "nginxVersion", `must be x.y.z, got "${spec.nginxVersion}"`);
    }
    spec.routes.forEach((route, i) => {
        const at = `routes[${i}]`;
        check(NAME.test(route.name), `${at}.name`, `must match ${NAME}`);
        check(!routeNames.has(route.name), `${at}.name`, `duplicate route "${route.name}"`);
        routeNames.add(route.name);
        check(URI_PATH.test(route.pathPrefix) && !route.pathPrefix.split("/").includes(".."), `${at}.pathPrefix`, `unsafe path "${route.pathPrefix}"`);
        check(route.pathPrefix !== "/" || route.exact || route.template !== undefined, `${at}.pathPrefix`, `"/" as a prefix would be a catch-all proxy (default deny)`);
        check(route.pathPrefix !== spec.health.path || !route.exact, `${at}.pathPrefix`, "collides with the health path");
        check(route.methods.length > 0, `${at}.methods`, "at least one method");
        check(new Set(route.methods).size === route.methods.length, `${at}.methods`, "contains duplicates");
        check(route.listeners.length > 0, `${at}.listeners`, "at least one listener");
        const pool = pools.get(route.upstream);
        check(pool !== undefined, `${at}.upstream`, `unknown pool "${route.upstream}"`);
        for (const listener of route.listeners) {
            const key = `${listener} ${route.template ?? `${route.exact ? "=" : ""}${route.pathPrefix}`}`;
            check(!locations.has(key), `${at}.pathPrefix`, `another route already owns ${route.pathPrefix} on ${listener}`);
            locations.add(key);
        }
        checkPositiveInt(route.timeouts.connectSeconds, `${at}.timeouts.connectSeconds`);
        checkPositiveInt(route.timeouts.sendSeconds, `${at}.timeouts.sendSeconds`);
        checkPositiveInt(route.timeouts.readSeconds, `${at}.timeouts.readSeconds`);
        checkPositiveInt(route.maxBodyBytes, `${at}.maxBodyBytes`);
        if (route.allowedClientCommonNames !== undefined) {
            check(route.listeners.length === 1 && route.listeners[0] === "mtls", `${at}.allowedClientCommonNames`,
                "only an mTLS-only route can restrict client identities (the public listener asks for no certificate)");
            check(route.allowedClientCommonNames.length > 0, `${at}.allowedClientCommonNames`, "at least one common name");
            route.allowedClientCommonNames.forEach((cn, j) =>
                check(CLIENT_COMMON_NAME.test(cn), `${at}.allowedClientCommonNames[${j}]`, `must match ${CLIENT_COMMON_NAME} (it is matched inside $ssl_client_s_dn)`));
        }
        if (route.template !== undefined) {
            check(TEMPLATE.test(route.template) && !route.template.split("/").includes(".."), `${at}.template`, `must match ${TEMPLATE} (literal segments and {param} segments)`);
            check(route.template.startsWith(route.pathPrefix) && route.template.slice(route.pathPrefix.length).startsWith("{"), `${at}.pathPrefix`,
                "must be the template's literal part before its first {param}");
        }
        if (route.validation !== undefined) {
            check(route.protocol === "http", `${at}.validation`, "only http routes are validated (gRPC and WebSocket frames are not JSON bodies)");
            for (const method of route.methods) {
                check(route.validation.operations[method] !== undefined, `${at}.validation.operations`, `has no entry for the route's method ${method}`);
            }
            for (const [method, op] of Object.entries(route.validation.operations)) {
                if (op?.body === undefined) continue;
                check(op.body.contentTypes.length > 0, `${at}.validation.operations.${method}.body.contentTypes`, "at least one JSON media type");
                op.body.contentTypes.forEach((type, j) => check(JSON_MEDIA_TYPE.test(type), `${at}.validation.operations.${method}.body.contentTypes[${j}]`,
                    `"${type}" is not a JSON media type (application/json or application/*+json): only JSON bodies are validated`));
            }
        }
        if (route.requestAuth !== undefined) {
            check(route.requestAuth.signature || route.requestAuth.jwt, `${at}.requestAuth`, "names a signature and/or a JWT check (or leave it out)");
            check(!route.requestAuth.signature || route.protocol === "http", `${at}.requestAuth.signature`,
                "only http routes are signed (the body digest is checked on a whole buffered body)");
        }
        if (route.publicReason !== undefined) {
            check(!route.requireApiKey && route.requestAuth === undefined && route.listeners.includes("public"), `${at}.publicReason`,
                "only a public-listener route without an API key, signature or JWT is declared public");
            check(PUBLIC_REASON.test(route.publicReason), `${at}.publicReason`, `must match ${PUBLIC_REASON}`);
        }
        check(route.maxBodyBytes <= spec.maxBodyBytes, `${at}.maxBodyBytes`, `exceeds the tier maximum ${spec.maxBodyBytes}`);
        checkPositiveInt(route.rateLimitPerIp.ratePerSecond, `${at}.rateLimitPerIp.ratePerSecond`);
        check(Number.isInteger(route.rateLimitPerIp.burst) && route.rateLimitPerIp.burst >= 0, `${at}.rateLimitPerIp.burst`, "must be an integer >= 0");
    });
}
