/**
 * `npm run evidence -- <stack> [--out DIR]`: the stack's evidence report (report.ts) as
 * Markdown, a standalone HTML page and JSON, written to DIR (default reports/evidence/).
 *   aws stacks: offline - the program under the mock runtime (the offline review), its host
 *     files and resources, and the policy pack's verdicts with the stack's own pack config;
 *     nothing runs live there, so the verified column says "not run".
 *   local and inventory stacks: the deployed state (`bin/pulumi stack export`; the delivery
 *     commands' bundles are the host files), the pack's verdicts on those resources, and the
 *     last `npm run verify -- <stack> --json` results (.tools/verify/<stack>.json).
 * Secrets are read only in memory; the report holds paths, line numbers and verdicts, never
 * file contents. Invalid stack config: exit 2 with every field error.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { HostFile } from "../../components/core/host-file";
import { filesFromBundle } from "../../policy-packs/api-proxy-baseline/lib/carriers";
import { evaluatePolicies } from "../../policy-packs/api-proxy-baseline/evaluate";
import { loadStackOrReport, stackAndOut, type TierConfig } from "../config/load";
import { packConfigFor } from "../review/pack-config";
import { runReview } from "../review/run";
import { buildEvidence, percent, renderHtml, renderMarkdown, type EvidenceInput } from "./report";

const ROOT = path.resolve(__dirname, "..", "..");
const USAGE = "usage: npm run evidence -- <stack> [--out DIR]";

/** Where `npm run verify -- <stack> --json` leaves its last results. */
export function verifyResultsFile(stack: string): string {
    return path.join(ROOT, ".tools", "verify", `${stack}.json`);
}

function verdictsByPolicy(verdicts: readonly { policy: string; status: "pass" | "fail" }[]): Record<string, "pass" | "fail"> {
    const out: Record<string, "pass" | "fail"> = {};
    for (const v of verdicts) out[v.policy] = out[v.policy] === "fail" || v.status === "fail" ? "fail" : "pass";
    return out;
}

/** `stack export --show-secrets` writes a secret as {"4dabf18193072939515e22adb298388d": <sig>, "plaintext": "<JSON>"}. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

function reveal(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(reveal);
    if (value === null || typeof value !== "object") return value;
    const record = value as Record<string, unknown>;
    if (SECRET_SIG in record && typeof record.plaintext === "string") return reveal(JSON.parse(record.plaintext));
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, reveal(v)]));
}

interface ExportedResource {
    readonly urn: string;
    readonly type: string;
    readonly id?: string;
    readonly inputs?: Record<string, unknown>;
    readonly outputs?: Record<string, unknown>;
}

/** The deployed stack: its resources and, from each delivery command's bundle, each host's files. */
function fromState(stack: string): Pick<EvidenceInput, "hostFiles" | "resources"> & { recorded: Parameters<typeof evaluatePolicies>[0] } {
    let text: string;
    try {
        text = execFileSync(path.join(ROOT, "bin", "pulumi"), ["stack", "export", "--show-secrets", "--stack", stack],
            { cwd: ROOT, encoding: "utf8", maxBuffer: 512 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
        const stderr = String((err as { stderr?: unknown }).stderr ?? "").trim().split("\n").slice(-3).join("\n");
        throw new Error(`stack ${stack} has no deployed state to report on (npm run up first?): ${stderr}`);
    }
    const resources = ((reveal(JSON.parse(text)) as { deployment: { resources?: ExportedResource[] } }).deployment.resources ?? [])
        .filter((r) => !r.type.startsWith("pulumi:"));
    const hostFiles: Record<string, HostFile[]> = {};
    for (const r of resources) {
        const stdin = r.inputs?.stdin;
        if (r.type !== "command:remote:Command" || typeof stdin !== "string") continue;
        const carried = filesFromBundle(stdin);
        if (!carried) continue;
        const host = r.urn.split("::").pop()!.replace(/-apply$/, "");
        hostFiles[host] = [...carried.files].map(([p, content]) => ({ path: p, content, mode: "", owner: "", group: "", action: "none" }));
    }
    return {
        hostFiles,
        resources: resources.map((r) => ({ type: r.type, props: r.inputs ?? {} })),
        recorded: resources.map((r) => ({ type: r.type, name: r.urn.split("::").pop()!, urn: r.urn, props: r.inputs ?? {}, id: r.id, outputs: r.outputs })),
    };
}

function liveChecks(stack: string): EvidenceInput["liveChecks"] {
    const file = verifyResultsFile(stack);
    if (!fs.existsSync(file)) return undefined;
    const results = JSON.parse(fs.readFileSync(file, "utf8")) as { at?: string; rows?: { check?: string; status?: string; detail?: string }[] };
    const out: Record<string, { status: "pass" | "fail"; at: string; detail?: string }> = {};
    for (const row of results.rows ?? []) {
        if (!row.check) continue;
        const status = row.status === "pass" ? "pass" : "fail";
        // A check runs on several hosts: it passes only when every host passed.
        if (out[row.check]?.status === "fail") continue;
        out[row.check] = { status, at: results.at ?? "", ...(row.detail ? { detail: row.detail } : {}) };
    }
    return out;
}

async function gather(stack: string, tier: TierConfig): Promise<EvidenceInput> {
    const generatedAt = new Date().toISOString();
    if (tier.target === "aws") {
        const review = await runReview(stack, tier);
        return {
            stack, target: tier.target, generatedAt, hostFiles: review.hostFiles,
            resources: review.resources.filter((r) => r.custom), verdicts: verdictsByPolicy(review.verdicts),
        };
    }
    const state = fromState(stack);
    const verdicts = await evaluatePolicies(state.recorded, packConfigFor(tier));
    return {
        stack, target: tier.target, generatedAt, hostFiles: state.hostFiles, resources: state.resources,
        verdicts: verdictsByPolicy(verdicts.map((v) => ({ policy: v.policyName, status: v.status }))),
        liveChecks: liveChecks(stack),
    };
}

async function main(argv: readonly string[]): Promise<number> {
    const args = stackAndOut(argv);
    if (args === undefined) {
        console.error(USAGE);
        return 2;
    }
    const { stack } = args;
    const tier = loadStackOrReport(ROOT, stack);
    if (tier === undefined) return 2;
    const evidence = buildEvidence(await gather(stack, tier));
    const dir = args.out ? path.resolve(args.out) : path.join(ROOT, "reports", "evidence");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${stack}.md`), renderMarkdown(evidence));
    fs.writeFileSync(path.join(dir, `${stack}.html`), renderHtml(evidence));
    fs.writeFileSync(path.join(dir, `${stack}.json`), `${JSON.stringify(evidence, null, 2)}\n`);
    const t = evidence.totals;
    console.log(`stack ${stack} (${tier.target}): ${t.controls} controls; provisioned ${t.provisioned} (${percent(t.provisioned, t.controls)}), ` +
        `enforced ${t.enforced} (${percent(t.enforced, t.controls)}), verified live ${t.verified} (${percent(t.verified, t.controls)})`);
    for (const row of evidence.rows.filter((r) => !r.columns.provisioned || !r.columns.enforced)) {
        console.log(`  ${row.id}: ${!row.columns.provisioned ? "not provisioned" : ""}${!row.columns.provisioned && !row.columns.enforced ? ", " : ""}${!row.columns.enforced ? "policy failing" : ""}`);
    }
    console.log(`${path.relative(process.cwd(), dir)}/${stack}.{md,html,json} written.`);
    return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
});
