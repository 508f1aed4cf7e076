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
}

export const ERROR_PAGES: readonly ErrorPage[] = [
    { codes: [400], status: 400, error: "bad_request", control: "OWASP ASVS 7.4.1: generic error, no internals" },
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
    { codes: [429], status: 429, error: "too_many_requests", control: "seed: rate limiting" },
    { codes: [495, 496], status: 400, error: "client_certificate_required", control: "NIST SP 800-52r2 3.5: mTLS client authentication" },
    { codes: [500], status: 500, error: "internal_error", control: "OWASP ASVS 7.4.1" },
    { codes: [502, 503], status: 503, error: "upstream_unavailable", control: "seed: circuit breaker - fast 503, never a hang" },
    { codes: [504], status: 504, error: "upstream_timeout", control: "seed: per-route timeouts - 504 stays 504" },
];

export function errorLocationName(page: ErrorPage): string {
    return `@apiproxy_error_${page.codes.join("_")}`;
}

/** The named location that answers `code`. */
export function errorLocationFor(code: number): string {
    const page = ERROR_PAGES.find((candidate) => candidate.codes.includes(code));
    if (page === undefined) throw new Error(`no error page for ${code}`);
    return errorLocationName(page);
}

function errorPageDirective(page: ErrorPage): string {
    if (page.pageVariable !== undefined) {
        return directive(`error_page ${page.codes.join(" ")} = ${page.pageVariable.name}`, page.pageVariable.control);
    }
    // `=status` is required: without it nginx keeps the original code (502 stays 502).
    return directive(`error_page ${page.codes.join(" ")} =${page.status} ${errorLocationName(page)}`, page.control);
}

export function renderErrors(): string {
    const lines = ERROR_PAGES.flatMap((page) => [
        errorPageDirective(page),
        ...block(`location ${errorLocationName(page)}`, [
            directive("default_type application/json"),
            directive(`return ${page.status} '{"error":"${page.error}",${page.reason ? `"reason":"${AUTH_DENIED_REASON_VARIABLE}",` : ""}"status":${page.status},"request_id":"$request_id"}\\n'`),
        ]),
        "",
    ]);
    return fileContent("errors.conf: JSON error responses (server level)", lines);
}
