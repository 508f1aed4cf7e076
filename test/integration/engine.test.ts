// The real engine end to end on a throwaway stack: preview, up, idempotent up, outputs,
// secrets encrypted in state, a CrossGuard pack, destroy. Needs `npm run setup`; without it
// the suite fails with that instruction (never skips).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import {
    linkRepoNodeModules,
    makeTempDir,
    previewWithPolicyPack,
    removeDir,
    repoRoot,
    requireEngine,
    runPulumi,
    runPulumiOk,
} from "./engine-helpers";

const stack = "engine-test";
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

function writeFiles(dir: string, files: Record<string, string>): void {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
}

describe("real Pulumi engine (bin/pulumi, local file backend)", { timeout: 180_000 }, () => {
    let workDir: string | undefined;
    let projectDir = "";
    let packDir = "";
    let env: NodeJS.ProcessEnv = {};
    let stackCreated = false;
    // Set when the engine is missing: every test then fails with it (reported as failures, not
    // as a cancelled suite, so the runner's summary counts them).
    let engineProblem: Error | undefined;
    const needEngine = (): void => {
        if (engineProblem) throw engineProblem;
    };

    before(() => {
        // Plugins live in the repo's PULUMI_HOME (registered by setup); state goes to a temp backend.
        try {
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
            PULUMI_CONFIG_PASSPHRASE_FILE: "",
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
                await runPulumi(["destroy", "--yes", "--stack", stack], { cwd: projectDir, env });
                await runPulumi(["stack", "rm", "--yes", "--force", "--stack", stack], { cwd: projectDir, env });
            }
        } finally {
            removeDir(workDir);
        }
    });

    it("creates a stack and previews three creates", async () => {
        needEngine();
        await runPulumiOk(["stack", "init", stack], { cwd: projectDir, env });
        stackCreated = true;
        const preview = await runPulumiOk(["preview", "--stack", stack, "--json"], { cwd: projectDir, env });
        const summary = (JSON.parse(preview.stdout) as { changeSummary?: Record<string, number> }).changeSummary;
        // the stack itself, the key and the command
        assert.equal(summary?.create, 3, preview.stdout);
    });

    it("deploys, then a second run reports no changes", async () => {
        needEngine();
        await runPulumiOk(["up", "--yes", "--skip-preview", "--stack", stack], { cwd: projectDir, env });
        const again = await runPulumi(["preview", "--expect-no-changes", "--stack", stack], { cwd: projectDir, env });
        assert.equal(again.code, 0, `expected no changes:\n${again.stdout}\n${again.stderr}`);
        const secondUp = await runPulumiOk(["up", "--yes", "--skip-preview", "--stack", stack], { cwd: projectDir, env });
        assert.doesNotMatch(secondUp.stdout, /\d+ to (create|update|delete|replace)|created|updated|deleted/);
    });

    it("exports the outputs, with the private key kept secret", async () => {
        needEngine();
        const out = await runPulumiOk(["stack", "output", "--json", "--stack", stack], { cwd: projectDir, env });
        const outputs = JSON.parse(out.stdout) as Record<string, string>;
        assert.equal(outputs.greeting, "hello");
        assert.match(outputs.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
        assert.equal(outputs.privateKeyPem, "[secret]");
    });

    it("stores the private key encrypted in the state", async () => {
        needEngine();
        const exported = await runPulumiOk(["stack", "export", "--stack", stack], { cwd: projectDir, env });
        assert.doesNotMatch(exported.stdout, /PRIVATE KEY-----/);
        assert.match(exported.stdout, /"ciphertext"/);
        const stateFile = path.join(workDir ?? "", "state", ".pulumi", "stacks", projectName, `${stack}.json`);
        const onDisk = fs.readFileSync(stateFile, "utf8");
        assert.doesNotMatch(onDisk, /PRIVATE KEY-----/);
        assert.match(onDisk, /"ciphertext"/);
    });

    it("blocks the preview on a violated mandatory policy and names it", async () => {
        needEngine();
        const result = await previewWithPolicyPack(projectDir, packDir, stack, [violatedPolicy, passingPolicy], env);
        assert.notEqual(result.code, 0, `preview should fail:\n${result.stdout}\n${result.stderr}`);
        assert.deepEqual(result.violatedPolicies, [violatedPolicy], `${result.stdout}\n${result.stderr}`);
    });

    it("destroys the resources and removes the stack", async () => {
        needEngine();
        await runPulumiOk(["destroy", "--yes", "--skip-preview", "--stack", stack], { cwd: projectDir, env });
        await runPulumiOk(["stack", "rm", "--yes", "--stack", stack], { cwd: projectDir, env });
        stackCreated = false;
    });
});
