/**
 * logging.conf: structured JSON access logs. The API key itself is never logged. Requests the
 * rate limits refuse (429) are sampled, one in REJECTION_LOG_SAMPLE_EVERY, chosen by the random
 * $request_id: a flood's log growth follows what the tier admits, not what a client sends,
 * and each sampled line carries `sample_rate` so counts can be estimated (infra/verify does).
 */
import { citeControl } from "../core/controls";
import { REJECTION_LOG_SAMPLE_EVERY } from "./constants";
import { block, directive, fileContent } from "./lines";
import type { NginxSpec } from "./types";

/** JSON field -> nginx variable. Query strings ($request_uri/$args) are left out: they can carry secrets. */
export const ACCESS_LOG_FIELDS: readonly (readonly [string, string])[] = [
    ["time", "$time_iso8601"],
    ["request_id", "$request_id"],
    ["client_ip", "$remote_addr"],
    ["server_port", "$server_port"],
    ["method", "$request_method"],
    ["uri", "$uri"],
    ["protocol", "$server_protocol"],
    ["status", "$status"],
    ["bytes_sent", "$body_bytes_sent"],
    ["request_length", "$request_length"],
    ["request_time", "$request_time"],
    ["limit_req", "$limit_req_status"],
    ["limit_conn", "$limit_conn_status"],
    ["sample_rate", "$apiproxy_log_sample_rate"],
    ["upstream_addr", "$upstream_addr"],
    ["upstream_status", "$upstream_status"],
    ["upstream_response_time", "$upstream_response_time"],
    ["tls_protocol", "$ssl_protocol"],
    ["tls_cipher", "$ssl_cipher"],
    // "r" when the TLS session was resumed, "." for a full handshake: the session cache's hit rate, from the log.
    ["tls_session_reused", "$ssl_session_reused"],
    ["client_cert_subject", "$ssl_client_s_dn"],
    ["client_cert_verify", "$ssl_client_verify"],
    ["api_key_present", "$api_key_present"],
    ["api_key_id", "$api_key_id"],
    ["auth_client", "$apiproxy_client"],
    ["auth_subject", "$apiproxy_subject"],
    ["auth_denied", "$api_key_denied"],
    ["user_agent", "$http_user_agent"],
];

/** The access-log condition: 0 skips the line. */
export const ACCESS_LOG_CONDITION = "$apiproxy_log_kept";

export function renderLogging(spec: NginxSpec): string {
    const sampledPercent = `${+(100 / REJECTION_LOG_SAMPLE_EVERY).toFixed(4)}%`;
    const json = "{" + ACCESS_LOG_FIELDS.map(([field, variable]) => `"${field}":"${variable}"`).join(",") + "}";
    const lines = [
        ...block("map $http_x_api_key $api_key_present", [
            `"" "false";`,
            `default "true";`,
        ], "OWASP ASVS 7.1.1: log key presence only, never the key"),
        "",
        ...block("split_clients $request_id $apiproxy_log_sampled", [
            `${sampledPercent} 1;`,
            `* 0;`,
        ], `one refused request in ${REJECTION_LOG_SAMPLE_EVERY}, at random`),
        ...block("map $status:$apiproxy_log_sampled $apiproxy_log_kept", [
            `"429:0" 0;`,
            `default 1;`,
        ], "NIST SP 800-53 AU-4: a flood's refusals cannot fill the log volume; every other answer is logged"),
        ...block("map $status $apiproxy_log_sample_rate", [
            `429 ${REJECTION_LOG_SAMPLE_EVERY};`,
            `default 1;`,
        ], "each line says how many requests it stands for"),
        "",
        directive(`log_format apiproxy_json escape=json '${json}'`, "CIS NGINX Benchmark 3.1 / OWASP ASVS 7.1.3: structured access log"),
        directive(`access_log ${spec.logDirectory}/access.log apiproxy_json if=${ACCESS_LOG_CONDITION}`, citeControl("logging", "CIS NGINX Benchmark 3.2: access logging on")),
    ];
    return fileContent("logging.conf: JSON access log (no secrets)", lines);
}
