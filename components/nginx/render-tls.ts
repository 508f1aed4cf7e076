/** tls.conf: http-level TLS policy shared by the public and mTLS listeners (NIST SP 800-52r2). */
import { directive, fileContent } from "./lines";
import type { NginxSpec } from "./types";

export function renderTls(spec: NginxSpec): string {
    const tls = spec.tls;
    const lines = [
        directive(`ssl_certificate ${spec.certificates.serverCertificate}`, "NIST SP 800-52r2 3.2: server certificate from the project PKI"),
        directive(`ssl_certificate_key ${spec.certificates.serverKey}`),
        directive(`ssl_protocols ${tls.protocols.join(" ")}`, "NIST SP 800-52r2 3.1 / CIS NGINX Benchmark 4.1.4: TLS 1.2 and 1.3 only"),
        directive(`ssl_ciphers ${tls.tls12Ciphers.join(":")}`, "NIST SP 800-52r2 3.3.1 / CIS NGINX Benchmark 4.1.5: ECDHE + AES-GCM only"),
        directive(
            `ssl_conf_command Ciphersuites ${tls.tls13Ciphersuites.join(":")}`,
            "NIST SP 800-52r2 3.3.1: TLS 1.3 AES-GCM only (CHACHA20 is not FIPS-approved)",
        ),
        directive(`ssl_ecdh_curve ${tls.groups.join(":")}`, "NIST SP 800-52r2 3.3.1 supported groups: NIST curves only, no x25519"),
        directive("ssl_prefer_server_ciphers on", "NIST SP 800-52r2 3.3.1: server picks the strongest suite"),
        directive(`ssl_session_cache shared:apiproxy_tls:${tls.sessionCacheMegabytes}m`, "seed: shared session cache"),
        directive(`ssl_session_timeout ${tls.sessionTimeoutMinutes}m`, "seed: bounded session lifetime"),
        directive(
            `ssl_session_tickets ${tls.sessionTickets ? "on" : "off"}`,
            tls.sessionTickets
                ? "tickets enabled by spec: ticket keys must be rotated"
                : "CIS NGINX Benchmark 4.1.12: no tickets without key rotation (forward secrecy)",
        ),
        directive("ssl_early_data off", "no TLS 1.3 0-RTT: early data is replayable"),
    ];
    return fileContent("tls.conf: TLS policy (NIST SP 800-52r2)", lines);
}
