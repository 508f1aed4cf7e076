/**
 * The drills' load client (rate-client.js) against a loopback HTTPS server that misbehaves on
 * purpose: its retries must cover exactly the HTTP/1.1 race a graceful reload creates (a reused
 * keep-alive connection closed under a GET before any answer, RFC 9112 section 9.3.1) and never
 * turn a server that really fails into a success.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";

interface ClientResult { sent: number; ok: number; failed: number; other: number; retried: number; retries: Record<string, number> }

describe("rate-client.js retries", () => {
    let dir: string;
    let key: Buffer;
    let cert: Buffer;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "rate-client-"));
        execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=rate.test", "-addext", "subjectAltName=DNS:rate.test", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { stdio: "ignore" });
        key = fs.readFileSync(path.join(dir, "key.pem"));
        cert = fs.readFileSync(path.join(dir, "cert.pem"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** A server on 127.0.0.1 whose `onRequest` decides, per request, to answer 200 or to close the connection unanswered. */
    const withServer = async (closeUnanswered: (timedRequest: number, requestOnSocket: number) => boolean, run: (port: number) => Promise<ClientResult>) => {
        let timed = 0;
        const perSocket = new WeakMap<object, number>();
        const server = https.createServer({ key, cert, keepAliveTimeout: 30_000 }, (req, res) => {
            const n = (perSocket.get(req.socket) ?? 0) + 1;
            perSocket.set(req.socket, n);
            if (req.url !== "/apiproxy-rate-client-warm-up" && closeUnanswered(++timed, n)) {
                // What a reload's old worker does to an idle keep-alive connection a request just reached.
                req.socket.destroy();
                return;
            }
            res.writeHead(200, { "content-type": "text/plain" }).end("ok");
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        try {
            return await run((server.address() as AddressInfo).port);
        } finally {
            server.closeAllConnections();
            await new Promise((resolve) => server.close(resolve));
        }
    };
    const client = (port: number, rate: number, seconds: number): Promise<ClientResult> => new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(__dirname, "rate-client.js"), "127.0.0.1", "rate.test", path.join(dir, "cert.pem"), "k",
            "/timed", String(rate), String(seconds), "127.0.0.1", String(port)], { stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
        let out = "";
        let err = "";
        child.stdout.on("data", (c: Buffer) => (out += c.toString()));
        child.stderr.on("data", (c: Buffer) => (err += c.toString()));
        child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out) as ClientResult) : reject(new Error(`rate-client exit ${code}: ${err}`))));
    });

    it("a GET whose reused connection is closed before any answer is sent again and succeeds; each retry is counted", async () => {
        // Every 10th timed request, on a connection that already served one, is met by a close.
        const r = await withServer((timed, onSocket) => timed % 10 === 0 && onSocket > 1, (port) => client(port, 50, 2));
        assert.equal(r.sent, 100);
        assert.equal(r.failed + r.other, 0, JSON.stringify(r));
        assert.equal(r.ok, 100);
        assert.ok(r.retried >= 5, `closed requests were retried: ${JSON.stringify(r)}`);
        assert.equal(r.retried, (r.retries.ECONNRESET ?? 0) + (r.retries.EPIPE ?? 0));
    });

    it("a server that closes every request unanswered: every request fails (retries never turn a real failure into a success)", async () => {
        const r = await withServer(() => true, (port) => client(port, 20, 1));
        assert.equal(r.sent, 20);
        assert.equal(r.ok, 0);
        assert.equal(r.failed, 20, JSON.stringify(r));
        // At most two more attempts each, and only while the connection had been used before.
        assert.ok(r.retried <= 40, JSON.stringify(r));
    });
});
