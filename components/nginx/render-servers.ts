/**
 * servers.conf: the public TLS server, the mTLS server and the plain-HTTP health server.
 * Each TLS server denies by default (`location /` -> 404) and proxies only declared routes.
 */
import { citeControl } from "../core/controls";
import { API_KEY_DENIED_VARIABLE, API_KEY_RETRY_AFTER_VARIABLE, JWT_SUBJECT_VARIABLE, SIGNATURE_CLIENT_VARIABLE } from "./render-api-key";
import { connectionsPerIp, CONN_PER_IP_ZONE } from "./render-limits";
import { block, directive, fileContent } from "./lines";
import { DEFAULT_LISTEN_BACKLOG } from "./constants";
import type { NginxLayout } from "./layout";
import type { NginxSpec } from "./types";

function listen(spec: NginxSpec, port: number, tls: boolean): string {
    const address = spec.listenAddress === undefined ? `${port}` : `${spec.listenAddress}:${port}`;
    const backlog = spec.listenBacklog ?? DEFAULT_LISTEN_BACKLOG;
    // seed: the accept queue follows the tuned somaxconn, or bursts drop SYNs at nginx's default 511.
    const proxyProtocol = tls && spec.proxyProtocol ? " proxy_protocol" : "";
    return tls
        ? directive(`listen ${address} ssl http2${proxyProtocol} backlog=${backlog}`, "seed: TLS termination, HTTP/2 (nginx 1.22 syntax); accept queue sized for bursts")
        : directive(`listen ${address} backlog=${backlog}`, "plain HTTP for load-balancer health checks only");
}

function tlsServer(spec: NginxSpec, layout: NginxLayout, listener: "public" | "mtls"): string[] {
    const mtls =
        listener === "mtls"
            ? [
                  directive("ssl_verify_client on", citeControl("mtls-client-auth", "NIST SP 800-52r2 3.5: client certificate required")),
                  directive(`ssl_client_certificate ${spec.certificates.clientCa}`, "NIST SP 800-52r2 3.5: only the client CA is trusted"),
                  directive(`ssl_verify_depth ${spec.mtlsVerifyDepth}`, "NIST SP 800-52r2 3.5: bounded chain"),
              ]
            : [];
    // The client address comes from the PROXY header, and only when the load balancer sent it:
    // per-IP limits and logs then see the real client, never the load balancer.
    const realIp = spec.proxyProtocol
        ? [
              ...spec.proxyProtocol.trustedAddresses.map((a) => directive(`set_real_ip_from ${a}`, "PROXY protocol accepted from the load balancer only")),
              directive("real_ip_header proxy_protocol", "seed: rate limits and logs key on the real client address"),
          ]
        : [];
    return block("server", [
        listen(spec, listener === "mtls" ? spec.mtlsPort : spec.httpsPort, true),
        ...realIp,
        directive(`server_name ${spec.serverName}`),
        ...mtls,
        directive(`limit_conn ${CONN_PER_IP_ZONE} ${connectionsPerIp(spec)}`, "CIS NGINX Benchmark 5.2.4: connections per IP"),
        directive(`set $api_key_id ""`, "filled by auth_request_set on API-key routes only"),
        // Server rewrite phase: error_page's named locations do not run it again, so these keep
        // what auth_request_set put in them (an error_page to a URI would reset them).
        directive(`set ${API_KEY_DENIED_VARIABLE} ""`, "filled by auth_request_set on API-key routes only: other 403s stay 403"),
        directive(`set ${API_KEY_RETRY_AFTER_VARIABLE} ""`, "filled by auth_request_set on API-key routes only"),
        directive(`set ${SIGNATURE_CLIENT_VARIABLE} ""`, "filled by auth_request_set on signed routes only: forwarded upstream, never the client's value"),
        directive(`set ${JWT_SUBJECT_VARIABLE} ""`, "filled by auth_request_set on JWT routes only: forwarded upstream, never the client's value"),
        directive(`include ${layout.securityHeaders}`, "OWASP ASVS 14.4: security headers on every response"),
        directive(`include ${layout.errors}`),
        directive(`include ${layout.apiKeyAuth}`),
        "",
        ...block("location /", [directive("return 404", citeControl("default-deny", "seed: undeclared paths never reach an upstream"))]),
        "",
        directive(`include ${layout.routes(listener)}`),
    ], `${listener} listener`);
}

function healthServer(spec: NginxSpec): string[] {
    return block("server", [
        listen(spec, spec.health.port, false),
        directive(`set $api_key_id ""`),
        directive(`set ${API_KEY_DENIED_VARIABLE} ""`),
        directive(`set ${SIGNATURE_CLIENT_VARIABLE} ""`),
        directive(`set ${JWT_SUBJECT_VARIABLE} ""`),
        directive("default_type text/plain"),
        ...block(`location = ${spec.health.path}`, [
            directive("access_log off", "health probes are not traffic"),
            directive("return 200 'ok\\n'"),
        ], "seed: status endpoint for the Layer 4 load balancer"),
        ...block("location /", [directive("return 404", "seed: default deny - nothing else on the health port")]),
    ], "health listener");
}

export function renderServers(spec: NginxSpec, layout: NginxLayout): string {
    const lines = [
        ...tlsServer(spec, layout, "public"),
        "",
        ...tlsServer(spec, layout, "mtls"),
        "",
        ...healthServer(spec),
    ];
    return fileContent("servers.conf: listeners", lines);
}
