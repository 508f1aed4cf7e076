/**
 * `npm run bench [-- --quick]` (scripts/bench.sh): the provisioned tier against a stock nginx
 * twin and the hardware bound, side by side in one run on this machine, every figure normalised
 * by the proxy's own CPU time. Items (issue 13):
 *   1 full TLS handshakes (ECDSA P-256 / RSA-3072 x TLS 1.2 / 1.3 x X25519-first / P-256-first
 *     clients) vs stock and vs `openssl speed` on the proxy's core; a perf profile
 *   2 TLS 1.3 session resumption gain
 *   3 keepalive proxied requests vs stock vs `return 204`; fixed-rate latency; HTTP/2
 *   4 idle TLS connections held, bytes per connection, where each proxy stops
 *   5 limit_req fidelity (test/integration/rate-client.js) and one zone for many addresses
 *   6 request validation and JWT cost (test/bench/validation-bench.ts, its own loopback nginx)
 *   7 IaC timings: offline reviews, review time against proxy pairs, engine preview / no-op up /
 *     policy pack on the deployed twin
 * Phases, so the shared local-stack lock is held only while the stack exists:
 *   --phase offline  bound, IaC reviews, validation (no stack)
 *   --phase stack    deploy the bench twin (or reuse npm run up's running local stack), items 1-5 +
 *                    engine timings, destroy the twin (or put the local stack back) (under the lock)
 *   --phase report   bench/results/<date>.{json,md,png}
 *   (default: all three in one process; --no-stack skips the stack, --only bound,iac,validation,
 *   handshakes,resumption,keepalive,idle,ratelimit picks items; `npm run bench:review` = --no-stack --only iac)
 * Measures only: never fails on a number.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "../integration/engine-helpers";
import { engineTimings, pairScaling, reviewTimings } from "./tier/iac";
import { parseOpensslSpeed } from "./tier/measure";
import { renderMarkdown, renderPng, renderSvg, targetRows, type TierBenchReport } from "./tier/report";
import { handshakes, idle, keepalive, profileHandshakes, rateLimits, resumption, type Plan } from "./tier/scenarios";
import { cpuAccounting, deployBenchStack, prepareLoadNamespace, PROXY_CORE, PROXY_UNDER_TEST } from "./tier/stack";
import { ProxyUnderTest, unitOf } from "./tier/variants";

interface Args { phase: "offline" | "stack" | "report" | "all"; quick: boolean; state: string; only?: string[]; noStack: boolean }

function parseArgs(argv: readonly string[]): Args {
    const args: Args = { phase: "all", quick: false, noStack: false, state: path.join(repoRoot, ".tools", "bench", "tier-state.json") };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--quick") args.quick = true;
        else if (a === "--phase") args.phase = argv[++i] as Args["phase"];
        else if (a === "--state") args.state = argv[++i];
        else if (a === "--only") args.only = argv[++i].split(",");
        else if (a === "--no-stack") args.noStack = true;
        else throw new Error(`unknown argument ${a}: usage: tier-bench.ts [--quick] [--phase offline|stack|report|all] [--only items] [--no-stack]`);
    }
    return args;
}

function plan(quick: boolean): Plan & { reviewRuns: number; reviewStacks: string[]; pairCounts: number[]; speedSeconds: number; validationRequests: number } {
    return quick
        ? { runs: 3, seconds: 1, idleTargets: [5_000], idleHoldSeconds: 3, rateSeconds: 3, zoneClients: 0, profile: false,
            reviewRuns: 1, reviewStacks: ["prod"], pairCounts: [1, 4, 16], speedSeconds: 1, validationRequests: 400 }
        : { runs: 3, seconds: 3, idleTargets: [10_000, 50_000, 100_000], idleHoldSeconds: 10, rateSeconds: 6, zoneClients: 20_000, profile: true,
            reviewRuns: 3, reviewStacks: ["dev", "staging", "prod"], pairCounts: [1, 4, 16, 64], speedSeconds: 3, validationRequests: 4000 };
}

const started = Date.now();
function log(line: string): void {
    process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
}

function load(state: string): TierBenchReport {
    if (fs.existsSync(state)) return JSON.parse(fs.readFileSync(state, "utf8")) as TierBenchReport;
    return {
        date: new Date().toISOString(), mode: "full",
        machine: {
            cpus: os.cpus().length, model: os.cpus()[0]?.model ?? "", kernel: os.release(),
            nginx: spawnSync("nginx", ["-v"], { encoding: "utf8" }).stderr.trim().replace(/^nginx version: /, ""),
            openssl: spawnSync("openssl", ["version"], { encoding: "utf8" }).stdout.trim(),
        },
        setup: [], targets: [], notes: [],
    };
}

function save(state: string, report: TierBenchReport): void {
    fs.mkdirSync(path.dirname(state), { recursive: true });
    fs.writeFileSync(state, `${JSON.stringify(report, null, 2)}\n`);
}

const wanted = (args: Args, item: string): boolean => !args.only || args.only.includes(item);

async function offline(args: Args, report: TierBenchReport): Promise<void> {
    const p = plan(args.quick);
    if (wanted(args, "bound")) {
        log(`openssl speed on core ${PROXY_CORE} (${p.speedSeconds} s per operation)`);
        const speed = spawnSync("taskset", ["-c", String(PROXY_CORE), "openssl", "speed", "-mr", "-seconds", String(p.speedSeconds), "rsa3072", "ecdsap256", "ecdhp256", "ecdhx25519"],
            { encoding: "utf8", timeout: 300_000 });
        report.bound = { ...parseOpensslSpeed(speed.stdout), core: PROXY_CORE };
        log(`  sign/s ${JSON.stringify(report.bound.sign)}, ECDH/s ${JSON.stringify(report.bound.ecdh)}`);
    }
    if (wanted(args, "iac")) {
        log("IaC: offline reviews");
        report.iac = { ...report.iac, reviews: reviewTimings(p.reviewStacks, p.reviewRuns, log) };
        log("IaC: review time against proxy pairs");
        report.iac.pairs = pairScaling(p.pairCounts, p.reviewRuns, log);
    }
    if (wanted(args, "validation")) {
        log(`validation and JWT cost: test/bench/validation-bench.ts (${p.validationRequests} requests per route)`);
        const r = spawnSync(path.join(repoRoot, "node_modules", ".bin", "tsx"), [path.join(repoRoot, "test", "bench", "validation-bench.ts")],
            { cwd: repoRoot, encoding: "utf8", timeout: 900_000, env: { ...process.env, BENCH_REQUESTS: String(p.validationRequests) } });
        const file = path.join(repoRoot, "bench-results", "validation.json");
        if (r.status === 0 && fs.existsSync(file)) {
            const v = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, { p50Ms: number; p99Ms: number; nginxCpuUsPerRequest: number; keyServiceCpuUsPerRequest: number }>;
            report.validation = {
                source: `test/bench/validation-bench.ts, ${p.validationRequests} requests per route over one kept-alive connection, loopback nginx + the real key service`,
                date: new Date().toISOString(),
                perRequest: Object.fromEntries(["plain", "validated", "jwt", "signed"].map((k) => [k, v[k]])),
            };
        } else {
            report.notes.push(`validation bench failed (exit ${r.status}): ${(r.stderr || r.stdout).slice(-300)}`);
        }
    }
}

async function stackPhase(args: Args, report: TierBenchReport): Promise<void> {
    const p = plan(args.quick);
    const stack = await deployBenchStack(log);
    let proxy: ProxyUnderTest | undefined;
    let restoreLoadNamespace: (() => void) | undefined;
    try {
        // The engine timings need ~20 s of previews and a no-op up: full runs only (--quick stays under 5 minutes).
        if (wanted(args, "iac") && !args.quick) {
            log("IaC: engine on the bench stack");
            report.iac = { ...report.iac, engine: await engineTimings(stack, log) };
            save(args.state, report);
        }
        restoreLoadNamespace = prepareLoadNamespace();
        proxy = new ProxyUnderTest();
        proxy.use("provisioned");
        const provisionedCpu = cpuAccounting(PROXY_UNDER_TEST, unitOf("provisioned"));
        proxy.use("stock");
        const stockCpu = cpuAccounting(PROXY_UNDER_TEST, unitOf("stock"));
        proxy.use("provisioned");
        report.setup = [
            `The proxy under test runs in proxy-a's container of ${stack.mode === "twin" ? "a twin of the local stack (stack tier-bench" : "the running local stack (npm run up's, updated for the bench and put back after"}: stacks/Pulumi.local.yaml plus a public route to the upstream's /healthz and per-IP limits at the schema's ceiling, 10,000 r/s, so the limiter runs but never refuses), pinned to core ${PROXY_CORE}; the load generator (test/bench/tier/loadgen, Go), the upstream and every other container are pinned to the other core.`,
            `Stock twin: Debian's default nginx.conf (dpkg -V clean; nginx ${proxy.stockSource.hostVersion} here, ${proxy.stockSource.containerVersion} in the container) plus one server, \`listen 443 ssl http2\`, the same certificate and \`proxy_pass http://${proxy.upstream}\`, in the same container, address and port (one proxy runs at a time).`,
            "Load comes from the load balancer's network namespace (tcp_tw_reuse=1 and ports 1024-65535 there, so the client's TIME_WAITs never throttle it) straight to proxy-a: the provisioned listener requires a PROXY v2 header (the local stack's HAProxy sends one), so the load generator sends one naming a client address from 100.64.0.0/10 per connection (the stock twin gets plain TLS). HAProxy itself is not in the path.",
            `CPU per run is the proxy's own: provisioned from ${provisionedCpu}, stock from ${stockCpu}; ${p.runs} runs per cell, A/B order flipped each run, ${p.seconds} s per run; ratios are of medians.`,
        ];
        if (wanted(args, "handshakes")) {
            log("1. full TLS handshakes");
            if (!report.bound) throw new Error("no openssl speed bound: run --phase offline first");
            report.handshakes = handshakes(proxy, p, report.bound, log);
            if (p.profile) {
                report.profile = await profileHandshakes(proxy, "provisioned", 6, log);
                report.profileStock = await profileHandshakes(proxy, "stock", 6, log);
                proxy.use("provisioned");
            }
            save(args.state, report);
        }
        if (wanted(args, "resumption")) {
            log("2. TLS 1.3 session resumption");
            report.resumption = resumption(proxy, p, log);
            save(args.state, report);
        }
        if (wanted(args, "keepalive")) {
            log("3. keepalive proxied requests, fixed rates, HTTP/2");
            report.keepalive = keepalive(proxy, p, log);
            save(args.state, report);
        }
        if (wanted(args, "idle")) {
            log("4. idle TLS connections");
            report.idle = await idle(proxy, p, log);
            save(args.state, report);
        }
        if (wanted(args, "ratelimit")) {
            log("5. limit_req fidelity");
            report.rateLimits = rateLimits(proxy, p, stack.caFile, log);
            save(args.state, report);
        }
    } finally {
        try {
            proxy?.restore();
            restoreLoadNamespace?.();
        } finally {
            log(stack.mode === "twin" ? "destroying the bench stack" : "putting the local stack back");
            const destroyMs = await stack.destroy();
            if (report.iac?.engine && stack.mode === "twin") report.iac.engine.destroyMs = destroyMs;
        }
    }
}

function writeReport(args: Args, report: TierBenchReport): void {
    report.targets = targetRows(report);
    // Set once, by the run that measured: a later re-render (--phase report on a results file) keeps it.
    report.durationSeconds ??= (Date.now() - new Date(report.date).getTime()) / 1000;
    const outDir = path.join(repoRoot, "bench", "results");
    fs.mkdirSync(outDir, { recursive: true });
    const stamp = report.date.slice(0, 19).replace(/[:T]/g, "-");
    const base = path.join(outDir, `${stamp}${report.mode === "quick" ? "-quick" : ""}`);
    fs.writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
    const md = renderMarkdown(report);
    fs.writeFileSync(`${base}.md`, md);
    const svg = renderSvg(report);
    fs.writeFileSync(`${base}.svg`, svg);
    const png = renderPng(svg, `${base}.png`);
    if (!png.ok) log(`PNG chart not written: ${png.note}`);
    process.stdout.write(`\n${md}\n`);
    log(`wrote ${path.relative(repoRoot, base)}.{json,md,svg${png.ok ? ",png" : ""}}`);
}

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    if (process.getuid?.() !== 0) throw new Error("run as root: the bench enters the stack's namespaces and pins processes");
    if (args.phase === "offline" || args.phase === "all") fs.rmSync(args.state, { force: true });
    const report = load(args.state);
    report.mode = args.quick ? "quick" : "full";
    if (args.phase === "offline" || args.phase === "all") {
        await offline(args, report);
        save(args.state, report);
    }
    if (args.phase === "stack" || (args.phase === "all" && !args.noStack)) {
        await stackPhase(args, report);
        save(args.state, report);
    }
    if (args.phase === "report" || args.phase === "all") writeReport(args, report);
}

main().then(() => process.exit(0), (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
});
