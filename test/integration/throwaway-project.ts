// Throwaway Pulumi projects deployed through the real engine and the registered tls/command
// plugins: the project's own Pki component (test/integration/pki-stack.test.ts) and a minimal
// tls + command program; both timed by test/bench/provider-bench.ts.
import * as fs from "node:fs";
import * as path from "node:path";
import { linkRepoNodeModules, repoRoot } from "./engine-helpers";

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
