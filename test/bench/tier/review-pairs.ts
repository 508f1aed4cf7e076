/**
 * One offline review of prod with `aws.pairCount` set to N (argv[2]), in this fresh process, for
 * the tier bench's scaling row (item 7). The schema caps pairCount at 10 (components/core/ceilings.ts),
 * so N is set on the validated config, after validation: 16 and 64 pairs are beyond what a stack
 * file may ask for and exist here only to show how review time grows. Prints one JSON line.
 */
import * as path from "node:path";
import { loadStackFile, stackFilePath } from "../../../infra/config/load";
import { runReview } from "../../../infra/review/run";

async function main(): Promise<void> {
    const pairs = Number(process.argv[2]);
    if (!Number.isInteger(pairs) || pairs < 1) throw new Error("usage: review-pairs.ts <pairs>");
    const root = path.resolve(__dirname, "..", "..", "..");
    const tier = loadStackFile(stackFilePath(root, "prod"));
    const started = Date.now();
    const review = await runReview("prod", { ...tier, aws: { ...tier.aws!, pairCount: pairs } });
    process.stdout.write(`${JSON.stringify({ pairs, ms: Date.now() - started, ...review.timings, resources: review.resources.length, verdicts: review.verdicts.length })}\n`);
}

main().then(() => process.exit(0), (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
});
