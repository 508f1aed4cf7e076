/**
 * Runs the validator runtime under the real njs CLI (the engine nginx's js module embeds:
 * Debian 12's njs 0.7.9) next to Node's vm, so the tests compare the two on the same inputs.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VALIDATOR_SOURCE, type ParseResult, type ValidationFailure, type ValidationLimits } from "../../../components/validation/runtime";
import type { CompiledSchema, JsonValue } from "../../../components/validation/ir";

const NJS = "njs";

/** The njs CLI's version, or an Error that says how to get it (the parity tests fail, never skip). */
export function njsVersion(): string {
    const probe = spawnSync(NJS, ["-v"], { encoding: "utf8" });
    if (probe.error || probe.status !== 0) {
        throw new Error(
            "the njs CLI is not installed: the parity tests run the validator in the engine nginx uses. " +
                "Install it with `apt-get install -y njs` (scripts/install-deps.sh lists it in APT_PACKAGES).",
        );
    }
    return probe.stdout.trim();
}

export type Job =
    | { op: "validate"; schema: number; value: unknown; limits?: ValidationLimits }
    | { op: "parse"; text: string; limits?: ValidationLimits }
    /** Parse, then validate what parsed (the nginx handler's order). */
    | { op: "check"; schema: number; text: string; limits?: ValidationLimits };
export type JobResult = { result: ValidationFailure | null | ParseResult } | { thrown: string };

/** Runs the jobs in one njs process; schemas are shared by index. */
export function runInNjs(schemas: CompiledSchema[], jobs: Job[]): JobResult[] {
    njsVersion();
    const dir = mkdtempSync(join(tmpdir(), "apiproxy-njs-"));
    try {
        const file = join(dir, "driver.js");
        // JSON.parse of string literals: the data never becomes JavaScript syntax.
        const literal = (value: unknown): string => `JSON.parse(${JSON.stringify(JSON.stringify(value)).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029")})`;
        writeFileSync(
            file,
            `${VALIDATOR_SOURCE}
var SCHEMAS = ${literal(schemas)};
var JOBS = ${literal(jobs)};
var OUT = [];
for (var i = 0; i < JOBS.length; i++) {
    var job = JOBS[i];
    var r;
    try {
        var parsed = job.op === 'validate' ? { value: job.value } : apiproxyParseJson(job.text, job.limits || {});
        r = job.op === 'parse' || parsed.error !== undefined ? parsed : apiproxyValidateJson(SCHEMAS[job.schema], parsed.value, job.limits || {});
        // njs's JSON.stringify stops at 32 levels: a parsed value travels as its own JSON text.
        OUT.push(JSON.stringify({ result: r !== null && r.value !== undefined ? { valueText: JSON.stringify(r.value) } : r }));
    } catch (e) {
        OUT.push(JSON.stringify({ thrown: String(e) }));
    }
}
// console.log in the njs CLI truncates at 2048 bytes: the answers go to a file.
require('fs').writeFileSync(${JSON.stringify(join(dir, "out.jsonl"))}, OUT.join('\\n'));
`,
        );
        const run = spawnSync(NJS, [file], { encoding: "utf8", timeout: 120_000, maxBuffer: 256 * 1024 * 1024 });
        if (run.error || run.status !== 0) {
            throw new Error(`njs ${file} failed (status ${run.status}): ${run.error?.message ?? ""}\n${run.stderr}\n${run.stdout.slice(0, 2000)}`);
        }
        return readFileSync(join(dir, "out.jsonl"), "utf8").split("\n").map((line) => {
            const parsed = JSON.parse(line) as { result?: { valueText?: string } };
            if (parsed.result?.valueText !== undefined) return { result: { value: JSON.parse(parsed.result.valueText) } };
            return parsed as JobResult;
        });
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/** Runs the same jobs through Node's vm copy of the runtime, in the shape runInNjs returns. */
export function runInNode(
    validator: { validate(c: CompiledSchema, v: unknown, l?: ValidationLimits): ValidationFailure | null; parse(t: string, l?: ValidationLimits): ParseResult },
    schemas: CompiledSchema[],
    jobs: Job[],
): JobResult[] {
    return jobs.map((job): JobResult => {
        try {
            const parsed = job.op === "validate" ? { value: job.value } : validator.parse(job.text, job.limits ?? {});
            // A parsed value is compared as the JSON it serializes to (njs's answers travel as JSON: -0 is 0).
            if (job.op === "parse" && "value" in parsed) return { result: { value: JSON.parse(JSON.stringify(parsed.value)) as JsonValue } };
            if (job.op === "parse" || "error" in parsed) return { result: parsed as ParseResult };
            return { result: validator.validate(schemas[job.schema], parsed.value, job.limits ?? {}) };
        } catch (err) {
            return { thrown: String(err) };
        }
    });
}
