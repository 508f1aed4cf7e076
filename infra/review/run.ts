/**
 * Runs the program for one stack under the mock runtime and collects what a reviewer needs:
 * the registered resources, the files each host receives, the outputs and the policy verdicts.
 */
import { createHash } from "crypto";
import type { HostFile } from "../../components/core/host-file";
import type { TierConfig } from "../config/load";
import { installMocks, unwrap, type RecordedResource } from "./mocks";
import { planEntry, redact, type PlanEntry, type ReviewVerdict } from "./report";
import { packConfigFor } from "./pack-config";

export interface ReviewedHostFile extends HostFile {
    readonly sha256: string;
}

export interface ReviewResult {
    readonly plan: PlanEntry[];
    readonly resources: RecordedResource[];
    readonly hostFiles: Record<string, ReviewedHostFile[]>;
    readonly outputs: Record<string, unknown>;
    readonly verdicts: ReviewVerdict[];
    readonly timings: { programMs: number; policyMs: number };
}

/** Lets pending registrations finish: the mock monitor answers asynchronously. */
async function settle(count: () => number): Promise<void> {
    let previous = -1;
    let stableTicks = 0;
    // Bounded: at most 2,000 turns of the event loop (a program that never settles is a bug).
    for (let i = 0; i < 2000 && stableTicks < 20; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        const now = count();
        stableTicks = now === previous ? stableTicks + 1 : 0;
        previous = now;
    }
}

function sha256(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}

export async function runReview(stack: string, tier: TierConfig): Promise<ReviewResult> {
    const started = Date.now();
    const mocks = await installMocks(stack, tier.aws?.region);
    const { deployTier } = await import("../program");
    const deployment = deployTier(tier);
    const hostFiles = await unwrap(deployment.hostFiles);
    const outputs: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(deployment.outputs)) {
        outputs[key] = await unwrap(value as never);
    }
    await settle(() => mocks.resources.length);
    const programMs = Date.now() - started;

    const policyStarted = Date.now();
    const { evaluateForReview } = await import("./policy");
    const verdicts = await evaluateForReview(mocks.resources, packConfigFor(tier));
    const policyMs = Date.now() - policyStarted;

    return {
        plan: mocks.resources.filter((r) => r.custom).map((r) => planEntry(r.type, r.name, r.props)),
        resources: mocks.resources,
        hostFiles: Object.fromEntries(Object.entries(hostFiles).map(([host, files]) =>
            [host, files.map((f) => ({ ...f, sha256: sha256(f.content) }))])),
        // Outputs are the app-team contract: secret outputs are redacted here as in `pulumi stack output`.
        outputs: JSON.parse(redact(JSON.stringify(outputs))) as Record<string, unknown>,
        verdicts,
        timings: { programMs, policyMs },
    };
}
