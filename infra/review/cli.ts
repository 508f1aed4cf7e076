/**
 * Offline review: `npm run review -- <stack> [--out DIR] [--json]`.
 *
 * Runs the real program for a stack under Pulumi's mock runtime (no cloud, no credentials,
 * no engine), prints the resource plan, evaluates the api-proxy-baseline policy pack on what
 * was registered, and with --out writes the exact files each host receives under
 * DIR/<host>/<absolute path>. Invalid config: exit 2, every field error, nothing written.
 * A mandatory policy violation: exit 1 (files are still written so the reviewer can read them).
 */
import * as path from "path";
import { ConfigError, loadStackFile, stackFilePath } from "../config/load";
import { runReview } from "./run";
import { formatPlan, formatVerdicts, writeHostFiles } from "./report";

interface CliArgs {
    stack: string;
    outDir?: string;
    json: boolean;
    stackFile?: string;
}

const USAGE = "usage: npm run review -- <stack> [--out DIR] [--json] [--stack-file FILE]";

function parseArgs(argv: readonly string[]): CliArgs {
    const args: Partial<CliArgs> & { json: boolean } = { json: false };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--json") {
            args.json = true;
        } else if (arg === "--out" || arg === "--stack-file") {
            const value = argv[++i];
            if (!value || value.startsWith("--")) {
                throw new Error(`${arg} needs a value\n${USAGE}`);
            }
            if (arg === "--out") {
                args.outDir = value;
            } else {
                args.stackFile = value;
            }
        } else if (arg.startsWith("--")) {
            throw new Error(`unknown option ${arg}\n${USAGE}`);
        } else if (!args.stack) {
            args.stack = arg;
        } else {
            throw new Error(`unexpected argument ${arg}\n${USAGE}`);
        }
    }
    if (!args.stack || !/^[A-Za-z0-9_.-]+$/.test(args.stack)) {
        throw new Error(`a stack name is required\n${USAGE}`);
    }
    return args as CliArgs;
}

async function main(): Promise<number> {
    let args: CliArgs;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        return 2;
    }
    const projectRoot = path.resolve(__dirname, "..", "..");
    const file = args.stackFile ?? stackFilePath(projectRoot, args.stack);
    let tier;
    try {
        tier = loadStackFile(file);
    } catch (err) {
        if (err instanceof ConfigError) {
            process.stderr.write(`${err.message}\nNothing was registered or written.\n`);
            return 2;
        }
        throw err;
    }
    if (tier.target !== "aws") {
        // Its program creates or contacts real hosts (containers, SSH); the mock runtime has neither.
        process.stderr.write(`${file}: target "${tier.target}": the offline review renders the aws target only. ` +
            `Review this stack with the engine: bin/pulumi preview -s ${args.stack} --policy-pack policy-packs/api-proxy-baseline\n`);
        return 2;
    }
    const review = await runReview(args.stack, tier);
    if (args.outDir) {
        writeHostFiles(args.outDir, review.hostFiles);
    }
    const mandatoryFailures = review.verdicts.filter((v) => v.status === "fail" && v.enforcementLevel === "mandatory");
    if (args.json) {
        process.stdout.write(`${JSON.stringify({
            stack: args.stack,
            resources: review.plan,
            hosts: Object.fromEntries(Object.entries(review.hostFiles).map(([host, files]) => [host, files.map((f) => ({
                path: f.path, mode: f.mode, owner: f.owner, group: f.group, action: f.action, sha256: f.sha256,
            }))])),
            verdicts: review.verdicts,
            outputs: review.outputs,
            timings: review.timings,
        }, null, 2)}\n`);
    } else {
        process.stdout.write(formatPlan(args.stack, review.plan));
        process.stdout.write(formatVerdicts(review.verdicts));
        if (args.outDir) {
            const count = Object.values(review.hostFiles).reduce((n, files) => n + files.length, 0);
            process.stdout.write(`\nWrote ${count} host files for ${Object.keys(review.hostFiles).length} hosts under ${args.outDir}\n`);
        }
        process.stdout.write(`\n${mandatoryFailures.length === 0 ? "PASS" : "FAIL"}: ${mandatoryFailures.length} mandatory violation(s)\n`);
    }
    return mandatoryFailures.length === 0 ? 0 : 1;
}

main().then((code) => {
    process.exitCode = code;
}, (err: unknown) => {
    process.stderr.write(`review failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 3;
});
