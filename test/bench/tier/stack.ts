/**
 * The tier bench's own deployment of the local target, and how it reaches into the containers.
 *
 * With no local stack running, the bench deploys a twin of `stacks/Pulumi.local.yaml` as stack
 * `tier-bench` (temp backend, temp config file), with only what a throughput bench needs changed,
 * each reason in `benchConfig`, and destroys it afterwards. It uses the local target's fixed
 * address plan, so no other local stack may run at the same time (scripts/bench.sh holds
 * /tmp/apx-local-stack.lock for the whole cycle).
 *
 * With the user's `local` stack running (`npm run up`), the bench reuses it instead: it updates
 * that stack to the same bench config (`up --config-file`, a temp copy of the stack file with
 * its encryption salt; stacks/Pulumi.local.yaml itself is never written), measures, and then
 * puts it back: `up` with the stack file as it is (its certificates and keys are the same
 * resources throughout, so app teams' CA bundle does not change), the load balancer's
 * namespace sysctls and every process's CPU affinity as they were.
 *
 * Containers are reached as test/integration/local-stack.test.ts does: the systemd-nspawn pid in
 * .tools/local-stacks/<fabric>/<host>/nspawn.pid, its child is the container's init, and
 * `nsenter -t <init>` enters it. Their cgroups (cgroup v2) give each service's CPU time,
 * exited processes included, and the processes to pin.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { makeTempDir, removeDir, repoRoot, runPulumi, runPulumiOk, runUpdate } from "../../integration/engine-helpers";
import { parseCgroupCpuUsec, parseProcStat } from "./measure";

export const FABRIC = "apx-local";
export const STACK = "tier-bench";
export const HOSTS = ["lb", "proxy-a", "proxy-b", "upstream-1", "keystore"] as const;
export type Host = (typeof HOSTS)[number];
export const PROXY_UNDER_TEST: Host = "proxy-a";
export const PROXY_ADDRESS = "198.18.3.10";
export const LB_ADDRESS = "198.18.2.10";
export const CLIENT_NAMESPACE = `${FABRIC}-client`;
export const CLIENT_ADDRESS = "198.18.1.10";
export const SERVER_NAME = "api.tier.test";
/** The public route the bench adds: the upstream's /healthz (it answers "ok" without logging), no API key. */
export const BENCH_PATH = "/healthz";
/** A second public route with its own per-IP limit, for limit_req fidelity. */
export const LIMITED_PATH = "/bench/limited";
export const LIMITED_RATE = { ratePerSecond: 50, burst: 20 };

/**
 * The bench stack's config: stacks/Pulumi.local.yaml plus
 * - per-IP limit raised to the schema's ceiling (10,000 r/s): the throughput runs measure the
 *   proxy, not the limiter (which still runs on every proxied request);
 * - concurrencyTarget 100,000 (the seed's upper end), so the idle-connection run finds the
 *   provisioned sizing's limit rather than the local stack's 10,000;
 * - two declared public routes: the upstream's /healthz (proxied, no API-key subrequest; the
 *   upstream answers it without logging, so the load core is not spent on its journal) and
 *   /bench/limited with the local stack's own 50 r/s, burst 20, per IP (limit_req fidelity);
 * - the proxies' own status endpoint moved to /status (healthPath), as /healthz is now a route.
 */
export function benchConfig(localStackYaml: string, options: { keepSalt?: boolean } = {}): string {
    // Edited as a document, so the file keeps its quoting (an unquoted RFC 3339 time would reach the engine as a YAML timestamp).
    const doc = YAML.parseDocument(localStackYaml);
    // The twin has its own passphrase; a reused stack's secrets are encrypted under the stack file's salt.
    if (!options.keepSalt) doc.delete("encryptionsalt");
    const tier = ["config", "api-proxy-security:tier"];
    doc.setIn([...tier, "concurrencyTarget"], 100_000);
    doc.setIn([...tier, "healthPath"], "/status");
    doc.setIn([...tier, "limits", "rateLimitPerIp"], doc.createNode({ ratePerSecond: 10_000, burst: 1_000 }));
    const reason = "tier bench (npm run bench): proxied throughput without an API-key subrequest";
    doc.addIn([...tier, "routes"], doc.createNode({ name: "bench", path: BENCH_PATH, exact: true, methods: ["GET"], upstream: "orders", apiKey: false, public: { reason } }));
    doc.addIn([...tier, "routes"], doc.createNode({
        name: "bench-limited", path: LIMITED_PATH, exact: true, methods: ["GET"], upstream: "orders", apiKey: false,
        public: { reason: "tier bench: limit_req fidelity" }, rateLimitPerIp: LIMITED_RATE,
    }));
    return doc.toString();
}

export interface BenchStack {
    caFile: string;
    work: string;
    /** "twin": deployed for the bench and destroyed after; "reused": the user's running `local` stack, restored after. */
    mode: "twin" | "reused";
    /** The stack the engine timings ran on, for the report. */
    describe: string;
    timings: { firstUpMs: number };
    pulumi(args: string[], timeoutMs?: number): Promise<{ code: number; ms: number; stdout: string; stderr: string }>;
    destroy(): Promise<number>;
}

export function localStackRunning(): boolean {
    return execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).includes(`${FABRIC}-`);
}

export async function deployBenchStack(log: (line: string) => void): Promise<BenchStack> {
    if (localStackRunning()) return reuseLocalStack(log);
    const work = makeTempDir("tier-bench");
    const configFile = path.join(repoRoot, "stacks", `Pulumi.${STACK}.yaml`);
    const opts = {
        cwd: repoRoot, timeoutMs: 900_000,
        env: { PULUMI_BACKEND_URL: `file://${work}`, PULUMI_CONFIG_PASSPHRASE: "tier-bench-only", PULUMI_CONFIG_PASSPHRASE_FILE: undefined },
    };
    fs.writeFileSync(configFile, benchConfig(fs.readFileSync(path.join(repoRoot, "stacks", "Pulumi.local.yaml"), "utf8")));
    let created = false;
    const cleanup = () => {
        fs.rmSync(configFile, { force: true });
        removeDir(work);
    };
    try {
        await runPulumiOk(["stack", "init", STACK], opts);
        created = true;
        log("deploying the bench stack (tier-bench: the local stack's config + bench routes)");
        const { firstUpMs, caFile } = await upWithCa([], STACK, opts, work);
        return {
            caFile, work, mode: "twin", timings: { firstUpMs },
            describe: "bin/pulumi on the bench stack (the local stack's config + bench routes), temp file backend",
            pulumi: stackRunner([], STACK, opts),
            async destroy() {
                const begin = Date.now();
                try {
                    await runUpdate(["destroy", "--yes", "--skip-preview", "--stack", STACK], opts, STACK);
                    await runPulumi(["stack", "rm", STACK, "--yes"], opts);
                    return Date.now() - begin;
                } finally {
                    cleanup();
                }
            },
        };
    } catch (err) {
        if (created) await runPulumi(["destroy", "--yes", "--skip-preview", "--stack", STACK], opts);
        cleanup();
        throw err;
    }
}

type EngineOptions = Parameters<typeof runPulumi>[1];

/** `up` of the bench's stack (with `extra` arguments), timed, and the stack's CA bundle written to `work`/ca.pem. */
async function upWithCa(extra: string[], stack: string, opts: EngineOptions, work: string): Promise<{ firstUpMs: number; caFile: string }> {
    const started = Date.now();
    await runUpdate(["up", "--yes", "--skip-preview", "--stack", stack, ...extra], opts, stack);
    const firstUpMs = Date.now() - started;
    const caFile = path.join(work, "ca.pem");
    fs.writeFileSync(caFile, (await runPulumiOk(["stack", "output", "caBundlePem", "--show-secrets", "--stack", stack], opts)).stdout);
    return { firstUpMs, caFile };
}

/** Timed engine commands on the bench's stack (with `extra` arguments), for the IaC timings. */
function stackRunner(extra: string[], stack: string, opts: EngineOptions): BenchStack["pulumi"] {
    return async (args, timeoutMs = 600_000) => {
        const begin = Date.now();
        const r = await runPulumi([...args, "--stack", stack, ...extra], { ...opts, timeoutMs });
        return { ...r, ms: Date.now() - begin };
    };
}

/** The user's stack that `npm run up` deploys (scripts/up.sh), in the repo's own backend (bin/pulumi). */
const LOCAL_STACK = "local";

/**
 * The running local stack, updated to the bench config and put back afterwards (see the header).
 * Only `npm run up`'s own stack is reused: namespaces of another deployment (a test's stack) are
 * not this bench's to change.
 */
async function reuseLocalStack(log: (line: string) => void): Promise<BenchStack> {
    // bin/pulumi's defaults: the repo's backend and passphrase, as scripts/up.sh runs it.
    const opts = { cwd: repoRoot, timeoutMs: 900_000, env: {} };
    const owner = await runPulumi(["stack", "output", "local", "--json", "--stack", LOCAL_STACK], opts);
    let clientNamespace: string | undefined;
    try {
        clientNamespace = (JSON.parse(owner.stdout) as { clientNamespace?: string }).clientNamespace;
    } catch { /* no such stack, or no outputs */ }
    if (owner.code !== 0 || clientNamespace !== CLIENT_NAMESPACE) {
        throw new Error(`a local stack is running (namespaces ${FABRIC}-*) that is not this checkout's \`npm run up\` stack ` +
            `(bin/pulumi stack output local --stack ${LOCAL_STACK}: exit ${owner.code}, clientNamespace ${clientNamespace ?? "none"}): ` +
            "the bench reuses only that one; remove the other deployment first");
    }
    const stackFile = path.join(repoRoot, "stacks", `Pulumi.${LOCAL_STACK}.yaml`);
    const original = fs.readFileSync(stackFile, "utf8");
    const work = makeTempDir("tier-bench");
    const configFile = path.join(work, `Pulumi.${LOCAL_STACK}.bench.yaml`);
    fs.writeFileSync(configFile, benchConfig(original, { keepSalt: true }));
    const restore = async (): Promise<number> => {
        const begin = Date.now();
        try {
            log(`putting the local stack back: bin/pulumi up --stack ${LOCAL_STACK} with stacks/Pulumi.${LOCAL_STACK}.yaml`);
            if (fs.readFileSync(stackFile, "utf8") !== original) throw new Error(`stacks/Pulumi.${LOCAL_STACK}.yaml changed during the bench: not restoring over it; run npm run up`);
            await runUpdate(["up", "--yes", "--skip-preview", "--stack", LOCAL_STACK], opts, LOCAL_STACK);
            return Date.now() - begin;
        } finally {
            removeDir(work);
        }
    };
    try {
        log(`reusing the running local stack: bin/pulumi up --stack ${LOCAL_STACK} with the bench config (put back when the bench ends)`);
        const { firstUpMs, caFile } = await upWithCa(["--config-file", configFile], LOCAL_STACK, opts, work);
        return {
            caFile, work, mode: "reused", timings: { firstUpMs },
            describe: `bin/pulumi on the running local stack (npm run up's), updated to the bench config with --config-file; "first up" is that update, not a creation`,
            pulumi: stackRunner(["--config-file", configFile], LOCAL_STACK, opts),
            destroy: restore,
        };
    } catch (err) {
        await restore().catch((e: unknown) => log(`putting the local stack back failed too: ${e instanceof Error ? e.message : String(e)}`));
        throw err;
    }
}

/** The container's init process (systemd-nspawn's child), in this machine's pid namespace. */
export function containerInit(host: Host): number {
    const pid = fs.readFileSync(path.join(repoRoot, ".tools", "local-stacks", FABRIC, host, "nspawn.pid"), "utf8").trim();
    return Number(execFileSync("pgrep", ["-P", pid], { encoding: "utf8" }).trim().split("\n")[0]);
}

/** Runs a command inside a container (all its namespaces); with `networkOnly`, this machine's binary in its network. */
export function inHost(host: Host, args: string[], options: { networkOnly?: boolean; timeoutMs?: number; allowFail?: boolean } = {}): string {
    const r = spawnSync("nsenter", ["-t", String(containerInit(host)), options.networkOnly ? "-n" : "-a", ...args],
        { encoding: "utf8", timeout: options.timeoutMs ?? 60_000, maxBuffer: 256 * 1024 * 1024 });
    if (r.status !== 0 && !options.allowFail) throw new Error(`${host}: ${args.join(" ")} exited ${r.status}: ${(r.stderr || r.error?.message || "").slice(-800)}`);
    return r.stdout;
}

/** A path inside a container's file system, from this machine. */
export function containerPath(host: Host, file: string): string {
    return path.join(`/proc/${containerInit(host)}/root`, file);
}

/**
 * The container's cgroup directories, one per hierarchy that tracks it: cgroup v2 (mounted at
 * /sys/fs/cgroup or, on a hybrid machine like this one, /sys/fs/cgroup/unified) and v1's
 * name=systemd. Read from its init's /proc/<pid>/cgroup, without the trailing init.scope.
 */
function containerCgroups(host: Host): string[] {
    const mounts = fs.readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" "));
    const v2 = mounts.find((m) => m[2] === "cgroup2")?.[1];
    const v1systemd = mounts.find((m) => m[2] === "cgroup" && m[3]?.split(",").includes("name=systemd"))?.[1];
    const dirs: string[] = [];
    for (const line of fs.readFileSync(`/proc/${containerInit(host)}/cgroup`, "utf8").split("\n")) {
        const [, controllers, rel] = line.split(":");
        if (rel === undefined) continue;
        const root = controllers === "" ? v2 : controllers === "name=systemd" ? v1systemd : undefined;
        if (root) dirs.push(path.join(root, rel.replace(/\/init\.scope$/, "")));
    }
    if (dirs.length === 0) throw new Error(`${host}: no cgroup v2 or name=systemd cgroup`);
    return dirs;
}

export function containerCgroup(host: Host): string {
    return containerCgroups(host)[0];
}

/** The cgroup directory of a systemd unit inside a container (the first hierarchy that has it). */
export function unitCgroup(host: Host, unit: string): string {
    const dirs = containerCgroups(host).map((d) => path.join(d, "system.slice", unit));
    const found = dirs.find((d) => fs.existsSync(d));
    if (!found) throw new Error(`${host}: no cgroup for ${unit} (looked in ${dirs.join(", ")})`);
    return found;
}

/**
 * CPU seconds a unit's processes used so far (utime + stime): the cgroup v2 cpu.stat when the
 * unit has one (exited processes included), else the sum over its live processes (/proc).
 */
export function unitCpuSeconds(host: Host, unit: string): number {
    const v2 = containerCgroups(host).map((d) => path.join(d, "system.slice", unit, "cpu.stat")).find((f) => fs.existsSync(f));
    if (v2) return parseCgroupCpuUsec(fs.readFileSync(v2, "utf8")) / 1e6;
    let ticks = 0;
    for (const pid of unitPids(host, unit)) {
        try {
            ticks += parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8")).ticks;
        } catch { /* exited */ }
    }
    return ticks / CLOCK_TICKS_PER_SECOND;
}

/** Where unitCpuSeconds reads a unit's CPU time from, for the report. */
export function cpuAccounting(host: Host, unit: string): string {
    const v2 = containerCgroups(host).map((d) => path.join(d, "system.slice", unit, "cpu.stat")).find((f) => fs.existsSync(f));
    return v2 ? `cgroup v2 ${v2.replace(/^\/sys\/fs\/cgroup\/?/, "")} (usage_usec: exited processes included)` : "the sum of the unit's live processes' utime + stime (/proc; no cgroup v2 cpu.stat here)";
}

/** USER_HZ: 100 on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Every process in a cgroup and its descendants. */
function cgroupProcs(dir: string): number[] {
    const pids: number[] = [];
    const walk = (d: string) => {
        try {
            for (const line of fs.readFileSync(path.join(d, "cgroup.procs"), "utf8").split("\n")) if (line) pids.push(Number(line));
            for (const entry of fs.readdirSync(d, { withFileTypes: true })) if (entry.isDirectory()) walk(path.join(d, entry.name));
        } catch { /* a cgroup that went away */ }
    };
    walk(dir);
    return pids;
}

export function unitPids(host: Host, unit: string): number[] {
    return cgroupProcs(unitCgroup(host, unit));
}

/**
 * Pins the proxy under test (every process of `unit` in proxy-a) to PROXY_CORE and everything
 * else of the stack (other containers, proxy-a's other services, this process) to LOAD_CORE.
 * Threads included (taskset -a). Processes of this machine outside the stack are not moved.
 */
export const PROXY_CORE = 0;
export const LOAD_CORE = 1;
export function pinStack(proxyUnit: string): { proxyPids: number[]; otherPids: number } {
    const proxyPids = unitPids(PROXY_UNDER_TEST, proxyUnit);
    const others = HOSTS.flatMap((h) => cgroupProcs(containerCgroup(h))).filter((p) => !proxyPids.includes(p));
    others.push(process.pid);
    setAffinity([[proxyPids, String(PROXY_CORE)], [others, String(LOAD_CORE)]]);
    return { proxyPids, otherPids: others.length };
}

/** Every thread of each process on the given CPU list (processes that exited meanwhile are skipped). */
function setAffinity(assignments: readonly (readonly [readonly number[], string])[]): void {
    const script = assignments.flatMap(([pids, cpus]) => pids.map((p) => `taskset -a -p -c ${cpus} ${p}`)).join(" >/dev/null 2>&1; ");
    spawnSync("bash", ["-c", `${script} >/dev/null 2>&1; true`], { timeout: 60_000 });
}

/** Every process of the stack's containers back on every core (a reused stack outlives the bench). */
export function unpinStack(): void {
    const pids = HOSTS.flatMap((h) => {
        try {
            return cgroupProcs(containerCgroup(h));
        } catch {
            return [];
        }
    });
    setAffinity([[pids, `0-${Math.max(0, os.cpus().length - 1)}`]]);
}

/**
 * The load generator's side (the load balancer's network namespace): every full-handshake run
 * closes thousands of connections from one address, and their TIME_WAIT entries exhaust its
 * ephemeral ports within seconds - connect() then searches the port space in the kernel and the
 * client, not the proxy, becomes the bottleneck. Per-namespace sysctls (never this machine's):
 * reuse TIME_WAIT ports for new outgoing connections (RFC 7323 timestamps keep that safe) and the
 * widest ephemeral range. Returns what puts the namespace's own values back (a reused local stack
 * outlives the bench).
 */
export function prepareLoadNamespace(): () => void {
    const lb = String(containerInit("lb"));
    const sysctl = (args: string[]) => spawnSync("nsenter", ["-t", lb, "-n", "sysctl", ...args], { encoding: "utf8" });
    const keys = ["net.ipv4.tcp_tw_reuse", "net.ipv4.ip_local_port_range"];
    const before = sysctl(["-n", ...keys]).stdout.trim().split("\n").map((l) => l.trim().replace(/\s+/g, " "));
    if (before.length !== keys.length) throw new Error(`load balancer namespace sysctls: could not read ${keys.join(", ")}`);
    const r = sysctl(["-qw", "net.ipv4.tcp_tw_reuse=1", "net.ipv4.ip_local_port_range=1024 65535"]);
    if (r.status !== 0) throw new Error(`load balancer namespace sysctls: ${r.stderr}`);
    return () => {
        sysctl(["-qw", ...keys.map((k, i) => `${k}=${before[i]}`)]);
    };
}

/** Whether something listens on the proxy's 443 (from the load balancer's network). */
export function waitListening(timeoutMs = 15_000): void {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        const r = spawnSync("nsenter", ["-t", String(containerInit("lb")), "-n", "bash", "-c", `exec 3<>/dev/tcp/${PROXY_ADDRESS}/443`], { timeout: 3000 });
        if (r.status === 0) return;
        spawnSync("sleep", ["0.2"]);
    }
    throw new Error(`nothing listens on ${PROXY_ADDRESS}:443 after ${timeoutMs} ms`);
}
