/**
 * Item 7, IaC timings (this was `npm run bench`'s review bench, folded in): the offline review of
 * each AWS stack as a reviewer runs it (a fresh process each: tsx start-up, module loading, the
 * program under mocks, policy evaluation), review time against proxy pairs (1, 4, 16, 64), and -
 * on the deployed bench stack - the engine's preview, no-op up and preview with the policy pack.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { repoRoot } from "../../integration/engine-helpers";
import { linearFit, median, ratio, round } from "./measure";
import type { BenchStack } from "./stack";

const TSX = path.join(repoRoot, "node_modules", ".bin", "tsx");

export interface ReviewTiming {
    stack: string; runs: number; resources: number; verdicts: number;
    medianWallMs: number; medianProgramMs: number; medianPolicyMs: number; policyToProgramRatio: number | null;
}

function reviewOnce(stack: string): { wallMs: number; programMs: number; policyMs: number; resources: number; verdicts: number } {
    const started = process.hrtime.bigint();
    const result = spawnSync(TSX, [path.join(repoRoot, "infra", "review", "cli.ts"), stack, "--json"], { cwd: repoRoot, encoding: "utf8", timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
    const wallMs = Number((process.hrtime.bigint() - started) / 1_000_000n);
    if (result.status !== 0) throw new Error(`review of ${stack} exited ${result.status}: ${result.stderr.slice(-2000)}`);
    const report = JSON.parse(result.stdout) as { timings: { programMs: number; policyMs: number }; resources: unknown[]; verdicts: unknown[] };
    return { wallMs, programMs: report.timings.programMs, policyMs: report.timings.policyMs, resources: report.resources.length, verdicts: report.verdicts.length };
}

export function reviewTimings(stacks: readonly string[], runs: number, log: (s: string) => void): ReviewTiming[] {
    return stacks.map((stack) => {
        const samples = Array.from({ length: runs }, () => reviewOnce(stack));
        const program = median(samples.map((s) => s.programMs));
        const policy = median(samples.map((s) => s.policyMs));
        log(`  review ${stack}: wall ${median(samples.map((s) => s.wallMs))} ms, program ${program} ms, policy ${policy} ms`);
        return {
            stack, runs, resources: samples[0].resources, verdicts: samples[0].verdicts,
            medianWallMs: median(samples.map((s) => s.wallMs)), medianProgramMs: program, medianPolicyMs: policy,
            // Side by side in one run: what the pack adds relative to the program it checks.
            policyToProgramRatio: round(ratio(policy, Math.max(1, program))),
        };
    });
}

export interface PairScaling {
    points: { pairs: number; resources: number; medianWallMs: number; medianProgramMs: number; medianPolicyMs: number }[];
    failures: { pairs: number; error: string }[];
    fit: { interceptMs: number | null; msPerPair: number | null; r2: number | null };
    note: string;
}

export function pairScaling(pairCounts: readonly number[], runs: number, log: (s: string) => void): PairScaling {
    const failures: { pairs: number; error: string }[] = [];
    const points = pairCounts.flatMap((pairs) => {
        const samples = [];
        for (let run = 0; run < runs; run++) {
            const started = Date.now();
            const r = spawnSync(TSX, [path.join(__dirname, "review-pairs.ts"), String(pairs)], { cwd: repoRoot, encoding: "utf8", timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
            if (r.status !== 0) {
                // The program itself refusing a size is a finding, not a bench failure: recorded with its last error line.
                const error = (/error serializing[^\n]*?: ([^:\n]*invalid[^\n]*)/.exec(r.stderr)?.[1] ?? r.stderr.trim().split("\n").filter((l) => l.trim()).slice(-1)[0] ?? "").slice(0, 200);
                failures.push({ pairs, error });
                log(`  review prod x ${pairs} pairs: failed: ${error}`);
                return [];
            }
            const j = JSON.parse(r.stdout.trim().split("\n").pop()!) as { programMs: number; policyMs: number; resources: number };
            samples.push({ wallMs: Date.now() - started, ...j });
        }
        const point = {
            pairs, resources: samples[0].resources, medianWallMs: median(samples.map((s) => s.wallMs)),
            medianProgramMs: median(samples.map((s) => s.programMs)), medianPolicyMs: median(samples.map((s) => s.policyMs)),
        };
        log(`  review prod x ${pairs} pairs: ${point.resources} resources, program ${point.medianProgramMs} ms, policy ${point.medianPolicyMs} ms`);
        return [point];
    });
    const fit = linearFit(points.map((p) => p.pairs), points.map((p) => p.medianProgramMs + p.medianPolicyMs));
    return {
        points, failures, fit: { interceptMs: round(fit.intercept), msPerPair: round(fit.slope), r2: round(fit.r2) },
        note: "prod's config with aws.pairCount set after validation (the schema allows at most 10 pairs); program + policy time, fresh process each",
    };
}

export interface EngineTimings {
    firstUpMs: number; previewMs: number; noOpUpMs: number; policyPreviewMs: number; policyPreviewExit: number;
    policyOverheadMs: number; destroyMs?: number; note: string;
}

/** The engine on the deployed bench stack (the local stack's twin): preview, no-op up, preview with the policy pack. */
export async function engineTimings(stack: BenchStack, log: (s: string) => void): Promise<EngineTimings> {
    const preview = await stack.pulumi(["preview"]);
    if (preview.code !== 0) throw new Error(`preview exited ${preview.code}: ${preview.stderr.slice(-1500)}`);
    const noOp = await stack.pulumi(["up", "--yes", "--skip-preview"]);
    if (noOp.code !== 0) throw new Error(`no-op up exited ${noOp.code}: ${noOp.stderr.slice(-1500)}`);
    const policy = await stack.pulumi(["preview", "--policy-pack", path.join(repoRoot, "policy-packs", "api-proxy-baseline")]);
    log(`  engine: first up ${stack.timings.firstUpMs} ms, preview ${preview.ms} ms, no-op up ${noOp.ms} ms, preview + policy pack ${policy.ms} ms (exit ${policy.code})`);
    return {
        firstUpMs: stack.timings.firstUpMs, previewMs: preview.ms, noOpUpMs: noOp.ms, policyPreviewMs: policy.ms, policyPreviewExit: policy.code,
        policyOverheadMs: policy.ms - preview.ms,
        note: `${stack.describe}; the pack with its default configuration`,
    };
}
