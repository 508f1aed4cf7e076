// Helpers for integration tests that drive the real Pulumi engine through bin/pulumi.
// The engine comes from `npm run setup` (docs/engine.md); a missing piece fails the test
// with that instruction instead of skipping it.
import { spawn } from "node:child_process";
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
    /** Extra environment, e.g. a temp PULUMI_BACKEND_URL. */
    env?: NodeJS.ProcessEnv;
    /** Kill the CLI after this long. Default: 150 s, under the suite's ~3 min budget per step. */
    timeoutMs?: number;
}

const defaultTimeoutMs = 150_000;

/** Runs bin/pulumi with `--non-interactive`; never throws on a non-zero exit. */
export function runPulumi(args: readonly string[], options: RunOptions): Promise<PulumiResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(pulumiWrapper, [...args, "--non-interactive"], {
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
 * Lists what the engine lacks: the CLI, the Node.js language host, the registered plugins.
 * Empty when `npm run setup` has completed.
 */
export function missingEngineParts(pulumiHome = path.join(repoRoot, ".pulumi")): string[] {
    const missing: string[] = [];
    const toolsBin = path.join(repoRoot, ".tools", "bin");
    const cli = fs.existsSync(path.join(toolsBin, "pulumi")) ? path.join(toolsBin, "pulumi") : onPath("pulumi");
    if (!cli) missing.push("pulumi CLI");
    const besideCli = cli ? path.join(path.dirname(fs.realpathSync(cli)), "pulumi-language-nodejs") : "";
    if (!fs.existsSync(path.join(toolsBin, "pulumi-language-nodejs")) && !fs.existsSync(besideCli) &&
        !onPath("pulumi-language-nodejs")) {
        missing.push("pulumi-language-nodejs");
    }
    for (const name of requiredPlugins) {
        const version = pinnedPluginVersion(name);
        if (!fs.existsSync(path.join(pulumiHome, "plugins", `resource-${name}-v${version}`, `pulumi-resource-${name}`))) {
            missing.push(`plugin ${name} ${version} in ${path.relative(repoRoot, pulumiHome) || pulumiHome}`);
        }
    }
    return missing;
}

/** Throws "… run npm run setup" when any engine part is missing (integration tests must not skip). */
export function requireEngine(pulumiHome?: string): void {
    const missing = missingEngineParts(pulumiHome);
    if (missing.length > 0) {
        throw new Error(`Pulumi engine incomplete (missing: ${missing.join(", ")}): run npm run setup`);
    }
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
 * Runs `pulumi preview --policy-pack <packDir>` on a stack and reports which policies were
 * violated. The pack directory needs PulumiPolicy.yaml and its node_modules (@pulumi/policy,
 * @pulumi/pulumi); since 3.221 the Node.js language host runs it. `policyNames` are the names
 * to look for in the output (the CLI prints each violation as "[mandatory]  pack@v  name").
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
