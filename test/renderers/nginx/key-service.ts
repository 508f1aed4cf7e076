/**
 * The REAL key service for live tests and benchmarks: a redis-server and
 * services/cmd/apiproxy-keycheck built from this checkout, on loopback ports, provisioned with
 * API keys and (optionally) a request-authentication policy. stop() ends both.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { renderAuthPolicy, type AuthPolicySpec } from "../../../components/services/render-auth-policy";
import { LOOPBACK, plainGet } from "./harness";

const SERVICES = resolve(__dirname, "../../../services");

export interface KeyServiceOptions {
    /** A scratch directory (the binary, pepper, policy and Redis data land there). */
    readonly dir: string;
    readonly port: number;
    readonly redisPort: number;
    readonly keys?: readonly { readonly id: string; readonly key: string }[];
    readonly perKey: { readonly ratePerSecond: number; readonly burst: number };
    readonly policy?: AuthPolicySpec;
}

export interface RunningKeyService {
    /** What the service wrote (JSON lines). */
    output(): string;
    /** The service's process id (its CPU time is part of a check's cost). */
    readonly pid: number;
    redisCli(...args: string[]): string;
    stop(): Promise<void>;
}

async function waitFor(what: string, probe: () => Promise<boolean>, log: () => string): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
        if (await probe().catch(() => false)) return;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${what} did not come up\n${log()}`);
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the child has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
}

export async function startKeyService(options: KeyServiceOptions): Promise<RunningKeyService> {
    const children: ChildProcess[] = [];
    let output = "";
    const redisCli = (...args: string[]): string => {
        const r = spawnSync("redis-cli", ["-h", LOOPBACK, "-p", String(options.redisPort), "--raw", ...args], { encoding: "utf8", timeout: 10_000 });
        assert.equal(r.status, 0, r.stderr);
        return r.stdout.trim();
    };
    const stop = async () => {
        for (const child of children.reverse()) await stopChild(child);
    };
    try {
        children.push(spawn("redis-server", ["--port", String(options.redisPort), "--bind", LOOPBACK, "--save", "", "--appendonly", "no", "--dir", options.dir], { stdio: "ignore" }));
        await waitFor("redis-server", async () => redisCli("PING") === "PONG", () => "");

        const binary = join(options.dir, "apiproxy-keycheck");
        const build = spawnSync("go", ["build", "-o", binary, "./cmd/apiproxy-keycheck"], {
            cwd: SERVICES, encoding: "utf8", timeout: 240_000, env: { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=mod" },
        });
        assert.equal(build.status, 0, `go build: ${build.stderr}`);
        const pepper = join(options.dir, "pepper");
        writeFileSync(pepper, randomBytes(48).toString("base64"), { mode: 0o600 });
        const redis = `${LOOPBACK}:${options.redisPort}`;
        const provision = spawnSync(binary, ["provision", "--redis", redis, "--pepper-file", pepper], {
            input: JSON.stringify({ keys: options.keys ?? [] }), encoding: "utf8", timeout: 10_000,
        });
        assert.equal(provision.status, 0, provision.stderr);
        const policyArgs: string[] = [];
        if (options.policy) {
            const file = join(options.dir, "policy.json");
            writeFileSync(file, renderAuthPolicy(options.policy).content, { mode: 0o600 });
            policyArgs.push("--policy-file", file);
        }
        const service = spawn(binary, [
            "serve", "--listen", `${LOOPBACK}:${options.port}`, "--redis", redis, "--pepper-file", pepper,
            "--rate-per-second", String(options.perKey.ratePerSecond), "--burst", String(options.perKey.burst), ...policyArgs,
        ], { stdio: ["ignore", "pipe", "pipe"] });
        children.push(service);
        service.stdout?.on("data", (c: Buffer) => (output += c.toString()));
        service.stderr?.on("data", (c: Buffer) => (output += c.toString()));
        await waitFor("the key service", async () => (await plainGet(options.port, "/healthz")) === 200, () => output);
        return { output: () => output, pid: service.pid ?? 0, redisCli, stop };
    } catch (err) {
        await stop();
        throw err;
    }
}
