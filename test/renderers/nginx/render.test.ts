/**
 * Targeted assertions on the rendered nginx config, one property per test, on the parsed
 * directive tree (includes resolved). Each fails if its property is dropped from the renderer.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
    APPROVED_TLS12_CIPHERS,
    APPROVED_TLS13_CIPHERSUITES,
    CLIENT_BODY_TIMEOUT_SECONDS,
    CLIENT_HEADER_TIMEOUT_SECONDS,
    KEEPALIVE_TIMEOUT_SECONDS,
    UPSTREAM_NEXT_TRIES,
    renderNginx,
    workerSizing,
} from "../../../components/nginx";
import type { NginxSpec } from "../../../components/nginx/types";
import { REJECTION_LOG_SAMPLE_EVERY } from "../../../components/nginx/constants";
import { validSpec } from "./fixtures";
import { location, locations, proxiedLocations, render, routeMatcher, values } from "./helpers";
import { argsOf, children, only, walk, type Directive } from "./parse";

const r = render(validSpec);
const tlsServers = [r.publicServer, r.mtlsServer];
const allProxied = tlsServers.flatMap(proxiedLocations);
const routeByMatcher = new Map(validSpec.routes.map((route) => [routeMatcher(route), route]));
function routeOf(loc: Directive) {
    const route = routeByMatcher.get(argsOf(loc));
    assert.ok(route, `location ${argsOf(loc)} is not a declared route`);
    return route;
}
function withSpec(patch: (spec: NginxSpec) => NginxSpec) {
    return render(patch(validSpec));
}

describe("TLS (NIST SP 800-52r2)", () => {
    it("allows only TLS 1.2 and 1.3", () => {
        assert.deepEqual(values(r.http, "ssl_protocols"), ["TLSv1.2 TLSv1.3"]);
    });
    it("limits TLS 1.2 to ECDHE + AES-GCM suites", () => {
        assert.deepEqual(values(r.http, "ssl_ciphers"), [APPROVED_TLS12_CIPHERS.join(":")]);
    });
    it("limits TLS 1.3 to the AES-GCM suites (no CHACHA20)", () => {
        assert.deepEqual(values(r.http, "ssl_conf_command"), [`Ciphersuites ${APPROVED_TLS13_CIPHERSUITES.join(":")}`]);
        assert.doesNotMatch(r.directivesText, /CHACHA20/i);
    });
    it("offers only NIST groups (no x25519)", () => {
        assert.deepEqual(values(r.http, "ssl_ecdh_curve"), ["P-256:P-384"]);
        assert.doesNotMatch(r.directivesText, /x25519|X448/i);
    });
    it("prefers server ciphers, shares the session cache, bounds the session lifetime", () => {
        assert.deepEqual(values(r.http, "ssl_prefer_server_ciphers"), ["on"]);
        assert.match(values(r.http, "ssl_session_cache")[0], /^shared:\w+:10m$/);
        assert.deepEqual(values(r.http, "ssl_session_timeout"), ["60m"]);
    });
    it("turns session tickets off unless the spec enables them", () => {
        assert.deepEqual(values(r.http, "ssl_session_tickets"), ["off"]);
        const on = withSpec((s) => ({ ...s, tls: { ...s.tls, sessionTickets: true } }));
        assert.deepEqual(values(on.http, "ssl_session_tickets"), ["on"]);
    });
    it("disables 0-RTT early data", () => {
        assert.deepEqual(values(r.http, "ssl_early_data"), ["off"]);
    });
    it("throws on a non-approved protocol, suite or group", () => {
        const bad: [string, (s: NginxSpec) => NginxSpec][] = [
            ["tls.protocols", (s) => ({ ...s, tls: { ...s.tls, protocols: ["TLSv1.1" as "TLSv1.2", "TLSv1.2"] } })],
            ["tls.tls12Ciphers", (s) => ({ ...s, tls: { ...s.tls, tls12Ciphers: ["ECDHE-ECDSA-CHACHA20-POLY1305"] } })],
            ["tls.tls12Ciphers", (s) => ({ ...s, tls: { ...s.tls, tls12Ciphers: ["AES128-SHA"] } })],
            ["tls.tls13Ciphersuites", (s) => ({ ...s, tls: { ...s.tls, tls13Ciphersuites: ["TLS_CHACHA20_POLY1305_SHA256"] } })],
            ["tls.groups", (s) => ({ ...s, tls: { ...s.tls, groups: ["X25519", "P-256"] } })],
            ["tls.protocols", (s) => ({ ...s, tls: { ...s.tls, protocols: [] } })],
        ];
        for (const [field, patch] of bad) {
            assert.throws(() => render(patch(validSpec)), new RegExp(field.replace(".", "\\.")), field);
        }
    });
    it("serves HTTP/2 on both TLS listeners (nginx 1.22 listen syntax)", () => {
        assert.deepEqual(values(r.publicServer, "listen"), ["443 ssl http2 backlog=511"]);
        assert.deepEqual(values(r.mtlsServer, "listen"), ["8443 ssl http2 backlog=511"]);
    });
    it("verifies upstream TLS against the upstream CA with the approved suites", () => {
        const accounts = location(r.publicServer, "/api/v1/accounts/");
        assert.deepEqual(values(accounts, "proxy_ssl_verify"), ["on"]);
        assert.deepEqual(values(accounts, "proxy_ssl_trusted_certificate"), [validSpec.certificates.upstreamCa]);
        assert.deepEqual(values(accounts, "proxy_ssl_name"), ["accounts.internal"]);
        assert.deepEqual(values(accounts, "proxy_ssl_protocols"), ["TLSv1.2 TLSv1.3"]);
        assert.throws(
            () => render({ ...validSpec, certificates: { ...validSpec.certificates, upstreamCa: undefined } }),
            /upstreamCa/,
        );
    });
});

describe("mTLS listener", () => {
    it("requires a client certificate from the client CA with a bounded chain", () => {
        assert.deepEqual(values(r.mtlsServer, "ssl_verify_client"), ["on"]);
        assert.deepEqual(values(r.mtlsServer, "ssl_client_certificate"), [validSpec.certificates.clientCa]);
        assert.deepEqual(values(r.mtlsServer, "ssl_verify_depth"), [String(validSpec.mtlsVerifyDepth)]);
        assert.deepEqual(values(r.publicServer, "ssl_verify_client"), []);
    });
    it("exposes mTLS-only routes on the mTLS listener alone", () => {
        assert.equal(locations(r.publicServer).filter((l) => argsOf(l) === "/api/v1/admin/").length, 0);
        assert.equal(proxiedLocations(r.mtlsServer).filter((l) => argsOf(l) === "/api/v1/admin/").length, 1);
    });
    it("answers missing/invalid client certificates with a local JSON 400", () => {
        const page = children(r.mtlsServer, "error_page").find((d) => d.args.includes("495") && d.args.includes("496"));
        assert.ok(page, "error_page 495 496");
    });
});

describe("rate and connection limits", () => {
    it("defines the per-IP zone from the spec", () => {
        assert.ok(values(r.http, "limit_req_zone").includes("$binary_remote_addr zone=per_ip:10m rate=50r/s"));
    });
    it("keys no nginx zone by the raw API key (random keys would each get a fresh bucket)", () => {
        for (const zone of values(r.http, "limit_req_zone")) assert.match(zone, /^\$binary_remote_addr zone=/, zone);
        assert.doesNotMatch(r.directivesText, /per_api_key|api_key_rate_key/);
        const keyMaps = children(r.http, "map").filter((m) => m.args[0] === "$http_x_api_key").map(argsOf);
        assert.deepEqual(keyMaps, ["$http_x_api_key $api_key_present"], "only the log's presence flag reads the raw key");
    });
    it("applies the per-IP limit with burst and nodelay on EVERY proxied location", () => {
        assert.ok(allProxied.length >= validSpec.routes.length);
        for (const loc of allProxied) {
            assert.ok(values(loc, "limit_req").includes("zone=per_ip burst=20 nodelay"), argsOf(loc));
            const route = routeOf(loc);
            assert.ok(
                values(loc, "limit_req").includes(`zone=route_${route.name} burst=${route.rateLimitPerIp.burst} nodelay`),
                `route zone on ${argsOf(loc)}`,
            );
        }
        const status = withSpec((s) => s);
        assert.ok(values(status.http, "limit_req_zone").includes("$binary_remote_addr zone=route_status:10m rate=5r/s"));
    });
    it("leaves the per-key limit to the key service: key routes keep its refusal reason and Retry-After", () => {
        for (const loc of allProxied) {
            for (const limit of values(loc, "limit_req")) assert.match(limit, /^zone=(per_ip|route_\w+) /, argsOf(loc));
            const sets = values(loc, "auth_request_set");
            const expected = routeOf(loc).requireApiKey
                ? ["$api_key_id $upstream_http_x_api_key_id", "$api_key_denied $upstream_http_x_apiproxy_denied", "$api_key_retry_after $upstream_http_retry_after"]
                : [];
            assert.deepEqual(sets, expected, argsOf(loc));
        }
        // Defined empty on every TLS server first, so routes without a key check read "" (never a
        // stale or uninitialised value) and their 403s stay 403.
        for (const server of tlsServers) {
            const sets = values(server, "set");
            for (const variable of ["$api_key_id", "$api_key_denied", "$api_key_retry_after"]) assert.ok(sets.includes(`${variable} `), variable);
        }
        assert.match(r.file("rate-limits.conf").content, /# Per API key: 100 r\/s, burst 50, per key id, enforced by the key service/);
    });
    it("answers a rate-limited key's 403 with the JSON 429 page and its status, any other 403 with the 403 page", () => {
        const page = children(r.http, "map").find((m) => argsOf(m) === "$api_key_denied $api_key_denied_page");
        assert.ok(page?.block, "map of the refusal reason to the error page");
        assert.deepEqual(page.block.map((d) => `${d.name} ${argsOf(d)}`), ["rate-limited @apiproxy_error_429", "default @apiproxy_error_403"]);
        for (const server of tlsServers) {
            // bare "=": the status is the chosen page's (429 or 403); "=403" would force 403 onto the 429 page
            const forbidden = children(server, "error_page").filter((d) => d.args[0] === "403").map(argsOf);
            assert.deepEqual(forbidden, ["403 = $api_key_denied_page"]);
            assert.match(values(location(server, "@apiproxy_error_429"), "return")[0], /^429 \{"error":"too_many_requests"/);
            assert.match(values(location(server, "@apiproxy_error_403"), "return")[0], /^403 \{"error":"forbidden"/);
            // an error_page inside a location would replace every inherited mapping
            for (const loc of walk(locations(server))) assert.notEqual(loc.name, "error_page", `${loc.file}:${loc.line}`);
        }
    });
    it("sends the key service's Retry-After on the per-key 429 only (server-level add_header of a map)", () => {
        const retry = children(r.http, "map").find((m) => argsOf(m) === "$api_key_denied:$api_key_retry_after $api_key_rate_limited_retry_after");
        assert.ok(retry?.block, "map of Retry-After");
        assert.deepEqual(retry.block.map((d) => `${d.name} ${argsOf(d)}`), ["~^rate-limited:([0-9]+)$ $1", "default "]);
        for (const server of tlsServers) {
            assert.ok(values(server, "add_header").includes("Retry-After $api_key_rate_limited_retry_after always"));
        }
    });
    it("answers limits with 429", () => {
        assert.deepEqual(values(r.http, "limit_req_status"), ["429"]);
        assert.deepEqual(values(r.http, "limit_conn_status"), ["429"]);
    });
    it("limits connections per IP on both TLS listeners", () => {
        assert.ok(values(r.http, "limit_conn_zone").includes("$binary_remote_addr zone=conn_per_ip:10m"));
        for (const server of tlsServers) assert.deepEqual(values(server, "limit_conn"), ["conn_per_ip 100"]);
    });
});

describe("request size and time bounds", () => {
    it("caps bodies at the tier default and per route", () => {
        assert.deepEqual(values(r.http, "client_max_body_size"), ["2m"]);
        assert.deepEqual(values(location(r.publicServer, "/api/v1/orders/"), "client_max_body_size"), ["1m"]);
        for (const loc of allProxied) assert.equal(values(loc, "client_max_body_size").length, 1, argsOf(loc));
        assert.throws(() => render({ ...validSpec, maxBodyBytes: 512 * 1024 }), /maxBodyBytes/);
    });
    it("bounds header buffers", () => {
        assert.deepEqual(values(r.http, "client_header_buffer_size"), ["1k"]);
        assert.deepEqual(values(r.http, "large_client_header_buffers"), ["4 8k"]);
    });
    it("bounds client header/body and keepalive timeouts", () => {
        assert.deepEqual(values(r.http, "client_header_timeout"), [`${CLIENT_HEADER_TIMEOUT_SECONDS}s`]);
        assert.deepEqual(values(r.http, "client_body_timeout"), [`${CLIENT_BODY_TIMEOUT_SECONDS}s`]);
        assert.deepEqual(values(r.http, "keepalive_timeout"), [`${KEEPALIVE_TIMEOUT_SECONDS}s`]);
        assert.equal(values(r.http, "send_timeout").length, 1);
    });
});

describe("header sanitising", () => {
    it("hides the nginx version", () => {
        assert.deepEqual(values(r.http, "server_tokens"), ["off"]);
    });
    it("hides upstream Server and X-Powered-By on every proxied location (proxy and grpc)", () => {
        for (const loc of allProxied) {
            const hide = children(loc, "grpc_pass").length > 0 ? "grpc_hide_header" : "proxy_hide_header";
            const hidden = values(loc, hide);
            assert.ok(hidden.includes("Server") && hidden.includes("X-Powered-By"), `${hide} on ${argsOf(loc)}`);
        }
    });
    it("adds the security headers with `always` on both TLS servers", () => {
        const expected = new Map([
            ["X-Frame-Options", '"DENY"'],
            ["X-Content-Type-Options", '"nosniff"'],
            ["Content-Security-Policy", `"${validSpec.contentSecurityPolicy}"`],
            ["Strict-Transport-Security", `"max-age=${validSpec.tls.hstsMaxAgeSeconds}; includeSubDomains"`],
            ["Referrer-Policy", '"no-referrer"'],
        ]);
        for (const server of tlsServers) {
            const headers = children(server, "add_header");
            for (const [name] of expected) {
                const header = headers.find((h) => h.args[0] === name);
                assert.ok(header, `${name} missing`);
                assert.equal(header.args[2], "always", `${name} without always`);
            }
        }
        const raw = r.file("security-headers.conf").content;
        for (const [name, value] of expected) assert.ok(raw.includes(`add_header ${name} ${value} always;`), name);
    });
    it("never sets add_header inside a location (it would drop the server-level headers)", () => {
        for (const server of tlsServers) {
            for (const loc of walk(locations(server))) assert.notEqual(loc.name, "add_header", `${loc.file}:${loc.line}`);
        }
    });
    it("sets X-Forwarded-For/X-Real-IP from $remote_addr and strips the client key and hop-by-hop headers", () => {
        assert.doesNotMatch(r.directivesText, /\$proxy_add_x_forwarded_for/);
        for (const loc of allProxied) {
            const set = children(loc, "grpc_pass").length > 0 ? "grpc_set_header" : "proxy_set_header";
            const headers = values(loc, set);
            assert.ok(headers.includes("X-Forwarded-For $remote_addr"), argsOf(loc));
            assert.ok(headers.includes("X-Real-IP $remote_addr"), argsOf(loc));
            assert.ok(headers.includes("X-API-Key "), `client X-API-Key stripped on ${argsOf(loc)}`);
            assert.ok(headers.includes("X-Api-Key-Id $api_key_id"), `client key id overwritten on ${argsOf(loc)}`);
            if (set === "proxy_set_header") {
                assert.ok(headers.includes("Proxy-Connection ") && headers.includes("Keep-Alive "), argsOf(loc));
            }
        }
    });
});

describe("default deny", () => {
    it("answers undeclared paths with a local 404 and never proxies from `location /`", () => {
        for (const server of [...tlsServers, r.healthServer]) {
            const root = location(server, "/");
            assert.deepEqual(values(root, "return"), ["404"]);
            assert.equal(walk(root.block ?? []).filter((d) => /_pass$/.test(d.name)).length, 0);
        }
        const notFound = children(r.publicServer, "error_page").find((d) => d.args[0] === "404");
        assert.ok(notFound, "404 mapped to a JSON page");
    });
    it("proxies exactly the declared routes on each listener", () => {
        for (const [server, listener] of [[r.publicServer, "public"], [r.mtlsServer, "mtls"]] as const) {
            const declared = validSpec.routes.filter((x) => x.listeners.includes(listener)).map(routeMatcher).sort();
            assert.deepEqual(proxiedLocations(server).map(argsOf).sort(), declared);
        }
        const passes = walk(r.main).filter((d) => /^(proxy|grpc)_pass$/.test(d.name));
        // every proxy_pass is either a route location's or the internal key check's
        assert.equal(passes.length, allProxied.length + 2);
    });
    it("answers a declared path with a wrong method 405 (not 403) before anything else", () => {
        assert.doesNotMatch(r.directivesText, /limit_except/);
        for (const loc of allProxied) {
            const route = routeOf(loc);
            const variable = `$route_${route.name.replace(/-/g, "_")}_method_allowed`;
            const ifs = children(loc, "if");
            const guard = ifs[0];
            assert.equal(argsOf(guard), `(${variable} = 0)`);
            assert.deepEqual(values(guard, "return"), ["405"]);
            assert.equal(loc.block?.findIndex((d) => d.name === "if"), 1 - 1, "method check comes first");
            // then the raw-path check (encoded-paths-refused), and nothing else
            assert.deepEqual(ifs.slice(1).map((d) => [argsOf(d), values(d, "return")]), [["($apiproxy_suspicious_uri)", ["400"]]]);
            const map = children(r.http, "map").find((m) => argsOf(m) === `$request_method ${variable}`);
            assert.ok(map?.block);
            assert.deepEqual(
                map.block.filter((d) => d.name !== "default").map((d) => d.name).sort(),
                [...route.methods].sort(),
            );
            assert.deepEqual(values(map, "default"), ["0"]);
        }
    });
    it("refuses a prefix route on `/` (it would be a catch-all proxy)", () => {
        assert.throws(
            () => render({ ...validSpec, routes: [{ ...validSpec.routes[0], pathPrefix: "/" }] }),
            /catch-all/,
        );
    });
});

describe("API keys", () => {
    const internal = location(r.publicServer, "= /_apiproxy/api-key-check");
    it("checks keys with auth_request exactly on key routes", () => {
        for (const loc of allProxied) {
            const auth = values(loc, "auth_request");
            assert.deepEqual(auth, routeOf(loc).requireApiKey ? ["/_apiproxy/api-key-check"] : [], argsOf(loc));
        }
    });
    it("sends only the key (no body) to the key service from an internal location", () => {
        assert.equal(children(internal, "internal").length, 1);
        assert.deepEqual(values(internal, "proxy_pass_request_body"), ["off"]);
        assert.ok(values(internal, "proxy_set_header").includes("X-API-Key $http_x_api_key"));
        assert.deepEqual(values(internal, "proxy_pass"), ["http://apiproxy_api_key_service/check"]);
        const keyService = children(r.http, "upstream").find((u) => argsOf(u) === "apiproxy_api_key_service");
        assert.ok(keyService && values(keyService, "server")[0].startsWith(validSpec.apiKeyService.address));
    });
    it("answers 401/403 locally", () => {
        const codes = children(r.publicServer, "error_page").map((d) => d.args[0]);
        assert.ok(codes.includes("401") && codes.includes("403"));
    });
});

describe("upstream pools and failure handling", () => {
    const upstream = (name: string) => {
        const found = children(r.http, "upstream").find((u) => argsOf(u) === `pool_${name}`);
        assert.ok(found, name);
        return found;
    };
    it("renders round-robin and least_conn pools with keepalive and per-server circuit breaking", () => {
        assert.equal(children(upstream("orders"), "least_conn").length, 0);
        assert.equal(children(upstream("accounts"), "least_conn").length, 1);
        for (const pool of validSpec.upstreams) {
            const block = upstream(pool.name);
            assert.deepEqual(values(block, "keepalive"), [String(pool.keepalive)]);
            const servers = values(block, "server");
            assert.equal(servers.length, pool.servers.length);
            for (const server of servers) {
                assert.match(server, new RegExp(`max_fails=${pool.maxFails} fail_timeout=${pool.failTimeoutSeconds}s$`));
            }
            assert.equal(children(block, "zone").length, 1, "shared peer state");
        }
    });
    it("uses HTTP/1.1 with an empty Connection header for keepalive on http routes", () => {
        for (const loc of allProxied.filter((l) => routeOf(l).protocol === "http")) {
            assert.deepEqual(values(loc, "proxy_http_version"), ["1.1"]);
            assert.ok(values(loc, "proxy_set_header").includes("Connection "), argsOf(loc));
        }
    });
    it("bounds connect time and retries per route", () => {
        for (const loc of allProxied) {
            const route = routeOf(loc);
            const p = children(loc, "grpc_pass").length > 0 ? "grpc" : "proxy";
            assert.deepEqual(values(loc, `${p}_connect_timeout`), [`${route.timeouts.connectSeconds}s`]);
            assert.deepEqual(values(loc, `${p}_send_timeout`), [`${route.timeouts.sendSeconds}s`]);
            assert.deepEqual(values(loc, `${p}_read_timeout`), [`${route.timeouts.readSeconds}s`]);
            assert.deepEqual(values(loc, `${p}_next_upstream_tries`), [String(UPSTREAM_NEXT_TRIES)]);
            assert.equal(values(loc, `${p}_next_upstream_timeout`).length, 1);
            assert.deepEqual(values(loc, `${p}_next_upstream`), ["error timeout"]);
        }
    });
    it("maps 502/no live upstream to a JSON 503 and leaves 504 as 504", () => {
        const pages = children(r.publicServer, "error_page");
        const unavailable = pages.find((d) => d.args.includes("502"));
        assert.ok(unavailable);
        // without "=503" nginx keeps the original 502 status even though the page returns 503
        assert.ok(unavailable.args.includes("=503"), argsOf(unavailable));
        const target = location(r.publicServer, unavailable.args[unavailable.args.length - 1]);
        assert.match(values(target, "return")[0], /^503 /);
        const timeout = pages.find((d) => d.args[0] === "504");
        assert.ok(timeout);
        assert.ok(timeout.args.includes("=504"), argsOf(timeout));
        assert.match(values(location(r.publicServer, timeout.args[timeout.args.length - 1]), "return")[0], /^504 /);
    });
});

describe("protocols", () => {
    it("passes gRPC routes with grpc_pass (grpcs to TLS pools)", () => {
        assert.deepEqual(values(location(r.publicServer, "/helloworld.Greeter/"), "grpc_pass"), ["grpcs://pool_accounts"]);
        const plain = withSpec((s) => ({ ...s, routes: s.routes.map((x) => (x.name === "greeter" ? { ...x, upstream: "orders" } : x)) }));
        assert.deepEqual(values(location(plain.publicServer, "/helloworld.Greeter/"), "grpc_pass"), ["grpc://pool_orders"]);
    });
    it("upgrades WebSocket routes (only those) with their long read timeout", () => {
        const ws = location(r.publicServer, "/ws/");
        const headers = values(ws, "proxy_set_header");
        assert.ok(headers.includes("Upgrade $http_upgrade"));
        assert.ok(headers.includes("Connection $connection_upgrade"));
        assert.deepEqual(values(ws, "proxy_read_timeout"), ["3600s"]);
        assert.ok(children(r.http, "map").some((m) => argsOf(m) === "$http_upgrade $connection_upgrade"));
        for (const loc of allProxied.filter((l) => routeOf(l).protocol !== "websocket")) {
            assert.ok(!values(loc, "proxy_set_header").includes("Upgrade $http_upgrade"), argsOf(loc));
        }
    });
});

describe("health listener", () => {
    it("answers the health path with 200, unlogged, over plain HTTP and nothing else", () => {
        assert.deepEqual(values(r.healthServer, "listen"), ["8080 backlog=511"]);
        const health = location(r.healthServer, "= /healthz");
        assert.match(values(health, "return")[0], /^200 /);
        assert.deepEqual(values(health, "access_log"), ["off"]);
        assert.equal(locations(r.healthServer).length, 2);
        assert.equal(walk([r.healthServer]).filter((d) => /_pass$/.test(d.name)).length, 0);
    });
});

describe("logging", () => {
    const format = children(r.http, "log_format")[0];
    it("writes a JSON access log with the required fields", () => {
        assert.equal(format.args[0], "apiproxy_json");
        assert.equal(format.args[1], "escape=json");
        const json = JSON.parse(format.args[2].replace(/\$[a-z_0-9]+/g, "x")) as Record<string, string>;
        for (const field of ["time", "request_id", "client_ip", "method", "uri", "status", "bytes_sent", "request_time",
            "upstream_addr", "upstream_status", "upstream_response_time", "tls_protocol", "tls_cipher",
            "tls_session_reused", "client_cert_subject", "api_key_present", "api_key_id", "limit_req", "limit_conn", "sample_rate"]) {
            assert.ok(field in json, field);
        }
        assert.deepEqual(values(r.http, "access_log"), [`${validSpec.logDirectory}/access.log apiproxy_json if=$apiproxy_log_kept`]);
        assert.deepEqual(values(r.main, "error_log"), [`${validSpec.logDirectory}/error.log warn`]);
    });
    it("samples 429 refusals (one in REJECTION_LOG_SAMPLE_EVERY, by the random request id) and logs every other answer; refusals stay out of the error log", () => {
        const split = children(r.http, "split_clients").find((d) => d.args[1] === "$apiproxy_log_sampled")!;
        assert.equal(split.args[0], "$request_id");
        assert.deepEqual(split.block!.map((d) => [d.name, ...d.args]), [[`${100 / REJECTION_LOG_SAMPLE_EVERY}%`, "1"], ["*", "0"]]);
        const kept = children(r.http, "map").find((d) => d.args[1] === "$apiproxy_log_kept")!;
        assert.deepEqual(kept.block!.map((d) => [d.name, ...d.args]), [["429:0", "0"], ["default", "1"]]);
        assert.deepEqual(values(r.http, "limit_req_log_level"), ["info"]);
        assert.deepEqual(values(r.http, "limit_conn_log_level"), ["info"]);
    });
    it("never logs the API key itself (nor query strings)", () => {
        assert.doesNotMatch(format.args[2], /\$http_x_api_key|\$request_uri|\$args|\$query_string|\$request"/);
        assert.ok(format.args[2].includes("$api_key_present"));
    });
});

describe("process model", () => {
    it("sizes workers from the concurrency target", () => {
        // One worker holds the whole target (2 connections per session); the descriptors are the unit's LimitNOFILE.
        const sizing = workerSizing(validSpec.concurrencyTarget);
        assert.equal(validSpec.concurrencyTarget, 50_000);
        assert.deepEqual(sizing, { workerConnections: 100_000, workerRlimitNofile: 126_024 });
        assert.deepEqual(values(r.main, "worker_rlimit_nofile"), ["126024"]);
        const events = only(r.main, "events");
        assert.deepEqual(values(events, "worker_connections"), ["100000"]);
        assert.deepEqual(values(events, "use"), ["epoll"]);
        assert.deepEqual(values(events, "multi_accept"), ["on"]);
        assert.deepEqual(workerSizing(100_000).workerConnections, 200_000);
        // Under a host's open-file ceiling (this machine's containers: 20,000) both fit, and the lines say so.
        assert.deepEqual(workerSizing(10_000, 20_000), { workerConnections: 18_976, workerRlimitNofile: 20_000 });
        assert.deepEqual(workerSizing(10_000, 100_000), { workerConnections: 20_000, workerRlimitNofile: 26_024 });
        assert.throws(() => workerSizing(10_000, 1000), /nofileCeiling: 1000 leaves nginx no connections/);
        const capped = render({ ...validSpec, concurrencyTarget: 10_000, nofileCeiling: 20_000 });
        assert.deepEqual(values(capped.main, "worker_rlimit_nofile"), ["20000"]);
        assert.match(capped.text, /worker_connections 18976;.*capped at this host's open-file ceiling 20000/);
        assert.throws(() => render({ ...validSpec, concurrencyTarget: 500 }), /concurrencyTarget/);
    });
    it("runs auto workers with CPU affinity, the pid path and the run user", () => {
        assert.deepEqual(values(r.main, "worker_processes"), ["auto"]);
        assert.deepEqual(values(r.main, "worker_cpu_affinity"), ["auto"]);
        assert.deepEqual(values(r.main, "pid"), ["/run/nginx.pid"]);
        assert.deepEqual(values(r.main, "user"), ["www-data www-data"]);
        assert.deepEqual(values(withSpec((s) => ({ ...s, runUser: "nobody", runGroup: "nogroup" })).main, "user"), ["nobody nogroup"]);
        // Under the hardened unit the master is already unprivileged: a user directive would be ignored with a warning.
        assert.deepEqual(values(withSpec((s) => ({ ...s, masterUnprivileged: true })).main, "user"), []);
    });
    it("never enables PCRE JIT (it needs W+X memory, forbidden by MemoryDenyWriteExecute)", () => {
        assert.deepEqual(values(r.main, "pcre_jit"), []);
    });
    it("sizes every listener's accept queue (listen backlog=) from the spec, default nginx's 511", () => {
        const lines = (spec: typeof validSpec) => renderNginx(spec).map((f) => f.content).join("\n").split("\n").filter((l) => /^\s*listen /.test(l));
        const tuned = lines({ ...validSpec, listenBacklog: 8192 });
        assert.equal(tuned.length, 3);
        assert.ok(tuned.every((l) => /backlog=8192[ ;]/.test(l)), tuned.join("\n"));
        assert.ok(lines(validSpec).every((l) => /backlog=511[ ;]/.test(l)));
        assert.throws(() => renderNginx({ ...validSpec, listenBacklog: 100000 }), /listenBacklog/);
    });
});

describe("auditability", () => {
    /** Directives that encode a security decision must carry `# <control>` in the output. */
    const SECURITY_DIRECTIVES = new Set([
        "user", "worker_connections", "worker_rlimit_nofile", "error_log", "server_tokens",
        "ssl_protocols", "ssl_ciphers", "ssl_conf_command", "ssl_ecdh_curve", "ssl_prefer_server_ciphers",
        "ssl_session_cache", "ssl_session_timeout", "ssl_session_tickets", "ssl_early_data",
        "ssl_verify_client", "ssl_client_certificate", "ssl_verify_depth",
        "limit_req_zone", "limit_req", "limit_req_status", "limit_conn_zone", "limit_conn", "limit_conn_status",
        "client_max_body_size", "client_header_buffer_size", "large_client_header_buffers",
        "client_header_timeout", "client_body_timeout", "keepalive_timeout", "send_timeout",
        "proxy_hide_header", "grpc_hide_header", "add_header", "auth_request", "auth_request_set", "error_page", "map",
        "proxy_connect_timeout", "proxy_read_timeout", "grpc_connect_timeout", "grpc_read_timeout",
        "proxy_next_upstream_tries", "grpc_next_upstream_tries", "log_format", "access_log",
        "proxy_ssl_verify", "grpc_ssl_verify", "listen", "internal", "proxy_pass_request_body",
    ]);
    it("cites a control on every security directive line", () => {
        const missing = walk(r.main)
            .filter((d) => SECURITY_DIRECTIVES.has(d.name) && !(d.comment ?? "").trim())
            .filter((d) => !(d.name === "access_log" && d.args[0] === "off" && d.comment));
        assert.deepEqual(missing.map((d) => `${d.file}:${d.line} ${d.name}`), []);
        for (const name of ["X-Forwarded-For", "X-API-Key "]) {
            const line = r.text.split("\n").find((l) => l.includes(`proxy_set_header ${name}`));
            assert.match(line ?? "", /# \S/, name);
        }
        for (const d of walk(r.main).filter((x) => x.name === "return" && x.args.length === 1 && ["404", "405"].includes(x.args[0]))) {
            assert.ok(d.comment, `${d.file}:${d.line}`);
        }
    });
    it("emits absolute HostFiles under the config root, reloaded with nginx", () => {
        assert.ok(r.files.length >= 10);
        for (const f of r.files) {
            assert.ok(f.path.startsWith("/etc/nginx/"), f.path);
            assert.equal(f.mode, "0644");
            assert.equal(f.action, "nginx-reload");
            assert.ok(!f.secret);
        }
        const moved = render({ ...validSpec, configRoot: "/srv/nginx" });
        assert.ok(moved.files.every((f) => f.path.startsWith("/srv/nginx/")));
        assert.ok(walk(moved.main).length > 0, "includes resolve under the moved root");
    });
    it("is pure: the same spec renders the same bytes", () => {
        assert.deepEqual(render(validSpec).files, r.files);
    });
});

describe("per-route client identities and declared public routes", () => {
    const restricted = withSpec((spec) => ({
        ...spec,
        routes: spec.routes.map((route) => route.name === "admin" ? { ...route, allowedClientCommonNames: ["payments-team", "ops.example.com"] } : route),
    }));
    it("an mTLS route naming clients answers other client certificates 403 before anything else", () => {
        const admin = locations(restricted.mtlsServer).find((l) => argsOf(l) === "/api/v1/admin/")!;
        const ifs = children(admin, "if").map((d) => ({ cond: argsOf(d), body: children(d, "return").map(argsOf) }));
        assert.deepEqual(ifs.find((i) => i.cond.includes("_client_allowed"))?.body, ["403"]);
        assert.match(restricted.text, /map \$ssl_client_s_dn \$route_admin_client_allowed \{[\s\S]*?"~\(\^\|,\)CN=payments-team\(,\|\$\)" 1;[\s\S]*?"~\(\^\|,\)CN=ops\\\.example\\\.com\(,\|\$\)" 1;[\s\S]*?default 0;/);
    });
    it("routes without a client list keep admitting any certificate of the client CA", () => {
        const admin = locations(r.mtlsServer).find((l) => argsOf(l) === "/api/v1/admin/")!;
        assert.ok(!children(admin, "if").some((d) => argsOf(d).includes("_client_allowed")));
    });
    it("a client list on a route the public listener serves is refused", () => {
        assert.throws(() => renderNginx({
            ...validSpec, routes: validSpec.routes.map((route) => route.name === "orders" ? { ...route, allowedClientCommonNames: ["payments-team"] } : route),
        }), /routes\[0\]\.allowedClientCommonNames: only an mTLS-only route/);
        assert.throws(() => renderNginx({
            ...validSpec, routes: validSpec.routes.map((route) => route.name === "admin" ? { ...route, allowedClientCommonNames: ["a,CN=b"] } : route),
        }), /allowedClientCommonNames\[0\]: must match/);
    });
    it("a declared public route carries its reason where the policy pack reads it; an API-key route cannot be declared public", () => {
        const reason = "Public status page for uptime monitors";
        const declared = withSpec((spec) => ({
            ...spec, routes: spec.routes.map((route) => route.name === "status" ? { ...route, publicReason: reason } : route),
        }));
        const status = locations(declared.publicServer).find((l) => argsOf(l) === "= /api/v1/status")!;
        assert.deepEqual(children(status, "set").map(argsOf), [`$apiproxy_public_route ${reason}`]);
        assert.throws(() => renderNginx({
            ...validSpec, routes: validSpec.routes.map((route) => route.name === "accounts" ? { ...route, publicReason: reason } : route),
        }), /publicReason: only a public-listener route without an API key/);
    });
});
