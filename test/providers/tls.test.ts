// The project's tls provider against the real tools: openssl parses and verifies what it
// issues, ssh-keygen reads its OpenSSH forms; and its upstream semantics: every input
// replaces, a certificate inside its early-renewal window or past expiry is replaced by the
// next plan, private keys travel as secrets, bad input is refused by property.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeDir } from "../integration/engine-helpers";
import { isSecret, ProviderClient, reveal, secret, sig, type Props } from "./harness";

const T = {
    key: "tls:index/privateKey:PrivateKey",
    self: "tls:index/selfSignedCert:SelfSignedCert",
    csr: "tls:index/certRequest:CertRequest",
    signed: "tls:index/locallySignedCert:LocallySignedCert",
};

let dir = "";
function file(name: string, content: string): string {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content, { mode: 0o600 });
    return p;
}
const run = (cmd: string, args: string[], input?: string): string =>
    execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
const x509Text = (pem: string): string => run("openssl", ["x509", "-noout", "-text", "-in", file("cert.pem", pem)]);

describe("tls provider: keys, certificates and chains checked with openssl and ssh-keygen", { timeout: 180_000 }, () => {
    let tls: ProviderClient;
    before(async () => {
        dir = makeTempDir("tls-provider");
        tls = await ProviderClient.start("tls");
    });
    after(() => {
        tls?.close();
        removeDir(dir);
    });

    const keyCases: { args: Props; opensslType: RegExp; sshType?: string }[] = [
        { args: { algorithm: "RSA", rsaBits: 2048 }, opensslType: /^Private-Key: \(2048 bit, 2 primes\)\nmodulus/, sshType: "ssh-rsa" },
        { args: { algorithm: "RSA", rsaBits: 4096 }, opensslType: /^Private-Key: \(4096 bit, 2 primes\)\nmodulus/, sshType: "ssh-rsa" },
        { args: { algorithm: "ECDSA", ecdsaCurve: "P224" }, opensslType: /Private-Key: \(224 bit/ },
        { args: { algorithm: "ECDSA", ecdsaCurve: "P256" }, opensslType: /NIST CURVE: P-256/, sshType: "ecdsa-sha2-nistp256" },
        { args: { algorithm: "ECDSA", ecdsaCurve: "P384" }, opensslType: /NIST CURVE: P-384/, sshType: "ecdsa-sha2-nistp384" },
        { args: { algorithm: "ECDSA", ecdsaCurve: "P521" }, opensslType: /NIST CURVE: P-521/, sshType: "ecdsa-sha2-nistp521" },
        { args: { algorithm: "ED25519" }, opensslType: /ED25519 Private-Key/, sshType: "ssh-ed25519" },
    ];
    for (const c of keyCases) {
        it(`PrivateKey ${JSON.stringify(c.args)}: every encoding parses and agrees; private forms are secrets`, async () => {
            const { outputs, id } = await tls.provision(T.key, c.args);
            for (const k of ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"]) assert.ok(isSecret(outputs[k]), `${k} is a secret`);
            for (const k of ["publicKeyPem", "publicKeyOpenssh", "publicKeyFingerprintSha256"]) assert.ok(!isSecret(outputs[k]), `${k} is public`);
            const pem = reveal<string>(outputs.privateKeyPem);
            const pkcs8 = reveal<string>(outputs.privateKeyPemPkcs8);
            assert.match(pkcs8, /^-----BEGIN PRIVATE KEY-----\n/);
            assert.match(pem, c.args.algorithm === "RSA" ? /^-----BEGIN RSA PRIVATE KEY-----/ : c.args.algorithm === "ECDSA" ? /^-----BEGIN EC PRIVATE KEY-----/ : /^-----BEGIN PRIVATE KEY-----/);
            assert.match(run("openssl", ["pkey", "-noout", "-text", "-in", file("k.pem", pem)]), c.opensslType);
            const pubFromPem = run("openssl", ["pkey", "-pubout", "-in", file("k.pem", pem)]);
            const pubFromPkcs8 = run("openssl", ["pkey", "-pubout", "-in", file("k8.pem", pkcs8)]);
            assert.equal(pubFromPem, outputs.publicKeyPem);
            assert.equal(pubFromPkcs8, outputs.publicKeyPem);
            assert.match(id, /^[0-9a-f]{40}$/);
            if (!c.sshType) {
                // OpenSSH has no P-224 key type: empty, as upstream.
                for (const k of ["privateKeyOpenssh", "publicKeyOpenssh", "publicKeyFingerprintMd5", "publicKeyFingerprintSha256"]) {
                    assert.equal(reveal(outputs[k]), "", k);
                }
                return;
            }
            const openssh = file("id", reveal<string>(outputs.privateKeyOpenssh));
            const derived = run("ssh-keygen", ["-y", "-f", openssh]).trim();
            const publicLine = String(outputs.publicKeyOpenssh);
            assert.ok(publicLine.endsWith("\n"), "authorized_keys line ends with a newline");
            assert.equal(derived, publicLine.trim());
            assert.ok(publicLine.startsWith(`${c.sshType} `));
            const pubFile = file("id.pub", publicLine);
            assert.ok(run("ssh-keygen", ["-l", "-E", "sha256", "-f", pubFile]).includes(String(outputs.publicKeyFingerprintSha256)));
            assert.ok(run("ssh-keygen", ["-l", "-E", "md5", "-f", pubFile]).includes(`MD5:${String(outputs.publicKeyFingerprintMd5)}`));
        });
    }

    it("a three-level chain (root, intermediate via CSR, leaf with SANs) verifies with openssl; extensions as asked", async () => {
        const rootKey = reveal<string>((await tls.provision(T.key, { algorithm: "ECDSA", ecdsaCurve: "P384" })).outputs.privateKeyPem);
        const root = await tls.provision(T.self, {
            privateKeyPem: secret(rootKey), isCaCertificate: true, maxPathLength: 1, setSubjectKeyId: true, setAuthorityKeyId: true,
            allowedUses: ["cert_signing", "crl_signing"], validityPeriodHours: 240, earlyRenewalHours: 24,
            subject: { commonName: "Test Root", organization: "api-proxy-security", country: "NL", organizationalUnit: "tier" },
        });
        assert.ok(isSecret(root.outputs.privateKeyPem), "the key input stays secret in the outputs");
        assert.equal(root.outputs.keyAlgorithm, "ECDSA");
        assert.match(root.id, /^\d+$/, "id is the serial number");

        const interKey = reveal<string>((await tls.provision(T.key, { algorithm: "RSA", rsaBits: 3072 })).outputs.privateKeyPem);
        const interCsr = await tls.provision(T.csr, { privateKeyPem: interKey, subject: { commonName: "Test Intermediate" } });
        assert.equal(interCsr.outputs.keyAlgorithm, "RSA");
        assert.match(run("openssl", ["req", "-noout", "-verify", "-in", file("i.csr", String(interCsr.outputs.certRequestPem))], ""), /.*/);
        const inter = await tls.provision(T.signed, {
            certRequestPem: interCsr.outputs.certRequestPem, caCertPem: root.outputs.certPem, caPrivateKeyPem: secret(rootKey),
            isCaCertificate: true, allowedUses: ["cert_signing", "crl_signing"], validityPeriodHours: 120, earlyRenewalHours: 24,
        });
        assert.equal(inter.outputs.caKeyAlgorithm, "ECDSA");

        const leafKey = reveal<string>((await tls.provision(T.key, { algorithm: "ECDSA", ecdsaCurve: "P256" })).outputs.privateKeyPem);
        const leafCsr = await tls.provision(T.csr, {
            privateKeyPem: leafKey, subject: { commonName: "api.tier.example", emailAddress: "ops@tier.example" },
            dnsNames: ["api.tier.example", "*.api.tier.example"], ipAddresses: ["198.18.0.10", "2001:db8::10"], uris: ["spiffe://tier.example/proxy-a"],
        });
        const leaf = await tls.provision(T.signed, {
            certRequestPem: leafCsr.outputs.certRequestPem, caCertPem: inter.outputs.certPem, caPrivateKeyPem: interKey,
            allowedUses: ["digital_signature", "server_auth", "client_auth"], validityPeriodHours: 48, earlyRenewalHours: 12, setSubjectKeyId: true,
        });
        assert.equal(leaf.outputs.caKeyAlgorithm, "RSA");
        assert.equal(leaf.outputs.readyForRenewal, false);

        const rootFile = file("root.pem", String(root.outputs.certPem));
        const interFile = file("inter.pem", String(inter.outputs.certPem));
        const leafFile = file("leaf.pem", String(leaf.outputs.certPem));
        assert.match(run("openssl", ["verify", "-x509_strict", "-CAfile", rootFile, "-untrusted", interFile, leafFile]), /leaf\.pem: OK/);
        // The leaf does not verify against the root alone, nor against another root.
        assert.throws(() => run("openssl", ["verify", "-CAfile", rootFile, leafFile]));

        const rootText = x509Text(String(root.outputs.certPem));
        assert.match(rootText, /CA:TRUE, pathlen:1/);
        assert.match(rootText, /X509v3 Basic Constraints: critical/);
        assert.match(rootText, /Certificate Sign, CRL Sign/);
        assert.match(rootText, /Subject: C = NL, O = api-proxy-security, OU = tier, CN = Test Root/);
        const rootSki = /Subject Key Identifier: *\n\s*([0-9A-F:]+)/.exec(rootText)![1];
        assert.match(rootText, new RegExp(`Authority Key Identifier: *\\n\\s*(keyid:)?${rootSki}`), "self-signed AKI = its SKI");

        const interText = x509Text(String(inter.outputs.certPem));
        assert.match(interText, /CA:TRUE\n/, "no pathlen: maxPathLength unset");
        assert.match(interText, new RegExp(`Authority Key Identifier: *\\n\\s*(keyid:)?${rootSki}`), "AKI = the root's SKI");
        assert.match(interText, /Subject Key Identifier/, "CAs always carry an SKI");

        const leafText = x509Text(String(leaf.outputs.certPem));
        assert.match(leafText, /CA:FALSE/);
        assert.match(leafText, /X509v3 Key Usage: critical\n\s*Digital Signature\n/);
        assert.match(leafText, /X509v3 Extended Key Usage: *\n\s*TLS Web Server Authentication, TLS Web Client Authentication/);
        assert.match(leafText, /DNS:api\.tier\.example, DNS:\*\.api\.tier\.example, IP Address:198\.18\.0\.10, IP Address:2001:DB8:0:0:0:0:0:10, URI:spiffe:\/\/tier\.example\/proxy-a/);
        assert.match(leafText, /Subject: CN = api\.tier\.example, emailAddress = ops@tier\.example/);
        assert.match(leafText, /Signature Algorithm: sha256WithRSAEncryption/);
        // Validity: 48 h from now, as recorded in validityStartTime / validityEndTime.
        const start = Date.parse(String(leaf.outputs.validityStartTime));
        const end = Date.parse(String(leaf.outputs.validityEndTime));
        assert.equal(Math.round((end - start) / 3_600_000), 48);
        assert.ok(Math.abs(start - Date.now()) < 60_000);
        const notAfter = Date.parse(run("openssl", ["x509", "-noout", "-enddate", "-in", leafFile]).replace("notAfter=", ""));
        assert.ok(Math.abs(notAfter - end) < 2_000, "certificate notAfter = validityEndTime");
    });

    it("inputs: any change replaces; earlyRenewalHours alone updates in place; unknown inputs at preview are planned changes", async () => {
        const key = reveal<string>((await tls.provision(T.key, { algorithm: "ED25519" })).outputs.privateKeyPem);
        const args = { privateKeyPem: key, allowedUses: ["digital_signature"], validityPeriodHours: 100, earlyRenewalHours: 10, subject: { commonName: "a" } };
        const { id, inputs, outputs } = await tls.provision(T.self, args);
        assert.equal((await tls.diff(T.self, id, outputs, await tls.checked(T.self, args), inputs)).changes, "none");
        const subject = await tls.diff(T.self, id, outputs, await tls.checked(T.self, { ...args, subject: { commonName: "b" } }), inputs);
        assert.deepEqual(subject.replaces, ["subject"]);
        assert.equal(subject.detailedDiff.subject, "UPDATE_REPLACE");
        const early = await tls.diff(T.self, id, outputs, await tls.checked(T.self, { ...args, earlyRenewalHours: 20 }), inputs);
        assert.equal(early.changes, "some");
        assert.deepEqual(early.replaces, []);
        const updated = await tls.update(T.self, id, outputs, await tls.checked(T.self, { ...args, earlyRenewalHours: 20 }), inputs);
        assert.equal(updated.certPem, outputs.certPem, "the certificate stays");
        assert.equal(updated.earlyRenewalHours, 20);
        const unknown = await tls.diff(T.self, id, outputs, { ...(await tls.checked(T.self, args)), privateKeyPem: sig.unknown }, inputs);
        assert.deepEqual(unknown.replaces, ["privateKeyPem"]);
        // The secret flag of an input is not a change.
        assert.equal((await tls.diff(T.self, id, outputs, await tls.checked(T.self, { ...args, privateKeyPem: secret(key) }), inputs)).changes, "none");
        const keyDiff = await tls.diff(T.key, "x", { algorithm: "RSA", rsaBits: 2048, ecdsaCurve: "P224" }, { algorithm: "RSA", rsaBits: 3072, ecdsaCurve: "P224" });
        assert.deepEqual(keyDiff.replaces, ["rsaBits"]);
    });

    it("renewal: inside the early-renewal window or past expiry the next plan replaces (readyForRenewal); refresh records it", async () => {
        const key = reveal<string>((await tls.provision(T.key, { algorithm: "ECDSA", ecdsaCurve: "P256" })).outputs.privateKeyPem);
        const args = { privateKeyPem: key, allowedUses: ["digital_signature"], validityPeriodHours: 10, earlyRenewalHours: 2 };
        const { id, inputs, outputs } = await tls.provision(T.self, args);
        const news = await tls.checked(T.self, args);
        assert.equal((await tls.diff(T.self, id, outputs, news, inputs)).changes, "none", "fresh: outside the window");
        const at = (ms: number): Props => ({ ...outputs, validityEndTime: new Date(Date.now() + ms).toISOString() });
        const inWindow = at(3_600_000); // one hour left, window is two
        const d = await tls.diff(T.self, id, inWindow, news, inputs);
        assert.deepEqual(d.replaces, ["readyForRenewal"]);
        assert.equal(d.detailedDiff.readyForRenewal, "UPDATE_REPLACE");
        assert.deepEqual((await tls.diff(T.self, id, at(-1_000), news, inputs)).replaces, ["readyForRenewal"], "expired");
        assert.deepEqual((await tls.diff(T.self, id, at(3 * 3_600_000), news, inputs)).replaces, [], "three hours left: not yet");
        // Raising earlyRenewalHours in the same plan opens the window (upstream: the planned value counts).
        assert.deepEqual((await tls.diff(T.self, id, at(3 * 3_600_000), await tls.checked(T.self, { ...args, earlyRenewalHours: 4 }), inputs)).replaces, ["readyForRenewal"]);
        const refreshed = await tls.read(T.self, id, inWindow, inputs);
        assert.equal(refreshed.outputs.readyForRenewal, true);
        assert.equal((await tls.read(T.self, id, outputs, inputs)).outputs.readyForRenewal, false);
        // A validity no longer than the renewal window is due at once (upstream's plan rule).
        const due = await tls.provision(T.self, { ...args, validityPeriodHours: 2, earlyRenewalHours: 2 });
        assert.equal(due.outputs.readyForRenewal, true);
    });

    it("bad inputs are refused by property before anything is created", async () => {
        const refused = async (type: string, news: Props, property: string, reason: RegExp): Promise<void> => {
            const { failures } = await tls.check(type, news);
            assert.ok(failures.some((f) => f.property === property && reason.test(f.reason)), `${property}: ${JSON.stringify(failures)}`);
        };
        await refused(T.key, { algorithm: "DSA" }, "algorithm", /must be one of RSA, ECDSA, ED25519, got "DSA"/);
        await refused(T.key, { algorithm: "RSA", rsaBits: 1024 }, "rsaBits", /between 2048 and 16384.*SP 800-131A/);
        await refused(T.key, { algorithm: "ECDSA", ecdsaCurve: "secp256k1" }, "ecdsaCurve", /must be one of P224, P256, P384, P521/);
        await refused(T.key, {}, "algorithm", /is required/);
        const key = reveal<string>((await tls.provision(T.key, { algorithm: "ED25519" })).outputs.privateKeyPem);
        const cert = { privateKeyPem: key, allowedUses: ["digital_signature"], validityPeriodHours: 1 };
        await refused(T.self, { ...cert, allowedUses: ["digital_signature", "world_domination"] }, "allowedUses", /unknown use "world_domination"/);
        await refused(T.self, { ...cert, validityPeriodHours: -1 }, "validityPeriodHours", /at least 0/);
        await refused(T.self, { ...cert, ipAddresses: ["10.0.0.300"] }, "ipAddresses", /invalid IP address "10\.0\.0\.300"/);
        await refused(T.self, { ...cert, privateKeyPem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" }, "privateKeyPem", /not a usable private key/);
        await refused(T.self, { ...cert, privateKeyPemWo: key }, "privateKeyPem", /set only one of privateKeyPem and privateKeyPemWo/);
        await refused(T.self, { ...cert, isCaCertificate: true }, "subject", /CA certificate must have at least one subject field/);
        await refused(T.signed, { certRequestPem: "x", caCertPem: "y", caPrivateKeyPem: key, allowedUses: [], validityPeriodHours: 1 }, "certRequestPem", /not a PEM CERTIFICATE REQUEST/);
        // A CA key that does not match the CA certificate fails the create with Go's x509 message.
        const ca = await tls.provision(T.self, { ...cert, isCaCertificate: true, allowedUses: ["cert_signing"], subject: { commonName: "ca" } });
        const otherKey = reveal<string>((await tls.provision(T.key, { algorithm: "ED25519" })).outputs.privateKeyPem);
        const csr = await tls.provision(T.csr, { privateKeyPem: otherKey });
        const inputs = await tls.checked(T.signed, { certRequestPem: csr.outputs.certRequestPem, caCertPem: ca.outputs.certPem, caPrivateKeyPem: otherKey, allowedUses: ["digital_signature"], validityPeriodHours: 1 });
        await assert.rejects(tls.create(T.signed, inputs), /doesn't match parent's PublicKey/);
    });

    it("write-only key inputs sign like the plain ones and are never echoed into the outputs", async () => {
        const key = reveal<string>((await tls.provision(T.key, { algorithm: "ECDSA", ecdsaCurve: "P256" })).outputs.privateKeyPem);
        const { outputs } = await tls.provision(T.self, { privateKeyPemWo: secret(key), privateKeyPemWoVersion: 1, allowedUses: ["digital_signature"], validityPeriodHours: 1 });
        assert.ok(!("privateKeyPemWo" in outputs));
        assert.equal(outputs.privateKeyPemWoVersion, 1);
        assert.match(String(outputs.certPem), /^-----BEGIN CERTIFICATE-----/);
    });

    it("getPublicKey (PEM and OpenSSH input) agrees with the key's own outputs; getCertificate describes a PEM", async () => {
        const key = await tls.provision(T.key, { algorithm: "ECDSA", ecdsaCurve: "P256" });
        for (const args of [{ privateKeyPem: reveal(key.outputs.privateKeyPem) }, { privateKeyOpenssh: reveal(key.outputs.privateKeyOpenssh) }]) {
            const { ret } = await tls.invoke("tls:index/getPublicKey:getPublicKey", args);
            assert.equal(ret.publicKeyPem, key.outputs.publicKeyPem);
            assert.equal(ret.publicKeyOpenssh, key.outputs.publicKeyOpenssh);
            assert.equal(ret.publicKeyFingerprintSha256, key.outputs.publicKeyFingerprintSha256);
            assert.equal(ret.algorithm, "ECDSA");
            assert.ok(isSecret(ret[Object.keys(args)[0]]), "the private key argument comes back secret");
        }
        const ca = await tls.provision(T.self, {
            privateKeyPem: reveal(key.outputs.privateKeyPem), isCaCertificate: true, allowedUses: ["cert_signing"], validityPeriodHours: 5,
            subject: { commonName: "described" },
        });
        const { ret } = await tls.invoke("tls:index/getCertificate:getCertificate", { content: ca.outputs.certPem });
        const [c] = ret.certificates as Props[];
        assert.equal(c.subject, "CN=described");
        assert.equal(c.isCa, true);
        assert.equal(c.signatureAlgorithm, "ECDSA-SHA256");
        assert.equal(c.serialNumber, ca.id);
        const fp = run("openssl", ["x509", "-noout", "-fingerprint", "-sha1", "-in", file("c.pem", String(ca.outputs.certPem))]);
        assert.equal(c.sha1Fingerprint, fp.trim().split("=")[1].replace(/:/g, "").toLowerCase());
    });
});
