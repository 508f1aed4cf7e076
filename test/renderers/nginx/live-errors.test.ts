/**
 * Live test of errors.conf with the real nginx on loopback: every error nginx raises itself
 * answers the product's JSON body with the security headers, including the ones raised before
 * the request has a URI (a malformed request line, an oversized request line or header block),
 * where a named error location makes nginx answer 500 ("empty URI in redirect to named
 * location"). Over HTTP/2 an oversized header block is refused on the connection (GOAWAY
 * ENHANCE_YOUR_CALM, nginx 1.22), with no response at all: that is asserted too. Every loop is
 * bounded; nginx and the upstream are stopped in `after`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as tls from "node:tls";
import { after, before, describe, it } from "node:test";
import { renderNginx } from "../../../components/nginx";
import { ERROR_PAGE_URI_PREFIX, ERROR_PAGES, errorLocationFor } from "../../../components/nginx/render-errors";
import type { NginxSpec } from "../../../components/nginx/types";
import { route, validSpec } from "./fixtures";
import { freePort, httpsRequest, LOOPBACK, loopbackSpec, makeTempTree, NGINX_BINARY, startNginx, type Reply, type RunningNginx, type TempTree } from "./harness";
import { location, locations, render, values } from "./helpers";
import { argsOf, children } from "./parse";

const canRun = existsSync(NGINX_BINARY) && process.getuid?.() === 0;

describe("errors.conf: pages nginx needs before the request has a URI", () => {
    const r = render(validSpec);
    it("serves 400, 414 and 494 (as 431) from internal exact-match URI locations, never from named ones", () => {
        for (const server of [r.publicServer, r.mtlsServer]) {
            for (const [code, status] of [["400", "400"], ["414", "414"], ["494", "431"]]) {
                const page = children(server, "error_page").find((d) => d.args[0] === code);
                assert.ok(page, `error_page ${code}`);
                assert.deepEqual(page.args, [code, `=${status}`, `${ERROR_PAGE_URI_PREFIX}${code}.json`]);
                assert.match(page.comment ?? "", /\S/, `error_page ${code} cites its control`);
                const target = location(server, `= ${ERROR_PAGE_URI_PREFIX}${code}.json`);
                assert.equal(children(target, "internal").length, 1, "clients cannot request the page itself");
                assert.deepEqual(values(target, "lingering_close"), ["always"]);
                assert.match(values(target, "return")[0], new RegExp(`^${status} \\{"error":"[a-z_]+","status":${status},"request_id":"\\$request_id"\\}`));
            }
        }
    });
    it("keeps the auth-dependent pages (401 reason, 403/429 choice) on named locations, and the map can only name those", () => {
        assert.equal(errorLocationFor(429), "@apiproxy_error_429");
        assert.equal(errorLocationFor(403), "@apiproxy_error_403");
        assert.throws(() => errorLocationFor(494), /served from a URI/);
        assert.ok(locations(r.publicServer).some((l) => argsOf(l) === "@apiproxy_error_401"));
    });
    it("cites a control on every error_page, and on every directive of the URI pages", () => {
        const text = r.file("errors.conf").content;
        for (const line of text.split("\n").filter((l) => /^\s*(error_page|internal|lingering_|location = )/.test(l))) {
            assert.match(line, /# \S/, line);
        }
        assert.equal(ERROR_PAGES.filter((p) => p.beforeUri).length, 3);
    });
});

describe("errors.conf, live on loopback: JSON for every nginx-raised error", { skip: !canRun && "needs root and /usr/sbin/nginx" }, () => {
    let tree: TempTree;
    let spec: NginxSpec;
    let nginx: RunningNginx | undefined;
    let upstream: http.Server | undefined;
    let upstreamHits = 0;
    const ports = { https: 0, mtls: 0, health: 0, keys: 0, upstream: 0 };

    before(async () => {
        tree = makeTempTree("apiproxy-nginx-errors-");
        for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
        upstream = http.createServer((req, res) => {
            upstreamHits++;
            req.resume();
            req.on("end", () => res.end("{}"));
        });
        await new Promise<void>((resolve) => upstream!.listen(ports.upstream, LOOPBACK, resolve));
        spec = loopbackSpec(tree, validSpec, ports, {
            rateLimits: { perIp: { ratePerSecond: 1000, burst: 1000, zoneMegabytes: 1 }, perApiKey: { ratePerSecond: 1000, burst: 1000 } },
            upstreams: [{ name: "app", algorithm: "round-robin", servers: [{ address: `${LOOPBACK}:${ports.upstream}`, weight: 1 }], keepalive: 8, maxFails: 3, failTimeoutSeconds: 10, tls: false }],
            routes: [route({ name: "orders", pathPrefix: "/api/v1/orders/", methods: ["GET", "POST"], upstream: "app" })],
        });
        nginx = await startNginx(tree, spec, renderNginx(spec));
    });

    after(async () => {
        await nginx?.stop();
        if (upstream) {
            upstream.closeAllConnections();
            await new Promise((resolve) => upstream!.close(resolve));
        }
        tree?.remove();
    });

    function assertJsonError(reply: Reply, status: number, error: string, what: string): void {
        assert.equal(reply.status, status, `${what}: ${reply.body}\n${nginx?.errorLog()}`);
        assert.match(String(reply.headers["content-type"]), /^application\/json/, what);
        const body = JSON.parse(reply.body) as { error: string; status: number; request_id: string };
        assert.deepEqual([body.error, body.status], [error, status], what);
        assert.match(body.request_id, /^[0-9a-f]{32}$/, what);
        assert.equal(reply.headers.server, "nginx", `${what}: no version in Server`);
        assert.equal(reply.headers["x-frame-options"], "DENY", what);
        assert.equal(reply.headers["x-content-type-options"], "nosniff", what);
        assert.equal(reply.headers["content-security-policy"], validSpec.contentSecurityPolicy, what);
        assert.match(String(reply.headers["strict-transport-security"]), /^max-age=\d+; includeSubDomains$/, what);
    }

    /** The raw bytes of one request over TLS, and nginx's whole answer (it closes the connection). */
    function rawExchange(request: string): Promise<string> {
        return new Promise((resolve, reject) => {
            const socket = tls.connect({ host: LOOPBACK, port: ports.https, servername: "localhost", ca: readFileSync(tree.pki.caCert), ALPNProtocols: ["http/1.1"] }, () => socket.end(request));
            let answer = "";
            socket.setTimeout(5000, () => socket.destroy(new Error("timeout")));
            socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
            socket.on("end", () => resolve(answer));
            socket.on("error", reject);
        });
    }

    it("answers a 20 KB header 431 with the JSON body (was nginx's HTML 400 page), every time", async () => {
        for (let i = 0; i < 5; i++) {
            const reply = await httpsRequest(tree, ports.https, "/api/v1/orders/1", { headers: { "x-oversized": "h".repeat(20 * 1024) } });
            assertJsonError(reply, 431, "request_header_fields_too_large", `oversized header #${i}`);
        }
        assert.equal(upstreamHits, 0, "an oversized request reached the upstream");
    });

    /** curl over HTTP/1.1: it writes the whole request before reading, so a connection reset before it is done loses the answer. */
    function curl(path: string): Reply {
        const started = Date.now();
        const result = spawnSync("curl", ["-sS", "--http1.1", "--max-time", "10", "-D", "-", "--cacert", tree.pki.caCert,
            "--resolve", `localhost:${ports.https}:${LOOPBACK}`, `https://localhost:${ports.https}${path}`], { encoding: "utf8", timeout: 15_000 });
        const [head, ...rest] = (result.stdout ?? "").split("\r\n\r\n");
        const headers: http.IncomingHttpHeaders = {};
        for (const line of head.split("\r\n").slice(1)) {
            const at = line.indexOf(":");
            if (at > 0) headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
        }
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
        return { status, headers, body: rest.join("\r\n\r\n") || (result.stderr ?? ""), ms: Date.now() - started };
    }

    it("answers a 70 KB request line 414 with the JSON body, every time (the rest of the request is drained, not reset)", () => {
        for (let i = 0; i < 5; i++) {
            const reply = curl(`/api/v1/orders/${"u".repeat(70 * 1024)}`);
            assertJsonError(reply, 414, "uri_too_long", `oversized URI #${i}`);
        }
        assert.equal(upstreamHits, 0, "an oversized request reached the upstream");
    });

    it("answers a malformed request line 400 with the JSON body (a named page made it a 500)", async () => {
        const answer = await rawExchange("GE T /api/v1/orders/1 HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert.match(answer, /^HTTP\/1\.1 400 /, answer);
        assert.match(answer, /\r\nContent-Type: application\/json\r\n/i);
        assert.match(answer, /\r\nX-Content-Type-Options: nosniff\r\n/i);
        assert.match(answer, /\{"error":"bad_request","status":400,"request_id":"[0-9a-f]{32}"\}/);
        assert.doesNotMatch(nginx!.errorLog(), /empty URI in redirect to named location/);
    });

    it("refuses an oversized HTTP/2 header block on the connection (GOAWAY ENHANCE_YOUR_CALM), never upstream", async () => {
        const session = http2.connect(`https://localhost:${ports.https}`, { ca: readFileSync(tree.pki.caCert), host: LOOPBACK, servername: "localhost" });
        try {
            const outcome = await new Promise<string>((resolve) => {
                const timer = setTimeout(() => resolve("timeout"), 5000);
                session.on("goaway", (code) => { clearTimeout(timer); resolve(`goaway ${code}`); });
                session.on("error", () => undefined);
                const stream = session.request({ ":path": "/api/v1/orders/1", "x-oversized": "h".repeat(20 * 1024) });
                stream.on("response", (headers) => { clearTimeout(timer); resolve(`status ${headers[":status"]}`); });
                stream.on("error", () => undefined);
                stream.resume();
            });
            assert.equal(outcome, `goaway ${http2.constants.NGHTTP2_ENHANCE_YOUR_CALM}`);
        } finally {
            session.destroy();
        }
        assert.equal(upstreamHits, 0);
    });

    it("answers a client asking for an error page itself 404, and ordinary requests still pass", async () => {
        for (const code of ["400", "414", "494"]) {
            assertJsonError(await httpsRequest(tree, ports.https, `${ERROR_PAGE_URI_PREFIX}${code}.json`), 404, "not_found", `direct ${code}`);
        }
        const ok = await httpsRequest(tree, ports.https, "/api/v1/orders/1");
        assert.equal(ok.status, 200, ok.body);
        assert.equal(upstreamHits, 1);
    });
});
