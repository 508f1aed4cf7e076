/**
 * api-key-auth.conf: the internal auth_request location. It forwards only the key header
 * (no body) to the key-check service; 2xx admits, 401/403 are answered locally, anything
 * else (service down, timeout) fails closed with 500.
 *
 * The per-key rate limit is the key service's: nginx's limit_req runs in the preaccess phase,
 * before auth_request, and once per main request, so it can only key on the raw header, where
 * every random unknown key gets a fresh bucket (dodging the limit and filling the zone). The
 * service limits each key id it recognises and refuses a key over its limit with 403 +
 * `X-Apiproxy-Denied: rate-limited` + `Retry-After`. The API-key routes copy both headers into
 * variables (auth_request_set, which sets them before auth_request returns the 403); a map
 * (rate-limits.conf) picks the 429 page for such a refusal and the 403 page otherwise, and
 * `error_page 403 = $api_key_denied_page` (errors.conf) serves it with that page's status.
 */
import {
    API_KEY_HEADER,
    API_KEY_SERVICE_CONNECT_TIMEOUT_SECONDS,
    API_KEY_SERVICE_READ_TIMEOUT_SECONDS,
    DEFAULT_API_KEY_CHECK_PATH,
    REQUEST_AUTH_CHECK_PATH_PREFIX,
    SIGNATURE_HEADERS,
    UPSTREAM_NEXT_TRIES,
} from "./constants";
import { citeControl } from "../core/controls";
import { API_KEY_SERVICE_UPSTREAM } from "./render-upstreams";
import { block, directive, fileContent, identifier } from "./lines";
import type { NginxSpec, RouteSpec } from "./types";

export const API_KEY_AUTH_LOCATION = "/_apiproxy/api-key-check";

/** Filled from the key service's answer by auth_request_set on API-key routes; every TLS server
 *  sets them to "" first (servers.conf), so on other routes they are empty, never undefined. */
export const API_KEY_DENIED_VARIABLE = "$api_key_denied";
export const API_KEY_RETRY_AFTER_VARIABLE = "$api_key_retry_after";
/** Maps of that answer (rate-limits.conf): the error page a refusal gets, and the Retry-After
 *  value, digits only and only on a rate-limited refusal (empty, so never sent, otherwise). */
export const API_KEY_DENIED_PAGE_VARIABLE = "$api_key_denied_page";
export const API_KEY_RATE_LIMITED_RETRY_AFTER_VARIABLE = "$api_key_rate_limited_retry_after";

/** The key service's refusal reason as the 401 body carries it: only its own token shape
 *  ([a-z-], bounded), else a generic reason (rate-limits.conf map). */
export const AUTH_DENIED_REASON_VARIABLE = "$apiproxy_denied_reason";
export const AUTH_DENIED_GENERIC_REASON = "credentials-missing-or-invalid";

/** Filled by auth_request_set on signature/JWT routes (empty elsewhere, set in every TLS server):
 *  the verified signing client and JWT subject, forwarded upstream instead of anything the client sent. */
export const SIGNATURE_CLIENT_VARIABLE = "$apiproxy_client";
export const JWT_SUBJECT_VARIABLE = "$apiproxy_subject";

/** The internal location a route's per-route check (signature / JWT) goes through. */
export function requestAuthLocation(route: RouteSpec): string {
    return `/_apiproxy/auth/${route.name}`;
}

export function requestAuthRoutes(spec: NginxSpec): RouteSpec[] {
    return spec.routes.filter((route) => route.requestAuth !== undefined);
}

function headerVariable(header: string): string {
    return `$http_${identifier(header.toLowerCase())}`;
}

/** How every auth_request subrequest talks to the key service: correlated, kept alive, failing closed fast, bounded retries. */
function keyServiceConnection(): string[] {
    return [
        directive("proxy_set_header X-Request-Id $request_id"),
        directive("proxy_set_header Connection \"\""),
        directive("proxy_http_version 1.1"),
        directive(`proxy_connect_timeout ${API_KEY_SERVICE_CONNECT_TIMEOUT_SECONDS}s`, "fail closed fast when the key service is down"),
        directive(`proxy_read_timeout ${API_KEY_SERVICE_READ_TIMEOUT_SECONDS}s`, "fail closed fast when the key service is slow"),
        directive(`proxy_next_upstream_tries ${UPSTREAM_NEXT_TRIES}`, citeControl("upstream-circuit-breaker", "seed: circuit breaker - bounded retries to the key service")),
    ];
}

/** One exact internal location per route with a signature or JWT check: the key service applies
 *  that route's policy (services/keycheck GET /auth/<route>), the API key included when required. */
function renderRequestAuthLocation(route: RouteSpec): string[] {
    const auth = route.requestAuth!;
    const what = [route.requireApiKey ? "API key" : "", auth.signature ? "HMAC signature" : "", auth.jwt ? "JWT" : ""].filter(Boolean).join(" + ");
    return block(`location = ${requestAuthLocation(route)}`, [
        directive("internal", "not reachable by clients"),
        directive("proxy_pass_request_body off", auth.signature
            ? "the key service sees headers only; the body is checked against the signed digest in njs"
            : "the key service sees headers only, never the payload"),
        directive("proxy_pass_request_headers off", "OWASP ASVS 7.1.1: only the headers named here reach the key service"),
        directive(`proxy_set_header Content-Length ""`),
        ...(route.requireApiKey ? [directive(`proxy_set_header ${API_KEY_HEADER} $http_x_api_key`, "seed: API key validated by the key service")] : []),
        ...(auth.jwt ? [directive("proxy_set_header Authorization $http_authorization", "seed: validated against a signature - the bearer JWT, verified against the stack's JWKS (no fetch)")] : []),
        ...(auth.signature
            ? SIGNATURE_HEADERS.map((header) => directive(`proxy_set_header ${header} ${headerVariable(header)}`, "seed: validated against a signature - HMAC-SHA256 over method, URI, time, nonce, body digest"))
            : []),
        directive("proxy_set_header X-Original-Method $request_method"),
        directive("proxy_set_header X-Original-URI $request_uri", "the URI exactly as the client sent (and signed) it"),
        ...keyServiceConnection(),
        directive(`proxy_pass http://${API_KEY_SERVICE_UPSTREAM}${REQUEST_AUTH_CHECK_PATH_PREFIX}${route.name}`),
    ], `OWASP ASVS 13.1.4 / seed: route ${route.name} - ${what} checked before any upstream is contacted`);
}

export function renderApiKeyAuth(spec: NginxSpec): string {
    const checkPath = spec.apiKeyService.checkPath ?? DEFAULT_API_KEY_CHECK_PATH;
    const lines = block(`location = ${API_KEY_AUTH_LOCATION}`, [
        directive("internal", "not reachable by clients"),
        directive("proxy_pass_request_body off", "the key service sees the key, never the payload"),
        directive(`proxy_set_header Content-Length ""`),
        directive(`proxy_set_header ${API_KEY_HEADER} $http_x_api_key`, "seed: API key validated by the key service"),
        directive("proxy_set_header X-Original-Method $request_method"),
        directive("proxy_set_header X-Original-URI $uri"),
        ...keyServiceConnection(),
        directive(`proxy_pass http://${API_KEY_SERVICE_UPSTREAM}${checkPath}`),
    ], "OWASP ASVS 13.1.4: API key checked before any upstream is contacted");
    for (const route of requestAuthRoutes(spec)) lines.push("", ...renderRequestAuthLocation(route));
    return fileContent("api-key-auth.conf: internal auth_request targets", lines);
}
