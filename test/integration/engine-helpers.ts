// Helpers for integration tests that drive the real Pulumi engine through bin/pulumi.
// The engine comes from `npm run setup` (docs/engine.md), which records what it achieved in
// .tools/engine-status.json. A missing status or CLI fails the tests with "run npm run setup";
// only parts the status records as unobtainable may be skipped, with the recorded reason.
import { spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const repoRoot = path.resolve(__dirname, "..", "..");
export const pulumiWrapper = path.join(repoRoot, "bin", "pulumi");
/** Plugins registered by scripts/setup-engine.sh, at the versions the npm SDKs declare. */
export const requiredPlugins = ["command", "tls"] as const;

export interface PulumiResult {
    code: number;
    stdout: string;
    stderr: string;
}

export interface RunOptions {
    cwd: string;
    /** Extra environment, e.g. a temp PULUMI_BACKEND_URL; an `undefined` value unsets the variable. */
    env?: NodeJS.ProcessEnv;
    /** The wrapper to run; default bin/pulumi (tests pass a copy inside a temp repo layout). */
    wrapper?: string;
    /** Kill the CLI after this long. Default: 150 s, under the suite's ~3 min budget per step. */
    timeoutMs?: number;
}

const defaultTimeoutMs = 150_000;

/** Runs bin/pulumi with `--non-interactive`; never throws on a non-zero exit. */
export function runPulumi(args: readonly string[], options: RunOptions): Promise<PulumiResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(options.wrapper ?? pulumiWrapper, [...args, "--non-interactive"], {
            cwd: options.cwd,
            env: { ...process.env, ...options.env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => child.kill("SIGTERM"), options.timeoutMs ?? defaultTimeoutMs);
        child.on("error", reject);
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
        });
    });
}

/** Like runPulumi, but rejects with the CLI's output when it exits non-zero. */
export async function runPulumiOk(args: readonly string[], options: RunOptions): Promise<PulumiResult> {
    const result = await runPulumi(args, options);
    if (result.code !== 0) {
        throw new Error(
            `pulumi ${args.join(" ")} exited ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
        );
    }
    return result;
}

function onPath(binary: string): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
        const candidate = path.join(dir, binary);
        if (!dir || path.resolve(candidate) === pulumiWrapper) continue;
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            return candidate;
        } catch {
            // not in this directory
        }
    }
    return undefined;
}

function pinnedPluginVersion(name: string): string {
    const manifest = JSON.parse(
        fs.readFileSync(path.join(repoRoot, "node_modules", "@pulumi", name, "package.json"), "utf8"),
    ) as { pulumi?: { version?: string } };
    const version = manifest.pulumi?.version;
    if (!version) throw new Error(`node_modules/@pulumi/${name}/package.json has no pulumi.version`);
    return version;
}

/**
 * Lists what the engine lacks: the CLI, the Node.js language host and (unless `plugins` is
 * false: programs without providers need none) the registered plugins. Empty when
 * `npm run setup` has completed.
 */
export function missingEngineParts(pulumiHome = path.join(repoRoot, ".pulumi"), plugins = true): string[] {
    const missing: string[] = [];
    const toolsBin = path.join(repoRoot, ".tools", "bin");
    const cli = fs.existsSync(path.join(toolsBin, "pulumi")) ? path.join(toolsBin, "pulumi") : onPath("pulumi");
    if (!cli) missing.push("pulumi CLI");
    const besideCli = cli ? path.join(path.dirname(fs.realpathSync(cli)), "pulumi-language-nodejs") : "";
    if (!fs.existsSync(path.join(toolsBin, "pulumi-language-nodejs")) && !fs.existsSync(besideCli) &&
        !onPath("pulumi-language-nodejs")) {
        missing.push("pulumi-language-nodejs");
    }
    for (const name of plugins ? requiredPlugins : []) {
        const version = pinnedPluginVersion(name);
        if (!fs.existsSync(path.join(pulumiHome, "plugins", `resource-${name}-v${version}`, `pulumi-resource-${name}`))) {
            missing.push(`plugin ${name} ${version} in ${path.relative(repoRoot, pulumiHome) || pulumiHome}`);
        }
    }
    return missing;
}

/** Throws "… run npm run setup" when any engine part is missing (integration tests must not skip). */
export function requireEngine(pulumiHome?: string, plugins = true): void {
    const missing = missingEngineParts(pulumiHome, plugins);
    if (missing.length > 0) {
        throw new Error(`Pulumi engine incomplete (missing: ${missing.join(", ")}): run npm run setup`);
    }
}

/** One part of the engine as recorded by scripts/setup-engine.sh. */
export interface EnginePart {
    ok: boolean;
    path?: string;
    version?: string;
    /** The first line(s) of the failing step's output, e.g. the module proxy's 403. */
    error?: string;
    /** True when the failure is a property of the pins (refused, unpinned) and is not retried. */
    unavailable?: boolean;
    log?: string;
    /** Plugins: "own" (engine/providers) or "upstream" (an installed Pulumi plugin). */
    source?: string;
}

/** .tools/engine-status.json */
export interface EngineStatus {
    key: string;
    /** sha256 of engine-versions.json when the status was written. */
    versionsSha256: string;
    pulumiHome: string;
    cli: EnginePart & { source?: "built" | "path" };
    languageHost: EnginePart;
    plugins: Record<(typeof requiredPlugins)[number], EnginePart>;
    complete: boolean;
}

export const engineStatusFile = path.join(repoRoot, ".tools", "engine-status.json");
export const engineVersionsFile = path.join(repoRoot, "engine-versions.json");

/** The recorded status, or undefined when setup has not run (or the file is unreadable). */
export function readEngineStatus(): EngineStatus | undefined {
    try {
        return JSON.parse(fs.readFileSync(engineStatusFile, "utf8")) as EngineStatus;
    } catch {
        return undefined;
    }
}

/** Why the recorded status cannot be trusted for the current pins ("" when it can). */
export function engineStatusProblem(status: EngineStatus | undefined): string {
    if (!status) return `${path.relative(repoRoot, engineStatusFile)} is missing: run npm run setup`;
    const sha = crypto.createHash("sha256").update(fs.readFileSync(engineVersionsFile)).digest("hex");
    if (status.versionsSha256 !== sha) {
        return `${path.relative(repoRoot, engineStatusFile)} was written for another engine-versions.json: run npm run setup`;
    }
    if (!status.cli?.ok) return `setup could not provide the pulumi CLI (${status.cli?.error ?? "no error recorded"}): run npm run setup`;
    return "";
}

function describeMissing(label: string, part: EnginePart | undefined): string | undefined {
    if (part?.ok) return undefined;
    const how = /\b40[34]\b|not available/.test(part?.error ?? "")
        ? "refused by the Go module proxy"
        : part?.unavailable ? "unobtainable with the current pins" : "not built";
    return `${label} ${how}: ${part?.error ?? "no error recorded"}`;
}

/** The recorded reasons the engine cannot deploy, one line ("" when complete). */
export function engineIncompleteReason(status: EngineStatus): string {
    if (status.complete) return "";
    const parts = [
        describeMissing("language host", status.languageHost),
        ...requiredPlugins.map((name) => describeMissing(`plugin ${name}`, status.plugins?.[name])),
    ].filter((text): text is string => text !== undefined);
    return `engine incomplete (${path.relative(repoRoot, engineStatusFile)}): ${parts.join("; ")}`;
}

/** Why no program can run (the language host is recorded as missing), one line; "" when it can. */
export function languageHostMissingReason(status: EngineStatus): string {
    const missing = describeMissing("language host", status.languageHost);
    return missing ? `engine incomplete (${path.relative(repoRoot, engineStatusFile)}): ${missing}` : "";
}

/**
 * The launcher bin/pulumi generates for a Node.js policy pack directory (under `root`'s
 * .tools/policy-launchers): the directory's sanitised name plus the first 8 hex digits of the
 * sha256 of its physical path.
 */
export function policyLauncherPath(packDir: string, root = repoRoot): string {
    const real = fs.realpathSync(packDir);
    const name = path.basename(real).replace(/[^A-Za-z0-9._-]/g, "_");
    const hash = crypto.createHash("sha256").update(real).digest("hex").slice(0, 8);
    return path.join(root, ".tools", "policy-launchers", `${name}-${hash}`);
}

/** Makes a temp dir under the OS temp root; remove it with removeDir. */
export function makeTempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

export function removeDir(dir: string | undefined): void {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/** Links the repo's node_modules into dir, so programs and packs resolve the pinned SDKs. */
export function linkRepoNodeModules(dir: string): void {
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"), "dir");
}

export interface PolicyPreviewResult extends PulumiResult {
    /** Policy names that the output reports as violated (mandatory or advisory). */
    violatedPolicies: string[];
}

/**
 * Runs `bin/pulumi preview --policy-pack <packDir>` on a stack and reports which policies were
 * violated. The pack directory needs PulumiPolicy.yaml and @pulumi/policy + @pulumi/pulumi in
 * its node_modules; bin/pulumi swaps the directory for its generated launcher
 * (policyLauncherPath), which runs the pack as a binary analyzer. `policyNames` are the names
 * to look for in the output (the CLI prints each violation as "- [mandatory]  name  (type: resource)").
 */
export async function previewWithPolicyPack(
    projectDir: string,
    packDir: string,
    stack: string,
    policyNames: readonly string[],
    env?: NodeJS.ProcessEnv,
): Promise<PolicyPreviewResult> {
    const result = await runPulumi(["preview", "--stack", stack, "--policy-pack", packDir], { cwd: projectDir, env });
    const output = `${result.stdout}\n${result.stderr}`;
    const violatedPolicies = policyNames.filter((name) =>
        new RegExp(`\\[(mandatory|advisory)\\][^\\n]*\\b${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`).test(output),
    );
    return { ...result, violatedPolicies };
}

/** What the engine recorded for the stack's latest update (`up`, `destroy`, `refresh`). */
export interface UpdateSummary {
    kind: string;
    result: string;
    resourceChanges: Record<string, number>;
}

/**
 * Runs an `up` / `destroy` / `refresh` in the text display (never `--json`: its engine events
 * can carry secret plaintext, which must not reach a log or a failing assertion), then reads
 * what the update did from `stack history --json`, which records only counts.
 */
export async function runUpdate(args: readonly string[], options: RunOptions, stack?: string): Promise<UpdateSummary> {
    if (args.includes("--json") || args.includes("--debug")) throw new Error("runUpdate: --json/--debug output may carry secrets");
    await runPulumiOk(args, options);
    const history = await runPulumiOk(["stack", "history", "--json", ...(stack ? ["--stack", stack] : [])], options);
    const [latest] = JSON.parse(history.stdout) as { kind: string; result: string; resourceChanges?: Record<string, number> }[];
    if (!latest) throw new Error("stack history is empty after an update");
    return { kind: latest.kind, result: latest.result, resourceChanges: latest.resourceChanges ?? {} };
}

/**
 * Whether a test that deploys with the tls/command plugins may run: `problem` (a missing or
 * stale status: the test fails with it) or `skipReason` (setup recorded a part as unobtainable:
 * the test is skipped with that reason); both "" when the engine is complete.
 */
export function deploymentGate(): { problem: string; skipReason: string } {
    const status = readEngineStatus();
    const problem = engineStatusProblem(status);
    return { problem, skipReason: !problem && status ? engineIncompleteReason(status) : "" };
}
