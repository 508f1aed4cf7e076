/**
 * `npm run verify -- <stack> [--json] [--min-cert-days N]`: the troubleshooting matrix against a
 * deployed stack (README "Verify a live stack"). Every row is a measurement taken now, from the
 * client segment or inside the hosts. Exit codes: 0 no row failed, 1 a row failed, 2 verify could
 * not start (usage, stack config, no deployment). Each run also leaves its JSON report in
 * .tools/verify/<stack>.json, where `npm run evidence` reads the live checks' last results.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadContext, VerifyError } from "./context";
import { buildReport, formatTable } from "./report";
import { runChecks } from "./run";

const USAGE = "usage: npm run verify -- <stack> [--json] [--min-cert-days N]";
/** A server certificate closer to expiry than this fails its row. */
const DEFAULT_MIN_CERT_DAYS = 7;

/** Where each run leaves its report (infra/evidence/cli.ts verifyResultsFile reads the same path). */
export function lastResultsFile(root: string, stack: string): string {
    return path.join(root, ".tools", "verify", `${stack}.json`);
}

interface CliArgs {
    readonly stack: string;
    readonly json: boolean;
    readonly minCertDays: number;
}

function parseArgs(argv: readonly string[]): CliArgs {
    let stack: string | undefined;
    let json = false;
    let minCertDays = DEFAULT_MIN_CERT_DAYS;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--json") json = true;
        else if (arg === "--min-cert-days") {
            minCertDays = Number(argv[++i]);
            if (!Number.isInteger(minCertDays) || minCertDays < 0) throw new Error(`--min-cert-days needs a whole number of days\n${USAGE}`);
        } else if (arg.startsWith("--")) throw new Error(`unknown option ${arg}\n${USAGE}`);
        else if (stack === undefined) stack = arg;
        else throw new Error(`unexpected argument ${arg}\n${USAGE}`);
    }
    if (!stack || !/^[A-Za-z0-9_.-]+$/.test(stack)) throw new Error(`a stack name is required\n${USAGE}`);
    return { stack, json, minCertDays };
}

function main(): number {
    let args: CliArgs;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        return 2;
    }
    if (process.getuid?.() !== 0) {
        process.stderr.write("npm run verify: the checks enter the stack's namespaces and hosts (ip netns, nsenter): run as root\n");
        return 2;
    }
    const root = path.resolve(__dirname, "..", "..");
    let ctx;
    try {
        ctx = loadContext(root, args.stack, { minCertDays: args.minCertDays });
    } catch (err) {
        if (err instanceof VerifyError) {
            process.stderr.write(`verify ${args.stack}: ${err.message}\n`);
            return 2;
        }
        throw err;
    }
    // An interrupted run still removes the private directory (the API-key header file).
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () => {
            ctx.cleanup();
            process.exit(130);
        });
    }
    try {
        const report = buildReport(args.stack, ctx.tier.target, runChecks(ctx));
        const results = lastResultsFile(root, args.stack);
        fs.mkdirSync(path.dirname(results), { recursive: true });
        fs.writeFileSync(results, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o600 });
        process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : formatTable(report));
        return report.ok ? 0 : 1;
    } finally {
        ctx.cleanup();
    }
}

process.exitCode = main();
