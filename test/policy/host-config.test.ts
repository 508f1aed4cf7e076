/**
 * Host-config policies are stack policies that judge host FILE SETS: each user-data carrier
 * alone, and all Image Builder components of one recipe together. Every rule has a compliant
 * and a violating case (on an instance's user data); "host file sets" covers the grouping.
 */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import type { StackValidationPolicy } from "@pulumi/policy";
import {
    hostConfigPolicies, nginxClientMaxBodySize, nginxConfigParses, nginxDefaultDeny, nginxHideUpstreamHeaders, nginxMtlsVerifyClient, nginxRateLimitPerIp,
    nginxPublicRoutesDeclared, nginxRequestsChecked,
    nginxSecurityHeaders, nginxServerTokensOff, nginxTlsCiphers, nginxTlsGroups, nginxTlsProtocols, proxyHostConfigPresent,
    sysctlNetworkHardening,
} from "../../policy-packs/api-proxy-baseline/policies/host-config";
import {
    HOST_FILES, T, editFile, editStack, validAsgStack, validComponent, validInstance, validLaunchTemplate, validStack, type HostFiles, type StackFixtureEntry,
} from "./fixtures";
import { encodeBundle } from "../../components/targets/inventory/bundle";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { TIER_CONFIG_KEY, validateTierConfig } from "../../infra/config/load";

/** The prod stack's tier object (the schema's view, for checks that the pack and the schema agree). */
const PROD_TIER = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "..", "stacks", "Pulumi.prod.yaml"), "utf8")).config[TIER_CONFIG_KEY];
import { UNKNOWN, assertCompliant, assertViolation, runStack, urnOf, type Outcome } from "./util";

const NGINX = "/etc/nginx/nginx.conf";
const TLS = "/etc/nginx/apiproxy/00-tls.conf";
const SERVERS = "/etc/nginx/apiproxy/10-servers.conf";
const HEADERS = "/etc/nginx/apiproxy/snippets/security-headers.inc";
const SYSCTL = "/etc/sysctl.d/zz-apiproxy.conf";
const SUBJECT = "subject";

/** Runs a host-config stack policy on a stack holding one resource (named "subject"). */
async function runOn(policy: StackValidationPolicy, type: string, props: Record<string, unknown>, config: object = {}): Promise<Outcome> {
    return runStack(policy, [{ type, name: SUBJECT, props }], config);
}

const onInstance = (files: HostFiles) => ({ type: T.instance, props: validInstance(files) });

/** The valid bundle passes on every carrier type, and the policy skips carriers without nginx. */
function commonCases(policy: StackValidationPolicy): void {
    it("accepts the valid bundle in user data, launch template and image component", async () => {
        assertCompliant(await runOn(policy, T.instance, validInstance()), "instance");
        assertCompliant(await runOn(policy, T.launchTemplate, validLaunchTemplate()), "launch template");
        assertCompliant(await runOn(policy, T.component, validComponent()), "component");
    });
    it("reads gzip+base64 user data (userDataBase64) like cloud-init does", async () => {
        const userDataBase64 = gzipSync(Buffer.from(String(validInstance().userData))).toString("base64");
        assertCompliant(await runOn(policy, T.instance, { ...validInstance(), userData: undefined, userDataBase64 }));
    });
    it("gives no verdict on carriers without nginx config or with unknown user data", async () => {
        assertCompliant(await runOn(policy, T.instance, validInstance({ "/etc/motd": "hello\n" })));
        assertCompliant(await runOn(policy, T.instance, { ...validInstance(), userData: UNKNOWN }));
        assertCompliant(await runOn(policy, T.instance, { ...validInstance(), userData: undefined }));
        assertCompliant(await runOn(policy, T.component, { ...validComponent(), data: UNKNOWN }));
    });
    it("reads host files only from carrier types", async () => {
        // The same broken bundle on a non-carrier resource type is not a host's configuration.
        const broken = validInstance({ ...HOST_FILES, [NGINX]: "http {", [SYSCTL]: "net.ipv4.tcp_syncookies = 0\n" });
        assertCompliant(await runOn(policy, T.loadBalancer, { ...broken, loadBalancerType: "network" }));
    });
}

/** Asserts the violation on an instance's user data, blamed on that instance. */
async function violationOn(policy: StackValidationPolicy, files: HostFiles, name: string, pattern: RegExp): Promise<void> {
    const { type, props } = onInstance(files);
    const hit = assertViolation(await runOn(policy, type, props), name, pattern);
    assert.equal(hit.urn, urnOf(type, SUBJECT), "the violation names the carrier");
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
        const outcome = await runOn(nginxConfigParses, T.instance, { ...validInstance(), userData: "#cloud-config\nwrite_files: [unclosed\n" });
        assertViolation(outcome, NAME, /cloud-config is not valid YAML/);
    });
});

describe("nginx-tls-protocols", () => {
    const NAME = "nginx-tls-protocols";
    commonCases(nginxTlsProtocols);
    it("checks the nginx config inside gzip+base64 user data too", async () => {
        const bad = validInstance(editFile(TLS, "ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1 TLSv1.2;"));
        const userDataBase64 = gzipSync(Buffer.from(String(bad.userData))).toString("base64");
        assertViolation(await runOn(nginxTlsProtocols, T.instance, { ...bad, userData: undefined, userDataBase64 }), NAME, /enables TLSv1;/);
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
    it("judges by the schema's list: the CCM TLS 1.3 suites the schema refuses are refused here too", async () => {
        await violationOn(nginxTlsCiphers, editFile(TLS, "TLS_AES_256_GCM_SHA384;", "TLS_AES_256_GCM_SHA384:TLS_AES_128_CCM_SHA256;"), NAME,
            /Ciphersuites at .* allows TLS_AES_128_CCM_SHA256;/);
        assert.throws(() => validateTierConfig({ ...structuredClone(PROD_TIER), tls: { tls13Ciphersuites: ["TLS_AES_128_CCM_SHA256"] } }, "test"),
            /tls\.tls13Ciphersuites\[0\]: "TLS_AES_128_CCM_SHA256" is not a NIST SP 800-52r2 approved/);
    });
    it("accepts nginx 1.18's way: no ssl_conf_command, the suites in the openssl.cnf its unit loads; checks that file's list", async () => {
        const UNIT = "/etc/systemd/system/nginx.service";
        const OPENSSL = "/etc/nginx/apiproxy/openssl.cnf";
        const withoutDirective = editFile(TLS, /ssl_conf_command Ciphersuites [^;]+;\n/, "");
        const files = (suites: string, unit = `[Service]\nEnvironment=OPENSSL_CONF=${OPENSSL}\nExecStart=/usr/sbin/nginx\n`) =>
            ({ ...withoutDirective, [UNIT]: unit, [OPENSSL]: `openssl_conf = a\n[a]\nssl_conf = b\n[b]\nsystem_default = c\n[c]\nCiphersuites = ${suites}\n` });
        assertCompliant(await runOn(nginxTlsCiphers, T.instance, validInstance(files("TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"))));
        await violationOn(nginxTlsCiphers, files("TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"), NAME,
            /openssl\.cnf \(OPENSSL_CONF of the nginx unit\) allows TLS 1\.3 suites TLS_CHACHA20_POLY1305_SHA256/);
        await violationOn(nginxTlsCiphers, files("TLS_AES_128_GCM_SHA256", "[Service]\nExecStart=/usr/sbin/nginx\n"), NAME,
            /enables TLS 1\.3 without "ssl_conf_command Ciphersuites" \(or an openssl\.cnf the nginx unit loads\)/);
    });
    it("rejects TLS servers relying on the default cipher lists", async () => {
        await violationOn(nginxTlsCiphers, editFile(TLS, /ssl_ciphers [^;]+;\n/, ""), NAME, /enables TLS 1\.2 without ssl_ciphers/);
        await violationOn(nginxTlsCiphers, editFile(TLS, /ssl_conf_command Ciphersuites [^;]+;\n/, ""), NAME, /enables TLS 1\.3 without "ssl_conf_command Ciphersuites"/);
    });
    it("does not require TLS 1.3 suites when only TLS 1.2 is enabled", async () => {
        let files = editFile(TLS, /ssl_conf_command Ciphersuites [^;]+;\n/, "");
        files = editFile(TLS, "ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1.2;", files);
        assertCompliant(await runOn(nginxTlsCiphers, T.instance, validInstance(files)));
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
        assertCompliant(await runOn(nginxTlsGroups, T.instance, validInstance(files)));
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
        assertCompliant(await runOn(nginxHideUpstreamHeaders, T.instance, validInstance(mtlsScoped)));
        const notAuth = editFile(SERVERS, /        auth_request \/_apiproxy\/api-key-check;\n/g, "", mtlsScoped);
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
        assertCompliant(await runOn(nginxSecurityHeaders, T.instance, validInstance()));
    });
});

describe("nginx-rate-limit-per-ip", () => {
    const NAME = "nginx-rate-limit-per-ip";
    commonCases(nginxRateLimitPerIp);
    it("rejects a per-IP zone above the ceiling (r/s and r/m)", async () => {
        await violationOn(nginxRateLimitPerIp, editFile(NGINX, "rate=50r/s", "rate=20000r/s"), NAME, /limit_req_zone per_ip at .* allows 20000r\/s; the ceiling is 10000r\/s/);
        const { props } = onInstance(editFile(NGINX, "rate=50r/s", "rate=6000r/m"));
        assertViolation(await runOn(nginxRateLimitPerIp, T.instance, props, { rateLimitCeilingPerSecond: 50 }), NAME, /allows 6000r\/m; the ceiling is 50r\/s/);
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
        const outcome = await runOn(nginxRateLimitPerIp, T.instance, validInstance(files));
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
        assertViolation(await runOn(nginxClientMaxBodySize, T.instance, props, { maxBodyBytesCeiling: 1024 }), NAME, /2m .* exceeds the ceiling of 1024 bytes/);
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

describe("nginx-requests-checked", () => {
    const NAME = "nginx-requests-checked";
    commonCases(nginxRequestsChecked);
    it("rejects a public location that proxies without an auth_request", async () => {
        await violationOn(nginxRequestsChecked, editFile(SERVERS, "        auth_request /_apiproxy/api-key-check;\n        grpc_pass", "        grpc_pass"), NAME,
            /location \/orders\.v1\.Orders\/ .* proxies requests that nothing checks/);
    });
    it("rejects auth_request off", async () => {
        await violationOn(nginxRequestsChecked, editFile(SERVERS, "        auth_request /_apiproxy/api-key-check;\n        proxy_pass http://orders;", "        auth_request off;\n        proxy_pass http://orders;"), NAME,
            /location \/api\/v1\/orders\/ .* nothing checks/);
    });
    it("accepts the mTLS server's locations (the client certificate is the check) and a route declared public", async () => {
        const declared = editFile(SERVERS, "        auth_request /_apiproxy/api-key-check;\n        grpc_pass", "        set $apiproxy_public_route \"Open catalogue for anonymous shoppers\";\n        grpc_pass");
        const { type, props } = onInstance(declared);
        assertCompliant(await runOn(nginxRequestsChecked, type, props), NAME);
    });
});

describe("nginx-public-routes-declared (advisory)", () => {
    const NAME = "nginx-public-routes-declared";
    it("reports each declared public route with its reason, and nothing else", async () => {
        const declared = editFile(SERVERS, "        auth_request /_apiproxy/api-key-check;\n        grpc_pass", "        set $apiproxy_public_route \"Open catalogue for anonymous shoppers\";\n        grpc_pass");
        const { type, props } = onInstance(declared);
        assertViolation(await runOn(nginxPublicRoutesDeclared, type, props), NAME, /location \/orders\.v1\.Orders\/ .* is public by declaration: "Open catalogue for anonymous shoppers"/);
        assertCompliant(await runOn(nginxPublicRoutesDeclared, onInstance(HOST_FILES).type, onInstance(HOST_FILES).props), NAME);
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
        assertViolation(await runOn(nginxMtlsVerifyClient, T.instance, props, { mtlsPort: 443 }), NAME, /server api\.example\.com:443 .* mTLS port 443 with ssl_verify_client unset/);
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
        assertCompliant(await runOn(sysctlNetworkHardening, T.instance, validInstance(files)));
    });
});

describe("proxy-host-config-present", () => {
    const NAME = "proxy-host-config-present";
    const nginxOnly = Object.fromEntries(Object.entries(HOST_FILES).filter(([p]) => p !== SYSCTL));

    it("accepts proxies whose user data carries nginx and sysctl", async () => {
        assertCompliant(await runStack(proxyHostConfigPresent, validStack()));
    });
    it("judges Auto Scaling proxies by their launch template: files there pass, a template without them fails the group", async () => {
        assertCompliant(await runStack(proxyHostConfigPresent, validAsgStack()));
        const bare = editStack("proxy-lt", (e) => ({ ...e, props: { ...e.props, userData: Buffer.from("#cloud-config\npackages: [nginx]\n").toString("base64") } }), validAsgStack());
        const hit = assertViolation(await runStack(proxyHostConfigPresent, bare), NAME, /Proxy Auto Scaling group proxy-asg launches instances that get no \/etc\/nginx\/nginx\.conf from their launch template proxy-lt/);
        assert.equal(hit.urn, urnOf(T.autoScalingGroup, "proxy-asg"));
    });

    it("rejects a proxy with no nginx config anywhere", async () => {
        const stack = editStack("proxy-a", (e) => ({ ...e, props: { ...validInstance({ [SYSCTL]: HOST_FILES[SYSCTL] }), id: "i-proxy-a" } }));
        assertViolation(await runStack(proxyHostConfigPresent, stack), NAME, /Proxy instance proxy-a gets no \/etc\/nginx\/nginx\.conf/);
    });

    it("rejects a proxy with no sysctl file anywhere", async () => {
        const stack = editStack("proxy-b", (e) => ({ ...e, props: { ...validInstance(nginxOnly), id: "i-proxy-b" } }));
        assertViolation(await runStack(proxyHostConfigPresent, stack), NAME, /Proxy instance proxy-b gets no \/etc\/sysctl\.d\/zz-apiproxy\.conf/);
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

describe("host file sets", () => {
    const RECIPE = "aws:imagebuilder/imageRecipe:ImageRecipe";
    const IMAGE = "aws:imagebuilder/image:Image";
    const MTLS_OPTIONAL = editFile(SERVERS, "ssl_verify_client on;", "ssl_verify_client optional;");
    const pick = (files: HostFiles, paths: readonly string[]): HostFiles => Object.fromEntries(Object.entries(files).filter(([p]) => paths.includes(p)));
    /** How the golden image splits: nginx.conf (+ TLS, sysctl) in one component, the server includes in another. */
    const MAIN_PART = [NGINX, TLS, SYSCTL];
    const INCLUDES_PART = [SERVERS, HEADERS];
    const arnOf = (name: string) => `arn:aws:imagebuilder:eu-west-1:123456789012:component/${name}/1.0.0/1`;
    const component = (name: string, files: HostFiles): StackFixtureEntry =>
        ({ type: T.component, name, props: { ...validComponent(files), id: arnOf(name), arn: arnOf(name) } });
    const recipe = (name: string, components: readonly string[]): StackFixtureEntry => ({
        type: RECIPE, name,
        props: { id: `arn:recipe/${name}`, arn: `arn:recipe/${name}`, components: components.map((c) => ({ componentArn: arnOf(c) })) },
    });
    const splitImage = (files: HostFiles = HOST_FILES, prefix = "golden"): StackFixtureEntry[] => [
        component(`${prefix}-files-0`, pick(files, MAIN_PART)),
        component(`${prefix}-files-1`, pick(files, INCLUDES_PART)),
        recipe(`${prefix}-recipe`, [`${prefix}-files-0`, `${prefix}-files-1`]),
    ];
    const urnOfComponent = (name: string) => urnOf(T.component, name);

    describe("(a) image components of one recipe are checked as one set", () => {
        it("passes a compliant config split over two components, on every host-config policy", async () => {
            for (const policy of hostConfigPolicies) {
                assertCompliant(await runStack(policy, splitImage()), policy.name);
            }
        });
        it("finds a violation in the includes component (blamed on it), which alone holds no nginx.conf", async () => {
            const hit = assertViolation(await runStack(nginxMtlsVerifyClient, splitImage(MTLS_OPTIONAL)), "nginx-mtls-verify-client", /ssl_verify_client optional; it must be "on"/);
            assert.equal(hit.urn, urnOfComponent("golden-files-1"));
            const security = assertViolation(await runStack(nginxSecurityHeaders, splitImage(editFile(HEADERS, /add_header X-Frame-Options [^\n]*\n/, ""))),
                "nginx-security-headers", /is missing security header\(s\): X-Frame-Options/);
            assert.equal(security.urn, urnOfComponent("golden-files-1"));
        });
        it("blames the component holding the offending file when it is nginx.conf's own", async () => {
            const hit = assertViolation(await runStack(nginxTlsProtocols, splitImage(editFile(TLS, "ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1 TLSv1.2;"))),
                "nginx-tls-protocols", /00-tls\.conf:\d+ enables TLSv1;/);
            assert.equal(hit.urn, urnOfComponent("golden-files-0"));
            const sysctl = assertViolation(await runStack(sysctlNetworkHardening, splitImage(editFile(SYSCTL, "net.ipv4.tcp_syncookies = 1", "net.ipv4.tcp_syncookies = 0"))),
                "sysctl-network-hardening", /tcp_syncookies = 0; it must be 1/);
            assert.equal(sysctl.urn, urnOfComponent("golden-files-0"));
        });
        it("reports a parse error in the includes component, blamed on it", async () => {
            const broken = editFile(SERVERS, 'return 200 "ok\\n";', 'return 200 "ok\\n"', MTLS_OPTIONAL);
            const hit = assertViolation(await runStack(nginxConfigParses, splitImage(broken)), "nginx-config-parses", /does not parse: \/etc\/nginx\/apiproxy\/10-servers\.conf:\d+/);
            assert.equal(hit.urn, urnOfComponent("golden-files-1"));
        });
        it("merges all components when no recipe or unknown component ARNs (preview) say otherwise", async () => {
            const [main, includes] = splitImage(MTLS_OPTIONAL);
            assertViolation(await runStack(nginxMtlsVerifyClient, [main, includes]), "nginx-mtls-verify-client", /optional/);
            const unknownArns: StackFixtureEntry = { type: RECIPE, name: "golden-recipe", props: { components: [{ componentArn: UNKNOWN }, { componentArn: UNKNOWN }] } };
            assertViolation(await runStack(nginxMtlsVerifyClient, [main, includes, unknownArns]), "nginx-mtls-verify-client", /optional/);
            assertCompliant(await runStack(nginxMtlsVerifyClient, [...splitImage().slice(0, 2), unknownArns]));
        });
        it("groups by the recipe's property dependencies while ARNs are unknown", async () => {
            const [main, includes] = splitImage(MTLS_OPTIONAL);
            const other = component("other-files", pick(editFile(SERVERS, "10.0.10.10:8080", "10.0.20.10:8080"), INCLUDES_PART));
            const previewRecipe: StackFixtureEntry = {
                type: RECIPE, name: "golden-recipe", props: { components: [{ componentArn: UNKNOWN }, { componentArn: UNKNOWN }] },
                propertyDependencies: { components: [main.name, includes.name] },
            };
            const otherRecipe: StackFixtureEntry = { ...recipe("other-recipe", ["other-files"]), propertyDependencies: { components: ["other-files"] } };
            assertViolation(await runStack(nginxMtlsVerifyClient, [main, includes, other, previewRecipe, otherRecipe]), "nginx-mtls-verify-client", /optional/);
            // Two recipes, two sets: other-files' 10-servers.conf does not conflict with golden's.
            assertCompliant(await runStack(nginxConfigParses, [main, includes, other, previewRecipe, otherRecipe]));
        });
        it("keeps the images of different recipes apart", async () => {
            const variant = editFile(SERVERS, "10.0.10.10:8080", "10.0.20.10:8080");
            const stack = [...splitImage(HOST_FILES, "blue"), ...splitImage(variant, "green")];
            assertCompliant(await runStack(nginxConfigParses, stack), "two images with different servers.conf");
            const weakGreen = [...splitImage(HOST_FILES, "blue"), ...splitImage(editFile(SERVERS, "ssl_verify_client on;", "ssl_verify_client optional;", variant), "green")];
            const outcome = await runStack(nginxMtlsVerifyClient, weakGreen);
            assert.deepEqual(outcome.violations.map((v) => v.urn), [urnOfComponent("green-files-1")]);
        });
        it("does not read host files from resources that are not carriers", async () => {
            assertCompliant(await runStack(nginxMtlsVerifyClient, [
                ...splitImage().slice(0, 1),
                { type: T.loadBalancer, name: "nlb", props: { ...validComponent(pick(MTLS_OPTIONAL, INCLUDES_PART)), loadBalancerType: "network" } },
            ]));
        });
    });

    describe("(b) conflicting duplicate paths", () => {
        it("reports a path two components of one image write differently", async () => {
            const stack = [
                component("golden-files-0", pick(HOST_FILES, [...MAIN_PART, SERVERS])),
                component("golden-files-1", pick(MTLS_OPTIONAL, INCLUDES_PART)),
                recipe("golden-recipe", ["golden-files-0", "golden-files-1"]),
            ];
            const hit = assertViolation(await runStack(nginxConfigParses, stack), "nginx-config-parses",
                /Host files conflict in image recipe golden-recipe .*: \/etc\/nginx\/apiproxy\/10-servers\.conf is written with different content by golden-files-0, golden-files-1/);
            assert.equal(hit.urn, urnOfComponent("golden-files-1"));
        });
        it("also when components are merged without a recipe, and for non-nginx files", async () => {
            const stack = [
                component("golden-files-0", HOST_FILES),
                component("golden-files-1", { [SYSCTL]: `${HOST_FILES[SYSCTL]}net.core.somaxconn = 8192\n` }),
            ];
            assertViolation(await runStack(nginxConfigParses, stack), "nginx-config-parses", /\/etc\/sysctl\.d\/zz-apiproxy\.conf is written with different content/);
        });
        it("accepts the same content written twice", async () => {
            const stack = [
                component("golden-files-0", pick(HOST_FILES, [...MAIN_PART, SERVERS])),
                component("golden-files-1", pick(HOST_FILES, INCLUDES_PART)),
                recipe("golden-recipe", ["golden-files-0", "golden-files-1"]),
            ];
            assertCompliant(await runStack(nginxConfigParses, stack));
        });
    });

    describe("(c) user data: one set per instance / launch template", () => {
        const instance = (name: string, files: HostFiles, extra: Record<string, unknown> = {}): StackFixtureEntry =>
            ({ type: T.instance, name, props: { ...validInstance(files), id: `i-${name}`, ...extra } });

        it("blames only the instance whose user data violates", async () => {
            const outcome = await runStack(nginxMtlsVerifyClient, [instance("proxy-a", HOST_FILES), instance("proxy-b", MTLS_OPTIONAL)]);
            assert.deepEqual(outcome.violations.map((v) => v.urn), [urnOf(T.instance, "proxy-b")]);
            const sysctl = await runStack(sysctlNetworkHardening, [
                instance("proxy-a", editFile(SYSCTL, "net.ipv4.tcp_fin_timeout = 30", "net.ipv4.tcp_fin_timeout = 60")), instance("proxy-b", HOST_FILES),
            ]);
            assert.deepEqual(sysctl.violations.map((v) => v.urn), [urnOf(T.instance, "proxy-a")]);
        });
        it("never merges two hosts' user data (different files on different hosts are no conflict)", async () => {
            const variant = editFile(SERVERS, "10.0.10.10:8080", "10.0.20.10:8080");
            assertCompliant(await runStack(nginxConfigParses, [
                instance("proxy-a", HOST_FILES), instance("proxy-b", variant),
                { type: T.launchTemplate, name: "proxy-lt", props: validLaunchTemplate(editFile(SERVERS, "10.0.10.10:8080", "10.0.30.10:8080")) },
            ]));
        });
        it("checks the image set, not the instance, when the user data has no nginx config", async () => {
            const stack = [...splitImage(MTLS_OPTIONAL), instance("proxy-a", { "/etc/motd": "hi\n" })];
            const outcome = await runStack(nginxMtlsVerifyClient, stack);
            assert.deepEqual(outcome.violations.map((v) => v.urn), [urnOfComponent("golden-files-1")]);
        });
        it("lays nginx includes from user data over the image the instance boots from", async () => {
            const image: StackFixtureEntry = {
                type: IMAGE, name: "golden-image",
                props: { id: "arn:image/golden", imageRecipeArn: "arn:recipe/golden-recipe", outputResources: [{ amis: [{ image: "ami-golden", region: "eu-west-1" }] }] },
            };
            const overlay = pick(MTLS_OPTIONAL, [SERVERS]);
            const stack = [...splitImage(), image, instance("proxy-a", overlay, { ami: "ami-golden" })];
            const hit = assertViolation(await runStack(nginxMtlsVerifyClient, stack), "nginx-mtls-verify-client", /optional/);
            assert.equal(hit.urn, urnOf(T.instance, "proxy-a"));
            // A later write by user data is what the host runs: it is no conflict with the image.
            assertCompliant(await runStack(nginxConfigParses, [...splitImage(), image, instance("proxy-a", pick(HOST_FILES, [SERVERS]), { ami: "ami-golden" })]));
        });
        it("uses the image the instance boots from (ami -> image -> recipe), else every image of the stack", async () => {
            // legacy limits per IP in each location; golden at http level. The instance's 10-servers.conf
            // relies on golden's http-level limit, so it is only compliant on top of golden.
            const noHttpLimit = editFile(NGINX, "    limit_req zone=per_ip burst=20 nodelay;\n", "");
            const perLocation = editFile(SERVERS, "    location /orders.v1.Orders/ {", "    location /orders.v1.Orders/ {\n        limit_req zone=per_ip burst=20 nodelay;", noHttpLimit);
            const legacyFiles = editFile(SERVERS, "    location /api/v1/orders/ {\n        proxy_pass", "    location /api/v1/orders/ {\n        limit_req zone=per_ip burst=20 nodelay;\n        proxy_pass", perLocation);
            const image: StackFixtureEntry = {
                type: IMAGE, name: "golden-image",
                props: { id: "arn:image/golden", imageRecipeArn: "arn:recipe/golden-recipe", outputResources: [{ amis: [{ image: "ami-golden", region: "eu-west-1" }] }] },
            };
            const images = [...splitImage(), ...splitImage(legacyFiles, "legacy"), image];
            const overlay = pick(HOST_FILES, [SERVERS]);
            assertCompliant(await runStack(nginxRateLimitPerIp, [...images, instance("proxy-a", overlay, { ami: "ami-golden" })]), "linked to golden");
            const unlinked = await runStack(nginxRateLimitPerIp, [...images, instance("proxy-a", overlay, { ami: "ami-unknown" })]);
            const hit = assertViolation(unlinked, "nginx-rate-limit-per-ip", /location \/orders\.v1\.Orders\/ .* proxies without a per-IP limit_req/);
            assert.equal(hit.urn, urnOf(T.instance, "proxy-a"));
        });
    });
});

describe("host file sets: inventory and local deliveries (command:remote:Command stdin bundles)", () => {
    const REMOTE_COMMAND = "command:remote:Command";
    const bundle = (files: HostFiles): string => encodeBundle(Object.entries(files).map(([path, content]) => ({
        path, content, mode: "0644", owner: "root", group: "root", action: "nginx-reload" as const,
    })));
    const delivery = (files: HostFiles): Record<string, unknown> => ({ create: "sudo -n bash -c '…'", stdin: bundle(files) });

    it("judges the delivered files like user data: the valid set passes, one broken control fails its policy", async () => {
        assertCompliant(await runOn(nginxMtlsVerifyClient, REMOTE_COMMAND, delivery(HOST_FILES)));
        assertViolation(await runOn(nginxMtlsVerifyClient, REMOTE_COMMAND,
            delivery(editFile(SERVERS, "ssl_verify_client on;", "ssl_verify_client optional;"))), "nginx-mtls-verify-client", /ssl_verify_client/);
        assertViolation(await runOn(sysctlNetworkHardening, REMOTE_COMMAND,
            delivery(editFile(SYSCTL, "net.ipv4.tcp_syncookies = 1", "net.ipv4.tcp_syncookies = 0"))), "sysctl-network-hardening", /tcp_syncookies/);
    });

    it("ignores commands whose stdin is not a bundle, or not known yet (preview)", async () => {
        assertCompliant(await runOn(nginxMtlsVerifyClient, REMOTE_COMMAND, { create: "true", stdin: "ssl_verify_client optional;" }));
        assertCompliant(await runOn(nginxMtlsVerifyClient, REMOTE_COMMAND, { create: "true", stdin: UNKNOWN }));
    });
});
