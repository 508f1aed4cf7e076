/**
 * `npm run bench`: how long the offline review takes per stack, and what the policy pack adds.
 * Each stack is reviewed RUNS times as a reviewer runs it (a fresh process: tsx start-up,
 * module loading, the program under mocks, policy evaluation). Writes
 * bench-results/review.json and prints a table. Measures only; never fails on a time.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const RUNS = Math.max(1, Math.min(10, Number(process.env.BENCH_RUNS ?? 3)));
const STACKS = (process.env.BENCH_STACKS ?? "dev,staging,prod").split(",");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");

interface Sample { wallMs: number; programMs: number; policyMs: number; resources: number; verdicts: number }

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

function reviewOnce(stack: string): Sample {
    const started = process.hrtime.bigint();
    const result = spawnSync(TSX, [path.join(ROOT, "infra", "review", "cli.ts"), stack, "--json"], { cwd: ROOT, encoding: "utf8", timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
    const wallMs = Number((process.hrtime.bigint() - started) / 1_000_000n);
    if (result.status !== 0) {
        throw new Error(`review of ${stack} exited ${result.status}: ${result.stderr.slice(-2000)}`);
    }
    const report = JSON.parse(result.stdout) as { timings: { programMs: number; policyMs: number }; resources: unknown[]; verdicts: unknown[] };
    return { wallMs, programMs: report.timings.programMs, policyMs: report.timings.policyMs, resources: report.resources.length, verdicts: report.verdicts.length };
}

const results = STACKS.map((stack) => {
    const samples = Array.from({ length: RUNS }, () => reviewOnce(stack));
    const wall = median(samples.map((s) => s.wallMs));
    const program = median(samples.map((s) => s.programMs));
    const policy = median(samples.map((s) => s.policyMs));
    return {
        stack,
        runs: RUNS,
        resources: samples[0].resources,
        verdicts: samples[0].verdicts,
        medianWallMs: wall,
        medianProgramMs: program,
        medianPolicyMs: policy,
        // Side by side in one run: what the pack adds relative to the program it checks.
        policyToProgramRatio: Number((policy / Math.max(1, program)).toFixed(3)),
        samples,
    };
});

const outDir = path.join(ROOT, "bench-results");
fs.mkdirSync(outDir, { recursive: true });
const report = { date: new Date().toISOString(), node: process.version, cpus: require("os").cpus().length, results };
fs.writeFileSync(path.join(outDir, "review.json"), `${JSON.stringify(report, null, 2)}\n`);

const header = "| stack | resources | verdicts | wall (median) | program | policy pack | pack / program |";
const rule = "| --- | ---: | ---: | ---: | ---: | ---: | ---: |";
const rows = results.map((r) => `| ${r.stack} | ${r.resources} | ${r.verdicts} | ${r.medianWallMs} ms | ${r.medianProgramMs} ms | ${r.medianPolicyMs} ms | ${r.policyToProgramRatio} |`);
process.stdout.write([`Offline review, ${RUNS} run(s) per stack, fresh process each:`, "", header, rule, ...rows, "", `Wrote ${path.relative(ROOT, path.join(outDir, "review.json"))}`, ""].join("\n"));
