import * as assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { fakeCertPem, fakeKeyPem, setupMocks, TYPES, type Recorder } from "./mocks";
import { CLIENTS, ENDPOINTS, resolveOutputs } from "./harness";

let recorder: Recorder;
let pki: import("../../../components/pki/pki").Pki;
let resolved: Awaited<ReturnType<typeof resolveOutputs>>;

before(async () => {
    recorder = setupMocks();
    const { Pki } = await import("../../../components/pki/pki");
    pki = new Pki("sec", { endpoints: ENDPOINTS, clients: CLIENTS });
    resolved = await resolveOutputs(pki);
});

describe("Pki secrets", () => {
    it("every server privateKeyPem output is a Pulumi secret holding that endpoint's key", async () => {
        assert.deepEqual(Object.keys(pki.serverCertificates).sort(), ENDPOINTS.map((e) => e.name).sort());
        for (const [name, out] of Object.entries(pki.serverCertificates)) {
            assert.equal(await pulumi.isSecret(out.privateKeyPem), true, `${name} key must be secret`);
            assert.equal(resolved.server[name]!.privateKeyPem, fakeKeyPem(`sec-server-${name}-key`));
        }
    });

    it("every client privateKeyPem output is a Pulumi secret holding that app's key", async () => {
        assert.deepEqual(Object.keys(pki.clientCertificates).sort(), CLIENTS.map((c) => c.name).sort());
        for (const [name, out] of Object.entries(pki.clientCertificates)) {
            assert.equal(await pulumi.isSecret(out.privateKeyPem), true, `${name} key must be secret`);
            assert.equal(resolved.client[name]!.privateKeyPem, fakeKeyPem(`sec-client-${name}-key`));
        }
    });

    it("no key travels to a tls resource as a plain input", () => {
        for (const r of recorder.ofType(TYPES.certRequest, "sec-").concat(recorder.ofType(TYPES.selfSignedCert, "sec-"))) {
            assert.ok(r.secretInputs.includes("privateKeyPem"), `${r.name} privateKeyPem input`);
        }
        for (const r of recorder.ofType(TYPES.locallySignedCert, "sec-")) {
            assert.ok(r.secretInputs.includes("caPrivateKeyPem"), `${r.name} caPrivateKeyPem input`);
        }
    });

    it("public outputs are not secret and carry no private key", async () => {
        const publicOutputs: [string, pulumi.Output<string>][] = [
            ["caBundlePem", pki.caBundlePem], ["clientCaPem", pki.clientCaPem],
            ...Object.entries(pki.serverCertificates).map(([n, o]) => [`server ${n}`, o.certificateChainPem] as [string, pulumi.Output<string>]),
            ...Object.entries(pki.clientCertificates).map(([n, o]) => [`client ${n}`, o.certificatePem] as [string, pulumi.Output<string>]),
        ];
        const allKeys = recorder.ofType(TYPES.privateKey, "sec-").map((r) => fakeKeyPem(r.name));
        assert.equal(allKeys.length, 3 + ENDPOINTS.length + CLIENTS.length);
        for (const [label, output] of publicOutputs) {
            assert.equal(await pulumi.isSecret(output), false, `${label} should stay readable`);
        }
        const texts = [
            resolved.caBundlePem, resolved.clientCaPem, JSON.stringify(pki.rotation),
            ...Object.values(resolved.server).map((s) => s.certificateChainPem),
            ...Object.values(resolved.client).map((c) => c.certificatePem),
        ];
        for (const text of texts) {
            assert.doesNotMatch(text, /PRIVATE KEY/);
            for (const key of allKeys) assert.ok(!text.includes(key));
        }
    });

    it("caBundlePem is root then intermediate; each server chain is its leaf then the intermediate", () => {
        assert.equal(resolved.caBundlePem, fakeCertPem("sec-root-ca-cert") + fakeCertPem("sec-intermediate-ca-cert"));
        for (const e of ENDPOINTS) {
            assert.equal(resolved.server[e.name]!.certificateChainPem,
                fakeCertPem(`sec-server-${e.name}-cert`) + fakeCertPem("sec-intermediate-ca-cert"));
        }
        assert.equal(resolved.clientCaPem, fakeCertPem("sec-client-ca-cert"));
        for (const c of CLIENTS) assert.equal(resolved.client[c.name]!.certificatePem, fakeCertPem(`sec-client-${c.name}-cert`));
    });

    it("exposes no CA key: no public property of the Pki resolves to one", async () => {
        const caKeys = ["root-ca", "intermediate-ca", "client-ca"].map((ca) => fakeKeyPem(`sec-${ca}-key`));
        const everything = JSON.stringify({ ...resolved, rotation: pki.rotation });
        for (const key of caKeys) assert.ok(!everything.includes(key));
    });
});
