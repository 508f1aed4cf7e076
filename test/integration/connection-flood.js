// Runs inside the local stack's client network namespace (ip netns exec … node connection-flood.js):
// opens COUNT TCP connections to HOST:PORT, spread over the given source addresses, at most 500
// connecting at once, holds them all HOLD_SECONDS, then closes them. Prints one JSON line: how
// many connected, the most open at once, connect errors by code, and how many the far end closed
// while held (the proxies close a connection that sent nothing for client_header_timeout, 10 s:
// keep connect time + HOLD_SECONDS under it). Bounded: COUNT <= 20,000 and the process exits HOLD_SECONDS + 30 s after start.
//   node connection-flood.js HOST PORT COUNT HOLD_SECONDS LOCAL_ADDRESS[,LOCAL_ADDRESS...]
"use strict";
const net = require("node:net");

const [host, portText, countText, holdText, addressList] = process.argv.slice(2);
const count = Math.min(Number(countText), 20_000);
const holdMs = Number(holdText) * 1000;
const addresses = addressList.split(",");
const sockets = [];
const result = { asked: count, connected: 0, open: 0, peakOpen: 0, errors: {}, closedWhileHeld: 0, connectSeconds: 0 };
const started = Date.now();
let holding = false;
let next = 0;
let pending = 0;

function finish() {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
}
setTimeout(finish, holdMs + 30_000).unref();

function hold() {
    holding = true;
    result.connectSeconds = (Date.now() - started) / 1000;
    // The signal to whoever watches: everything is open now (stderr, so stdout stays one JSON line).
    process.stderr.write(`holding ${result.open}\n`);
    setTimeout(() => {
        holding = false;
        // Reset, not closed: no TIME_WAIT left behind to slow the next run's connects from the same address.
        for (const s of sockets) s.resetAndDestroy();
        finish();
    }, holdMs);
}

function open() {
    while (pending < 500 && next < count) {
        const i = next++;
        pending++;
        // One source address: the kernel picks it (binding it first would make every connect search the
        // port range at bind time, even ports only, which slows to seconds past ~8,000 connections).
        const socket = net.connect({ host, port: Number(portText), ...(addresses.length > 1 ? { localAddress: addresses[i % addresses.length] } : {}) });
        let connected = false;
        socket.on("connect", () => {
            connected = true;
            result.connected++;
            result.open++;
            result.peakOpen = Math.max(result.peakOpen, result.open);
            sockets.push(socket);
            settle();
        });
        socket.on("error", (err) => {
            if (!connected) {
                result.errors[err.code ?? err.message] = (result.errors[err.code ?? err.message] ?? 0) + 1;
                settle();
            }
        });
        socket.on("close", () => {
            if (!connected) return;
            result.open--;
            if (holding) result.closedWhileHeld++;
        });
    }
}

function settle() {
    pending--;
    if (next < count) open();
    else if (pending === 0) hold();
}

open();
