/**
 * security-headers.conf (responses to clients) and proxy-headers.conf / grpc-headers.conf
 * (what reaches upstreams and what comes back from them).
 *
 * add_header is only ever set at server level (via this include): a location with its own
 * add_header would silently drop these. `always` puts them on 4xx/5xx answers too. The same
 * holds for the one header that is not a security header: Retry-After of the per-key 429
 * (render-api-key.ts), which is empty, and so not sent, on every other response.
 *
 * Towards upstreams: X-Forwarded-For is *set* to $remote_addr (a client-supplied chain is
 * never passed on), the client's X-API-Key is removed (upstreams get the key service's
 * non-secret key id in X-Api-Key-Id instead, so credentials never reach upstream logs), and
 * client-supplied identity headers (X-Api-Key-Id, X-Client-Cert-*) are overwritten.
 */
import { citeControl } from "../core/controls";
import { API_KEY_HEADER, API_KEY_ID_HEADER, JWT_SUBJECT_HEADER, SIGNATURE_CLIENT_HEADER } from "./constants";
import { API_KEY_RATE_LIMITED_RETRY_AFTER_VARIABLE, JWT_SUBJECT_VARIABLE, SIGNATURE_CLIENT_VARIABLE } from "./render-api-key";
import { directive, fileContent } from "./lines";
import type { NginxSpec } from "./types";

/** Upstream response headers that disclose the stack (OWASP ASVS 14.3.3) or would duplicate ours. */
export const HIDDEN_UPSTREAM_HEADERS = [
    "Server",
    "X-Powered-By",
    "X-AspNet-Version",
    "X-AspNetMvc-Version",
    "X-Runtime",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "Referrer-Policy",
] as const;

export function renderSecurityHeaders(spec: NginxSpec): string {
    const lines = [
        directive(`add_header Strict-Transport-Security "max-age=${spec.tls.hstsMaxAgeSeconds}; includeSubDomains" always`, citeControl("security-headers", "OWASP ASVS 14.4.5 / CIS NGINX Benchmark 4.1.8: HSTS")),
        directive(`add_header X-Frame-Options "DENY" always`, "OWASP ASVS 14.4.7 / CIS NGINX Benchmark 5.3.1"),
        directive(`add_header X-Content-Type-Options "nosniff" always`, "OWASP ASVS 14.4.4 / CIS NGINX Benchmark 5.3.2"),
        directive(`add_header Content-Security-Policy "${spec.contentSecurityPolicy}" always`, "OWASP ASVS 14.4.3 / CIS NGINX Benchmark 5.3.3"),
        directive(`add_header Referrer-Policy "no-referrer" always`, "OWASP ASVS 14.4.6"),
        directive(`add_header X-Request-Id $request_id always`, "OWASP ASVS 7.1.4: correlate client reports with logs"),
        directive(
            `add_header Retry-After ${API_KEY_RATE_LIMITED_RETRY_AFTER_VARIABLE} always`,
            "RFC 6585 4 / RFC 9110 10.2.3: when a rate-limited API key may retry (the key service's value)",
        ),
    ];
    return fileContent("security-headers.conf: response security headers (server level only)", lines);
}

function forwardingHeaders(setHeader: "proxy_set_header" | "grpc_set_header", spec: NginxSpec): string[] {
    const idVar = "$api_key_id";
    return [
        directive(`${setHeader} Host ${spec.serverName}`, "no client Host header towards upstreams (host header injection)"),
        directive(`${setHeader} X-Forwarded-For $remote_addr`, "CIS NGINX Benchmark 3.7: client IP set, client-supplied chain dropped"),
        directive(`${setHeader} X-Real-IP $remote_addr`, "CIS NGINX Benchmark 3.7"),
        directive(`${setHeader} X-Forwarded-Proto $scheme`),
        directive(`${setHeader} X-Request-Id $request_id`, "OWASP ASVS 7.1.4: request correlation"),
        directive(`${setHeader} ${API_KEY_HEADER} ""`, "OWASP ASVS 7.1.1: the key stops at the proxy, never reaches upstreams"),
        directive(`${setHeader} ${API_KEY_ID_HEADER} ${idVar}`, "identity from the key service only, client value overwritten"),
        directive(`${setHeader} ${SIGNATURE_CLIENT_HEADER} ${SIGNATURE_CLIENT_VARIABLE}`, "signing client from the key service only, client value overwritten"),
        directive(`${setHeader} ${JWT_SUBJECT_HEADER} ${JWT_SUBJECT_VARIABLE}`, "token subject from the key service only, client value overwritten"),
        directive(`${setHeader} X-Client-Cert-Subject $ssl_client_s_dn`, "mTLS identity from nginx only, client value overwritten"),
        directive(`${setHeader} X-Client-Cert-Verify $ssl_client_verify`, "mTLS result from nginx only"),
        directive(`${setHeader} Proxy ""`, "httpoxy (CVE-2016-5385)"),
    ];
}

export function renderProxyHeaders(spec: NginxSpec): string {
    const lines = [
        ...forwardingHeaders("proxy_set_header", spec),
        directive(`proxy_set_header Proxy-Connection ""`, "hop-by-hop header stripped"),
        directive(`proxy_set_header Keep-Alive ""`, "hop-by-hop header stripped"),
        directive(`proxy_set_header TE ""`, "hop-by-hop header stripped"),
        directive("proxy_http_version 1.1", "upstream keepalive needs HTTP/1.1"),
        ...HIDDEN_UPSTREAM_HEADERS.map((header) =>
            directive(`proxy_hide_header ${header}`, citeControl("upstream-headers-hidden", "OWASP ASVS 14.3.3 / CIS NGINX Benchmark 2.5.4: upstream fingerprint hidden")),
        ),
        directive("proxy_next_upstream error timeout", "seed: circuit breaker - retry only failed connects/timeouts, never non-idempotent requests"),
        directive("proxy_request_buffering on", "whole body read before an upstream is contacted (slow-body clients never hold upstreams)"),
    ];
    return fileContent("proxy-headers.conf: request/response header hygiene for proxied HTTP routes", lines);
}

export function renderGrpcHeaders(spec: NginxSpec): string {
    const lines = [
        ...forwardingHeaders("grpc_set_header", spec),
        ...HIDDEN_UPSTREAM_HEADERS.map((header) =>
            directive(`grpc_hide_header ${header}`, "OWASP ASVS 14.3.3 / CIS NGINX Benchmark 2.5.4: upstream fingerprint hidden"),
        ),
        directive("grpc_next_upstream error timeout", "seed: circuit breaker - bounded retries"),
    ];
    return fileContent("grpc-headers.conf: request/response header hygiene for gRPC routes", lines);
}
