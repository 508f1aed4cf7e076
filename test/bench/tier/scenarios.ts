/**
 * Items 1-5 of the tier bench, against the deployed bench stack. Every load run is the Go load
 * generator (loadgen/) in the load balancer's network namespace, pinned to the load core, aimed
 * at proxy-a's 443 (PROXY v2 header for the provisioned listener, plain TLS for the stock twin);
 * the proxy's CPU time is its unit's cgroup usage across the run. A/B runs alternate (the order
 * flips every run) so drift on this shared machine hits both alike.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_RATE_ZONE_MEGABYTES } from "../../../components/nginx/constants";
import { repoRoot } from "../../integration/engine-helpers";
import {
    bytesPerConnection, countSessionReuse, expectedAccepted, handshakeBound, median, parseProcStat, parseSsSocketMemory, perCpuSecond, ratio, round,
    type SpeedResult,
} from "./measure";
import {
    BENCH_PATH, CLIENT_ADDRESS, CLIENT_NAMESPACE, LB_ADDRESS, LIMITED_PATH, LIMITED_RATE, LOAD_CORE, PROXY_ADDRESS, SERVER_NAME,
    containerInit, containerPath, inHost, PROXY_UNDER_TEST,
} from "./stack";
import { isStock, POOL_SIZED_KEEPALIVE, type KeyKind, type ProxyUnderTest, type Variant } from "./variants";

export const LOADGEN = path.join(repoRoot, ".tools", "bench", "benchload");

export interface Plan {
    runs: number;
    seconds: number;
    idleTargets: number[];
    idleHoldSeconds: number;
    rateSeconds: number;
    zoneClients: number;
    profile: boolean;
}

export interface LoadResult {
    mode: string; elapsedSeconds: number; handshakes: number; resumed: number; requests: number;
    statuses: Record<string, number>; errors: number; firstError?: string;
    latencyMs?: { P50: number; P90: number; P99: number; P999: number; Max: number; Count: number };
    protocol?: string; maxOpen?: number; openAtEnd?: number;
}

function loadArgs(variant: Variant, args: Record<string, string | number | boolean>): string[] {
    const all: Record<string, string | number | boolean> = { addr: `${PROXY_ADDRESS}:443`, sni: SERVER_NAME, proxy: !isStock(variant), ...args };
    return Object.entries(all).flatMap(([k, v]) => (typeof v === "boolean" ? (v ? [`-${k}`] : []) : [`-${k}`, String(v)]));
}

/** One bounded run of the load generator from the load balancer's network namespace. */
export function runLoad(variant: Variant, args: Record<string, string | number | boolean>, boundSeconds: number): LoadResult {
    const r = spawnSync("nsenter", ["-t", String(containerInit("lb")), "-n", "taskset", "-c", String(LOAD_CORE), LOADGEN, ...loadArgs(variant, args)],
        { encoding: "utf8", timeout: (boundSeconds + 60) * 1000, maxBuffer: 64 * 1024 * 1024 });
    const line = r.stdout.trim().split("\n").filter((l) => l.startsWith("{\"mode\"")).pop();
    if (!line) throw new Error(`load generator (${variant} ${JSON.stringify(args)}) exited ${r.status}: ${r.stderr.slice(-500)}`);
    return JSON.parse(line) as LoadResult;
}

/** A load run with the proxy's CPU time around it. */
export function measured(proxy: ProxyUnderTest, variant: Variant, args: Record<string, string | number | boolean>, boundSeconds: number): { load: LoadResult; cpuSeconds: number } {
    const before = proxy.cpuSeconds(variant);
    const load = runLoad(variant, args, boundSeconds);
    return { load, cpuSeconds: proxy.cpuSeconds(variant) - before };
}

/** Run order for run i: flips each run, so neither variant always goes first. */
export function alternate<T>(variants: readonly T[], run: number): T[] {
    return run % 2 === 0 ? [...variants] : [...variants].reverse();
}

const CLIENT_ORDERS = { "X25519-first": "x25519,p256", "P-256-first": "p256,x25519" } as const;
type ClientOrder = keyof typeof CLIENT_ORDERS;

/** The proxies whose full handshakes are compared: the tier, stock, and stock with only the tier's groups added. */
type HandshakeVariant = "provisioned" | "stock" | "stockTierGroups";
const HANDSHAKE_VARIANTS: readonly HandshakeVariant[] = ["provisioned", "stock", "stockTierGroups"];

export interface HandshakeCell {
    key: KeyKind; tls: "1.2" | "1.3"; client: ClientOrder;
    perCpuSecond: Record<HandshakeVariant, number | null>;
    handshakesPerSecond: Record<HandshakeVariant, number | null>;
    samples: Record<HandshakeVariant, { handshakes: number; cpuSeconds: number; errors: number; firstError?: string }[]>;
    boundPerCpuSecond: number | null;
    vsStock: number | null;
    vsBound: number | null;
    stockVsItsBound: number | null;
    /** What the tier's key-exchange groups alone cost stock (stock with them / stock), and the tier against that twin. */
    stockTierGroupsVsStock?: number | null;
    vsStockTierGroups?: number | null;
}

/** Item 1: full handshakes per proxy-CPU-second, both keys, both versions, both client group orders. */
export function handshakes(proxy: ProxyUnderTest, plan: Plan, speed: SpeedResult, log: (s: string) => void): HandshakeCell[] {
    const cells: HandshakeCell[] = [];
    const keys: KeyKind[] = ["ECDSA-P256", "RSA-3072"];
    for (const key of keys) {
        proxy.setKey(key);
        const byCell = new Map<string, HandshakeCell>();
        for (let run = 0; run < plan.runs; run++) {
            for (const variant of alternate(HANDSHAKE_VARIANTS, run)) {
                proxy.use(variant);
                for (const tls of ["1.2", "1.3"] as const) {
                    for (const client of Object.keys(CLIENT_ORDERS) as ClientOrder[]) {
                        const id = `${key} ${tls} ${client}`;
                        const cell = byCell.get(id) ?? {
                            key, tls, client, perCpuSecond: { provisioned: null, stock: null, stockTierGroups: null }, handshakesPerSecond: { provisioned: null, stock: null, stockTierGroups: null },
                            samples: { provisioned: [], stock: [], stockTierGroups: [] }, boundPerCpuSecond: null, vsStock: null, vsBound: null, stockVsItsBound: null,
                        };
                        byCell.set(id, cell);
                        const { load, cpuSeconds } = measured(proxy, variant, { mode: "handshake", tls, groups: CLIENT_ORDERS[client], conns: 16, duration: `${plan.seconds}s` }, plan.seconds);
                        cell.samples[variant].push({ handshakes: load.handshakes, cpuSeconds, errors: load.errors, firstError: load.firstError });
                        log(`  handshakes ${id} ${variant}: ${load.handshakes} in ${load.elapsedSeconds.toFixed(1)} s, proxy CPU ${cpuSeconds.toFixed(2)} s${load.errors ? `, ${load.errors} errors (${load.firstError})` : ""}`);
                    }
                }
            }
        }
        for (const cell of byCell.values()) {
            for (const v of HANDSHAKE_VARIANTS) {
                cell.perCpuSecond[v] = round(median(cell.samples[v].map((s) => perCpuSecond(s.handshakes, s.cpuSeconds))));
                cell.handshakesPerSecond[v] = round(median(cell.samples[v].map((s) => s.handshakes / plan.seconds)));
            }
            // The provisioned groups are P-256/P-384 (X25519-first clients get a HelloRetryRequest and then use P-256);
            // stock negotiates OpenSSL's default order, X25519 first, when the client offers it.
            const sign = speed.sign[key === "RSA-3072" ? "RSA-3072" : "ECDSA-P-256"];
            const bound = handshakeBound(sign, speed.ecdh["P-256"]);
            const stockBound = handshakeBound(sign, speed.ecdh["X25519"]);
            cell.boundPerCpuSecond = round(bound);
            cell.vsStock = round(ratio(cell.perCpuSecond.provisioned ?? NaN, cell.perCpuSecond.stock ?? NaN));
            cell.vsBound = round(ratio(cell.perCpuSecond.provisioned ?? NaN, bound));
            cell.stockVsItsBound = round(ratio(cell.perCpuSecond.stock ?? NaN, stockBound));
            cell.stockTierGroupsVsStock = round(ratio(cell.perCpuSecond.stockTierGroups ?? NaN, cell.perCpuSecond.stock ?? NaN));
            cell.vsStockTierGroups = round(ratio(cell.perCpuSecond.provisioned ?? NaN, cell.perCpuSecond.stockTierGroups ?? NaN));
            cells.push(cell);
        }
    }
    proxy.setKey("ECDSA-P256");
    return cells;
}

/** Where the proxy's CPU goes during full handshakes: perf's cpu-clock samples by shared object (hardware counters are not available here). */
export interface HandshakeProfile {
    ok: boolean; note: string;
    byObject?: { object: string; percent: number }[];
    topSymbols?: { symbol: string; object: string; percent: number }[];
    /** Full handshakes and the proxy's CPU seconds during the profiled run: with byObject, CPU per handshake by object. */
    handshakes?: number; cpuSeconds?: number;
}

/** Where a proxy's CPU goes in full TLS 1.3 handshakes from X25519-first clients (perf, sampled by a software clock). */
export async function profileHandshakes(proxy: ProxyUnderTest, variant: "provisioned" | "stock", seconds: number, log: (s: string) => void): Promise<HandshakeProfile> {
    proxy.use(variant);
    const pids = proxy.pids(variant);
    const data = path.join(repoRoot, ".tools", "bench", "perf.data");
    const perf = spawn("perf", ["record", "-e", "cpu-clock", "-F", "999", "-g", "-o", data, "-p", pids.join(","), "--", "sleep", String(seconds)], { stdio: "ignore" });
    const done = new Promise<number>((resolve) => perf.on("close", (code) => resolve(code ?? 1)));
    await new Promise((r) => setTimeout(r, 500));
    const { load, cpuSeconds } = measured(proxy, variant, { mode: "handshake", tls: "1.3", groups: CLIENT_ORDERS["X25519-first"], conns: 16, duration: `${seconds - 1}s` }, seconds);
    const code = await done;
    if (code !== 0 || !fs.existsSync(data)) return { ok: false, note: `perf record exited ${code}` };
    const byDso = spawnSync("perf", ["report", "-i", data, "--no-children", "--sort", "dso", "--stdio", "--percent-limit", "0.5"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    const bySym = spawnSync("perf", ["report", "-i", data, "--no-children", "--sort", "dso,sym", "--stdio", "--percent-limit", "1", "-g", "none"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    const byObject = [...byDso.stdout.matchAll(/^\s+([\d.]+)%\s+(\S+)\s*$/gm)].map((m) => ({ object: m[2], percent: Number(m[1]) }));
    const topSymbols = [...bySym.stdout.matchAll(/^\s+([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.+?)\s*$/gm)].slice(0, 15).map((m) => ({ percent: Number(m[1]), object: m[2], symbol: m[3] }));
    fs.rmSync(data, { force: true });
    log(`  perf ${variant}: ${load.handshakes} handshakes, ${cpuSeconds.toFixed(2)} s CPU; ${byObject.slice(0, 6).map((o) => `${o.object} ${o.percent}%`).join(", ")}`);
    return {
        ok: byObject.length > 0, note: "perf record -e cpu-clock (a software clock: this VM exposes no hardware counters, perf stat -e instructions says <not supported>)",
        byObject, topSymbols, handshakes: load.handshakes, cpuSeconds,
    };
}

/** CPU microseconds per handshake by object, for each profiled proxy (objects under 0.5 % of either are left out). */
export function perHandshakeByObject(profiles: Record<"provisioned" | "stock", HandshakeProfile>): { object: string; provisionedUs: number | null; stockUs: number | null }[] {
    const us = (p: HandshakeProfile, object: string): number | null => {
        const hit = p.byObject?.find((o) => o.object === object);
        if (!hit || !p.handshakes || p.cpuSeconds === undefined) return null;
        return round((p.cpuSeconds * 1e6 * hit.percent) / 100 / p.handshakes, 1);
    };
    const objects = [...new Set([...(profiles.provisioned.byObject ?? []), ...(profiles.stock.byObject ?? [])].map((o) => o.object))];
    return objects.map((object) => ({ object, provisionedUs: us(profiles.provisioned, object), stockUs: us(profiles.stock, object) }))
        .sort((a, b) => (b.provisionedUs ?? 0) - (a.provisionedUs ?? 0));
}

export interface ResumptionResult {
    variant: "provisioned" | "stock"; tls: "1.3";
    fullPerCpuSecond: number | null; resumedPerCpuSecond: number | null; gain: number | null;
    resumedShare: number | null;
    /** The proxy's own access log over the resumed runs (provisioned only: its \`tls_session_reused\` field, $ssl_session_reused). */
    logged?: { resumed: number; full: number; share: number | null };
}

/** Bytes of proxy-a's access log so far, and the lines written since an earlier size. */
const ACCESS_LOG = "/var/log/nginx/access.log";
function accessLogSize(): number {
    return fs.statSync(containerPath(PROXY_UNDER_TEST, ACCESS_LOG)).size;
}
function accessLogSince(offset: number): string {
    const fd = fs.openSync(containerPath(PROXY_UNDER_TEST, ACCESS_LOG), "r");
    try {
        const size = fs.fstatSync(fd).size;
        const buf = Buffer.alloc(Math.max(0, size - offset));
        fs.readSync(fd, buf, 0, buf.length, offset);
        return buf.toString("utf8");
    } finally {
        fs.closeSync(fd);
    }
}

/** Item 2: one request per connection, full vs resumed TLS 1.3 handshakes (the client's DidResume says the proxy accepted the session). */
export function resumption(proxy: ProxyUnderTest, plan: Plan, log: (s: string) => void): ResumptionResult[] {
    const samples: Record<string, { full: number[]; resumed: number[]; share: number[] }> = { provisioned: { full: [], resumed: [], share: [] }, stock: { full: [], resumed: [], share: [] } };
    const logged = { resumed: 0, full: 0 };
    for (let run = 0; run < plan.runs; run++) {
        for (const variant of alternate(["provisioned", "stock"] as const, run)) {
            proxy.use(variant);
            const base = { mode: "handshake", tls: "1.3", groups: CLIENT_ORDERS["P-256-first"], conns: 16, duration: `${plan.seconds}s`, path: BENCH_PATH };
            const full = measured(proxy, variant, { ...base, request: true }, plan.seconds);
            const logFrom = variant === "provisioned" ? accessLogSize() : 0;
            const resumed = measured(proxy, variant, { ...base, resume: true }, plan.seconds);
            if (variant === "provisioned") {
                const seen = countSessionReuse(accessLogSince(logFrom));
                logged.resumed += seen.resumed;
                logged.full += seen.full;
            }
            samples[variant].full.push(perCpuSecond(full.load.handshakes, full.cpuSeconds));
            samples[variant].resumed.push(perCpuSecond(resumed.load.handshakes, resumed.cpuSeconds));
            samples[variant].share.push(resumed.load.resumed / Math.max(1, resumed.load.handshakes));
            log(`  resumption ${variant}: full ${full.load.handshakes} / ${full.cpuSeconds.toFixed(2)} s CPU, resumed ${resumed.load.resumed} of ${resumed.load.handshakes} / ${resumed.cpuSeconds.toFixed(2)} s CPU`);
        }
    }
    return (["provisioned", "stock"] as const).map((variant) => {
        const full = median(samples[variant].full);
        const resumed = median(samples[variant].resumed);
        return {
            variant, tls: "1.3", fullPerCpuSecond: round(full), resumedPerCpuSecond: round(resumed), gain: round(ratio(resumed, full)), resumedShare: round(median(samples[variant].share)),
            ...(variant === "provisioned" ? { logged: { ...logged, share: round(ratio(logged.resumed, logged.resumed + logged.full)) } } : {}),
        };
    });
}

/** Tcp PassiveOpens of a container's network namespace (/proc/net/snmp). */
function passiveOpens(host: "upstream-1"): number {
    const snmp = fs.readFileSync(`/proc/${containerInit(host)}/net/snmp`, "utf8").split("\n").filter((l) => l.startsWith("Tcp:"));
    const names = snmp[0].split(/\s+/);
    const values = snmp[1].split(/\s+/);
    return Number(values[names.indexOf("PassiveOpens")]);
}

/** The proxies of the keepalive runs (the groups only matter for handshakes). */
type KeepaliveVariant = Exclude<Variant, "stockTierGroups">;

export interface KeepaliveResult {
    closedLoop: Record<KeepaliveVariant, { requestsPerCpuSecond: number | null; requestsPerSecond: number | null; upstreamConnectionsPerRequest: number | null; non2xx: number; errors: number }>;
    vsStock: number | null; vsBound204: number | null;
    /** The same ratios with the upstream pool sized to the client concurrency (variant poolSized). */
    poolSizedVsStock: number | null; poolSizedVsBound204: number | null; poolSizedKeepalive: number;
    fixedRate: { percentOfStockMax: number; rate: number; variant: "provisioned" | "stock"; p50: number | null; p99: number | null; p999: number | null; achieved: number | null; errors: number }[];
    http2: Record<"provisioned" | "stock", { requestsPerCpuSecond: number | null; requestsPerSecond: number | null; protocol: string; errors: number }>;
    http2VsStock: number | null;
    connections: number;
}

/** Item 3: keepalive proxied requests per proxy-CPU-second (provisioned, stock, return-204 bound), fixed-rate latency, HTTP/2. */
export function keepalive(proxy: ProxyUnderTest, plan: Plan, log: (s: string) => void): KeepaliveResult {
    const connections = 32;
    const variants: KeepaliveVariant[] = ["provisioned", "poolSized", "bound204", "stock"];
    const samples = Object.fromEntries(variants.map((v) => [v, [] as { rps: number; perCpu: number; upstreamPerRequest: number; non2xx: number; errors: number }[]])) as Record<KeepaliveVariant, { rps: number; perCpu: number; upstreamPerRequest: number; non2xx: number; errors: number }[]>;
    for (let run = 0; run < plan.runs; run++) {
        for (const variant of alternate(variants, run)) {
            proxy.use(variant);
            const opensBefore = passiveOpens("upstream-1");
            const { load, cpuSeconds } = measured(proxy, variant, { mode: "keepalive", conns: connections, duration: `${plan.seconds}s`, path: BENCH_PATH }, plan.seconds);
            const opens = passiveOpens("upstream-1") - opensBefore;
            const ok = Object.entries(load.statuses).filter(([s]) => s.startsWith("2")).reduce((a, [, n]) => a + n, 0);
            samples[variant].push({ rps: ok / load.elapsedSeconds, perCpu: perCpuSecond(ok, cpuSeconds), upstreamPerRequest: opens / Math.max(1, ok), non2xx: load.requests - ok, errors: load.errors });
            log(`  keepalive ${variant}: ${ok} 2xx (${load.requests - ok} other) in ${load.elapsedSeconds.toFixed(1)} s, proxy CPU ${cpuSeconds.toFixed(2)} s, ${opens} new upstream connections`);
        }
    }
    const closedLoop = Object.fromEntries(variants.map((v) => [v, {
        requestsPerCpuSecond: round(median(samples[v].map((s) => s.perCpu))),
        requestsPerSecond: round(median(samples[v].map((s) => s.rps))),
        upstreamConnectionsPerRequest: round(median(samples[v].map((s) => s.upstreamPerRequest))),
        non2xx: samples[v].reduce((a, s) => a + s.non2xx, 0),
        errors: samples[v].reduce((a, s) => a + s.errors, 0),
    }])) as KeepaliveResult["closedLoop"];

    const stockMax = closedLoop.stock.requestsPerSecond ?? 0;
    const fixedRate: KeepaliveResult["fixedRate"] = [];
    for (const percent of [50, 75, 90]) {
        const rate = Math.round((stockMax * percent) / 100);
        const got: Record<string, LoadResult[]> = { provisioned: [], stock: [] };
        for (let run = 0; run < plan.runs; run++) {
            for (const variant of alternate(["provisioned", "stock"] as const, run)) {
                proxy.use(variant);
                got[variant].push(runLoad(variant, { mode: "keepalive", conns: 64, rate, duration: `${plan.seconds}s`, path: BENCH_PATH }, plan.seconds));
            }
        }
        for (const variant of ["provisioned", "stock"] as const) {
            const rs = got[variant];
            fixedRate.push({
                percentOfStockMax: percent, rate, variant,
                p50: round(median(rs.map((r) => r.latencyMs?.P50 ?? NaN))), p99: round(median(rs.map((r) => r.latencyMs?.P99 ?? NaN))),
                p999: round(median(rs.map((r) => r.latencyMs?.P999 ?? NaN))),
                achieved: round(median(rs.map((r) => r.requests / plan.seconds))), errors: rs.reduce((a, r) => a + r.errors, 0),
            });
            log(`  fixed rate ${percent}% (${rate} r/s) ${variant}: p50 ${fixedRate.at(-1)!.p50} ms, p99 ${fixedRate.at(-1)!.p99} ms, p99.9 ${fixedRate.at(-1)!.p999} ms`);
        }
    }

    const h2: Record<string, { perCpu: number[]; rps: number[]; protocol: string; errors: number }> = { provisioned: { perCpu: [], rps: [], protocol: "", errors: 0 }, stock: { perCpu: [], rps: [], protocol: "", errors: 0 } };
    for (let run = 0; run < plan.runs; run++) {
        for (const variant of alternate(["provisioned", "stock"] as const, run)) {
            proxy.use(variant);
            const { load, cpuSeconds } = measured(proxy, variant, { mode: "h2", conns: 1, streams: 64, duration: `${plan.seconds}s`, path: BENCH_PATH }, plan.seconds);
            const ok = Object.entries(load.statuses).filter(([s]) => s.startsWith("2")).reduce((a, [, n]) => a + n, 0);
            h2[variant].perCpu.push(perCpuSecond(ok, cpuSeconds));
            h2[variant].rps.push(ok / load.elapsedSeconds);
            h2[variant].protocol = load.protocol ?? "";
            h2[variant].errors += load.errors;
            log(`  http2 ${variant}: ${ok} 2xx over ${load.handshakes} connection(s) (${load.protocol}), proxy CPU ${cpuSeconds.toFixed(2)} s`);
        }
    }
    const http2 = Object.fromEntries((["provisioned", "stock"] as const).map((v) => [v, {
        requestsPerCpuSecond: round(median(h2[v].perCpu)), requestsPerSecond: round(median(h2[v].rps)), protocol: h2[v].protocol, errors: h2[v].errors,
    }])) as KeepaliveResult["http2"];
    return {
        closedLoop, connections,
        vsStock: round(ratio(closedLoop.provisioned.requestsPerCpuSecond ?? NaN, closedLoop.stock.requestsPerCpuSecond ?? NaN)),
        vsBound204: round(ratio(closedLoop.provisioned.requestsPerCpuSecond ?? NaN, closedLoop.bound204.requestsPerCpuSecond ?? NaN)),
        poolSizedVsStock: round(ratio(closedLoop.poolSized.requestsPerCpuSecond ?? NaN, closedLoop.stock.requestsPerCpuSecond ?? NaN)),
        poolSizedVsBound204: round(ratio(closedLoop.poolSized.requestsPerCpuSecond ?? NaN, closedLoop.bound204.requestsPerCpuSecond ?? NaN)),
        poolSizedKeepalive: POOL_SIZED_KEEPALIVE,
        fixedRate, http2,
        http2VsStock: round(ratio(http2.provisioned.requestsPerCpuSecond ?? NaN, http2.stock.requestsPerCpuSecond ?? NaN)),
    };
}

/** Pss of the proxy's processes (smaps_rollup) and their nofile limits. */
function proxyMemory(proxy: ProxyUnderTest, variant: Variant): { pssBytes: number; workers: number; nofile: number[] } {
    let pss = 0;
    const nofile: number[] = [];
    let workers = 0;
    for (const pid of proxy.pids(variant)) {
        try {
            const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
            pss += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
            const stat = parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
            if (!proxy.pids(variant).includes(stat.ppid)) continue;
            workers++;
            nofile.push(Number(/^Max open files\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/limits`, "utf8"))?.[1] ?? 0));
        } catch { /* gone */ }
    }
    return { pssBytes: pss, workers, nofile };
}

/** Kernel objects every TCP socket holds whatever its queues (slab object sizes from /proc/slabinfo: the TCP socket and its inode). */
function kernelSocketObjectBytes(): number {
    try {
        const lines = fs.readFileSync("/proc/slabinfo", "utf8").split("\n");
        const size = (name: string) => Number(lines.find((l) => l.startsWith(`${name} `))?.trim().split(/\s+/)[3] ?? 0);
        return size("TCP") + size("sock_inode_cache");
    } catch {
        return Number.NaN;
    }
}

function socketMemory(): { sockets: number; bytes: number } {
    return parseSsSocketMemory(inHost("proxy-a", ["ss", "-tmnH", "state", "established", "( sport = :443 )"], { networkOnly: true }));
}

export interface IdleResult {
    variant: "provisioned" | "stock"; target: number; maxOpen: number; openWhenMeasured: number; clientOpenWhenMeasured: number; errors: number; firstError?: string;
    workerBytesPerConnection: number | null; socketBytesPerConnection: number | null; kernelObjectBytesPerConnection: number | null; totalBytesPerConnection: number | null;
    workers: number; workerNofile: number[]; reached: boolean; openSeconds: number;
}

/** Connections one idle client process opens: under this machine's per-process ceiling of 20,000 open files, with room for the Go runtime's own. */
export const IDLE_PER_CLIENT = 18_000;
/** Extra hold so that the clients that finished opening first still hold while the last ones open. */
const IDLE_STAGGER_SECONDS = 30;

/** A target split over client processes of at most `perClient` connections each, as evenly as possible. */
export function splitIdleTarget(target: number, perClient: number): number[] {
    const processes = Math.max(1, Math.ceil(target / perClient));
    return Array.from({ length: processes }, (_, i) => Math.floor(target / processes) + (i < target % processes ? 1 : 0));
}

/** Item 4: idle TLS connections held (each with one request, then a heartbeat GET below keepalive_timeout), memory per connection. */
export async function idle(proxy: ProxyUnderTest, plan: Plan, log: (s: string) => void): Promise<IdleResult[]> {
    const lb = String(containerInit("lb"));
    // One source address can hold ~64k connections to one destination port: the widest ephemeral
    // range is set for every item by prepareLoadNamespace (stack.ts), which also puts it back.
    const results: IdleResult[] = [];
    for (const target of plan.idleTargets) {
        for (const variant of ["provisioned", "stock"] as const) {
            // Once a variant stopped short of a smaller target, a bigger one stops at the same place: not re-run.
            const earlier = results.find((r) => r.variant === variant && !r.reached);
            if (earlier) continue;
            proxy.use(variant);
            spawnSync("sleep", ["1"]);
            const memBefore = proxyMemory(proxy, variant);
            const sockBefore = socketMemory();
            const started = Date.now();
            let measuredAt: { mem: ReturnType<typeof proxyMemory>; sock: ReturnType<typeof socketMemory>; open: number } | undefined;
            // One client process holds at most IDLE_PER_CLIENT connections (each process has this
            // machine's per-process open-file ceiling, 20,000 here): the target is split over several,
            // each naming its own block of client addresses in its PROXY headers.
            const shares = splitIdleTarget(target, IDLE_PER_CLIENT);
            const holdSeconds = plan.idleHoldSeconds + IDLE_STAGGER_SECONDS;
            const heldBy = new Map<number, number>();
            const finals = await Promise.all(shares.map((n, i) => new Promise<LoadResult>((resolve, reject) => {
                const child = spawn("nsenter", ["-t", lb, "-n", "taskset", "-c", String(LOAD_CORE), LOADGEN, ...loadArgs(variant, {
                    mode: "idle", n, conns: 64, clients: 65_536, "client-base": `100.${64 + i}.0.1`, hold: `${holdSeconds}s`, heartbeat: "7s", duration: "240s", timeout: "10s", path: BENCH_PATH,
                })], { stdio: ["ignore", "pipe", "pipe"] });
                let out = "";
                const killer = setTimeout(() => child.kill("SIGKILL"), (240 + holdSeconds + 60) * 1000);
                child.stdout.on("data", (chunk: Buffer) => {
                    out += chunk.toString();
                    const lines = out.split("\n");
                    out = lines.pop() ?? "";
                    for (const line of lines) {
                        if (line.includes("\"event\":\"held\"")) {
                            heldBy.set(i, (JSON.parse(line) as { open: number }).open);
                            // Once every client holds what it could open: let the last first requests finish, then measure.
                            if (heldBy.size === shares.length) {
                                setTimeout(() => {
                                    measuredAt = { mem: proxyMemory(proxy, variant), sock: socketMemory(), open: [...heldBy.values()].reduce((a, b) => a + b, 0) };
                                }, 2000);
                            }
                        } else if (line.startsWith("{\"mode\"")) {
                            clearTimeout(killer);
                            resolve(JSON.parse(line) as LoadResult);
                        }
                    }
                });
                child.on("close", (code) => {
                    clearTimeout(killer);
                    if (code !== 0) reject(new Error(`idle load generator ${i + 1} of ${shares.length} exited ${code}`));
                });
            })));
            const final = {
                maxOpen: finals.reduce((a, f) => a + (f.maxOpen ?? 0), 0),
                errors: finals.reduce((a, f) => a + f.errors, 0),
                firstError: finals.find((f) => f.firstError)?.firstError,
            };
            const m = measuredAt;
            // The proxy's own count: nginx closes idle keep-alive connections to make room when it runs
            // out of worker_connections, which the client only notices at its next heartbeat.
            const open = m ? m.sock.sockets - sockBefore.sockets : 0;
            const workerPer = m ? bytesPerConnection(memBefore.pssBytes, m.mem.pssBytes, open) : NaN;
            const socketPer = m ? bytesPerConnection(sockBefore.bytes, m.sock.bytes, open) : NaN;
            const kernelObjects = kernelSocketObjectBytes();
            results.push({
                variant, target, maxOpen: final.maxOpen ?? 0, openWhenMeasured: open, clientOpenWhenMeasured: m?.open ?? 0, errors: final.errors, firstError: final.firstError,
                workerBytesPerConnection: round(workerPer), socketBytesPerConnection: round(socketPer), kernelObjectBytesPerConnection: round(kernelObjects),
                totalBytesPerConnection: round(workerPer + socketPer + kernelObjects),
                workers: memBefore.workers, workerNofile: memBefore.nofile, reached: open >= target * 0.99, openSeconds: (Date.now() - started) / 1000,
            });
            log(`  idle ${variant} target ${target}: client opened ${final.maxOpen}, the proxy held ${open}: worker ${round(workerPer)} B + socket queues ${round(socketPer)} B + kernel objects ${kernelObjects} B per connection${final.errors ? `; ${final.errors} errors (${final.firstError})` : ""}`);
            // Give the proxy time to close everything before the next run.
            spawnSync("sleep", ["3"]);
        }
    }
    return results;
}

export interface RateLimitResult {
    route: string; limit: typeof LIMITED_RATE;
    paced: { multiple: number; rate: number; sent: number; ok: number; limited: number; failed: number; windowSeconds: number; expected: number; deviation: number | null }[];
    manyClients?: { clients: number; ok: number; limited: number; other: number; errors: number; zoneMegabytes: number };
}

/** Item 5: limit_req fidelity from one client address through the load balancer (test/integration/rate-client.js), and many addresses on one zone. */
export function rateLimits(proxy: ProxyUnderTest, plan: Plan, caFile: string, log: (s: string) => void): RateLimitResult {
    proxy.use("provisioned");
    const client = path.join(repoRoot, "test", "integration", "rate-client.js");
    const paced: RateLimitResult["paced"] = [];
    for (const multiple of [0.8, 1, 2, 10]) {
        // A fresh limiter state: wait out the previous run's excess (burst 20 at 50 r/s drains in < 1 s).
        spawnSync("sleep", ["2"]);
        const rate = Math.round(LIMITED_RATE.ratePerSecond * multiple);
        const r = spawnSync("ip", ["netns", "exec", CLIENT_NAMESPACE, "taskset", "-c", String(LOAD_CORE), process.execPath, client,
            LB_ADDRESS, SERVER_NAME, caFile, "none", LIMITED_PATH, String(rate), String(plan.rateSeconds), CLIENT_ADDRESS],
            { encoding: "utf8", timeout: (plan.rateSeconds + 30) * 1000 });
        const c = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { sent: number; ok: number; limited: number; failed: number; windowSeconds: number };
        const expected = expectedAccepted(LIMITED_RATE.ratePerSecond, LIMITED_RATE.burst, c.windowSeconds, c.sent);
        paced.push({ multiple, rate, sent: c.sent, ok: c.ok, limited: c.limited, failed: c.failed, windowSeconds: round(c.windowSeconds) ?? 0, expected, deviation: round(ratio(c.ok - expected, expected)) });
        log(`  limit_req ${multiple}x (${rate} r/s): ${c.ok} accepted of ${c.sent}, expected ${expected}, ${c.limited} limited`);
    }
    let manyClients: RateLimitResult["manyClients"];
    if (plan.zoneClients > 0) {
        // Every connection names a new client address (PROXY header) and sends one request: none may be limited.
        const load = runLoad("provisioned", { mode: "handshake", request: true, tls: "1.3", groups: "p256", conns: 32, n: plan.zoneClients, clients: plan.zoneClients, "client-base": "100.80.0.1", duration: "120s", path: LIMITED_PATH }, 120);
        manyClients = { clients: plan.zoneClients, ok: load.statuses["200"] ?? 0, limited: load.statuses["429"] ?? 0, other: load.requests - (load.statuses["200"] ?? 0) - (load.statuses["429"] ?? 0), errors: load.errors, zoneMegabytes: DEFAULT_RATE_ZONE_MEGABYTES };
        log(`  limit_req zone, ${plan.zoneClients} addresses one request each: ${manyClients.ok} accepted, ${manyClients.limited} limited, ${manyClients.errors} errors`);
    }
    return { route: LIMITED_PATH, limit: LIMITED_RATE, paced, manyClients };
}
