// The real Pulumi engine, driven through bin/pulumi, in four parts:
//  1. Always run (the CLI alone): setup's status file, the CLI version, and the wrapper's
//     offline environment (file backend, project-local PULUMI_HOME, passphrase secrets provider
//     with a generated 0600 passphrase) exercised by real CLI commands. A missing status or CLI
//     fails these with "run npm run setup".
//  2. Always run (no engine): bin/pulumi's rewriting of `--policy-pack DIR` to a generated
//     launcher, against a stub CLI and a stub run-policy-pack.
//  3. CLI + language host, no provider plugin: a throwaway TypeScript program (outputs, a
//     pulumi.secret, a config secret, a component with a child component) through preview, up,
//     no-change up/preview, stack output, encrypted state, the real api-proxy-baseline pack
//     (must fail on pki-present-with-rotation) and an advisory-only pack (must pass), destroy
//     and stack rm. Skipped, with the recorded reason, only while setup records the language
//     host as unobtainable.
//  4. tls.PrivateKey + command.local.Command deployed for real through the plugins setup
//     registered: the project's own providers (engine/providers) unless the upstream plugins of
//     the same versions are installed. Skipped, with the recorded reason, only while setup
//     records a plugin as missing (e.g. no Go toolchain to build ours).
// A missing or stale status never skips: parts 3 and 4 then fail with "run npm run setup".
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import {
    engineIncompleteReason,
    engineStatusFile,
    engineStatusProblem,
    engineVersionsFile,
    languageHostMissingReason,
    linkRepoNodeModules,
    makeTempDir,
    policyLauncherPath,
    previewWithPolicyPack,
    pulumiWrapper,
    PulumiResult,
    readEngineStatus,
    removeDir,
    repoRoot,
    requireEngine,
    runPulumi,
    runPulumiOk,
    runUpdate,
} from "./engine-helpers";

const status = readEngineStatus();
const statusProblem = engineStatusProblem(status);
const pins = JSON.parse(fs.readFileSync(engineVersionsFile, "utf8")) as { cli: { version: string }; languageNodejs: { version: string }; plugins: Record<string, unknown> };
const pinnedCliVersion = pins.cli.version;

function writeFiles(dir: string, files: Record<string, string>): void {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
}

function output(result: PulumiResult): string {
    return `--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** The CLI recorded by setup; throws the setup instruction otherwise. */
function recordedCli(): string {
    if (statusProblem) throw new Error(statusProblem);
    return status!.cli.path!;
}

describe("engine status and CLI (npm run setup)", () => {
    it("setup recorded a working pulumi CLI in .tools/engine-status.json", () => {
        assert.ok(status, `${path.relative(repoRoot, engineStatusFile)} is missing: run npm run setup`);
        assert.equal(statusProblem, "", statusProblem);
        assert.equal(status.cli.ok, true, "cli.ok is false: run npm run setup");
        assert.equal(status.cli.version, pinnedCliVersion, "recorded CLI version differs from engine-versions.json: run npm run setup");
        fs.accessSync(status.cli.path!, fs.constants.X_OK);
        assert.equal(typeof status.complete, "boolean");
        // Every part that is not ok carries the reason (the exact error) for the report.
        for (const [name, part] of [["languageHost", status.languageHost], ...Object.entries(status.plugins)] as const) {
            if (!part.ok) assert.ok(part.error, `${name}: not ok and no error recorded`);
        }
        // A language host built by setup carries the sdk/v3 version it was built from.
        if (status.languageHost.ok && status.languageHost.path === path.join(repoRoot, ".tools", "bin", "pulumi-language-nodejs")) {
            fs.accessSync(status.languageHost.path, fs.constants.X_OK);
            assert.equal(status.languageHost.version, pins.languageNodejs.version.replace(/^v/, ""));
        }
    });

    it("both resource plugins are registered at the SDKs' versions, and setup and bin/pulumi about say which implementation", async () => {
        recordedCli();
        const opts = { cwd: repoRoot, env: { PULUMI_BACKEND_URL: `file://${makeTempDir("engine-about")}`, PULUMI_CONFIG_PASSPHRASE: "about-test-only" } };
        try {
            const ls = await runPulumiOk(["plugin", "ls"], opts);
            for (const [name, version] of Object.entries(pins.plugins).filter(([k]) => !k.startsWith("$"))) {
                const v = (version as { version: string }).version;
                assert.match(ls.stdout, new RegExp(`^${name}\\s+resource\\s+${v.replace(/\./g, "\\.")}\\s`, "m"), ls.stdout);
                const part = status!.plugins[name as "tls" | "command"];
                assert.equal(part.ok, true, `${name}: ${part.error}`);
                const own = fs.existsSync(path.join(repoRoot, ".pulumi", "plugins", `resource-${name}-v${v}`, "apiproxy-provider.json"));
                assert.equal(part.source, own ? "own" : "upstream");
            }
            const about = await runPulumiOk(["about"], opts);
            for (const name of ["tls", "command"]) {
                assert.match(about.stdout, new RegExp(`  ${name} [0-9.]+: (api-proxy-security's own provider, built from engine/providers/${name}|the upstream Pulumi plugin)`), about.stdout);
            }
        } finally {
            removeDir(opts.env.PULUMI_BACKEND_URL.slice("file://".length));
        }
    });

    it("bin/pulumi version prints exactly v + engine-versions.json cli.version", async () => {
        recordedCli();
        const dir = makeTempDir("engine-version");
        try {
            // Overrides keep the wrapper from touching the repo's .pulumi-state or .secrets.
            const result = await runPulumiOk(["version"], {
                cwd: dir,
                env: { PULUMI_BACKEND_URL: `file://${dir}`, PULUMI_CONFIG_PASSPHRASE: "version-test-only" },
            });
            assert.equal(result.stdout, `v${pinnedCliVersion}\n`, output(result));
        } finally {
            removeDir(dir);
        }
    });
});

// A copy of the wrapper in a temp repo layout (<root>/bin/pulumi, <root>/.tools/cli-path): the
// wrapper derives its root from its own path, so it keeps its state, PULUMI_HOME and passphrase
// there. No PULUMI_* variable is passed in, so everything comes from the wrapper.
describe("bin/pulumi offline environment with the CLI alone (temp repo layout)", { timeout: 60_000 }, () => {
    const projectName = "wrapper-check";
    const stack = "dev";
    const secretValue = "plain-secret-value-4711";
    let root = "";
    let wrapper = "";
    let projectDir = "";
    let passphrase = "";
    const outputs: string[] = [];
    const env: NodeJS.ProcessEnv = {
        PULUMI_HOME: undefined,
        PULUMI_BACKEND_URL: undefined,
        PULUMI_CONFIG_PASSPHRASE: undefined,
        PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
        PULUMI_ACCESS_TOKEN: undefined,
    };
    const run = async (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<PulumiResult> => {
        const result = await runPulumi(args, { cwd: projectDir, env: { ...env, ...extraEnv }, wrapper });
        outputs.push(result.stdout, result.stderr);
        return result;
    };
    const runOk = async (args: string[]): Promise<PulumiResult> => {
        const result = await run(args);
        assert.equal(result.code, 0, `pulumi ${args.join(" ")} exited ${result.code}\n${output(result)}`);
        return result;
    };
    const stateFile = (): string => path.join(root, ".pulumi-state", ".pulumi", "stacks", projectName, `${stack}.json`);

    before(() => {
        root = makeTempDir("engine-wrapper");
        // HOME inside the temp root: the CLI must use the wrapper's PULUMI_HOME, never ~/.pulumi.
        env.HOME = path.join(root, "home");
        fs.mkdirSync(env.HOME);
        for (const dir of ["bin", ".tools", "project"]) fs.mkdirSync(path.join(root, dir));
        wrapper = path.join(root, "bin", "pulumi");
        fs.copyFileSync(pulumiWrapper, wrapper);
        fs.chmodSync(wrapper, 0o755);
        projectDir = path.join(root, "project");
        writeFiles(projectDir, {
            "Pulumi.yaml": `name: ${projectName}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`,
        });
        try {
            fs.writeFileSync(path.join(root, ".tools", "cli-path"), `${recordedCli()}\n`);
        } catch {
            // No CLI: the tests fail through recordedCli() with the setup instruction.
        }
    });

    after(() => removeDir(root));

    it("creates the stack in the file backend under the repo, with PULUMI_HOME in the repo", async () => {
        recordedCli();
        await runOk(["stack", "init", stack]);
        assert.ok(fs.existsSync(stateFile()), `no state file at ${stateFile()}: PULUMI_BACKEND_URL not file://<root>/.pulumi-state`);
        assert.ok(fs.existsSync(path.join(root, ".pulumi", "workspaces")), "PULUMI_HOME is not <root>/.pulumi");
        assert.ok(!fs.existsSync(path.join(env.HOME!, ".pulumi")), "the CLI wrote to ~/.pulumi");
    });

    it("generated .secrets/passphrase on first use: 0600 in a 0700 dir, random, not printed", () => {
        recordedCli();
        const file = path.join(root, ".secrets", "passphrase");
        assert.ok(fs.existsSync(file), "no .secrets/passphrase after the first command");
        assert.equal(fs.statSync(file).mode & 0o777, 0o600);
        assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
        passphrase = fs.readFileSync(file, "utf8");
        assert.match(passphrase, /^[A-Za-z0-9+/]{40,}$/, "expected 32 random bytes, base64 without padding");
        for (const text of outputs) assert.ok(!text.includes(passphrase), "the passphrase was printed");
    });

    it("config set --secret stores passphrase-encrypted ciphertext that only that passphrase decrypts", async () => {
        recordedCli();
        await runOk(["config", "set", "--secret", "apiKey", secretValue]);
        const stackConfig = fs.readFileSync(path.join(projectDir, `Pulumi.${stack}.yaml`), "utf8");
        assert.match(stackConfig, /^encryptionsalt: v1:/m, stackConfig);
        assert.match(stackConfig, /apiKey:\n\s+secure: v1:\S+/, stackConfig);
        assert.ok(!stackConfig.includes(secretValue), "plaintext secret in the stack config");

        const got = await runOk(["config", "get", "apiKey"]);
        assert.equal(got.stdout.trim(), secretValue);
        // Proves the CLI used the file's passphrase: another one cannot decrypt.
        const wrong = await run(["config", "get", "apiKey"], { PULUMI_CONFIG_PASSPHRASE: "not-the-passphrase" });
        assert.notEqual(wrong.code, 0, output(wrong));
        assert.match(wrong.stderr, /incorrect passphrase/, output(wrong));
        assert.equal(fs.readFileSync(path.join(root, ".secrets", "passphrase"), "utf8"), passphrase, "passphrase regenerated");
    });

    it("stack ls and stack export show the stack with the passphrase secrets provider", async () => {
        recordedCli();
        const list = JSON.parse((await runOk(["stack", "ls", "--json"])).stdout) as { name: string }[];
        assert.deepEqual(list.map((s) => s.name), [stack]);
        const exported = JSON.parse((await runOk(["stack", "export"])).stdout) as {
            deployment: { manifest: { version: string }; secrets_providers: { type: string } };
        };
        assert.equal(exported.deployment.secrets_providers.type, "passphrase");
        assert.equal(exported.deployment.manifest.version, `v${pinnedCliVersion}`);
        assert.ok(!fs.readFileSync(stateFile(), "utf8").includes(secretValue));
    });

    it("stack rm removes it from the file backend; nothing printed the passphrase", async () => {
        recordedCli();
        await runOk(["stack", "rm", "--yes", stack]);
        assert.ok(!fs.existsSync(stateFile()), "state file left behind");
        assert.deepEqual(JSON.parse((await runOk(["stack", "ls", "--json"])).stdout), []);
        assert.ok(passphrase, "passphrase not read (earlier test failed)");
        for (const text of outputs) assert.ok(!text.includes(passphrase), "the passphrase was printed");
    });

    it("an explicit PULUMI_CONFIG_PASSPHRASE wins: no passphrase file is created", async () => {
        const cli = recordedCli();
        const other = makeTempDir("engine-wrapper-explicit");
        try {
            fs.mkdirSync(path.join(other, "bin"));
            fs.mkdirSync(path.join(other, ".tools"));
            fs.copyFileSync(pulumiWrapper, path.join(other, "bin", "pulumi"));
            fs.chmodSync(path.join(other, "bin", "pulumi"), 0o755);
            fs.writeFileSync(path.join(other, ".tools", "cli-path"), `${cli}\n`);
            const result = await runPulumiOk(["version"], {
                cwd: other,
                env: { ...env, PULUMI_CONFIG_PASSPHRASE: "explicit" },
                wrapper: path.join(other, "bin", "pulumi"),
            });
            assert.equal(result.stdout, `v${pinnedCliVersion}\n`);
            assert.ok(!fs.existsSync(path.join(other, ".secrets")), ".secrets created despite PULUMI_CONFIG_PASSPHRASE");
        } finally {
            removeDir(other);
        }
    });

    // While setup records the language host as missing, check that this is really what the CLI
    // runs into (so the recorded status cannot drift from the truth). With the host present, the
    // deployment suite below covers programs.
    if (!statusProblem && !status!.languageHost.ok) {
        it("without the language host, preview fails for want of pulumi-language-nodejs (as recorded)", async () => {
            await runOk(["stack", "init", "no-host"]);
            const result = await run(["preview", "--stack", "no-host"]);
            assert.notEqual(result.code, 0, output(result));
            assert.match(`${result.stdout}${result.stderr}`, /no language plugin 'pulumi-language-nodejs' found/, output(result));
            await runOk(["stack", "rm", "--yes", "--force", "no-host"]);
        });
    }
});

// --- bin/pulumi's policy-pack launcher (no engine needed) -----------------------------------

// A copy of the wrapper in a temp repo layout whose "CLI" (at .tools/bin/pulumi, where setup
// builds ours) only prints its arguments, so the rewriting of --policy-pack is checked exactly;
// the launcher is then run against a stub run-policy-pack that reports its arguments and
// working directory.
describe("bin/pulumi --policy-pack DIR: generated launcher for Node.js packs (stub CLI)", () => {
    let root = "";
    let wrapper = "";
    const packs: Record<"node" | "block" | "python", string> = { node: "", block: "", python: "" };
    const stubEntry = (dir: string): string => path.join(dir, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack", "index.js");
    const runWrapper = (args: string[]): Promise<PulumiResult> =>
        runPulumiOk(args, { cwd: root, wrapper, env: { PULUMI_CONFIG_PASSPHRASE: "launcher-test-only", PULUMI_BACKEND_URL: `file://${root}` } });

    before(() => {
        root = makeTempDir("engine-launcher");
        for (const dir of ["bin", ".tools/bin", "packs"]) fs.mkdirSync(path.join(root, dir), { recursive: true });
        wrapper = path.join(root, "bin", "pulumi");
        fs.copyFileSync(pulumiWrapper, wrapper);
        fs.chmodSync(wrapper, 0o755);
        const fakeCli = path.join(root, ".tools", "bin", "pulumi");
        fs.writeFileSync(fakeCli, "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\"\n", { mode: 0o755 });
        fs.copyFileSync(fakeCli, path.join(root, ".tools", "other-pulumi"));
        fs.chmodSync(path.join(root, ".tools", "other-pulumi"), 0o755);
        fs.writeFileSync(path.join(root, ".tools", "cli-path"), `${fakeCli}\n`);
        const yamls = {
            node: "runtime: nodejs\ndescription: flat runtime\n",
            block: "# comment\nruntime:\n  name: nodejs\n  options:\n    typescript: true\ndescription: block runtime\n",
            python: "runtime: python\ndescription: not ours to rewrite\n",
        };
        for (const [kind, yaml] of Object.entries(yamls) as [keyof typeof packs, string][]) {
            const dir = path.join(root, "packs", `${kind} pack`); // a space: the launcher must quote
            fs.mkdirSync(dir);
            fs.writeFileSync(path.join(dir, "PulumiPolicy.yaml"), yaml);
            fs.mkdirSync(path.dirname(stubEntry(dir)), { recursive: true });
            fs.writeFileSync(stubEntry(dir), "console.log(JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd() }));\n");
            packs[kind] = dir;
        }
    });

    after(() => removeDir(root));

    it("replaces only Node.js pack directories, in both flag forms, and leaves every other argument alone", async () => {
        const result = await runWrapper([
            "preview", "--policy-pack", packs.node, `--policy-pack=${packs.block}`, "--policy-pack", packs.python,
            "--policy-pack", "/no/such/pack", "--stack", "dev", "--", "--policy-pack", packs.node,
        ]);
        const nodeLauncher = policyLauncherPath(packs.node, root);
        const blockLauncher = policyLauncherPath(packs.block, root);
        assert.deepEqual(result.stdout.split("\n").slice(0, -1), [
            "preview", "--policy-pack", nodeLauncher, `--policy-pack=${blockLauncher}`, "--policy-pack", packs.python,
            "--policy-pack", "/no/such/pack", "--stack", "dev", "--", "--policy-pack", packs.node, "--non-interactive",
        ]);
        assert.deepEqual(fs.readdirSync(path.join(root, ".tools", "policy-launchers")).sort(),
            [path.basename(nodeLauncher), path.basename(blockLauncher)].sort());
        assert.match(path.basename(nodeLauncher), /^node_pack-[0-9a-f]{8}$/);
    });

    it("the launcher is executable, runs the pack's run-policy-pack from the pack dir with the engine address, and is idempotent", async () => {
        const launcher = policyLauncherPath(packs.node, root);
        assert.equal(fs.statSync(launcher).mode & 0o111, 0o111, "launcher not executable");
        const { execFileSync } = await import("node:child_process");
        const ran = JSON.parse(execFileSync(launcher, ["127.0.0.1:4711"], { cwd: root, encoding: "utf8" })) as { argv: string[]; cwd: string };
        assert.deepEqual(ran, { argv: ["127.0.0.1:4711", fs.realpathSync(packs.node)], cwd: fs.realpathSync(packs.node) });

        const before = fs.statSync(launcher).mtimeMs;
        await new Promise((resolve) => setTimeout(resolve, 20));
        await runWrapper(["preview", "--policy-pack", packs.node]);
        assert.equal(fs.statSync(launcher).mtimeMs, before, "an up-to-date launcher was rewritten");
        fs.writeFileSync(launcher, "#!/bin/sh\nexit 1\n");
        await runWrapper(["preview", "--policy-pack", packs.node]);
        assert.match(fs.readFileSync(launcher, "utf8"), /run-policy-pack/, "a stale launcher was not rewritten");
    });

    it("with another CLI (a normal install) the directory is passed through: its own language host runs packs", async () => {
        const cliPath = path.join(root, ".tools", "cli-path");
        fs.writeFileSync(cliPath, `${path.join(root, ".tools", "other-pulumi")}\n`);
        try {
            const result = await runWrapper(["preview", "--policy-pack", packs.node]);
            assert.deepEqual(result.stdout.split("\n").slice(0, -1), ["preview", "--policy-pack", packs.node, "--non-interactive"]);
        } finally {
            fs.writeFileSync(cliPath, `${path.join(root, ".tools", "bin", "pulumi")}\n`);
        }
    });

    it("fails clearly when the pack's node_modules lacks @pulumi/pulumi", async () => {
        fs.rmSync(path.dirname(stubEntry(packs.block)), { recursive: true });
        const result = await runPulumi(["preview", "--policy-pack", packs.block], {
            cwd: root, wrapper, env: { PULUMI_CONFIG_PASSPHRASE: "launcher-test-only", PULUMI_BACKEND_URL: `file://${root}` },
        });
        assert.notEqual(result.code, 0, output(result));
        assert.match(result.stderr, /has no @pulumi\/pulumi\/cmd\/run-policy-pack/, output(result));
        assert.equal(result.stdout, "", "the CLI ran despite the failure");
    });
});

// --- programs and policy packs: CLI + language host, no provider plugin -------------------------

const programStack = "engine-test";
const programProject = "engine-program";
const apiKeyPlain = "api-key-plain-4711";
const tokenPlain = "session-token-plain-0815";
const baselinePack = path.join(repoRoot, "policy-packs", "api-proxy-baseline");
const advisoryPolicy = "tiers-are-noted";

// No provider: outputs, a pulumi.secret, a config secret, a component with a child component.
const providerFreeProgram = `import * as pulumi from "@pulumi/pulumi";

class Listener extends pulumi.ComponentResource {
    public readonly port: pulumi.Output<number>;
    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("apiproxytest:edge:Listener", name, {}, opts);
        this.port = pulumi.output(8443);
        this.registerOutputs({ port: this.port });
    }
}

class Tier extends pulumi.ComponentResource {
    public readonly endpoint: pulumi.Output<string>;
    public readonly apiKeyLength: pulumi.Output<number>;
    constructor(name: string, args: { apiKey: pulumi.Output<string> }, opts?: pulumi.ComponentResourceOptions) {
        super("apiproxytest:edge:Tier", name, {}, opts);
        const listener = new Listener(\`\${name}-listener\`, { parent: this });
        this.endpoint = pulumi.interpolate\`https://\${name}.internal:\${listener.port}\`;
        this.apiKeyLength = pulumi.unsecret(args.apiKey.apply((key) => key.length));
        this.registerOutputs({ endpoint: this.endpoint, apiKeyLength: this.apiKeyLength });
    }
}

const config = new pulumi.Config();
const tier = new Tier("edge", { apiKey: config.requireSecret("apiKey") });

export const greeting = "hello";
export const endpoint = tier.endpoint;
export const apiKeyLength = tier.apiKeyLength;
export const apiKey = config.requireSecret("apiKey");
export const sessionToken = pulumi.secret("${tokenPlain}");
`;

const advisoryPack = `import { PolicyPack } from "@pulumi/policy";

new PolicyPack("engine-test-advisory", {
    policies: [
        {
            name: "${advisoryPolicy}",
            description: "Notes every apiproxytest:edge:Tier component (advisory only: never blocks).",
            enforcementLevel: "advisory",
            validateResource: (resource, reportViolation) => {
                if (resource.type === "apiproxytest:edge:Tier") reportViolation("tier " + resource.name + " noted");
            },
        },
    ],
});
`;

// tsconfig for throwaway programs and packs: the SDK's ts-node otherwise defaults
// moduleResolution to nodenext, which "module": "commonjs" rejects (TS5110).
const throwawayTsconfig = JSON.stringify({
    compilerOptions: { strict: true, target: "ES2020", module: "commonjs", moduleResolution: "node", esModuleInterop: true },
}, null, 2);

// Skip only on a trustworthy status that records the language host as missing; a missing or
// stale status runs the tests, which then fail with "run npm run setup".
const programSkipReason = !statusProblem && status ? languageHostMissingReason(status) : "";
const programIt = (name: string, fn: () => Promise<void>): void => {
    if (programSkipReason) it(name, { skip: programSkipReason }, fn);
    else it(name, fn);
};

describe("a TypeScript program and policy packs on a throwaway stack (CLI + language host, no provider)", { timeout: 180_000 }, () => {
    let workDir: string | undefined;
    let projectDir = "";
    let advisoryPackDir = "";
    let stateDir = "";
    let env: NodeJS.ProcessEnv = {};
    let stackCreated = false;
    let engineProblem: Error | undefined;
    const needEngine = (): void => {
        if (engineProblem) throw engineProblem;
    };
    const run = (args: string[]): Promise<PulumiResult> => runPulumi([...args, "--stack", programStack], { cwd: projectDir, env });
    const runOk = (args: string[]): Promise<PulumiResult> => runPulumiOk([...args, "--stack", programStack], { cwd: projectDir, env });
    const stateFile = (): string => path.join(stateDir, ".pulumi", "stacks", programProject, `${programStack}.json`);

    before(() => {
        if (programSkipReason) return;
        try {
            if (statusProblem) throw new Error(statusProblem);
            requireEngine(path.join(repoRoot, ".pulumi"), false);
        } catch (error) {
            engineProblem = error as Error;
            return;
        }
        workDir = makeTempDir("engine-program");
        projectDir = path.join(workDir, "project");
        advisoryPackDir = path.join(workDir, "advisory-pack");
        stateDir = path.join(workDir, "state");
        for (const dir of [projectDir, advisoryPackDir, stateDir]) fs.mkdirSync(dir);
        env = {
            PULUMI_HOME: path.join(repoRoot, ".pulumi"),
            PULUMI_BACKEND_URL: `file://${stateDir}`,
            PULUMI_CONFIG_PASSPHRASE: "engine-program-test-only",
            PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
        };
        // Its own package.json (else program resolution walks up to the repo's) and tsconfig.
        writeFiles(projectDir, {
            "Pulumi.yaml": `name: ${programProject}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`,
            "package.json": JSON.stringify({ name: programProject, private: true, main: "index.ts" }, null, 2),
            "tsconfig.json": throwawayTsconfig,
            "index.ts": providerFreeProgram,
        });
        linkRepoNodeModules(projectDir);
        writeFiles(advisoryPackDir, {
            "PulumiPolicy.yaml": "runtime:\n  name: nodejs\n  options:\n    typescript: true\ndescription: Advisory-only pack of the engine integration test\n",
            "package.json": JSON.stringify({ name: "engine-test-advisory", version: "0.0.1", private: true, main: "index.ts" }, null, 2),
            "tsconfig.json": throwawayTsconfig,
            "index.ts": advisoryPack,
        });
        linkRepoNodeModules(advisoryPackDir);
    });

    after(async () => {
        try {
            if (stackCreated) {
                await runPulumi(["destroy", "--yes", "--skip-preview", "--stack", programStack], { cwd: projectDir, env });
                await runPulumi(["stack", "rm", "--yes", "--force", "--stack", programStack], { cwd: projectDir, env });
            }
        } finally {
            // The wrapper's launcher for the temp pack lives in the repo's .tools; the real pack's stays.
            if (advisoryPackDir && fs.existsSync(advisoryPackDir)) fs.rmSync(policyLauncherPath(advisoryPackDir), { force: true });
            removeDir(workDir);
        }
    });

    programIt("stack init, config set --secret, then preview shows the stack and both components as creates", async () => {
        needEngine();
        await runPulumiOk(["stack", "init", programStack], { cwd: projectDir, env });
        stackCreated = true;
        await runOk(["config", "set", "--secret", "apiKey", apiKeyPlain]);
        const preview = await runOk(["preview", "--json"]);
        const plan = JSON.parse(preview.stdout) as { changeSummary?: Record<string, number>; steps: { op: string; urn: string }[] };
        assert.deepEqual(plan.changeSummary, { create: 3 }, preview.stdout);
        const types = plan.steps.map((step) => `${step.op} ${step.urn.split("::")[2]}`).sort();
        // The child's URN type carries its parent's: apiproxytest:edge:Tier$apiproxytest:edge:Listener.
        assert.deepEqual(types, [
            "create apiproxytest:edge:Tier",
            "create apiproxytest:edge:Tier$apiproxytest:edge:Listener",
            "create pulumi:pulumi:Stack",
        ]);
        assert.ok(!preview.stdout.includes(apiKeyPlain), "the config secret was printed by preview");
    });

    programIt("up creates the three resources; a second up and preview --expect-no-changes report no changes", async () => {
        needEngine();
        const first = await runUpdate(["up", "--yes", "--skip-preview"], { cwd: projectDir, env }, programStack);
        assert.deepEqual(first, { kind: "update", result: "succeeded", resourceChanges: { create: 3 } });
        const noChange = await run(["preview", "--expect-no-changes"]);
        assert.equal(noChange.code, 0, `expected no changes:\n${output(noChange)}`);
        const second = await runUpdate(["up", "--yes", "--skip-preview"], { cwd: projectDir, env }, programStack);
        assert.deepEqual(second, { kind: "update", result: "succeeded", resourceChanges: { same: 3 } });
    });

    programIt("stack output --json: values, secrets as [secret], revealed only with --show-secrets", async () => {
        needEngine();
        const shown = JSON.parse((await runOk(["stack", "output", "--json"])).stdout) as Record<string, unknown>;
        assert.deepEqual(shown, {
            greeting: "hello",
            endpoint: "https://edge.internal:8443",
            apiKeyLength: apiKeyPlain.length,
            apiKey: "[secret]",
            sessionToken: "[secret]",
        });
        const revealed = JSON.parse((await runOk(["stack", "output", "--json", "--show-secrets"])).stdout) as Record<string, unknown>;
        assert.equal(revealed.apiKey, apiKeyPlain);
        assert.equal(revealed.sessionToken, tokenPlain);
    });

    programIt("state and stack config hold the secrets as ciphertext, never the plaintext", async () => {
        needEngine();
        const exported = await runOk(["stack", "export"]);
        const onDisk = fs.readFileSync(stateFile(), "utf8");
        const stackConfig = fs.readFileSync(path.join(projectDir, `Pulumi.${programStack}.yaml`), "utf8");
        for (const [what, text] of [["stack export", exported.stdout], ["state file", onDisk]] as const) {
            assert.match(text, /"ciphertext": ?"v1:/, `${what}: no ciphertext`);
            for (const plain of [apiKeyPlain, tokenPlain]) assert.ok(!text.includes(plain), `${what} holds the plaintext ${plain}`);
        }
        assert.match(stackConfig, /apiKey:\n\s+secure: v1:\S+/, stackConfig);
        assert.ok(!stackConfig.includes(apiKeyPlain), "plaintext secret in the stack config");
    });

    programIt("the real api-proxy-baseline pack (through bin/pulumi's launcher) fails the preview on pki-present-with-rotation", async () => {
        needEngine();
        const result = await previewWithPolicyPack(projectDir, baselinePack, programStack, ["pki-present-with-rotation"], env);
        const text = output(result);
        assert.notEqual(result.code, 0, `preview should fail:\n${text}`);
        assert.deepEqual(result.violatedPolicies, ["pki-present-with-rotation"], text);
        assert.match(text, /\[mandatory\]\s+pki-present-with-rotation/, text);
        assert.match(text, /The stack declares no CA certificate/, text);
        // It ran as the launcher bin/pulumi generated, not as a directory pack.
        assert.ok(text.includes(`local: ${policyLauncherPath(baselinePack)}`), `not run through the launcher:\n${text}`);
    });

    programIt("an advisory-only pack reports its finding and the preview passes", async () => {
        needEngine();
        const result = await previewWithPolicyPack(projectDir, advisoryPackDir, programStack, [advisoryPolicy], env);
        const text = output(result);
        assert.equal(result.code, 0, `an advisory policy must not fail the preview:\n${text}`);
        assert.deepEqual(result.violatedPolicies, [advisoryPolicy], text);
        assert.match(text, /\[advisory\]\s+tiers-are-noted\s+\(apiproxytest:edge:Tier: edge\)/, text);
        assert.ok(text.includes(`local: ${policyLauncherPath(advisoryPackDir)}`), `not run through the launcher:\n${text}`);
    });

    programIt("destroy deletes the three resources and stack rm removes the stack", async () => {
        needEngine();
        const destroyed = await runUpdate(["destroy", "--yes", "--skip-preview"], { cwd: projectDir, env }, programStack);
        assert.deepEqual(destroyed, { kind: "destroy", result: "succeeded", resourceChanges: { delete: 3 } });
        await runOk(["stack", "rm", "--yes"]);
        stackCreated = false;
        assert.ok(!fs.existsSync(stateFile()), "state file left behind");
        const list = JSON.parse((await runPulumiOk(["stack", "ls", "--json"], { cwd: projectDir, env })).stdout) as unknown[];
        assert.deepEqual(list, []);
    });
});

// --- deployment with the command and tls providers ------------------------------------------------

const providerStack = "engine-providers";
const providerProject = "engine-smoke";
const violatedPolicy = "private-keys-must-be-rsa";
const passingPolicy = "local-commands-must-have-create";

const providerProgram = `import * as command from "@pulumi/command";
import * as tls from "@pulumi/tls";

const key = new tls.PrivateKey("key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
const hello = new command.local.Command("hello", { create: "echo hello; pwd >&2" });

export const publicKeyPem = key.publicKeyPem;
export const privateKeyPem = key.privateKeyPem;
export const greeting = hello.stdout;
export const workingDir = hello.stderr;
`;

const providerPolicyPack = `import { PolicyPack, validateResourceOfType } from "@pulumi/policy";
import * as command from "@pulumi/command";
import * as tls from "@pulumi/tls";

new PolicyPack("engine-smoke-policies", {
    policies: [
        {
            name: "${violatedPolicy}",
            description: "Checks that TLS private keys use RSA (the smoke stack uses ECDSA, so this fails).",
            enforcementLevel: "mandatory",
            validateResource: validateResourceOfType(tls.PrivateKey, (key, _args, reportViolation) => {
                if (key.algorithm !== "RSA") reportViolation("private key algorithm is " + key.algorithm);
            }),
        },
        {
            name: "${passingPolicy}",
            description: "Checks that local commands declare a create command.",
            enforcementLevel: "mandatory",
            validateResource: validateResourceOfType(command.local.Command, (cmd, _args, reportViolation) => {
                if (!cmd.create) reportViolation("local command without create");
            }),
        },
    ],
});
`;

// Skipped, with the recorded reason (the exact module-proxy errors), while setup records the
// plugins as missing; a missing or stale status runs it, which then fails with "run npm run setup".
const providerSkipReason = !statusProblem && status ? engineIncompleteReason(status) : "";

describe("deployment with the command and tls provider plugins on a throwaway stack", { timeout: 180_000 }, () => {
    let workDir: string | undefined;
    let projectDir = "";
    let packDir = "";
    let env: NodeJS.ProcessEnv = {};
    let stackCreated = false;

    after(async () => {
        try {
            if (stackCreated) {
                await runPulumi(["destroy", "--yes", "--skip-preview", "--stack", providerStack], { cwd: projectDir, env });
                await runPulumi(["stack", "rm", "--yes", "--force", "--stack", providerStack], { cwd: projectDir, env });
            }
        } finally {
            if (packDir && fs.existsSync(packDir)) fs.rmSync(policyLauncherPath(packDir), { force: true });
            removeDir(workDir);
        }
    });

    it("tls.PrivateKey + command.local.Command: preview, up, no-change, secret output, encrypted state, policy pack, destroy",
        { skip: providerSkipReason || false }, async () => {
            if (statusProblem) throw new Error(statusProblem);
            // Plugins live in the repo's PULUMI_HOME (registered by setup); state goes to a temp backend.
            requireEngine(path.join(repoRoot, ".pulumi"));
            workDir = makeTempDir("engine-providers");
            projectDir = path.join(workDir, "project");
            packDir = path.join(workDir, "policy-pack");
            const stateDir = path.join(workDir, "state");
            for (const dir of [projectDir, packDir, stateDir]) fs.mkdirSync(dir);
            env = {
                PULUMI_HOME: path.join(repoRoot, ".pulumi"),
                PULUMI_BACKEND_URL: `file://${stateDir}`,
                PULUMI_CONFIG_PASSPHRASE: "engine-test-only",
                PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
            };
            writeFiles(projectDir, {
                "Pulumi.yaml": `name: ${providerProject}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`,
                "package.json": JSON.stringify({ name: providerProject, private: true, main: "index.ts" }, null, 2),
                "tsconfig.json": throwawayTsconfig,
                "index.ts": providerProgram,
            });
            linkRepoNodeModules(projectDir);
            writeFiles(packDir, {
                "PulumiPolicy.yaml": "runtime: nodejs\ndescription: Smoke-test pack for the engine integration test\n",
                "package.json": JSON.stringify({ name: "engine-smoke-policies", version: "0.0.1", main: "index.ts" }, null, 2),
                "tsconfig.json": throwawayTsconfig,
                "index.ts": providerPolicyPack,
            });
            linkRepoNodeModules(packDir);
            const opts = { cwd: projectDir, env };

            await runPulumiOk(["stack", "init", providerStack], opts);
            stackCreated = true;
            const preview = await runPulumiOk(["preview", "--stack", providerStack, "--json"], opts);
            // the stack itself, the key and the command
            assert.equal((JSON.parse(preview.stdout) as { changeSummary?: Record<string, number> }).changeSummary?.create, 3, preview.stdout);

            await runPulumiOk(["up", "--yes", "--skip-preview", "--stack", providerStack], opts);
            const again = await runPulumi(["preview", "--expect-no-changes", "--stack", providerStack], opts);
            assert.equal(again.code, 0, `expected no changes:\n${output(again)}`);
            const secondUp = await runUpdate(["up", "--yes", "--skip-preview", "--stack", providerStack], opts, providerStack);
            assert.deepEqual(secondUp.resourceChanges, { same: 3 });

            const outputs = JSON.parse((await runPulumiOk(["stack", "output", "--json", "--stack", providerStack], opts)).stdout) as Record<string, string>;
            assert.equal(outputs.greeting, "hello");
            // Commands (and relative FileAsset paths) resolve against the project directory.
            assert.equal(outputs.workingDir, fs.realpathSync(projectDir));
            assert.match(outputs.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
            assert.equal(outputs.privateKeyPem, "[secret]");

            const exported = await runPulumiOk(["stack", "export", "--stack", providerStack], opts);
            const onDisk = fs.readFileSync(path.join(stateDir, ".pulumi", "stacks", providerProject, `${providerStack}.json`), "utf8");
            for (const text of [exported.stdout, onDisk]) {
                assert.doesNotMatch(text, /PRIVATE KEY-----/);
                assert.match(text, /"ciphertext"/);
            }

            const policy = await previewWithPolicyPack(projectDir, packDir, providerStack, [violatedPolicy, passingPolicy], env);
            assert.notEqual(policy.code, 0, `preview should fail:\n${output(policy)}`);
            assert.deepEqual(policy.violatedPolicies, [violatedPolicy], output(policy));

            await runPulumiOk(["destroy", "--yes", "--skip-preview", "--stack", providerStack], opts);
            await runPulumiOk(["stack", "rm", "--yes", "--stack", providerStack], opts);
            stackCreated = false;
        });
});
