/**
 * api-key-auth.conf: the internal auth_request location. It forwards only the key header
 * (no body) to the key-check service; 2xx admits, 401/403 are answered locally, anything
 * else (service down, timeout) fails closed with 500.
 */
import {
    API_KEY_HEADER,
    API_KEY_SERVICE_CONNECT_TIMEOUT_SECONDS,
    API_KEY_SERVICE_READ_TIMEOUT_SECONDS,
    DEFAULT_API_KEY_CHECK_PATH,
} from "./constants";
import { API_KEY_SERVICE_UPSTREAM } from "./render-upstreams";
import { block, directive, fileContent } from "./lines";
import type { NginxSpec } from "./types";

export const API_KEY_AUTH_LOCATION = "/_apiproxy/api-key-check";

export function renderApiKeyAuth(spec: NginxSpec): string {
    const checkPath = spec.apiKeyService.checkPath ?? DEFAULT_API_KEY_CHECK_PATH;
    const lines = block(`location = ${API_KEY_AUTH_LOCATION}`, [
        directive("internal", "not reachable by clients"),
        directive("proxy_pass_request_body off", "the key service sees the key, never the payload"),
        directive(`proxy_set_header Content-Length ""`),
        directive(`proxy_set_header ${API_KEY_HEADER} $http_x_api_key`, "seed: API key validated by the key service"),
        directive("proxy_set_header X-Original-Method $request_method"),
        directive("proxy_set_header X-Original-URI $uri"),
        directive("proxy_set_header X-Request-Id $request_id"),
        directive("proxy_set_header Connection \"\""),
        directive("proxy_http_version 1.1"),
        directive(`proxy_connect_timeout ${API_KEY_SERVICE_CONNECT_TIMEOUT_SECONDS}s`, "fail closed fast when the key service is down"),
        directive(`proxy_read_timeout ${API_KEY_SERVICE_READ_TIMEOUT_SECONDS}s`, "fail closed fast when the key service is slow"),
        directive(`proxy_pass http://${API_KEY_SERVICE_UPSTREAM}${checkPath}`),
    ], "OWASP ASVS 13.1.4: API key checked before any upstream is contacted");
    return fileContent("api-key-auth.conf: internal auth_request target", lines);
}
