/**
 * request-limits.conf and rate-limits.conf: request size/time bounds and abuse throttling.
 * nginx limits per source IP and per route; the per-API-key limit is the key service's, per
 * key id it recognises (render-api-key.ts explains why), and rate-limits.conf only maps its
 * verdict to the client's answer.
 */
import { citeControl } from "../core/controls";
import {
    API_KEY_DENIED_RATE_LIMITED,
    CLIENT_BODY_TIMEOUT_SECONDS,
    CLIENT_HEADER_TIMEOUT_SECONDS,
    DEFAULT_CONNECTIONS_PER_IP,
    HTTP2_MAX_CONCURRENT_STREAMS,
    KEEPALIVE_REQUESTS,
    KEEPALIVE_TIMEOUT_SECONDS,
    SEND_TIMEOUT_SECONDS,
} from "./constants";
import {
    API_KEY_DENIED_PAGE_VARIABLE,
    AUTH_DENIED_GENERIC_REASON,
    AUTH_DENIED_REASON_VARIABLE,
    API_KEY_DENIED_VARIABLE,
    API_KEY_RATE_LIMITED_RETRY_AFTER_VARIABLE,
    API_KEY_RETRY_AFTER_VARIABLE,
} from "./render-api-key";
import { errorLocationFor } from "./render-errors";
import { block, comment, directive, fileContent, identifier, sizeLiteral } from "./lines";
import type { NginxSpec, RouteSpec } from "./types";

/** Zone names; tests and the routes renderer use the same ones. */
export const PER_IP_ZONE = "per_ip";
export const CONN_PER_IP_ZONE = "conn_per_ip";
export function routeZone(route: RouteSpec): string {
    return `route_${identifier(route.name)}`;
}

export function renderRequestLimits(spec: NginxSpec): string {
    const h = spec.headerLimits;
    const lines = [
        directive(`client_max_body_size ${sizeLiteral(spec.maxBodyBytes)}`, citeControl("body-limit", "seed: payload limit / CIS NGINX Benchmark 5.2.2 (routes may only lower it)")),
        directive(`client_header_buffer_size ${h.clientHeaderBufferKb}k`, "CIS NGINX Benchmark 5.2.3: bounded header buffers"),
        directive(`large_client_header_buffers ${h.largeHeaderBuffers} ${h.largeHeaderBufferKb}k`, citeControl("header-buffers", "CIS NGINX Benchmark 5.2.3: oversized request line/headers -> 400/414")),
        directive(`client_header_timeout ${CLIENT_HEADER_TIMEOUT_SECONDS}s`, citeControl("client-timeouts", "CIS NGINX Benchmark 5.2.1: slowloris")),
        directive(`client_body_timeout ${CLIENT_BODY_TIMEOUT_SECONDS}s`, "CIS NGINX Benchmark 5.2.1: slow body"),
        directive(`keepalive_timeout ${KEEPALIVE_TIMEOUT_SECONDS}s`, "CIS NGINX Benchmark 2.4.3: idle connections released"),
        directive(`keepalive_requests ${KEEPALIVE_REQUESTS}`, "CVE-2023-44487 (HTTP/2 rapid reset) mitigation"),
        directive(`send_timeout ${SEND_TIMEOUT_SECONDS}s`, "CIS NGINX Benchmark 2.4.4: clients that stop reading are dropped"),
        directive(`http2_max_concurrent_streams ${HTTP2_MAX_CONCURRENT_STREAMS}`, "CVE-2023-44487: bounded streams per connection"),
        directive("reset_timedout_connection on", "free memory of timed-out clients at once (DoS)"),
        directive("ignore_invalid_headers on", "OWASP ASVS 13.1.1: drop malformed header names"),
        directive("underscores_in_headers off", "no X_API_KEY / X-API-Key ambiguity (header smuggling)"),
    ];
    return fileContent("request-limits.conf: request size and time bounds", lines);
}

export function renderRateLimits(spec: NginxSpec): string {
    const perIp = spec.rateLimits.perIp;
    const perKey = spec.rateLimits.perApiKey;
    const routeZones = spec.routes.map((route) =>
        directive(
            `limit_req_zone $binary_remote_addr zone=${routeZone(route)}:${perIp.zoneMegabytes}m rate=${route.rateLimitPerIp.ratePerSecond}r/s`,
            `seed: rate limiting, route ${route.name}`,
        ),
    );
    const lines = [
        directive(
            `limit_req_zone $binary_remote_addr zone=${PER_IP_ZONE}:${perIp.zoneMegabytes}m rate=${perIp.ratePerSecond}r/s`,
            citeControl("rate-limit-per-ip", "seed: rate limiting per source IP / CIS NGINX Benchmark 5.2.5"),
        ),
        ...routeZones,
        directive("limit_req_status 429", "RFC 6585: 429 Too Many Requests, not 503"),
        // Below error_log's level: one error line per refusal grew the log ~4 MB/s under a flood;
        // refusals are sampled in the access log instead (logging.conf).
        directive("limit_req_log_level info", "bounded log growth under floods (NIST SP 800-53 AU-4): refusals are sampled in the access log"),
        "",
        directive(`limit_conn_zone $binary_remote_addr zone=${CONN_PER_IP_ZONE}:${perIp.zoneMegabytes}m`, "CIS NGINX Benchmark 5.2.4: connections per IP"),
        directive("limit_conn_status 429", "RFC 6585"),
        directive("limit_conn_log_level info", "bounded log growth under floods (NIST SP 800-53 AU-4): refusals are sampled in the access log"),
        "",
        comment(`Per API key: ${perKey.ratePerSecond} r/s, burst ${perKey.burst}, per key id, enforced by the key service after it recognises`),
        comment("the key (tier-wide, in Redis). nginx only turns its rate-limited refusal into a 429 with its Retry-After."),
        ...block(`map ${API_KEY_DENIED_VARIABLE} ${API_KEY_DENIED_PAGE_VARIABLE}`, [
            `${API_KEY_DENIED_RATE_LIMITED} ${errorLocationFor(429)};`,
            `default ${errorLocationFor(403)};`,
        ], "seed: rate limiting per API key / OWASP ASVS 11.1.4: a key over its limit gets 429, any other refusal 403"),
        ...block(`map ${API_KEY_DENIED_VARIABLE}:${API_KEY_RETRY_AFTER_VARIABLE} ${API_KEY_RATE_LIMITED_RETRY_AFTER_VARIABLE}`, [
            `~^${API_KEY_DENIED_RATE_LIMITED}:([0-9]+)$ $1;`,
            `default "";`,
        ], "RFC 6585 4: Retry-After on the per-key 429 only, digits only"),
        ...block(`map ${API_KEY_DENIED_VARIABLE} ${AUTH_DENIED_REASON_VARIABLE}`, [
            `"~^[a-z][a-z-]{0,39}$" ${API_KEY_DENIED_VARIABLE};`,
            `default "${AUTH_DENIED_GENERIC_REASON}";`,
        ], "OWASP ASVS 7.4.1: the 401 body names the key service's reason token only, never a credential"),
    ];
    return fileContent("rate-limits.conf: request rate and connection limits", lines);
}

/** The per-server connection cap (applied in servers.conf). */
export function connectionsPerIp(spec: NginxSpec): number {
    return spec.rateLimits.connectionsPerIp ?? DEFAULT_CONNECTIONS_PER_IP;
}
