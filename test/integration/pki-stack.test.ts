// The project's own Pki component (components/pki) deployed for real through the engine and
// the project's tls provider: the chain verifies with openssl, private keys exist in state only
// as ciphertext, a second `up` changes nothing, and a server certificate inside its early-renewal
// window is re-issued by the next plain `up` (no --refresh): exactly that leaf, never a CA.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { deploymentGate, repoRoot, requireEngine } from "./engine-helpers";
import { pkiProgram, ThrowawayStack } from "./throwaway-project";

const { problem: statusProblem, skipReason } = deploymentGate();

const stack = "pki";

interface StateResource { urn: string; type: string; outputs?: Record<string, unknown> }

const pemBlocks = (text: string): string[] => text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];

describe("the Pki component deployed for real (engine + the project's tls provider)", { timeout: 300_000 }, () => {
    let lab: ThrowawayStack | undefined;
    after(() => lab?.cleanup());

    it("up, openssl-verified chain, ciphertext-only keys, no-op up, renewal of exactly the leaf inside its window, destroy",
        { skip: skipReason || false }, async () => {
            if (statusProblem) throw new Error(statusProblem);
            requireEngine(path.join(repoRoot, ".pulumi"));
            lab = new ThrowawayStack("pki-stack", stack, () => pkiProgram);
            const { work, stateFile } = lab;
            const file = (name: string, text: string): string => {
                const p = path.join(work, name);
                fs.writeFileSync(p, text, { mode: 0o600 });
                return p;
            };
            const openssl = (...args: string[]): string => execFileSync("openssl", args, { encoding: "utf8" });

            await lab.init();
            const first = await lab.update(["up"]);
            assert.equal(first.result, "succeeded");
            const total = first.resourceChanges.create;
            assert.ok(total >= 20, `expected the whole PKI, got ${JSON.stringify(first.resourceChanges)}`);

            // The chain, as nginx and app teams receive it.
            const out = JSON.parse((await lab.run(["stack", "output", "--json", "--show-secrets"])).stdout) as Record<string, string>;
            const [root, intermediate] = pemBlocks(out.caBundlePem);
            const [leaf, chainIntermediate] = pemBlocks(out.serverChainPem);
            assert.equal(chainIntermediate, intermediate, "the server chain carries the intermediate");
            const rootFile = file("root.pem", root);
            const interFile = file("inter.pem", intermediate);
            const verify = (leafPem: string): string =>
                openssl("verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", rootFile, "-untrusted", interFile, file("leaf.pem", leafPem));
            assert.match(verify(leaf), /: OK/);
            assert.match(openssl("verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", file("client-ca.pem", out.clientCaPem), file("client.pem", out.clientCertPem)), /: OK/);
            assert.match(openssl("x509", "-noout", "-ext", "subjectAltName", "-in", file("leaf.pem", leaf)), /DNS:api\.tier\.test, IP Address:198\.18\.0\.10/);
            const pub = (args: string[]): string => openssl(...args);
            assert.equal(pub(["pkey", "-pubout", "-in", file("key.pem", out.serverKeyPem)]), pub(["x509", "-noout", "-pubkey", "-in", file("leaf.pem", leaf)]),
                "the server key belongs to the server certificate");

            // Private keys are in state only as ciphertext, and plain outputs show them as [secret].
            const plain = JSON.parse((await lab.run(["stack", "output", "--json"])).stdout) as Record<string, string>;
            assert.equal(plain.serverKeyPem, "[secret]");
            assert.equal(plain.clientKeyPem, "[secret]");
            const exported = (await lab.run(["stack", "export"])).stdout;
            for (const text of [exported, fs.readFileSync(stateFile, "utf8")]) {
                assert.doesNotMatch(text, /PRIVATE KEY-----/);
                assert.match(text, /"ciphertext"/);
            }

            const again = await lab.update(["up"]);
            assert.deepEqual(again.resourceChanges, { same: total }, "a second up changes nothing");

            // Time passes: the server certificate is now one hour from expiry, inside its 30-day
            // window. The provider judges by the recorded validityEndTime, so the state is moved on.
            const deployment = JSON.parse(exported) as { deployment: { resources: StateResource[] } };
            const certs = deployment.deployment.resources.filter((r) => r.type.startsWith("tls:index/") && r.type.endsWith("Cert"));
            const serverCert = certs.find((r) => r.urn.includes("tier-server-public-cert"));
            assert.ok(serverCert?.outputs, "the server certificate is in state");
            serverCert.outputs.validityEndTime = new Date(Date.now() + 3_600_000).toISOString();
            await lab.run(["stack", "import", "--file", file("aged.json", JSON.stringify(deployment))]);
            const renewed = await lab.update(["up"]);
            assert.deepEqual(renewed.resourceChanges, { replace: 1, same: total - 1 }, "only the leaf is re-issued");

            const after = JSON.parse((await lab.run(["stack", "export"])).stdout) as { deployment: { resources: StateResource[] } };
            for (const before of certs) {
                const now = after.deployment.resources.find((r) => r.urn === before.urn)!;
                if (before.urn === serverCert.urn) assert.notEqual(now.outputs!.certPem, before.outputs!.certPem, "the leaf was re-issued");
                else assert.equal(now.outputs!.certPem, before.outputs!.certPem, `${before.urn} must not change`);
            }
            const renewedOut = JSON.parse((await lab.run(["stack", "output", "--json"])).stdout) as Record<string, string>;
            const [newLeaf] = pemBlocks(renewedOut.serverChainPem);
            assert.notEqual(newLeaf, leaf);
            assert.match(verify(newLeaf), /: OK/, "the re-issued leaf verifies against the same CAs");
            assert.equal(pub(["x509", "-noout", "-pubkey", "-in", file("leaf.pem", newLeaf)]), pub(["pkey", "-pubout", "-in", file("key.pem", out.serverKeyPem)]),
                "same key: rotation re-issues the certificate, the key stays");

            const destroyed = await lab.remove();
            assert.deepEqual(destroyed.resourceChanges, { delete: total });
        });
});
