/**
 * errors.conf: every locally generated error becomes a small JSON body with the right status.
 * 502 ("no live upstreams" / refused) is answered as 503 so clients see "unavailable, retry
 * later" at once; 504 stays 504. Included at server level only (locations never override it).
 * gRPC clients map these HTTP statuses to codes (503/504 -> UNAVAILABLE, 401 -> UNAUTHENTICATED).
 *
 * 403 is the one code whose page is chosen per request: auth_request answers 403 for every
 * refusal of the key service, and the one the service marks rate-limited gets the 429 page
 * (render-api-key.ts). Its error_page uses a bare `=`, so the response takes the status the
 * chosen page returns; `=403` would force 403 onto the 429 page. Only error_page at server
 * level is used: one inside a location would replace every mapping inherited from here.
 *
 * Two kinds of page. Most are named locations (`@apiproxy_error_404`): nginx serves them without
 * running the server's rewrite phase again, so what auth_request_set stored (the 401 reason, the
 * 429 page and its Retry-After) survives. But nginx refuses a redirect to a named location while
 * the request has no URI yet ("empty URI in redirect to named location", answered 500 with its
 * HTML page): a malformed request line (400), a request line longer than one
 * large_client_header_buffers buffer (414), headers beyond them (494, and every HTTP/2 request
 * whose header block overflows before its :path is read). Those three are served from an
 * internal exact-match URI location instead (an internal redirect sets the URI itself), which
 * clients cannot request (`internal`: 404). They carry nothing from auth_request, so running the
 * rewrite phase again costs them nothing. nginx's own 494 ("Request Header Or Cookie Too Large")
 * is answered as RFC 6585's 431 Request Header Fields Too Large.
 */
import { API_KEY_DENIED_PAGE_VARIABLE, AUTH_DENIED_REASON_VARIABLE } from "./render-api-key";
import { block, directive, fileContent } from "./lines";

interface ErrorPage {
    readonly codes: readonly number[];
    readonly status: number;
    readonly error: string;
    readonly control: string;
    /** A variable naming the page per request (a map of this page's and others' locations) instead of this page. */
    readonly pageVariable?: { readonly name: string; readonly control: string };
    /** The body names why the key service refused (its X-Apiproxy-Denied token, e.g. replayed,
     *  expired; "credentials_missing_or_invalid" for an API key), never the credential itself. */
    readonly reason?: boolean;
    /** nginx may raise it before the request has a URI: served from an internal URI location, not a named one. */
    readonly beforeUri?: boolean;
}

/** Where the URI-served pages live: beside the other internal locations (render-api-key.ts); clients requesting them get 404. */
export const ERROR_PAGE_URI_PREFIX = "/_apiproxy/errors/";
/** How long a refused oversized request is drained at most before the connection closes. */
export const LINGERING_SECONDS = 5;

export const ERROR_PAGES: readonly ErrorPage[] = [
    { codes: [400], status: 400, error: "bad_request", control: "OWASP ASVS 7.4.1: generic error, no internals - also for a malformed request line", beforeUri: true },
    { codes: [401], status: 401, error: "unauthorized", control: "seed: API keys, signatures, JWTs via auth_request", reason: true },
    {
        codes: [403], status: 403, error: "forbidden", control: "seed: API keys via auth_request",
        pageVariable: {
            name: API_KEY_DENIED_PAGE_VARIABLE,
            control: "seed: API keys via auth_request; seed: rate limiting per API key - a rate-limited key gets the 429 page, with its status (bare =)",
        },
    },
    { codes: [404], status: 404, error: "not_found", control: "seed: default deny" },
    { codes: [405], status: 405, error: "method_not_allowed", control: "OWASP ASVS 14.5.1: declared methods only" },
    { codes: [413], status: 413, error: "payload_too_large", control: "seed: payload validation" },
    { codes: [414], status: 414, error: "uri_too_long", control: "CIS NGINX Benchmark 5.2.3: an oversized request line is refused with a JSON 414, no internals", beforeUri: true },
    { codes: [429], status: 429, error: "too_many_requests", control: "seed: rate limiting" },
    {
        codes: [494], status: 431, error: "request_header_fields_too_large",
        control: "CIS NGINX Benchmark 5.2.3 / RFC 6585 5: oversized headers are refused with a JSON 431, no internals", beforeUri: true,
    },
    { codes: [495, 496], status: 400, error: "client_certificate_required", control: "NIST SP 800-52r2 3.5: mTLS client authentication" },
    { codes: [500], status: 500, error: "internal_error", control: "OWASP ASVS 7.4.1" },
    { codes: [502, 503], status: 503, error: "upstream_unavailable", control: "seed: circuit breaker - fast 503, never a hang" },
    { codes: [504], status: 504, error: "upstream_timeout", control: "seed: per-route timeouts - 504 stays 504" },
];

/** The location serving `page`: a named location, or an internal URI for the pages nginx may need before a URI exists. */
export function errorLocationName(page: ErrorPage): string {
    return page.beforeUri ? `${ERROR_PAGE_URI_PREFIX}${page.codes.join("_")}.json` : `@apiproxy_error_${page.codes.join("_")}`;
}

/** The named location that answers `code` (for maps choosing a page per request: named pages keep auth_request_set's variables). */
export function errorLocationFor(code: number): string {
    const page = ERROR_PAGES.find((candidate) => candidate.codes.includes(code));
    if (page === undefined) throw new Error(`no error page for ${code}`);
    if (page.beforeUri) throw new Error(`the page for ${code} is served from a URI, not a named location`);
    return errorLocationName(page);
}

function errorPageDirective(page: ErrorPage): string {
    if (page.pageVariable !== undefined) {
        return directive(`error_page ${page.codes.join(" ")} = ${page.pageVariable.name}`, page.pageVariable.control);
    }
    // `=status` is required: without it nginx keeps the original code (502 stays 502, 494 would be 400).
    return directive(`error_page ${page.codes.join(" ")} =${page.status} ${errorLocationName(page)}`, page.control);
}

function errorLocation(page: ErrorPage): string[] {
    const body = [
        directive("default_type application/json"),
        directive(`return ${page.status} '{"error":"${page.error}",${page.reason ? `"reason":"${AUTH_DENIED_REASON_VARIABLE}",` : ""}"status":${page.status},"request_id":"$request_id"}\\n'`),
    ];
    if (!page.beforeUri) return block(`location ${errorLocationName(page)}`, body);
    return block(`location = ${errorLocationName(page)}`, [
        directive("internal", "seed: default deny - error pages are reachable by internal redirect only, a client asking for one gets 404"),
        directive("lingering_close always", "RFC 9112 9.6: read and drop the rest of the refused request before closing, so the client gets this answer instead of a reset"),
        directive(`lingering_time ${LINGERING_SECONDS}s`, "CIS NGINX Benchmark 5.2.1: a refused client is drained for a bounded time only"),
        ...body,
    ], `${page.control} (URI page: nginx cannot redirect to a named location before the request has a URI)`);
}

export function renderErrors(): string {
    const lines = ERROR_PAGES.flatMap((page) => [errorPageDirective(page), ...errorLocation(page), ""]);
    return fileContent("errors.conf: JSON error responses (server level)", lines);
}
