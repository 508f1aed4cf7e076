/**
 * errors.conf: every locally generated error becomes a small JSON body with the right status.
 * 502 ("no live upstreams" / refused) is answered as 503 so clients see "unavailable, retry
 * later" at once; 504 stays 504. Included at server level only (locations never override it).
 * gRPC clients map these HTTP statuses to codes (503/504 -> UNAVAILABLE, 401 -> UNAUTHENTICATED).
 */
import { block, directive, fileContent } from "./lines";

interface ErrorPage {
    readonly codes: readonly number[];
    readonly status: number;
    readonly error: string;
    readonly control: string;
}

export const ERROR_PAGES: readonly ErrorPage[] = [
    { codes: [400], status: 400, error: "bad_request", control: "OWASP ASVS 7.4.1: generic error, no internals" },
    { codes: [401], status: 401, error: "api_key_required", control: "seed: API keys via auth_request" },
    { codes: [403], status: 403, error: "forbidden", control: "seed: API keys via auth_request" },
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

export function renderErrors(): string {
    const lines = ERROR_PAGES.flatMap((page) => [
        // `=status` is required: without it nginx keeps the original code (502 stays 502).
        directive(`error_page ${page.codes.join(" ")} =${page.status} ${errorLocationName(page)}`, page.control),
        ...block(`location ${errorLocationName(page)}`, [
            directive("default_type application/json"),
            directive(`return ${page.status} '{"error":"${page.error}","status":${page.status},"request_id":"$request_id"}\\n'`),
        ]),
        "",
    ]);
    return fileContent("errors.conf: JSON error responses (server level)", lines);
}
