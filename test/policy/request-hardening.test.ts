/**
 * Request-handling policies (policies/request-hardening.ts) on the hand-written host files:
 * the valid set passes, each broken setting fails its policy alone with a message naming it.
 */
import { describe, it } from "node:test";
import type { StackValidationPolicy } from "@pulumi/policy";
import {
    nginxClientTimeouts, nginxHeaderBuffersBounded, nginxLogging, nginxSessionTicketsOff, nginxUpstreamCircuitBreaker, parseSeconds,
} from "../../policy-packs/api-proxy-baseline/policies/request-hardening";
import { HOST_FILES, T, editFile, validInstance, type HostFiles } from "./fixtures";
import { assertCompliant, assertViolation, runStack } from "./util";
import * as assert from "node:assert/strict";

const NGINX = "/etc/nginx/nginx.conf";
const SERVERS = "/etc/nginx/apiproxy/10-servers.conf";
const TLS = "/etc/nginx/apiproxy/00-tls.conf";
const run = (policy: StackValidationPolicy, files: HostFiles) => runStack(policy, [{ type: T.instance, name: "proxy-a", props: validInstance(files) }], {});

describe("request hardening policies", () => {
    for (const policy of [nginxClientTimeouts, nginxHeaderBuffersBounded, nginxUpstreamCircuitBreaker, nginxLogging, nginxSessionTicketsOff]) {
        it(`${policy.name}: the valid host files pass`, async () => assertCompliant(await run(policy, HOST_FILES)));
    }
    it("nginx time values", () => {
        assert.deepEqual(["10", "10s", "1m", "500ms", "x", undefined].map(parseSeconds), [10, 10, 60, 0.5, undefined, undefined]);
    });
    it("nginx-client-timeouts: unset, too long, zero, and a longer one in a server", async () => {
        const name = "nginx-client-timeouts";
        assertViolation(await run(nginxClientTimeouts, editFile(NGINX, /\n\s*send_timeout 10s;/, "")), name, /has no send_timeout/);
        assertViolation(await run(nginxClientTimeouts, editFile(NGINX, "client_header_timeout 10s;", "client_header_timeout 1m;")), name, /client_header_timeout at .* is "1m"; it must be 1-10 s/);
        assertViolation(await run(nginxClientTimeouts, editFile(NGINX, "keepalive_timeout 10s;", "keepalive_timeout 0;")), name, /keepalive_timeout .* "0"/);
        assertViolation(await run(nginxClientTimeouts, editFile(SERVERS, "    server_name api.example.com;\n    include", "    server_name api.example.com;\n    client_body_timeout 120s;\n    include")), name, /client_body_timeout at .*10-servers\.conf.* "120s"/);
    });
    it("nginx-header-buffers-bounded: unset or beyond the ceiling", async () => {
        const name = "nginx-header-buffers-bounded";
        assertViolation(await run(nginxHeaderBuffersBounded, editFile(NGINX, /\n\s*large_client_header_buffers 4 8k;/, "")), name, /has no large_client_header_buffers/);
        assertViolation(await run(nginxHeaderBuffersBounded, editFile(NGINX, "large_client_header_buffers 4 8k;", "large_client_header_buffers 4 1024k;")), name, /at most 64k/);
    });
    it("nginx-upstream-circuit-breaker: max_fails=0, no fail_timeout, unbounded retries", async () => {
        const name = "nginx-upstream-circuit-breaker";
        assertViolation(await run(nginxUpstreamCircuitBreaker, editFile(SERVERS, "max_fails=3", "max_fails=0")), name, /upstream orders server 10\.0\.10\.10:8080 .* disables the breaker/);
        assertViolation(await run(nginxUpstreamCircuitBreaker, editFile(SERVERS, " fail_timeout=10s", "")), name, /needs max_fails >= 1 and a fail_timeout/);
        assertViolation(await run(nginxUpstreamCircuitBreaker, editFile(NGINX, "proxy_next_upstream_tries 2;", "proxy_next_upstream_tries 0;")), name, /proxy_next_upstream_tries 0 \(unbounded\)/);
        assertViolation(await run(nginxUpstreamCircuitBreaker, editFile(NGINX, /\n\s*grpc_next_upstream_tries 2;/, "")), name, /location \/orders\.v1\.Orders\/ .* no grpc_next_upstream_tries/);
    });
    it("nginx-logging: no error_log, access_log off in a server, a non-JSON format", async () => {
        const name = "nginx-logging";
        assertViolation(await run(nginxLogging, editFile(NGINX, /\nerror_log [^\n]*/, "")), name, /no error_log at main level/);
        assertViolation(await run(nginxLogging, editFile(SERVERS, "    listen 8443 ssl;\n", "    listen 8443 ssl;\n    access_log off;\n")), name, /switches access_log off/);
        assertViolation(await run(nginxLogging, editFile(NGINX, "access_log /var/log/nginx/access.log apiproxy_json if=$log_kept;", "access_log /var/log/nginx/access.log apiproxy;")), name, /not a JSON format/);
    });
    it("nginx-logging: an access-log condition that skips more than sampled 429s, refusals written to the error log", async () => {
        const name = "nginx-logging";
        assertViolation(await run(nginxLogging, editFile(NGINX, "default 1; }", "default 0; }")), name, /leaves every answer it does not list unlogged \(default 0\)/);
        assertViolation(await run(nginxLogging, editFile(NGINX, `"429:0" 0;`, `"429:0" 0; "401:0" 0;`)), name, /leaves "401:0" unlogged: only refusals \(429\) may be sampled/);
        assertViolation(await run(nginxLogging, editFile(NGINX, "if=$log_kept;", "if=$undefined_var;")), name, /\$undefined_var is not set by a map/);
        assertViolation(await run(nginxLogging, editFile(NGINX, "limit_req_log_level info;", "limit_req_log_level warn;")), name, /limit_req_log_level warn at .* is at or above error_log's level \(warn\)/);
        assertViolation(await run(nginxLogging, editFile(NGINX, /\n\s*limit_req_log_level info;/, "")), name, /limit_req_log_level unset \(nginx logs refusals at "error"\) is at or above error_log's level \(warn\)/);
    });
    it("nginx-session-tickets-off (advisory): tickets on, or left to nginx's default", async () => {
        const name = "nginx-session-tickets-off";
        assertViolation(await run(nginxSessionTicketsOff, editFile(TLS, "ssl_session_tickets off;", "ssl_session_tickets on;")), name, /leaves ssl_session_tickets on/);
        assertViolation(await run(nginxSessionTicketsOff, editFile(TLS, "ssl_session_tickets off;\n", "")), name, /on \(nginx's default\)/);
    });
});
