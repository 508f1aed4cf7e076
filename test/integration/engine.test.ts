// The real Pulumi engine, driven through bin/pulumi, in two parts:
//  1. Always run (the CLI alone, no language host): setup's status file, the CLI version, and
//     the wrapper's offline environment (file backend, project-local PULUMI_HOME, passphrase
//     secrets provider with a generated 0600 passphrase) exercised by real CLI commands.
//     A missing status or CLI fails these with "run npm run setup".
//  2. A full deployment (preview, up, no-change up, outputs, encrypted state, a CrossGuard pack,
//     destroy). Runs when .tools/engine-status.json says the engine is complete; when setup
//     recorded parts as unobtainable, each test is skipped with the recorded reason (the exact
//     module-proxy error), so the output says why. A missing or stale status fails them.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import {
    engineIncompleteReason,
    engineStatusFile,
    engineStatusProblem,
    engineVersionsFile,
    linkRepoNodeModules,
    makeTempDir,
    previewWithPolicyPack,
    pulumiWrapper,
    PulumiResult,
    readEngineStatus,
    removeDir,
    repoRoot,
    requireEngine,
    runPulumi,
    runPulumiOk,
} from "./engine-helpers";

const status = readEngineStatus();
const statusProblem = engineStatusProblem(status);
const pinnedCliVersion = (JSON.parse(fs.readFileSync(engineVersionsFile, "utf8")) as { cli: { version: string } }).cli.version;

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

// --- full deployment -----------------------------------------------------------------------

const deployStack = "engine-test";
const projectName = "engine-smoke";
const violatedPolicy = "private-keys-must-be-rsa";
const passingPolicy = "local-commands-must-have-create";

const program = `import * as command from "@pulumi/command";
import * as tls from "@pulumi/tls";

const key = new tls.PrivateKey("key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
const hello = new command.local.Command("hello", { create: "echo hello" });

export const publicKeyPem = key.publicKeyPem;
export const privateKeyPem = key.privateKeyPem;
export const greeting = hello.stdout;
`;

const policyPack = `import { PolicyPack, validateResourceOfType } from "@pulumi/policy";
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

// Skip only on a trustworthy status that records the engine as incomplete; a missing or stale
// status runs the tests, which then fail with "run npm run setup".
const skipReason = !statusProblem && status ? engineIncompleteReason(status) : "";
const deployIt = (name: string, fn: () => Promise<void>): void => {
    if (skipReason) it(name, { skip: skipReason }, fn);
    else it(name, fn);
};

describe("full deployment on a throwaway stack (language host + command/tls plugins)", { timeout: 180_000 }, () => {
    let workDir: string | undefined;
    let projectDir = "";
    let packDir = "";
    let env: NodeJS.ProcessEnv = {};
    let stackCreated = false;
    // Set when the engine is missing: every test then fails with it.
    let engineProblem: Error | undefined;
    const needEngine = (): void => {
        if (engineProblem) throw engineProblem;
    };

    before(() => {
        if (skipReason) return;
        try {
            if (statusProblem) throw new Error(statusProblem);
            // Plugins live in the repo's PULUMI_HOME (registered by setup); state goes to a temp backend.
            requireEngine(path.join(repoRoot, ".pulumi"));
        } catch (error) {
            engineProblem = error as Error;
            return;
        }
        workDir = makeTempDir("engine-test");
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
            "Pulumi.yaml": `name: ${projectName}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`,
            "package.json": JSON.stringify({ name: projectName, private: true, main: "index.ts" }, null, 2),
            "index.ts": program,
        });
        linkRepoNodeModules(projectDir);

        writeFiles(packDir, {
            "PulumiPolicy.yaml": "runtime: nodejs\ndescription: Smoke-test pack for the engine integration test\n",
            "package.json": JSON.stringify({ name: "engine-smoke-policies", version: "0.0.1", main: "index.ts" }, null, 2),
            "index.ts": policyPack,
        });
        linkRepoNodeModules(packDir);
    });

    after(async () => {
        try {
            if (stackCreated) {
                await runPulumi(["destroy", "--yes", "--stack", deployStack], { cwd: projectDir, env });
                await runPulumi(["stack", "rm", "--yes", "--force", "--stack", deployStack], { cwd: projectDir, env });
            }
        } finally {
            removeDir(workDir);
        }
    });

    deployIt("creates a stack and previews three creates", async () => {
        needEngine();
        await runPulumiOk(["stack", "init", deployStack], { cwd: projectDir, env });
        stackCreated = true;
        const preview = await runPulumiOk(["preview", "--stack", deployStack, "--json"], { cwd: projectDir, env });
        const summary = (JSON.parse(preview.stdout) as { changeSummary?: Record<string, number> }).changeSummary;
        // the stack itself, the key and the command
        assert.equal(summary?.create, 3, preview.stdout);
    });

    deployIt("deploys, then a second run reports no changes", async () => {
        needEngine();
        await runPulumiOk(["up", "--yes", "--skip-preview", "--stack", deployStack], { cwd: projectDir, env });
        const again = await runPulumi(["preview", "--expect-no-changes", "--stack", deployStack], { cwd: projectDir, env });
        assert.equal(again.code, 0, `expected no changes:\n${again.stdout}\n${again.stderr}`);
        const secondUp = await runPulumiOk(["up", "--yes", "--skip-preview", "--stack", deployStack], { cwd: projectDir, env });
        assert.doesNotMatch(secondUp.stdout, /\d+ to (create|update|delete|replace)|created|updated|deleted/);
    });

    deployIt("exports the outputs, with the private key kept secret", async () => {
        needEngine();
        const out = await runPulumiOk(["stack", "output", "--json", "--stack", deployStack], { cwd: projectDir, env });
        const outputs = JSON.parse(out.stdout) as Record<string, string>;
        assert.equal(outputs.greeting, "hello");
        assert.match(outputs.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
        assert.equal(outputs.privateKeyPem, "[secret]");
    });

    deployIt("stores the private key encrypted in the state", async () => {
        needEngine();
        const exported = await runPulumiOk(["stack", "export", "--stack", deployStack], { cwd: projectDir, env });
        assert.doesNotMatch(exported.stdout, /PRIVATE KEY-----/);
        assert.match(exported.stdout, /"ciphertext"/);
        const stateFile = path.join(workDir ?? "", "state", ".pulumi", "stacks", projectName, `${deployStack}.json`);
        const onDisk = fs.readFileSync(stateFile, "utf8");
        assert.doesNotMatch(onDisk, /PRIVATE KEY-----/);
        assert.match(onDisk, /"ciphertext"/);
    });

    deployIt("blocks the preview on a violated mandatory policy and names it", async () => {
        needEngine();
        const result = await previewWithPolicyPack(projectDir, packDir, deployStack, [violatedPolicy, passingPolicy], env);
        assert.notEqual(result.code, 0, `preview should fail:\n${result.stdout}\n${result.stderr}`);
        assert.deepEqual(result.violatedPolicies, [violatedPolicy], `${result.stdout}\n${result.stderr}`);
    });

    deployIt("destroys the resources and removes the stack", async () => {
        needEngine();
        await runPulumiOk(["destroy", "--yes", "--skip-preview", "--stack", deployStack], { cwd: projectDir, env });
        await runPulumiOk(["stack", "rm", "--yes", "--stack", deployStack], { cwd: projectDir, env });
        stackCreated = false;
    });
});
