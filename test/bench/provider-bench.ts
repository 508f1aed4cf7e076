/**
 * `npm run bench:providers`: what the project's own provider plugins cost. Measures the
 * start-up of each plugin (spawn until it prints its port, RUNS × 5 samples), `npm run setup`
 * with nothing to do, and `up` / no-op `up` / `destroy` of a minimal tls + command stack and of
 * the Pki stack (the project's Pki component) through the real engine, RUNS times each. Writes bench-results/providers.json and prints
 * a table. Measures only; never fails on a time.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "../integration/engine-helpers";
import { minimalProgram, pkiProgram, ThrowawayStack } from "../integration/throwaway-project";
import { ownProviderBinary } from "../providers/harness";

const RUNS = Math.max(1, Math.min(10, Number(process.env.BENCH_RUNS ?? 3)));

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
const round = (ms: number): number => Math.round(ms * 10) / 10;

function startupOnce(binary: string): Promise<number> {
    return new Promise((resolve, reject) => {
        const started = process.hrtime.bigint();
        const child = spawn(binary, [], { stdio: ["ignore", "pipe", "ignore"] });
        const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`${binary}: no port in 10 s`)); }, 10_000);
        child.stdout.once("data", () => {
            const ms = Number(process.hrtime.bigint() - started) / 1e6;
            clearTimeout(timer);
            child.once("exit", () => resolve(ms));
            child.kill("SIGINT");
        });
    });
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
    const started = process.hrtime.bigint();
    const value = await fn();
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
}

interface StackTimes {
    resources: number;
    medianUpMs: number;
    medianNoOpUpMs: number;
    medianDestroyMs: number;
    /** Each wall time includes the engine's own work (the program under ts-node, state writes): compare ratios across machines. */
    upToNoOpRatio: number;
    samples: { upMs: number[]; noOpUpMs: number[]; destroyMs: number[] };
}

/** up, no-op up and destroy of a fresh stack running `program`, RUNS times. */
async function timeStack(program: string): Promise<StackTimes> {
    const samples = { upMs: [] as number[], noOpUpMs: [] as number[], destroyMs: [] as number[] };
    let resources = 0;
    for (let i = 0; i < RUNS; i++) {
        const lab = new ThrowawayStack("provider-bench", "bench", () => program);
        try {
            await lab.init();
            const up = await timed(() => lab.update(["up"]));
            const noOp = await timed(() => lab.update(["up"]));
            if (noOp.value.resourceChanges.same !== up.value.resourceChanges.create) throw new Error(`the second up changed something: ${JSON.stringify(noOp.value)}`);
            const destroy = await timed(() => lab.update(["destroy"]));
            samples.upMs.push(up.ms);
            samples.noOpUpMs.push(noOp.ms);
            samples.destroyMs.push(destroy.ms);
            resources = up.value.resourceChanges.create;
        } finally {
            await lab.cleanup();
        }
    }
    return {
        resources, medianUpMs: round(median(samples.upMs)), medianNoOpUpMs: round(median(samples.noOpUpMs)), medianDestroyMs: round(median(samples.destroyMs)),
        upToNoOpRatio: Number((median(samples.upMs) / median(samples.noOpUpMs)).toFixed(2)), samples,
    };
}

async function main(): Promise<void> {
    const startup: Record<string, { medianMs: number; minMs: number; maxMs: number; samples: number }> = {};
    for (const name of ["tls", "command"] as const) {
        const samples: number[] = [];
        for (let i = 0; i < RUNS * 5; i++) samples.push(await startupOnce(ownProviderBinary(name)));
        startup[name] = { medianMs: round(median(samples)), minMs: round(Math.min(...samples)), maxMs: round(Math.max(...samples)), samples: samples.length };
    }

    const setupSamples: number[] = [];
    for (let i = 0; i < RUNS; i++) {
        const started = process.hrtime.bigint();
        const result = spawnSync("bash", [path.join(repoRoot, "scripts", "setup-engine.sh")], { cwd: repoRoot, encoding: "utf8" });
        if (result.status !== 0) throw new Error(`setup failed: ${result.stderr.slice(-2000)}`);
        setupSamples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }

    const stacks = { minimal: await timeStack(minimalProgram), pki: await timeStack(pkiProgram) };

    const results = {
        date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, runs: RUNS,
        providerStartup: startup,
        setupNothingToDoMs: round(median(setupSamples)),
        stacks,
    };
    const outDir = path.join(repoRoot, "bench-results");
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, "providers.json"), `${JSON.stringify(results, null, 2)}\n`);
    const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
    console.log("| what | median |");
    console.log("| --- | ---: |");
    for (const [name, r] of Object.entries(startup)) console.log(`| ${name} provider start-up (${r.samples} runs, min ${r.minMs} ms, max ${r.maxMs} ms) | ${r.medianMs} ms |`);
    console.log(`| npm run setup, nothing to do | ${s(results.setupNothingToDoMs)} |`);
    for (const [name, st] of Object.entries(stacks)) {
        console.log(`| ${name} stack (${st.resources} resources): up / no-op up / destroy | ${s(st.medianUpMs)} / ${s(st.medianNoOpUpMs)} / ${s(st.medianDestroyMs)} |`);
    }
    console.log(`\nbench-results/providers.json written (${RUNS} runs).`);
}

main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
});
