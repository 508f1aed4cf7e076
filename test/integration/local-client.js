// Runs inside the local stack's client network namespace (ip netns exec … node local-client.js):
// the protocols curl does not speak here. Prints one JSON line.
//   node local-client.js grpc HOST SERVERNAME CA_FILE API_KEY PAYLOAD
//   node local-client.js websocket HOST SERVERNAME CA_FILE API_KEY PATH MESSAGE
// Long-lived sessions (fault drills: is a stream cut by a reload?): COUNT messages, one every
// INTERVAL_MS, each echoed; then the client ends the stream itself. Prints how many were sent and
// echoed, whether the stream ended cleanly, and how long it lived.
//   node local-client.js grpc-session HOST SERVERNAME CA_FILE API_KEY COUNT INTERVAL_MS
//   node local-client.js websocket-session HOST SERVERNAME CA_FILE API_KEY PATH COUNT INTERVAL_MS
// Slow clients (slow-loris): a request whose headers (or body) trickle in, one piece every
// INTERVAL_MS for at most COUNT pieces; prints how long the server let it live and what it answered.
//   node local-client.js slow-headers|slow-body HOST SERVERNAME CA_FILE API_KEY PATH COUNT INTERVAL_MS
"use strict";
const fs = require("node:fs");
const tls = require("node:tls");
const crypto = require("node:crypto");

const [mode, host, servername, caFile, apiKey, a, b, c] = process.argv.slice(2);
const ca = fs.readFileSync(caFile);
const started = Date.now();
const done = (result) => { process.stdout.write(`${JSON.stringify(result)}\n`); process.exit(0); };
const sessionMs = mode === "grpc-session" ? Number(a) * Number(b) : ["websocket-session", "slow-headers", "slow-body"].includes(mode) ? Number(b) * Number(c) : 0;
// Bounded: a session gets its own length plus 10 s.
setTimeout(() => done({ error: "timeout" }), sessionMs + 10_000).unref();

/** One masked client text frame (RFC 6455 5.2; payload under 126 bytes). */
function wsFrame(text) {
    const payload = Buffer.from(text);
    const mask = crypto.randomBytes(4);
    return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]))]);
}

/** Opens a WebSocket through the tier; `onFrame(opcode, payload)` for each server frame (unmasked, short). */
function websocket(path, onOpen, onFrame, onEnd) {
    const socket = tls.connect({ host, port: 443, servername, ca, ALPNProtocols: ["http/1.1"] }, () => {
        socket.write(`GET ${path} HTTP/1.1\r\nHost: ${servername}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\nOrigin: https://${servername}\r\nX-API-Key: ${apiKey}\r\n\r\n`);
    });
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    socket.on("data", (chunk) => {
        buffer = Buffer.concat([buffer, chunk]);
        if (!upgraded) {
            const end = buffer.indexOf("\r\n\r\n");
            if (end < 0) return;
            const status = buffer.subarray(0, buffer.indexOf("\r\n")).toString();
            if (!/ 101 /.test(status)) done({ error: status });
            upgraded = true;
            buffer = buffer.subarray(end + 4);
            onOpen(socket);
        }
        while (buffer.length >= 2 && buffer.length >= 2 + (buffer[1] & 0x7f)) {
            const length = buffer[1] & 0x7f;
            onFrame(buffer[0] & 0x0f, buffer.subarray(2, 2 + length));
            buffer = buffer.subarray(2 + length);
        }
    });
    socket.on("close", () => onEnd && onEnd());
    socket.on("error", (err) => done({ error: err.message }));
    return socket;
}

/** A gRPC client through the tier with the API key, raw bytes in and out. */
function grpcClient() {
    const grpc = require("@grpc/grpc-js");
    const client = new grpc.Client(`${host}:443`, grpc.credentials.createSsl(ca), { "grpc.ssl_target_name_override": servername, "grpc.default_authority": servername });
    const metadata = new grpc.Metadata();
    metadata.set("x-api-key", apiKey);
    return { client, metadata, raw: (x) => x };
}

if (mode === "grpc") {
    const { client, metadata, raw } = grpcClient();
    client.makeUnaryRequest("/apiproxy.demo.Echo/Say", raw, raw, Buffer.from(a), metadata, (err, reply) =>
        done(err ? { error: err.message, code: err.code } : { echo: reply.toString() }));
} else if (mode === "websocket") {
    websocket(a, (socket) => socket.write(wsFrame(b)), (_opcode, payload) => done({ echo: payload.toString() }));
} else if (mode === "grpc-session") {
    const { client, metadata, raw } = grpcClient();
    const count = Number(a);
    const result = { sent: 0, echoed: 0 };
    const call = client.makeBidiStreamRequest("/apiproxy.demo.Echo/Chat", raw, raw, metadata);
    call.on("data", (reply) => { if (reply.toString() === `message ${result.echoed}`) result.echoed++; });
    call.on("error", (err) => done({ ...result, error: err.message, code: err.code, ms: Date.now() - started }));
    call.on("status", (st) => { if (st.code === 0) done({ ...result, ended: "ok", ms: Date.now() - started }); });
    const tick = () => {
        if (result.sent === count) return call.end();
        call.write(Buffer.from(`message ${result.sent++}`));
        setTimeout(tick, Number(b));
    };
    tick();
} else if (mode === "websocket-session") {
    const count = Number(b);
    const result = { sent: 0, echoed: 0 };
    let closing = false;
    websocket(a, (socket) => {
        const tick = () => {
            if (result.sent === count) {
                closing = true;
                // A close frame (opcode 8, status 1000), masked; the server answers with its own.
                const mask = crypto.randomBytes(4);
                return socket.write(Buffer.concat([Buffer.from([0x88, 0x82]), mask, Buffer.from([0x03 ^ mask[0], 0xe8 ^ mask[1]])]));
            }
            socket.write(wsFrame(`message ${result.sent++}`));
            setTimeout(tick, Number(c));
        };
        tick();
    }, (opcode, payload) => {
        if (opcode === 1 && payload.toString() === `message ${result.echoed}`) result.echoed++;
        if (opcode === 8) done({ ...result, ended: closing ? "ok" : "closed by the server", ms: Date.now() - started });
    }, () => done({ ...result, ended: closing ? "ok" : "cut", ms: Date.now() - started }));
} else if (mode === "slow-headers" || mode === "slow-body") {
    const count = Number(b);
    let pieces = 0;
    let answer = "";
    const socket = tls.connect({ host, port: 443, servername, ca, ALPNProtocols: ["http/1.1"] }, () => {
        const start = `POST ${a} HTTP/1.1\r\nHost: ${servername}\r\nX-API-Key: ${apiKey}\r\nContent-Type: application/json\r\n`;
        socket.write(mode === "slow-body" ? `${start}Content-Length: ${count}\r\n\r\n` : start);
        const drip = () => {
            if (socket.destroyed || pieces >= count) return;
            pieces++;
            socket.write(mode === "slow-body" ? " " : `X-Slow-${pieces}: ${"x".repeat(8)}\r\n`);
            setTimeout(drip, Number(c));
        };
        setTimeout(drip, Number(c));
    });
    socket.on("data", (chunk) => (answer += chunk.toString()));
    socket.on("close", () => done({ pieces, ms: Date.now() - started, status: /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? "" }));
    socket.on("error", () => {});
} else {
    done({ error: `unknown mode ${mode}` });
}
