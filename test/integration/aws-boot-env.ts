/**
 * The AWS boot test's world on this machine: a fabric of segments laid out like the stack's VPC
 * (198.19.0.0/16, its public, DMZ and private subnets as components/network carves them), the
 * VPC resolver (dnslib at base + 2), Secrets Manager behind its interface endpoint and the
 * instance metadata service (moto's server, the real AWS emulator), the declared package
 * mirror (apt-cacher-ng on this machine's management address), an upstream, a client, and
 * the instances: systemd-nspawn containers booted from image layers with a NoCloud seed.
 *
 * Names and addresses are this test's own: fabric `apx-awsboot`, 198.19.0.0/16, and
 * 169.254.169.254 only inside the fabric (the instances' metadata address, as on EC2).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { repoRoot } from "./engine-helpers";
import { stopChild } from "../renderers/nginx/key-service";

export const FABRIC = "apx-awsboot";
const HOST_CONTROL = path.join(repoRoot, "components", "targets", "local", "host-control.sh");
export const FIXTURES = path.join(repoRoot, "test", "integration", "aws-boot");
const CONTAINER = path.join(FIXTURES, "container.sh");

/** The address plan: the stack's VPC is 198.19.0.0/16 in two zones (/19 subnets). */
export const PLAN = {
    vpcCidr: "198.19.0.0/16",
    segments: {
        management: "198.19.240.1/24",
        internet: "198.19.224.1/24",
        public: "198.19.0.1/19",
        dmz: "198.19.64.1/19",
        private: "198.19.128.1/19",
    },
    managementCidr: "198.19.240.0/24",
    trafficCidr: "198.19.224.0/24",
    thisMachine: "198.19.240.254/24",
    /** The VPC resolver (base + 2) and an address that is not it. */
    resolver: "198.19.0.2",
    otherResolver: "198.19.0.3",
    /** Secrets Manager's interface endpoint in the DMZ subnet. */
    endpoint: "198.19.64.50",
    imds: "169.254.169.254",
    upstream: "198.19.128.21",
    upstreamPort: 8080,
    /** Not declared: another address, and a port the upstream also listens on. */
    otherUpstream: "198.19.128.22",
    undeclaredPort: 8081,
    keyService: "198.19.128.10:9000",
    client: "198.19.224.10",
    proxy: "198.19.64.10",
    mirror: "198.19.240.254",
    mirrorPort: 3142,
    region: "us-east-1",
    secretsManagerName: "secretsmanager.us-east-1.amazonaws.com",
} as const;

export const mirrorUrl = (archive: string): string => `http://${PLAN.mirror}:${PLAN.mirrorPort}/deb.debian.org/${archive}`;

export interface SetupPaths {
    readonly venv: string;
    readonly aptCacherNg: string;
    /** Image layers, top first. */
    readonly bookworm: readonly string[];
    readonly bullseye: readonly string[];
}

/** Runs a command, returns stdout; throws with stdout/stderr on failure or timeout. */
export function run(command: string, args: readonly string[], opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): string {
    const result = spawnSync(command, args, { input: opts.input, encoding: "utf8", timeout: opts.timeoutMs ?? 60_000, env: { ...process.env, ...opts.env }, maxBuffer: 64 * 1024 * 1024 });
    if (result.status !== 0) {
        throw new Error(`${command} ${args.join(" ")} exited ${result.status ?? result.signal}${result.error ? ` (${result.error.message})` : ""}\n${result.stdout}\n${result.stderr}`);
    }
    return result.stdout;
}

/** The same, in a network namespace of the fabric. */
export function inNetns(name: string, command: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): string {
    return run("ip", ["netns", "exec", `${FABRIC}-${name}`, command, ...args], opts);
}

/** True when a TCP connection from namespace `from` to address:port completes within 3 s. */
export function tcpConnects(from: string, address: string, port: number, user?: number): boolean {
    const probe = `exec 3<>/dev/tcp/${address}/${port}`;
    const args = ["netns", "exec", `${FABRIC}-${from}`, ...(user === undefined ? [] : ["setpriv", `--reuid=${user}`, `--regid=${user}`, "--clear-groups"]),
        "timeout", "3", "bash", "-c", probe];
    return spawnSync("ip", args, { timeout: 10_000 }).status === 0;
}

/** True when a DNS query over `proto` from namespace `from` to resolver gets an answer within 3 s (dnslib's client). */
export function dnsAnswers(venv: string, from: string, resolver: string, proto: "udp" | "tcp", name: string = PLAN.secretsManagerName): boolean {
    const script = `import sys
from dnslib import DNSRecord
q = DNSRecord.question(sys.argv[2])
r = DNSRecord.parse(q.send(sys.argv[1], 53, tcp=sys.argv[3] == "tcp", timeout=3))
print(r.a.rdata if r.rr else "NXDOMAIN")`;
    const r = spawnSync("ip", ["netns", "exec", `${FABRIC}-${from}`, path.join(venv, "bin", "python"), "-c", script, resolver, name, proto], { encoding: "utf8", timeout: 10_000 });
    return r.status === 0 && r.stdout.trim().length > 0;
}

export function setup(): SetupPaths {
    const out = run("bash", [path.join(FIXTURES, "setup.sh")], { timeoutMs: 1_500_000 });
    return JSON.parse(out.trim().split("\n").pop()!) as SetupPaths;
}

/** Processes this test started (servers in the fabric), stopped by stopAll. */
export class Services {
    private readonly children: ChildProcess[] = [];
    constructor(private readonly logDir: string) {}

    start(name: string, netns: string | undefined, command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
        const log = fs.openSync(path.join(this.logDir, `${name}.log`), "a");
        const argv = netns ? ["netns", "exec", `${FABRIC}-${netns}`, command, ...args] : [command, ...args];
        const child = spawn(netns ? "ip" : command, netns ? argv : args, { stdio: ["ignore", log, log], env: { ...process.env, ...env }, detached: false });
        fs.closeSync(log);
        this.children.push(child);
        return child;
    }

    log(name: string): string {
        try {
            return fs.readFileSync(path.join(this.logDir, `${name}.log`), "utf8").slice(-3000);
        } catch {
            return "";
        }
    }

    async stopAll(): Promise<void> {
        await Promise.all(this.children.map(stopChild));
    }
}

/** Waits until `check` is true, polling; throws with `what` (and the last detail) after the deadline. */
export async function waitFor(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>, detail: () => string = () => ""): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (await check()) return;
        if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}\n${detail()}`);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
}

/** A TCP port answers from this machine's side (root namespace or a fabric namespace). */
export function portOpenFrom(netns: string, address: string, port: number): boolean {
    return tcpConnects(netns, address, port);
}

// ---- the fabric ----

export function fabricUp(): void {
    run("bash", [HOST_CONTROL, "fabric-up", FABRIC, PLAN.thisMachine, ...Object.entries(PLAN.segments).map(([seg, cidr]) => `${seg}=${cidr}`)]);
    const ns = (name: string, seg: string, cidr: string, ...extra: string[]) => {
        run("bash", [HOST_CONTROL, "netns-up", FABRIC, name, `${seg}=${cidr}`]);
        for (const address of extra) run("ip", ["-n", `${FABRIC}-${name}`, "addr", "replace", address, "dev", ifaceOf(name)]);
    };
    ns("aws", "dmz", `${PLAN.endpoint}/19`);
    // The metadata service answers at 169.254.169.254 inside the fabric only (as it does on EC2).
    run("ip", ["-n", `${FABRIC}-aws`, "addr", "replace", `${PLAN.imds}/32`, "dev", "lo"]);
    run("ip", ["-n", FABRIC, "route", "replace", `${PLAN.imds}/32`, "via", PLAN.endpoint]);
    ns("dns", "public", `${PLAN.resolver}/19`, `${PLAN.otherResolver}/19`);
    ns("upstream", "private", `${PLAN.upstream}/19`, `${PLAN.otherUpstream}/19`);
    ns("client", "internet", `${PLAN.client}/24`);
    // Replies from the mirror (this machine) to the DMZ go back through the fabric; the route
    // leaves with the fabric's link.
    run("ip", ["route", "replace", PLAN.segments.dmz.replace(/\.1\/19$/, ".0/19"), "via", PLAN.segments.management.split("/")[0]]);
}

/** The interface host-control gave a namespace on its (only) segment. */
function ifaceOf(name: string): string {
    const out = run("ip", ["-n", `${FABRIC}-${name}`, "-o", "link", "show"]);
    const iface = out.split("\n").map((l) => l.split(": ")[1]?.split("@")[0]).find((n) => n && n !== "lo");
    if (!iface) throw new Error(`no interface in ${FABRIC}-${name}`);
    return iface;
}

export function fabricDown(names: readonly string[]): void {
    for (const name of names) spawnSync("bash", [HOST_CONTROL, "netns-down", FABRIC, name], { timeout: 30_000 });
    spawnSync("bash", [HOST_CONTROL, "fabric-down", FABRIC], { timeout: 30_000 });
}

/** What this machine still holds of the fabric (namespaces, mounts, processes): [] when clean. */
export function leftovers(stateDir = "/nonexistent"): string[] {
    const out: string[] = [];
    const netns = run("ip", ["netns", "list"]).split("\n").filter((l) => l.startsWith(FABRIC));
    if (netns.length) out.push(`namespaces: ${netns.join(", ")}`);
    const mounts = fs.readFileSync("/proc/mounts", "utf8").split("\n").filter((l) => l.includes(stateDir) || l.includes(`/${FABRIC}-`));
    if (mounts.length) out.push(`mounts: ${mounts.join("; ")}`);
    const ps = run("ps", ["-eo", "pid,args"]).split("\n").filter((l) => l.includes(`--machine=${FABRIC}-`));
    if (ps.length) out.push(`processes: ${ps.join("; ")}`);
    return out;
}

// ---- instances ----

export interface BootOptions {
    /** Image layers, top first. */
    readonly layers: readonly string[];
    /** Files to place in the instance's own layer before it boots (path inside -> content). */
    readonly files: Readonly<Record<string, string | Buffer>>;
    /** Extra systemd-nspawn arguments (device binds). */
    readonly nspawnArgs?: readonly string[];
    /** Files in `files` to make executable. */
    readonly executables?: readonly string[];
    /** Units in the instance's layer to enable for boot (path under etc/systemd/system -> target). */
    readonly enable?: Readonly<Record<string, string>>;
}

/** One booted instance. */
export class Instance {
    readonly netns: string;
    private nspawnPid = 0;

    constructor(readonly name: string, readonly stateDir: string, readonly address: string) {
        this.netns = `${FABRIC}-${name}`;
    }

    get dir(): string {
        return path.join(this.stateDir, this.name);
    }

    get upper(): string {
        return path.join(this.dir, "upper");
    }

    boot(opts: BootOptions): void {
        run("bash", [HOST_CONTROL, "netns-up", FABRIC, this.name, `dmz=${this.address}/19`]);
        for (const [file, content] of Object.entries(opts.files)) {
            const dest = path.join(this.upper, file);
            fs.mkdirSync(path.dirname(dest), { recursive: true });
            fs.writeFileSync(dest, content);
        }
        for (const file of opts.executables ?? []) {
            if (fs.existsSync(path.join(this.upper, file))) fs.chmodSync(path.join(this.upper, file), 0o755);
        }
        for (const [unit, target] of Object.entries(opts.enable ?? {})) {
            const wants = path.join(this.upper, "etc", "systemd", "system", `${target}.wants`);
            fs.mkdirSync(wants, { recursive: true });
            fs.symlinkSync(`/etc/systemd/system/${unit}`, path.join(wants, unit));
        }
        const out = run("bash", [CONTAINER, "up", this.stateDir, this.name, this.netns, opts.layers.join(":"), ...(opts.nspawnArgs ?? [])]);
        this.nspawnPid = Number(out.trim());
    }

    /** PID 1 of the container, as this machine sees it. */
    leader(): number {
        for (const child of run("ps", ["-o", "pid=", "--ppid", String(this.nspawnPid)]).split("\n").map((l) => Number(l.trim())).filter(Boolean)) {
            const status = fs.readFileSync(`/proc/${child}/status`, "utf8");
            if (/^NSpid:\s+\d+\s+1$/m.test(status)) return child;
        }
        throw new Error(`${this.name}: no container init under nspawn ${this.nspawnPid}\n${this.console()}`);
    }

    running(): boolean {
        return this.nspawnPid > 0 && spawnSync("kill", ["-0", String(this.nspawnPid)]).status === 0;
    }

    /** A shell command inside the container (its mount, PID, network and UTS namespaces), as root. */
    exec(command: string, timeoutMs = 60_000): string {
        return run("nsenter", ["--target", String(this.leader()), "--mount", "--uts", "--ipc", "--net", "--pid", "--root", "--wd", "--", "/bin/sh", "-c", command], { timeoutMs });
    }

    tryExec(command: string, timeoutMs = 60_000): { ok: boolean; out: string } {
        try {
            return { ok: true, out: this.exec(command, timeoutMs) };
        } catch (error) {
            return { ok: false, out: (error as Error).message };
        }
    }

    /** Whether systemd in the container is up far enough to answer. */
    systemdUp(): boolean {
        if (!this.running()) return false;
        try {
            const state = this.exec("systemctl is-system-running || true", 10_000).trim();
            return state.length > 0 && state !== "offline";
        } catch {
            return false;
        }
    }

    console(): string {
        try {
            return fs.readFileSync(path.join(this.dir, "console.log"), "utf8").slice(-4000);
        } catch {
            return "";
        }
    }

    /** Powers the container off; its layer stays when `keepUpper` (the image build's output). */
    down(keepUpper = false): void {
        spawnSync("bash", [CONTAINER, "down", this.stateDir, this.name, ...(keepUpper ? ["keep-upper"] : [])], { timeout: 60_000 });
        spawnSync("bash", [HOST_CONTROL, "netns-down", FABRIC, this.name], { timeout: 30_000 });
        this.nspawnPid = 0;
    }
}

/** A sparse file attached to a loop device: the instance-store NVMe disk of an instance. */
export class InstanceStore {
    readonly device: string;
    constructor(readonly file: string, sizeMb = 512) {
        fs.writeFileSync(file, "");
        fs.truncateSync(file, sizeMb * 1024 * 1024);
        this.device = run("losetup", ["--find", "--show", file]).trim();
    }
    detach(): void {
        spawnSync("losetup", ["-d", this.device]);
        fs.rmSync(this.file, { force: true });
    }
}

/** Waits for a local TCP port in the root namespace or a fabric namespace. */
export async function waitForPort(netns: string, address: string, port: number, timeoutMs: number, detail: () => string): Promise<void> {
    await waitFor(`${address}:${port} from ${netns}`, timeoutMs, () => tcpConnects(netns, address, port), detail);
}

/** A free-standing TCP listener check in the root namespace (the mirror). */
export function rootPortOpen(address: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: address, port, timeout: 2_000 });
        socket.once("connect", () => {
            socket.destroy();
            resolve(true);
        });
        socket.once("error", () => resolve(false));
        socket.once("timeout", () => {
            socket.destroy();
            resolve(false);
        });
    });
}

export function execFile(command: string, args: readonly string[]): string {
    return execFileSync(command, args, { encoding: "utf8" });
}
