/**
 * Live test of the per-API-key rate limit end to end: the rendered nginx in front of the REAL
 * key service (services/cmd/apiproxy-keycheck, built here) and a real redis-server, all on
 * loopback high ports. The key service limits each key id it recognises; nginx turns its
 * rate-limited refusal into a JSON 429 with the service's Retry-After. Every loop is bounded;
 * every process is stopped in `after`.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { renderNginx } from "../../../components/nginx";
import type { NginxSpec } from "../../../components/nginx/types";
import { route, validSpec } from "./fixtures";
import {
    freePort, httpsRequest, LOOPBACK, makeTempTree, NGINX_BINARY, plainGet, startNginx,
    type Reply, type RunningNginx, type TempTree, loopbackSpec } from "./harness";

const SERVICES = resolve(__dirname, "../../../services");
/** 1 r/s per key, burst 4: five requests at once, then one a second. */
const PER_KEY = { ratePerSecond: 1, burst: 4 };
const KEY_A = `team-a-${"a".repeat(40)}`;
const KEY_B = `team-b-${"b".repeat(40)}`;

function onPath(tool: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

const missing = [
    process.getuid?.() === 0 ? undefined : "root",
    existsSync(NGINX_BINARY) ? undefined : NGINX_BINARY,
    ...["redis-server", "redis-cli", "go"].map((tool) => (onPath(tool) ? undefined : tool)),
].filter((x) => x !== undefined);

describe("per-API-key rate limit, live: nginx + the real key service + Redis", {
    skip: missing.length > 0 && `needs ${missing.join(", ")} (scripts/install-deps.sh installs them)`,
    timeout: 300_000,
}, () => {
    let tree: TempTree;
    let nginx: RunningNginx | undefined;
    const children: ChildProcess[] = [];
    const upstreamSaw: http.IncomingHttpHeaders[] = [];
    let upstream: http.Server | undefined;
    let keycheckOutput = "";
    const ports = { https: 0, mtls: 0, health: 0, upstream: 0, keys: 0, redis: 0 };

    function get(key?: string): Promise<Reply> {
        return httpsRequest(tree, ports.https, "/api/v1/accounts/1", { headers: key === undefined ? {} : { "x-api-key": key } });
    }

    function randomKey(): string {
        return randomBytes(24).toString("base64url");
    }

    function redisCli(...args: string[]): string {
        const r = spawnSync("redis-cli", ["-h", LOOPBACK, "-p", String(ports.redis), "--raw", ...args], { encoding: "utf8", timeout: 10_000 });
        assert.equal(r.status, 0, r.stderr);
        return r.stdout.trim();
    }

    function startChild(command: string, args: readonly string[]): ChildProcess {
        const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
        children.push(child);
        return child;
    }

    async function waitFor(what: string, probe: () => Promise<boolean>): Promise<void> {
        for (let attempt = 0; attempt < 100; attempt++) {
            if (await probe().catch(() => false)) return;
            await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`${what} did not come up\n${keycheckOutput}`);
    }

    before(async () => {
        tree = makeTempTree("apiproxy-nginx-keylimit-");
        for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();

        startChild("redis-server", ["--port", String(ports.redis), "--bind", LOOPBACK, "--save", "", "--appendonly", "no", "--dir", tree.root]);
        await waitFor("redis-server", async () => spawnSync("redis-cli", ["-p", String(ports.redis), "PING"], { encoding: "utf8" }).stdout.trim() === "PONG");

        const binary = join(tree.root, "apiproxy-keycheck");
        const build = spawnSync("go", ["build", "-o", binary, "./cmd/apiproxy-keycheck"], {
            cwd: SERVICES, encoding: "utf8", timeout: 240_000, env: { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=mod" },
        });
        assert.equal(build.status, 0, `go build: ${build.stderr}`);
        const pepper = join(tree.root, "pepper");
        writeFileSync(pepper, randomBytes(48).toString("base64"), { mode: 0o600 });
        const redis = `${LOOPBACK}:${ports.redis}`;
        const provision = spawnSync(binary, ["provision", "--redis", redis, "--pepper-file", pepper], {
            input: JSON.stringify({ keys: [{ id: "team-a", key: KEY_A }, { id: "team-b", key: KEY_B }] }), encoding: "utf8", timeout: 10_000,
        });
        assert.equal(provision.status, 0, provision.stderr);

        const keycheck = startChild(binary, [
            "serve", "--listen", `${LOOPBACK}:${ports.keys}`, "--redis", redis, "--pepper-file", pepper,
            "--rate-per-second", String(PER_KEY.ratePerSecond), "--burst", String(PER_KEY.burst),
        ]);
        keycheck.stdout?.on("data", (c: Buffer) => (keycheckOutput += c.toString()));
        keycheck.stderr?.on("data", (c: Buffer) => (keycheckOutput += c.toString()));
        await waitFor("the key service", async () => (await plainGet(ports.keys, "/healthz")) === 200);

        upstream = http.createServer((req, res) => {
            upstreamSaw.push(req.headers);
            res.writeHead(200, { "content-type": "application/json" });
            res.end("{}");
        });
        await new Promise<void>((r) => upstream?.listen(ports.upstream, LOOPBACK, r));

        const timeouts = { connectSeconds: 1, sendSeconds: 5, readSeconds: 5 };
        const spec: NginxSpec = loopbackSpec(tree, validSpec, ports, {
            // per-IP limits far above the test's traffic: every 429 here is the key service's
            rateLimits: { perIp: { ratePerSecond: 1000, burst: 1000, zoneMegabytes: 1 }, perApiKey: PER_KEY },
            upstreams: [{ name: "app", algorithm: "round-robin", servers: [{ address: `${LOOPBACK}:${ports.upstream}`, weight: 1 }], keepalive: 8, maxFails: 3, failTimeoutSeconds: 10, tls: false }],
            routes: [route({
                name: "accounts", pathPrefix: "/api/v1/accounts/", methods: ["GET"], upstream: "app", timeouts, requireApiKey: true,
                rateLimitPerIp: { ratePerSecond: 1000, burst: 1000 },
            })],
        });
        nginx = await startNginx(tree, spec, renderNginx(spec));
    });

    after(async () => {
        await nginx?.stop();
        for (const child of children.reverse()) {
            if (child.exitCode === null && child.signalCode === null) {
                const exited = new Promise((r) => child.once("exit", r));
                child.kill("SIGTERM");
                const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
                await exited;
                clearTimeout(timer);
            }
        }
        upstream?.closeAllConnections();
        await new Promise((r) => (upstream ? upstream.close(r) : r(undefined)));
        tree?.remove();
    });

    it("admits a known key up to its burst, then answers 429 with the key service's Retry-After; random unknown keys get 401 and take none of its budget", async () => {
        const started = Date.now();
        const statuses: number[] = [];
        let limited: Reply | undefined;
        // Between the known key's requests, ten random unknown keys each: under a limit keyed by
        // the raw header they would each get a fresh bucket; here they never reach the limiter.
        for (let i = 0; i < 20 && limited === undefined; i++) {
            const reply = await get(KEY_A);
            statuses.push(reply.status);
            if (reply.status === 429) limited = reply;
            else assert.equal(reply.status, 200, reply.body + nginx?.errorLog());
            for (let j = 0; j < 10; j++) {
                const unknown = await get(randomKey());
                assert.equal(unknown.status, 401, unknown.body);
                assert.deepEqual([JSON.parse(unknown.body).error, JSON.parse(unknown.body).reason], ["unauthorized", "credentials-missing-or-invalid"]);
                assert.equal(unknown.headers["retry-after"], undefined);
            }
        }
        const elapsedSeconds = (Date.now() - started) / 1000;
        assert.ok(limited, `no 429 after ${statuses.length} requests: ${statuses.join(",")}`);
        const admitted = statuses.length - 1;
        // Within the limit: at least the burst plus the steady one, whatever the unknown keys did.
        assert.ok(admitted >= PER_KEY.burst + 1, `admitted ${admitted}, the burst allows ${PER_KEY.burst + 1}: ${statuses.join(",")}`);
        // And the limit holds: no more than the burst plus what the elapsed time refilled.
        const ceiling = PER_KEY.burst + 1 + Math.ceil(elapsedSeconds * PER_KEY.ratePerSecond);
        assert.ok(admitted <= ceiling, `admitted ${admitted} in ${elapsedSeconds}s, ceiling ${ceiling}`);
        assert.equal(JSON.parse(limited.body).error, "too_many_requests");
        assert.match(String(limited.headers["retry-after"]), /^[1-9][0-9]*$/, "Retry-After in whole seconds from the key service");
        assert.ok(Number(limited.headers["retry-after"]) <= Math.ceil(1 / PER_KEY.ratePerSecond), `Retry-After ${limited.headers["retry-after"]}`);
        assert.equal(limited.headers["x-frame-options"], "DENY", "security headers on the 429");
        assert.equal(limited.headers["x-apiproxy-denied"], undefined);
        // Still 401 for unknown keys while team-a is limited; the other known key has its own budget.
        assert.equal((await get(randomKey())).status, 401);
        assert.equal((await get()).status, 401);
        const teamB = await get(KEY_B);
        assert.equal(teamB.status, 200, teamB.body);
        assert.equal(upstreamSaw.at(-1)?.["x-api-key-id"], "team-b");
        // The limiter's state holds the two known key ids only: unknown keys never touched it.
        assert.deepEqual(redisCli("KEYS", "apiproxy:ratelimit:*").split("\n").sort(), ["apiproxy:ratelimit:team-a", "apiproxy:ratelimit:team-b"]);
        assert.match(keycheckOutput, /"result":"rate-limited","key_id":"team-a"/);
        assert.ok(!keycheckOutput.includes(KEY_A), "the key never reaches the key service's log");
    });

    it("admits the key again once its Retry-After has passed", async () => {
        let reply = await get(KEY_A);
        for (let i = 0; i < 20 && reply.status !== 429; i++) reply = await get(KEY_A);
        assert.equal(reply.status, 429, "team-a is over its limit again");
        await new Promise((r) => setTimeout(r, Number(reply.headers["retry-after"]) * 1000));
        const again = await get(KEY_A);
        assert.equal(again.status, 200, again.body);
        assert.equal(upstreamSaw.at(-1)?.["x-api-key-id"], "team-a");
        assert.equal(upstreamSaw.at(-1)?.["x-api-key"], undefined, "the key never reaches the upstream");
    });
});
