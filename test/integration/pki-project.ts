// A throwaway Pulumi project that deploys the project's own Pki component (components/pki) with
// the tls provider, used by test/integration/pki-stack.test.ts and test/bench/provider-bench.ts.
import * as fs from "node:fs";
import * as path from "node:path";
import { linkRepoNodeModules, repoRoot } from "./engine-helpers";

export const pkiProject = "apiproxy-pki-stack";

const program = `import { Pki } from ${JSON.stringify(path.join(repoRoot, "components", "pki", "pki"))};

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

/**
 * Writes the project into `projectDir` (created) and returns the environment for bin/pulumi:
 * the repo's PULUMI_HOME (registered plugins), a file backend in `stateDir`, a test passphrase.
 */
export function writePkiProject(projectDir: string, stateDir: string): NodeJS.ProcessEnv {
    fs.mkdirSync(projectDir, { recursive: true });
    fs.mkdirSync(stateDir, { recursive: true });
    fs.writeFileSync(path.join(projectDir, "Pulumi.yaml"), `name: ${pkiProject}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`);
    fs.writeFileSync(path.join(projectDir, "package.json"), JSON.stringify({ name: pkiProject, private: true, main: "index.ts" }));
    fs.writeFileSync(path.join(projectDir, "tsconfig.json"), JSON.stringify({
        compilerOptions: { strict: true, target: "ES2022", module: "commonjs", moduleResolution: "node", esModuleInterop: true, skipLibCheck: true },
    }));
    fs.writeFileSync(path.join(projectDir, "index.ts"), program);
    linkRepoNodeModules(projectDir);
    return {
        PULUMI_HOME: path.join(repoRoot, ".pulumi"),
        PULUMI_BACKEND_URL: `file://${stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: "pki-stack-test-only",
        PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
    };
}
