// Runs inside the local stack's client network namespace (ip netns exec … node rate-client.js):
// sends GET requests at a fixed rate for a bounded time over kept-alive HTTPS connections from one
// source address, and prints one JSON line: how many were sent, answered 200, answered 429, failed;
// the count and slowest answer per status (and per error), and when each status was first and last seen.
//   node rate-client.js HOST SERVERNAME CA_FILE API_KEY PATH RATE SECONDS LOCAL_ADDRESS [PORT (443)]
// Request i is sent at start + i/RATE (not back to back), so the offered rate is the asked one.
// Retries as HTTP/1.1 clients do (RFC 9112 section 9.3.1; curl, Go's net/http and browsers): a GET
// whose *reused* keep-alive connection is closed or reset before any byte of a response is sent
// again, at most MAX_ATTEMPTS times in all. A server that closes an idle connection (a reload's old
// workers, keepalive_timeout) cannot know a request is already on its way; only the client can
// tell, and GET is idempotent. A failure on a fresh connection, a timeout, or an error after a
// response began is never retried. Retries are counted (`retried`, and per error in `retries`).
// Bounded: at most RATE*SECONDS (and 40,000) requests, and the process exits 15 s after the last is sent.
"use strict";
const fs = require("node:fs");
const https = require("node:https");

const [host, servername, caFile, apiKey, path, rateText, secondsText, localAddress, portText] = process.argv.slice(2);
const port = Number(portText ?? 443);
const rate = Number(rateText);
const seconds = Number(secondsText);
const total = Math.min(Math.round(rate * seconds), 40_000);
// FIFO: every open connection keeps being used, so none sits idle until the proxy's keepalive_timeout
// closes it under a request that is just being sent.
const agent = new https.Agent({ keepAlive: true, maxSockets: 64, scheduling: "fifo", ca: fs.readFileSync(caFile), servername, localAddress });
const counts = { sent: 0, ok: 0, limited: 0, other: 0, failed: 0, retried: 0 };
const MAX_ATTEMPTS = 3;
/** error code -> how many requests were sent again after it. */
const retries = {};
/** status (or "error: <message>") -> { n, maxMs, firstAt, lastAt } (seconds since start). */
const statuses = {};
function seen(key, sentAt) {
    const now = process.hrtime.bigint();
    const s = (statuses[key] ??= { n: 0, maxMs: 0, firstAt: Number(now - started) / 1e9, lastAt: 0 });
    s.n++;
    s.maxMs = Math.max(s.maxMs, Number(now - sentAt) / 1e6);
    s.lastAt = Number(now - started) / 1e9;
}
// When the first and the last request actually left (timers slip under load): the window the proxy saw.
let firstSentAt;
let lastSentAt;
let done = 0;
let started = process.hrtime.bigint();

function finish() {
    const windowSeconds = firstSentAt === undefined ? 0 : Number(lastSentAt - firstSentAt) / 1e9;
    process.stdout.write(`${JSON.stringify({ ...counts, rate, seconds, windowSeconds, retries, elapsedSeconds: Number(process.hrtime.bigint() - started) / 1e9, statuses })}\n`);
    process.exit(0);
}

function send() {
    counts.sent++;
    lastSentAt = process.hrtime.bigint();
    const sentAt = lastSentAt;
    if (firstSentAt === undefined) firstSentAt = lastSentAt;
    attempt(sentAt, 1);
}

function attempt(sentAt, n) {
    let answered = false;
    const req = https.request({ host, port, path, method: "GET", agent, headers: { host: servername, "x-api-key": apiKey }, timeout: 10_000 }, (res) => {
        answered = true;
        res.resume();
        res.on("end", () => {
            seen(String(res.statusCode), sentAt);
            if (res.statusCode === 200) counts.ok++;
            else if (res.statusCode === 429) counts.limited++;
            else counts.other++;
            if (++done === total) finish();
        });
    });
    // A timeout's error carries no code, so it is never taken for a closed connection.
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => {
        if (req.reusedSocket && !answered && n < MAX_ATTEMPTS && (err.code === "ECONNRESET" || err.code === "EPIPE")) {
            counts.retried++;
            retries[err.code] = (retries[err.code] ?? 0) + 1;
            attempt(sentAt, n + 1);
            return;
        }
        seen(`error: ${err.code ?? err.message}`, sentAt);
        counts.failed++;
        if (++done === total) finish();
    });
    req.end();
}

// Warm-up, not counted: open WARM_CONNECTIONS kept-alive TLS connections first with requests to an
// undeclared path (the default deny's 404 is answered before any rate limit), so the timed requests
// do not wait for handshakes: under load those delayed the first ones by up to ~0.2 s, which the
// proxy saw as a shorter window than the client's.
const WARM_CONNECTIONS = 16;
let warm = 0;
for (let i = 0; i < WARM_CONNECTIONS; i++) {
    const req = https.request({ host, port, path: "/apiproxy-rate-client-warm-up", method: "GET", agent, headers: { host: servername }, timeout: 10_000 }, (res) => {
        res.resume();
        res.on("end", warmed);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", warmed);
    req.end();
}

function warmed() {
    if (++warm < WARM_CONNECTIONS) return;
    started = process.hrtime.bigint();
    for (let i = 0; i < total; i++) {
        setTimeout(send, (i * 1000) / rate);
    }
    setTimeout(finish, seconds * 1000 + 15_000).unref();
}
