// Runs inside the local stack's client network namespace (ip netns exec … node local-client.js):
// the protocols curl does not speak here. Prints one JSON line.
//   node local-client.js grpc HOST SERVERNAME CA_FILE API_KEY PAYLOAD
//   node local-client.js websocket HOST SERVERNAME CA_FILE API_KEY PATH MESSAGE
"use strict";
const fs = require("node:fs");
const tls = require("node:tls");
const crypto = require("node:crypto");

const [mode, host, servername, caFile, apiKey, a, b] = process.argv.slice(2);
const ca = fs.readFileSync(caFile);
const done = (result) => { process.stdout.write(`${JSON.stringify(result)}\n`); process.exit(0); };
setTimeout(() => done({ error: "timeout" }), 10_000).unref();

if (mode === "grpc") {
    const grpc = require("@grpc/grpc-js");
    const client = new grpc.Client(`${host}:443`, grpc.credentials.createSsl(ca), { "grpc.ssl_target_name_override": servername, "grpc.default_authority": servername });
    const metadata = new grpc.Metadata();
    metadata.set("x-api-key", apiKey);
    const raw = (x) => x;
    client.makeUnaryRequest("/apiproxy.demo.Echo/Say", raw, raw, Buffer.from(a), metadata, (err, reply) =>
        done(err ? { error: err.message, code: err.code } : { echo: reply.toString() }));
} else if (mode === "websocket") {
    const socket = tls.connect({ host, port: 443, servername, ca, ALPNProtocols: ["http/1.1"] }, () => {
        const key = crypto.randomBytes(16).toString("base64");
        socket.write(`GET ${a} HTTP/1.1\r\nHost: ${servername}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nOrigin: https://${servername}\r\nX-API-Key: ${apiKey}\r\n\r\n`);
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
            // One masked text frame (RFC 6455 5.2; payload under 126 bytes).
            const payload = Buffer.from(b);
            const mask = crypto.randomBytes(4);
            const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]));
            socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
        }
        if (upgraded && buffer.length >= 2) {
            const length = buffer[1] & 0x7f;
            if (buffer.length >= 2 + length) done({ echo: buffer.subarray(2, 2 + length).toString() });
        }
    });
    socket.on("error", (err) => done({ error: err.message }));
} else {
    done({ error: `unknown mode ${mode}` });
}
