import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import {
    nginxClientMaxBodySize, nginxConfigParses, nginxDefaultDeny, nginxHideUpstreamHeaders, nginxMtlsVerifyClient, nginxRateLimitPerIp,
    nginxSecurityHeaders, nginxServerTokensOff, nginxTlsCiphers, nginxTlsGroups, nginxTlsProtocols, proxyHostConfigPresent,
    sysctlNetworkHardening,
} from "../../policy-packs/api-proxy-baseline/policies/host-config";
import {
    HOST_FILES, T, editFile, editStack, validComponent, validInstance, validLaunchTemplate, validStack, type HostFiles,
} from "./fixtures";
import { UNKNOWN, assertCompliant, assertNotApplicable, assertViolation, runResource, runStack } from "./util";

const NGINX = "/etc/nginx/nginx.conf";
const TLS = "/etc/nginx/apiproxy/00-tls.conf";
const SERVERS = "/etc/nginx/apiproxy/10-servers.conf";
const HEADERS = "/etc/nginx/apiproxy/snippets/security-headers.inc";
const SYSCTL = "/etc/sysctl.d/60-apiproxy.conf";

const onInstance = (files: HostFiles) => ({ type: T.instance, props: validInstance(files) });

/** The valid bundle passes on every carrier type, and the policy skips carriers without nginx. */
function commonCases(policy: Parameters<typeof runResource>[0]): void {
    it("accepts the valid bundle in user data, launch template and image component", async () => {
        assertCompliant(await runResource(policy, T.instance, validInstance()), "instance");
        assertCompliant(await runResource(policy, T.launchTemplate, validLaunchTemplate()), "launch template");
        assertCompliant(await runResource(policy, T.component, validComponent()), "component");
    });
    it("reads gzip+base64 user data (userDataBase64) like cloud-init does", async () => {
        const userDataBase64 = gzipSync(Buffer.from(String(validInstance().userData))).toString("base64");
        assertCompliant(await runResource(policy, T.instance, { ...validInstance(), userData: undefined, userDataBase64 }));
    });
    it("gives no verdict on carriers without nginx config or with unknown user data", async () => {
        assertCompliant(await runResource(policy, T.instance, validInstance({ "/etc/motd": "hello\n" })));
        assertCompliant(await runResource(policy, T.instance, { ...validInstance(), userData: UNKNOWN }));
        assertCompliant(await runResource(policy, T.instance, { ...validInstance(), userData: undefined }));
    });
    it("only applies to carrier types", async () => {
        assertNotApplicable(await runResource(policy, T.loadBalancer, { loadBalancerType: "network" }));
    });
}

async function violationOn(policy: Parameters<typeof runResource>[0], files: HostFiles, name: string, pattern: RegExp): Promise<void> {
    const { type, props } = onInstance(files);
    assertViolation(await runResource(policy, type, props), name, pattern);
}

describe("nginx-config-parses", () => {
    const NAME = "nginx-config-parses";
    commonCases(nginxConfigParses);
    it("rejects an unbalanced block with its file and line", async () => {
        await violationOn(nginxConfigParses, editFile(SERVERS, "    location / {\n        return 404;\n    }\n}\n\nserver {\n    listen 8443", "    location / {\n        return 404;\n    \n}\n\nserver {\n    listen 8443"), NAME,
            /nginx configuration does not parse: .*unexpected end of file/);
    });
    it("rejects a directive without its semicolon, naming file and line", async () => {
        await violationOn(nginxConfigParses, editFile(SERVERS, 'return 200 "ok\\n";', 'return 200 "ok\\n"'), NAME,
            /does not parse: \/etc\/nginx\/apiproxy\/10-servers\.conf:\d+: unexpected "\}" in directive "return"/);
    });
    it("rejects an unreadable cloud-config document", async () => {
        const outcome = await runResource(nginxConfigParses, T.instance, { ...validInstance(), userData: "#cloud-config\nwrite_files: [unclosed\n" });
        assertViolation(outcome, NAME, /cloud-config is not valid YAML/);
    });
});

describe("nginx-tls-protocols", () => {
    const NAME = "nginx-tls-protocols";
    commonCases(nginxTlsProtocols);
    it("checks the nginx config inside gzip+base64 user data too", async () => {
        const bad = validInstance(editFile(TLS, "ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1 TLSv1.2;"));
        const userDataBase64 = gzipSync(Buffer.from(String(bad.userData))).toString("base64");
        assertViolation(await runResource(nginxTlsProtocols, T.instance, { ...bad, userData: undefined, userDataBase64 }), NAME, /enables TLSv1;/);
    });
    it("rejects TLSv1.1 and SSLv3", async () => {
        await violationOn(nginxTlsProtocols, editFile(TLS, "ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1.1 TLSv1.2;"), NAME, /enables TLSv1\.1; only TLSv1\.2 TLSv1\.3/);
        await violationOn(nginxTlsProtocols, editFile(TLS, "ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols SSLv3 TLSv1 TLSv1.2;"), NAME, /enables SSLv3, TLSv1;/);
    });
    it("rejects a server-level override that re-enables TLSv1", async () => {
        await violationOn(nginxTlsProtocols, editFile(SERVERS, "ssl_verify_client on;", "ssl_verify_client on;\n    ssl_protocols TLSv1 TLSv1.2;"), NAME, /10-servers\.conf:\d+ enables TLSv1;/);
    });
    it("rejects TLS servers with no ssl_protocols at server or http level", async () => {
        await violationOn(nginxTlsProtocols, editFile(TLS, "ssl_protocols TLSv1.2 TLSv1.3;\n", ""), NAME, /server api\.example\.com:443 .* has no ssl_protocols/);
    });
});

describe("nginx-tls-ciphers", () => {
    const NAME = "nginx-tls-ciphers";
    commonCases(nginxTlsCiphers);
    it("rejects CBC, SHA-1, RSA key exchange and CHACHA20 in TLS 1.2 suites", async () => {
        for (const cipher of ["ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA", "AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"]) {
            const files = editFile(TLS, "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:", `ssl_ciphers ${cipher}:ECDHE-ECDSA-AES128-GCM-SHA256:`);
            await violationOn(nginxTlsCiphers, files, NAME, new RegExp(`ssl_ciphers at .*00-tls\\.conf:\\d+ allows ${cipher};`));
        }
    });
    it("rejects OpenSSL keyword strings like HIGH but ignores exclusions", async () => {
        await violationOn(nginxTlsCiphers, editFile(TLS, /ssl_ciphers [^;]+;/, "ssl_ciphers HIGH:!aNULL:!MD5;"), NAME, /allows HIGH;/);
    });
    it("rejects a TLS 1.3 CHACHA20 suite", async () => {
        await violationOn(nginxTlsCiphers, editFile(TLS, "TLS_AES_256_GCM_SHA384;", "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;"), NAME,
            /Ciphersuites at .* allows TLS_CHACHA20_POLY1305_SHA256;/);
    });
    it("accepts the CCM TLS 1.3 suites", async () => {
        const files = editFile(TLS, "TLS_AES_256_GCM_SHA384;", "TLS_AES_256_GCM_SHA384:TLS_AES_128_CCM_SHA256;");
        assertCompliant(await runResource(nginxTlsCiphers, T.instance, validInstance(files)));
    });
    it("rejects TLS servers relying on the default cipher lists", async () => {
        await violationOn(nginxTlsCiphers, editFile(TLS, /ssl_ciphers [^;]+;\n/, ""), NAME, /enables TLS 1\.2 without ssl_ciphers/);
        await violationOn(nginxTlsCiphers, editFile(TLS, /ssl_conf_command Ciphersuites [^;]+;\n/, ""), NAME, /enables TLS 1\.3 without "ssl_conf_command Ciphersuites"/);
    });
    it("does not require TLS 1.3 suites when only TLS 1.2 is enabled", async () => {
        let files = editFile(TLS, /ssl_conf_command Ciphersuites [^;]+;\n/, "");
        files = editFile(TLS, "ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1.2;", files);
        assertCompliant(await runResource(nginxTlsCiphers, T.instance, validInstance(files)));
    });
    it("notices a location-free ssl_conf_command override dropping inherited Ciphersuites", async () => {
        const files = editFile(SERVERS, "ssl_verify_client on;", "ssl_verify_client on;\n    ssl_conf_command Options PrioritizeChaCha;");
        await violationOn(nginxTlsCiphers, files, NAME, /server api\.example\.com:8443 .* without "ssl_conf_command Ciphersuites"/);
    });
});

describe("nginx-tls-groups", () => {
    const NAME = "nginx-tls-groups";
    commonCases(nginxTlsGroups);
    it("accepts the P-256/P-384/P-521 aliases", async () => {
        const files = editFile(TLS, "ssl_ecdh_curve prime256v1:secp384r1;", "ssl_ecdh_curve secp256r1:P-384:secp521r1;");
        assertCompliant(await runResource(nginxTlsGroups, T.instance, validInstance(files)));
    });
    it("rejects X25519 and auto", async () => {
        await violationOn(nginxTlsGroups, editFile(TLS, "ssl_ecdh_curve prime256v1:secp384r1;", "ssl_ecdh_curve X25519:prime256v1;"), NAME, /ssl_ecdh_curve at .* allows X25519;/);
        await violationOn(nginxTlsGroups, editFile(TLS, "ssl_ecdh_curve prime256v1:secp384r1;", "ssl_ecdh_curve auto;"), NAME, /allows auto;/);
    });
    it("rejects X25519 through ssl_conf_command Groups", async () => {
        await violationOn(nginxTlsGroups, editFile(TLS, "ssl_prefer_server_ciphers on;", "ssl_prefer_server_ciphers on;\nssl_conf_command Groups x25519:P-256;"), NAME, /ssl_conf_command Groups at .* allows x25519;/);
    });
    it("rejects TLS servers with no group setting", async () => {
        await violationOn(nginxTlsGroups, editFile(TLS, /ssl_ecdh_curve [^;]+;\n/, ""), NAME, /sets no ssl_ecdh_curve; nginx's "auto" offers X25519/);
    });
});

describe("nginx-server-tokens-off", () => {
    const NAME = "nginx-server-tokens-off";
    commonCases(nginxServerTokensOff);
    it("rejects server_tokens on anywhere", async () => {
        await violationOn(nginxServerTokensOff, editFile(SERVERS, "listen 8081;", "listen 8081;\n    server_tokens build;"), NAME, /server_tokens at .*10-servers\.conf:\d+ is "build"; it must be off/);
    });
    it("rejects a server_tokens that swallowed the next directive (missing semicolon)", async () => {
        await violationOn(nginxServerTokensOff, editFile(NGINX, "server_tokens off;", "server_tokens off"), NAME, /server_tokens at .* is "off client_max_body_size 2m"; it must be off/);
    });
    it("rejects a config that never sets it", async () => {
        await violationOn(nginxServerTokensOff, editFile(NGINX, /\n\s*server_tokens off;[^\n]*/, ""), NAME, /has no server_tokens \(nginx defaults to on\)/);
    });
});

describe("nginx-hide-upstream-headers", () => {
    const NAME = "nginx-hide-upstream-headers";
    commonCases(nginxHideUpstreamHeaders);
    it("rejects a proxy location when X-Powered-By is not hidden", async () => {
        await violationOn(nginxHideUpstreamHeaders, editFile(NGINX, "    proxy_hide_header X-Powered-By;\n", ""), NAME,
            /location \/api\/v1\/orders\/ .* does not hide upstream header\(s\) X-Powered-By; add "proxy_hide_header X-Powered-By"/);
    });
    it("rejects a location whose own proxy_hide_header drops the inherited ones", async () => {
        const files = editFile(SERVERS, "auth_request /_apiproxy/api-key-check;\n        proxy_pass http://orders;", "auth_request /_apiproxy/api-key-check;\n        proxy_hide_header X-Debug;\n        proxy_pass http://orders;");
        await violationOn(nginxHideUpstreamHeaders, files, NAME, /does not hide upstream header\(s\) Server, X-Powered-By/);
    });
    it("exempts an internal auth_request target, but not an internal location reached otherwise", async () => {
        const noHide = editFile(NGINX, "    proxy_hide_header Server;\n    proxy_hide_header X-Powered-By;\n", "");
        const scoped = editFile(SERVERS, "        auth_request /_apiproxy/api-key-check;\n        proxy_pass http://orders;", "        auth_request /_apiproxy/api-key-check;\n        proxy_hide_header Server;\n        proxy_hide_header X-Powered-By;\n        proxy_pass http://orders;", noHide);
        const mtlsScoped = editFile(SERVERS, "    location /api/v1/orders/ {\n        proxy_pass", "    location /api/v1/orders/ {\n        proxy_hide_header Server;\n        proxy_hide_header X-Powered-By;\n        proxy_pass", scoped);
        assertCompliant(await runResource(nginxHideUpstreamHeaders, T.instance, validInstance(mtlsScoped)));
        const notAuth = editFile(SERVERS, "        auth_request /_apiproxy/api-key-check;\n", "", mtlsScoped);
        await violationOn(nginxHideUpstreamHeaders, notAuth, NAME, /location = \/_apiproxy\/api-key-check .* does not hide upstream header\(s\) Server, X-Powered-By/);
    });
    it("rejects a grpc location without grpc_hide_header", async () => {
        await violationOn(nginxHideUpstreamHeaders, editFile(NGINX, "    grpc_hide_header Server;\n", ""), NAME, /location \/orders\.v1\.Orders\/ .* add "grpc_hide_header Server"/);
    });
});

describe("nginx-security-headers", () => {
    const NAME = "nginx-security-headers";
    commonCases(nginxSecurityHeaders);
    for (const [header, pattern] of [
        ["X-Frame-Options", /X-Frame-Options \(DENY or SAMEORIGIN\)/],
        ["X-Content-Type-Options", /X-Content-Type-Options nosniff/],
        ["Content-Security-Policy", /Content-Security-Policy/],
        ["Strict-Transport-Security", /Strict-Transport-Security \(max-age >= 31536000\)/],
    ] as const) {
        it(`rejects TLS servers without ${header}`, async () => {
            const files = editFile(HEADERS, new RegExp(`add_header ${header} [^\\n]*\\n`), "");
            await violationOn(nginxSecurityHeaders, files, NAME, new RegExp(`server api\\.example\\.com:443 .* is missing security header\\(s\\): .*${pattern.source}`));
        });
    }
    it("rejects a short HSTS max-age and a wrong X-Content-Type-Options value", async () => {
        await violationOn(nginxSecurityHeaders, editFile(HEADERS, "max-age=63072000", "max-age=86400"), NAME, /Strict-Transport-Security \(max-age >= 31536000\)/);
        await violationOn(nginxSecurityHeaders, editFile(HEADERS, "X-Content-Type-Options nosniff", "X-Content-Type-Options none"), NAME, /X-Content-Type-Options nosniff/);
    });
    it("rejects a location whose own add_header drops the server's security headers", async () => {
        const files = editFile(SERVERS, "auth_request /_apiproxy/api-key-check;\n        proxy_pass http://orders;", "auth_request /_apiproxy/api-key-check;\n        add_header Cache-Control no-store;\n        proxy_pass http://orders;");
        await violationOn(nginxSecurityHeaders, files, NAME, /location \/api\/v1\/orders\/ .* drops security header\(s\) X-Frame-Options/);
    });
    it("does not require the headers on the plain-HTTP health server", async () => {
        assertCompliant(await runResource(nginxSecurityHeaders, T.instance, validInstance()));
    });
});

describe("nginx-rate-limit-per-ip", () => {
    const NAME = "nginx-rate-limit-per-ip";
    commonCases(nginxRateLimitPerIp);
    it("rejects a per-IP zone above the ceiling (r/s and r/m)", async () => {
        await violationOn(nginxRateLimitPerIp, editFile(NGINX, "rate=50r/s", "rate=20000r/s"), NAME, /limit_req_zone per_ip at .* allows 20000r\/s; the ceiling is 10000r\/s/);
        const { props } = onInstance(editFile(NGINX, "rate=50r/s", "rate=6000r/m"));
        assertViolation(await runResource(nginxRateLimitPerIp, T.instance, props, { rateLimitCeilingPerSecond: 50 }), NAME, /allows 6000r\/m; the ceiling is 50r\/s/);
    });
    it("rejects a proxied location without any limit_req in effect", async () => {
        await violationOn(nginxRateLimitPerIp, editFile(NGINX, "    limit_req zone=per_ip burst=20 nodelay;\n", ""), NAME,
            /location \/orders\.v1\.Orders\/ .* proxies without a per-IP limit_req/);
    });
    it("rejects a location whose own limit_req (per key only) drops the inherited per-IP one", async () => {
        const files = editFile(SERVERS, "        limit_req zone=per_ip burst=20 nodelay;\n        limit_req zone=per_key burst=50;", "        limit_req zone=per_key burst=50;");
        await violationOn(nginxRateLimitPerIp, files, NAME, /location \/api\/v1\/orders\/ \(.*:\d+\) of server api\.example\.com:443 .* proxies without a per-IP limit_req/);
    });
    it("rejects a zone keyed by something other than $binary_remote_addr as the only limit", async () => {
        const files = editFile(NGINX, "limit_req_zone $binary_remote_addr zone=per_ip", "limit_req_zone $http_x_forwarded_for zone=per_ip");
        await violationOn(nginxRateLimitPerIp, files, NAME, /proxies without a per-IP limit_req/);
    });
    it("exempts internal locations only", async () => {
        const files = editFile(NGINX, "    limit_req zone=per_ip burst=20 nodelay;\n", "");
        const clientReachable = editFile(SERVERS, "        internal;\n", "", files);
        await violationOn(nginxRateLimitPerIp, clientReachable, NAME, /location = \/_apiproxy\/api-key-check .* proxies without a per-IP limit_req/);
        const outcome = await runResource(nginxRateLimitPerIp, T.instance, validInstance(files));
        assertViolation(outcome, NAME, /location \/orders\.v1\.Orders\//);
        assert.ok(!outcome.violations.some((v) => v.message.includes("api-key-check")), "internal location must be exempt");
    });
    it("rejects limit_req naming an undefined zone", async () => {
        await violationOn(nginxRateLimitPerIp, editFile(SERVERS, "limit_req zone=per_key burst=50;", "limit_req zone=nokey burst=50;"), NAME, /uses zone "nokey", which no limit_req_zone defines/);
    });
});

describe("nginx-client-max-body-size", () => {
    const NAME = "nginx-client-max-body-size";
    commonCases(nginxClientMaxBodySize);
    it("rejects a size above the ceiling and 0 (unlimited)", async () => {
        await violationOn(nginxClientMaxBodySize, editFile(NGINX, "client_max_body_size 2m;", "client_max_body_size 1g;"), NAME, /client_max_body_size 1g at .* exceeds the ceiling of 104857600 bytes/);
        await violationOn(nginxClientMaxBodySize, editFile(SERVERS, "auth_request /_apiproxy/api-key-check;\n        proxy_pass http://orders;", "auth_request /_apiproxy/api-key-check;\n        client_max_body_size 0;\n        proxy_pass http://orders;"), NAME, /client_max_body_size 0 at .*10-servers\.conf/);
    });
    it("honours the configured ceiling", async () => {
        const { props } = onInstance(HOST_FILES);
        assertViolation(await runResource(nginxClientMaxBodySize, T.instance, props, { maxBodyBytesCeiling: 1024 }), NAME, /2m .* exceeds the ceiling of 1024 bytes/);
    });
    it("rejects a config that never sets it", async () => {
        await violationOn(nginxClientMaxBodySize, editFile(NGINX, /\n\s*client_max_body_size 2m;[^\n]*/, ""), NAME, /client_max_body_size is not set anywhere/);
    });
});

describe("nginx-default-deny", () => {
    const NAME = "nginx-default-deny";
    commonCases(nginxDefaultDeny);
    it("rejects a proxying catch-all location", async () => {
        const files = editFile(SERVERS, "    location / {\n        return 404;\n    }\n}\n\nserver {\n    listen 8443", "    location / {\n        proxy_pass http://orders;\n    }\n}\n\nserver {\n    listen 8443");
        await violationOn(nginxDefaultDeny, files, NAME, /location \/ .* is a catch-all that proxies \(proxy_pass\)/);
    });
    it("rejects a regex catch-all that proxies", async () => {
        const files = editFile(SERVERS, "location /orders.v1.Orders/ {", "location ~ ^/ {");
        await violationOn(nginxDefaultDeny, files, NAME, /location ~ \^\/ .* is a catch-all that proxies \(grpc_pass\)/);
    });
    it("rejects proxy_pass in server context", async () => {
        await violationOn(nginxDefaultDeny, editFile(SERVERS, "    server_name api.example.com;\n    include", "    server_name api.example.com;\n    proxy_pass http://orders;\n    include"), NAME, /proxy_pass at .* sits in server context/);
    });
    it("rejects a proxying server without a denying catch-all", async () => {
        const files = editFile(SERVERS, "    location / {\n        return 404;\n    }\n}\n\nserver {\n    listen 8443", "}\n\nserver {\n    listen 8443");
        await violationOn(nginxDefaultDeny, files, NAME, /server api\.example\.com:443 .* has no catch-all "location \/" that returns 4xx/);
        const serves = editFile(SERVERS, "    location / {\n        return 404;\n    }\n}\n\nserver {\n    listen 8443", "    location / {\n        root /var/www;\n    }\n}\n\nserver {\n    listen 8443");
        await violationOn(nginxDefaultDeny, serves, NAME, /has no catch-all "location \/" that returns 4xx/);
    });
    it("rejects a stream block that forwards raw TCP", async () => {
        await violationOn(nginxDefaultDeny, { ...HOST_FILES, [NGINX]: `${HOST_FILES[NGINX]}stream { server { listen 9000; proxy_pass 10.0.10.10:9000; } }\n` }, NAME, /stream proxy_pass at .* forwards raw TCP/);
    });
});

describe("nginx-mtls-verify-client", () => {
    const NAME = "nginx-mtls-verify-client";
    commonCases(nginxMtlsVerifyClient);
    it("rejects ssl_verify_client optional or off", async () => {
        await violationOn(nginxMtlsVerifyClient, editFile(SERVERS, "ssl_verify_client on;", "ssl_verify_client optional;"), NAME, /mTLS port 8443 with ssl_verify_client optional; it must be "on"/);
        await violationOn(nginxMtlsVerifyClient, editFile(SERVERS, "    ssl_verify_client on;\n", ""), NAME, /ssl_verify_client unset \(off\)/);
    });
    it("rejects a missing client CA", async () => {
        await violationOn(nginxMtlsVerifyClient, editFile(SERVERS, /\n\s*ssl_client_certificate [^;]+;/, ""), NAME, /without ssl_client_certificate/);
    });
    it("rejects a plain-text listener on the mTLS port", async () => {
        await violationOn(nginxMtlsVerifyClient, editFile(SERVERS, "listen 8443 ssl;", "listen 0.0.0.0:8443;"), NAME, /listens on the mTLS port 8443 without ssl/);
    });
    it("checks the configured port", async () => {
        const { props } = onInstance(HOST_FILES);
        assertViolation(await runResource(nginxMtlsVerifyClient, T.instance, props, { mtlsPort: 443 }), NAME, /server api\.example\.com:443 .* mTLS port 443 with ssl_verify_client unset/);
    });
});

describe("sysctl-network-hardening", () => {
    const NAME = "sysctl-network-hardening";
    commonCases(sysctlNetworkHardening);
    for (const [from, to, pattern] of [
        ["net.ipv4.tcp_syncookies = 1", "net.ipv4.tcp_syncookies = 0", /net\.ipv4\.tcp_syncookies = 0; it must be 1/],
        ["net.ipv4.tcp_max_syn_backlog = 4096", "net.ipv4.tcp_max_syn_backlog = 1024", /tcp_max_syn_backlog = 1024; it must be >= 4096/],
        ["net.ipv4.ip_local_port_range = 1024 65535", "net.ipv4.ip_local_port_range = 32768 60999", /ip_local_port_range = 32768 60999; it must be 1024 65535/],
        ["net.ipv4.tcp_fin_timeout = 30", "net.ipv4.tcp_fin_timeout = 60", /tcp_fin_timeout = 60; it must be <= 30/],
        ["net.core.somaxconn = 4096", "net.core.somaxconn = 128", /somaxconn = 128; it must be >= 4096/],
        ["net.core.somaxconn = 4096\n", "", /net\.core\.somaxconn = \(unset\)/],
    ] as const) {
        it(`rejects ${to.trim() || `a missing ${from.split(" ")[0]}`}`, async () => {
            await violationOn(sysctlNetworkHardening, editFile(SYSCTL, from, to), NAME, pattern);
        });
    }
    it("accepts slash-separated keys and extra whitespace", async () => {
        const files = editFile(SYSCTL, "net.ipv4.ip_local_port_range = 1024 65535", "net/ipv4/ip_local_port_range=1024\t65535");
        assertCompliant(await runResource(sysctlNetworkHardening, T.instance, validInstance(files)));
    });
});

describe("proxy-host-config-present", () => {
    const NAME = "proxy-host-config-present";
    const nginxOnly = Object.fromEntries(Object.entries(HOST_FILES).filter(([p]) => p !== SYSCTL));

    it("accepts proxies whose user data carries nginx and sysctl", async () => {
        assertCompliant(await runStack(proxyHostConfigPresent, validStack()));
    });

    it("rejects a proxy with no nginx config anywhere", async () => {
        const stack = editStack("proxy-a", (e) => ({ ...e, props: { ...validInstance({ [SYSCTL]: HOST_FILES[SYSCTL] }), id: "i-proxy-a" } }));
        assertViolation(await runStack(proxyHostConfigPresent, stack), NAME, /Proxy instance proxy-a gets no \/etc\/nginx\/nginx\.conf/);
    });

    it("rejects a proxy with no sysctl file anywhere", async () => {
        const stack = editStack("proxy-b", (e) => ({ ...e, props: { ...validInstance(nginxOnly), id: "i-proxy-b" } }));
        assertViolation(await runStack(proxyHostConfigPresent, stack), NAME, /Proxy instance proxy-b gets no \/etc\/sysctl\.d\/60-apiproxy\.conf/);
    });

    it("accepts the files from an image component or the instance's launch template", async () => {
        let stack = editStack("proxy-a", (e) => ({ ...e, props: { ...validInstance({ "/etc/motd": "hi\n" }), id: "i-proxy-a" } }));
        stack = [...stack, { type: T.component, name: "host-files", props: validComponent() }];
        assertCompliant(await runStack(proxyHostConfigPresent, stack), "component");
        let viaTemplate = editStack("proxy-b", (e) => ({ ...e, props: { ...validInstance({ "/etc/motd": "hi\n" }), id: "i-proxy-b", launchTemplate: { id: "lt-1" } } }));
        viaTemplate = [...viaTemplate, { type: T.launchTemplate, name: "proxy-lt", props: { ...validLaunchTemplate(), id: "lt-1" } }];
        assertCompliant(await runStack(proxyHostConfigPresent, viaTemplate), "launch template");
    });

    it("gives no verdict while user data is unknown", async () => {
        const stack = editStack("proxy-a", (e) => ({ ...e, props: { ...e.props, userData: UNKNOWN } }));
        assertCompliant(await runStack(proxyHostConfigPresent, stack));
    });
});
