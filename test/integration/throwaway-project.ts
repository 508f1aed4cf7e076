// Throwaway Pulumi projects deployed through the real engine and the registered tls/command
// plugins: the project's own Pki component (test/integration/pki-stack.test.ts) and a minimal
// tls + command program; both timed by test/bench/provider-bench.ts.
import * as fs from "node:fs";
import * as path from "node:path";
import {
    linkRepoNodeModules, makeTempDir, removeDir, repoRoot, runPulumi, runPulumiOk, runUpdate, type PulumiResult, type RunOptions,
    type UpdateSummary,
} from "./engine-helpers";

export const throwawayProject = "apiproxy-throwaway";

/** The project's Pki component: root, intermediate, client CA, one server and one client certificate. */
export const pkiProgram = `import { Pki } from ${JSON.stringify(path.join(repoRoot, "components", "pki", "pki"))};

const pki = new Pki("tier", {
    endpoints: [{ name: "public", dnsNames: ["api.tier.test"], ipAddresses: ["198.18.0.10"] }],
    clients: [{ name: "payments", commonName: "payments-team" }],
});
export const caBundlePem = pki.caBundlePem;
export const clientCaPem = pki.clientCaPem;
export const serverChainPem = pki.serverCertificates["public"].certificateChainPem;
export const serverKeyPem = pki.serverCertificates["public"].privateKeyPem;
export const clientCertPem = pki.clientCertificates["payments"].certificatePem;
export const clientKeyPem = pki.clientCertificates["payments"].privateKeyPem;
`;

/** One key and one local command: the smallest stack that needs both plugins. */
export const minimalProgram = `import * as command from "@pulumi/command";
import * as tls from "@pulumi/tls";

const key = new tls.PrivateKey("key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
const hello = new command.local.Command("hello", { create: "echo hello" });
export const publicKeyPem = key.publicKeyPem;
export const greeting = hello.stdout;
`;

/** Packages of the local test containers: one set, so every test shares one cached rootfs. */
export { LOCAL_ROLE_PACKAGES as testPackages } from "../../components/targets/local/address-plan";

/**
 * Writes a project running `program` into `projectDir` (created) and returns the environment for bin/pulumi:
 * the repo's PULUMI_HOME (registered plugins), a file backend in `stateDir`, a test passphrase.
 */
export function writeThrowawayProject(projectDir: string, stateDir: string, program: string): NodeJS.ProcessEnv {
    fs.mkdirSync(projectDir, { recursive: true });
    fs.mkdirSync(stateDir, { recursive: true });
    fs.writeFileSync(path.join(projectDir, "Pulumi.yaml"), `name: ${throwawayProject}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`);
    fs.writeFileSync(path.join(projectDir, "package.json"), JSON.stringify({ name: throwawayProject, private: true, main: "index.ts" }));
    fs.writeFileSync(path.join(projectDir, "tsconfig.json"), JSON.stringify({
        compilerOptions: { strict: true, target: "ES2022", module: "commonjs", moduleResolution: "node", esModuleInterop: true, skipLibCheck: true },
    }));
    fs.writeFileSync(path.join(projectDir, "index.ts"), program);
    linkRepoNodeModules(projectDir);
    return {
        PULUMI_HOME: path.join(repoRoot, ".pulumi"),
        PULUMI_BACKEND_URL: `file://${stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: "throwaway-test-only",
        PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
    };
}

/**
 * One throwaway stack: a temp directory holding the project (running `program`, given the temp
 * directory for any paths it needs), a file backend and a test passphrase. `cleanup()` destroys
 * and removes the stack if a test left it, then the directory: call it from `after`, so a failing
 * test leaves nothing behind.
 */
export class ThrowawayStack {
    readonly work: string;
    readonly projectDir: string;
    readonly stateDir: string;
    readonly opts: RunOptions;
    private live = false;

    constructor(prefix: string, readonly stack: string, program: (work: string) => string, timeoutMs = 480_000) {
        this.work = makeTempDir(prefix);
        this.projectDir = path.join(this.work, "project");
        this.stateDir = path.join(this.work, "state");
        this.opts = { cwd: this.projectDir, env: writeThrowawayProject(this.projectDir, this.stateDir, program(this.work)), timeoutMs };
    }

    /** The stack's state file in the file backend. */
    get stateFile(): string {
        return path.join(this.stateDir, ".pulumi", "stacks", throwawayProject, `${this.stack}.json`);
    }

    async init(): Promise<void> {
        await runPulumiOk(["stack", "init", this.stack], this.opts);
        this.live = true;
    }

    /** A pulumi command on this stack; rejects with its output on a non-zero exit. */
    run(args: readonly string[]): Promise<PulumiResult> {
        return runPulumiOk([...args, "--stack", this.stack], this.opts);
    }

    /** A pulumi command on this stack, whatever its exit code. */
    attempt(args: readonly string[]): Promise<PulumiResult> {
        return runPulumi([...args, "--stack", this.stack], this.opts);
    }

    /** `up` / `destroy` / `refresh` (text display), then what it did (engine-helpers runUpdate). */
    update(args: readonly string[]): Promise<UpdateSummary> {
        return runUpdate([...args, "--yes", "--skip-preview", "--stack", this.stack], this.opts, this.stack);
    }

    /** destroy and `stack rm`: the test's own teardown, which cleanup() then need not repeat. */
    async remove(): Promise<UpdateSummary> {
        const destroyed = await this.update(["destroy"]);
        await this.run(["stack", "rm", "--yes"]);
        this.live = false;
        return destroyed;
    }

    async cleanup(): Promise<void> {
        try {
            if (this.live) {
                await this.attempt(["destroy", "--yes", "--skip-preview"]);
                await this.attempt(["stack", "rm", "--yes", "--force"]);
            }
        } finally {
            removeDir(this.work);
        }
    }
}
