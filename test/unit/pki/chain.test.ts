import * as assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { fakeCertPem, fakeKeyPem, setupMocks, TYPES, type Recorder } from "./mocks";
import { CLIENTS, ENDPOINTS, resolveOutputs } from "./harness";

let recorder: Recorder;

before(async () => {
    recorder = setupMocks();
    const { Pki } = await import("../../../components/pki/pki");
    await resolveOutputs(new Pki("ec", { endpoints: ENDPOINTS, clients: CLIENTS }));
    await resolveOutputs(new Pki("rsa", { endpoints: ENDPOINTS, clients: CLIENTS, keyAlgorithm: { algorithm: "RSA", rsaBits: 3072 } }));
});

const sorted = (uses: unknown): string[] => [...(uses as string[])].sort();

describe("Pki chain: CA certificates", () => {
    it("root CA is self-signed, a CA, with only cert_signing + crl_signing and path length 1", () => {
        const root = recorder.named("ec-root-ca-cert", TYPES.selfSignedCert).inputs;
        assert.equal(root["isCaCertificate"], true);
        assert.deepEqual(sorted(root["allowedUses"]), ["cert_signing", "crl_signing"]);
        assert.equal(root["maxPathLength"], 1);
        assert.equal(root["privateKeyPem"], fakeKeyPem("ec-root-ca-key"));
        assert.equal(root["subject"]["commonName"], "api-proxy-security Root CA");
    });

    it("intermediate CA is a CA with only cert_signing + crl_signing, signed by the root's cert and key", () => {
        const csr = recorder.named("ec-intermediate-ca-csr", TYPES.certRequest).inputs;
        assert.equal(csr["privateKeyPem"], fakeKeyPem("ec-intermediate-ca-key"));
        const cert = recorder.named("ec-intermediate-ca-cert", TYPES.locallySignedCert).inputs;
        assert.equal(cert["isCaCertificate"], true);
        assert.deepEqual(sorted(cert["allowedUses"]), ["cert_signing", "crl_signing"]);
        assert.equal(cert["caCertPem"], fakeCertPem("ec-root-ca-cert"));
        assert.equal(cert["caPrivateKeyPem"], fakeKeyPem("ec-root-ca-key"));
        // pathlen 0 is not expressible with @pulumi/tls (it would mean "unlimited"): must stay unset.
        assert.equal(cert["maxPathLength"], undefined);
    });

    it("client CA is a separate self-signed CA with only signing uses", () => {
        const clientCa = recorder.named("ec-client-ca-cert", TYPES.selfSignedCert).inputs;
        assert.equal(clientCa["isCaCertificate"], true);
        assert.deepEqual(sorted(clientCa["allowedUses"]), ["cert_signing", "crl_signing"]);
        assert.equal(clientCa["privateKeyPem"], fakeKeyPem("ec-client-ca-key"));
        assert.notEqual(clientCa["privateKeyPem"], fakeKeyPem("ec-root-ca-key"));
        assert.equal(recorder.ofType(TYPES.selfSignedCert, "ec-").length, 2, "exactly root + client CA are self-signed");
    });
});

describe("Pki chain: server certificates", () => {
    it("issues one server certificate per endpoint, with that endpoint's DNS names and IPs in the CSR", () => {
        const csrs = recorder.ofType(TYPES.certRequest, "ec-server-");
        assert.deepEqual(csrs.map((r) => r.name).sort(), ENDPOINTS.map((e) => `ec-server-${e.name}-csr`).sort());
        for (const endpoint of ENDPOINTS) {
            const csr = recorder.named(`ec-server-${endpoint.name}-csr`, TYPES.certRequest).inputs;
            assert.deepEqual(csr["dnsNames"], [...endpoint.dnsNames]);
            assert.deepEqual(csr["ipAddresses"] ?? [], [...("ipAddresses" in endpoint ? endpoint.ipAddresses : [])]);
            assert.equal(csr["privateKeyPem"], fakeKeyPem(`ec-server-${endpoint.name}-key`));
        }
    });

    it("server certificates are leaves signed by the intermediate (not the root), for that endpoint's CSR", () => {
        for (const endpoint of ENDPOINTS) {
            const cert = recorder.named(`ec-server-${endpoint.name}-cert`, TYPES.locallySignedCert).inputs;
            assert.equal(cert["isCaCertificate"], false);
            assert.equal(cert["caCertPem"], fakeCertPem("ec-intermediate-ca-cert"));
            assert.equal(cert["caPrivateKeyPem"], fakeKeyPem("ec-intermediate-ca-key"));
            assert.match(cert["certRequestPem"], new RegExp(`csr:ec-server-${endpoint.name}-csr`));
        }
    });

    it("ECDSA server certificates: digital_signature + server_auth, no key_encipherment (RFC 8813)", () => {
        for (const endpoint of ENDPOINTS) {
            const cert = recorder.named(`ec-server-${endpoint.name}-cert`, TYPES.locallySignedCert).inputs;
            assert.deepEqual(sorted(cert["allowedUses"]), ["digital_signature", "server_auth"]);
        }
    });

    it("RSA server certificates: digital_signature + key_encipherment + server_auth", () => {
        for (const endpoint of ENDPOINTS) {
            const cert = recorder.named(`rsa-server-${endpoint.name}-cert`, TYPES.locallySignedCert).inputs;
            assert.deepEqual(sorted(cert["allowedUses"]), ["digital_signature", "key_encipherment", "server_auth"]);
        }
    });
});

describe("Pki chain: client certificates", () => {
    it("client certificates are leaves signed by the client CA, with client_auth as their only EKU", () => {
        for (const prefix of ["ec", "rsa"]) {
            for (const client of CLIENTS) {
                const cert = recorder.named(`${prefix}-client-${client.name}-cert`, TYPES.locallySignedCert).inputs;
                assert.equal(cert["isCaCertificate"], false);
                assert.equal(cert["caCertPem"], fakeCertPem(`${prefix}-client-ca-cert`));
                assert.equal(cert["caPrivateKeyPem"], fakeKeyPem(`${prefix}-client-ca-key`));
                assert.deepEqual(sorted(cert["allowedUses"]), ["client_auth", "digital_signature"]);
            }
        }
    });

    it("client CSRs carry the app's commonName and no subjectAltName", () => {
        for (const client of CLIENTS) {
            const csr = recorder.named(`ec-client-${client.name}-csr`, TYPES.certRequest).inputs;
            assert.equal(csr["subject"]["commonName"], client.commonName);
            assert.equal(csr["dnsNames"], undefined);
            assert.equal(csr["privateKeyPem"], fakeKeyPem(`ec-client-${client.name}-key`));
        }
    });
});
