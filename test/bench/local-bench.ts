/**
 * `npm run bench:local`: what deploying the local stack costs on this machine: first `up`
 * (containers, delivery; the rootfs cache warm or not, reported), a no-op `up`, and `destroy`,
 * RUNS times (default 1), with a temp backend and the local stack's config (never a user's
 * own state). Writes bench-results/local.json and prints a table. Measures only.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { makeTempDir, removeDir, repoRoot, runPulumi, runPulumiOk, runUpdate } from "../integration/engine-helpers";

const RUNS = Math.max(1, Math.min(5, Number(process.env.BENCH_RUNS ?? 1)));
const STACK = "local-bench";

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
    const started = process.hrtime.bigint();
    const value = await fn();
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
}

async function main(): Promise<void> {
    if (execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).includes("apx-local-")) {
        throw new Error("a local stack is running on this machine: npm run down first (the bench uses the same address plan)");
    }
    const configFile = path.join(repoRoot, "stacks", `Pulumi.${STACK}.yaml`);
    const rootfsCached = fs.existsSync(path.join(repoRoot, ".tools", "local-hosts")) &&
        fs.readdirSync(path.join(repoRoot, ".tools", "local-hosts")).some((d) => d.startsWith("rootfs-"));
    const samples: { upMs: number; noOpUpMs: number; destroyMs: number; resources: number }[] = [];
    for (let i = 0; i < RUNS; i++) {
        const work = makeTempDir("local-bench");
        const opts = { cwd: repoRoot, timeoutMs: 600_000, env: { PULUMI_BACKEND_URL: `file://${work}`, PULUMI_CONFIG_PASSPHRASE: "local-bench-only", PULUMI_CONFIG_PASSPHRASE_FILE: undefined } };
        fs.writeFileSync(configFile, fs.readFileSync(path.join(repoRoot, "stacks", "Pulumi.local.yaml"), "utf8").replace(/^encryptionsalt:.*\n?/m, ""));
        let created = false;
        try {
            await runPulumiOk(["stack", "init", STACK], opts);
            created = true;
            const up = await timed(() => runUpdate(["up", "--yes", "--skip-preview", "--stack", STACK], opts, STACK));
            const noOp = await timed(() => runUpdate(["up", "--yes", "--skip-preview", "--stack", STACK], opts, STACK));
            const destroy = await timed(() => runUpdate(["destroy", "--yes", "--skip-preview", "--stack", STACK], opts, STACK));
            created = false;
            samples.push({ upMs: up.ms, noOpUpMs: noOp.ms, destroyMs: destroy.ms, resources: up.value.resourceChanges.create ?? 0 });
        } finally {
            if (created) await runPulumi(["destroy", "--yes", "--skip-preview", "--stack", STACK], opts);
            fs.rmSync(configFile, { force: true });
            removeDir(work);
        }
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const result = {
        date: new Date().toISOString(), cpus: os.cpus().length, runs: RUNS, rootfsCachedAtStart: rootfsCached,
        resources: samples[0].resources,
        medianUpMs: Math.round(median(samples.map((s) => s.upMs))),
        medianNoOpUpMs: Math.round(median(samples.map((s) => s.noOpUpMs))),
        medianDestroyMs: Math.round(median(samples.map((s) => s.destroyMs))),
        samples,
    };
    fs.mkdirSync(path.join(repoRoot, "bench-results"), { recursive: true });
    fs.writeFileSync(path.join(repoRoot, "bench-results", "local.json"), `${JSON.stringify(result, null, 2)}\n`);
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    console.log(`| local stack (${result.resources} resources, rootfs ${rootfsCached ? "cached" : "built in the first up"}) | median of ${RUNS} |`);
    console.log("| --- | ---: |");
    console.log(`| first up | ${s(result.medianUpMs)} |`);
    console.log(`| no-op up | ${s(result.medianNoOpUpMs)} |`);
    console.log(`| destroy | ${s(result.medianDestroyMs)} |`);
    console.log("\nbench-results/local.json written.");
}

main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
});
