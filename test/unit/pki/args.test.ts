import * as assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { setupMocks, TYPES, type Recorder } from "./mocks";
import { assertRefused, ENDPOINTS, resolveOutputs } from "./harness";

let recorder: Recorder;
let Pki: typeof import("../../../components/pki/pki").Pki;

before(async () => {
    recorder = setupMocks();
    ({ Pki } = await import("../../../components/pki/pki"));
});

describe("Pki structure", () => {
    it("uses the apiproxy:pki:* type tokens and parents every child under the Pki", async () => {
        const pki = new Pki("st", { endpoints: ENDPOINTS });
        await resolveOutputs(pki);
        const names = (type: string) => recorder.ofType(type, "st").map((r) => r.name).sort();
        assert.deepEqual(names("apiproxy:pki:Pki"), ["st"]);
        assert.deepEqual(names("apiproxy:pki:CertificateAuthority"), ["st-client-ca", "st-intermediate-ca", "st-root-ca"]);
        assert.deepEqual(names("apiproxy:pki:LeafCertificate"), ["st-server-mtls", "st-server-public"]);
        const urn = await new Promise<string>((resolve) => pki.urn.apply(resolve));
        assert.match(urn, /apiproxy:pki:Pki::st$/);
    });

    it("creates the client CA even with no clients (nginx's 8443 listener needs its trust anchor)", async () => {
        const pki = new Pki("nc", { endpoints: ENDPOINTS });
        const out = await resolveOutputs(pki);
        assert.deepEqual(Object.keys(pki.clientCertificates), []);
        assert.ok(out.clientCaPem.includes("nc-client-ca-cert"));
        assert.equal(recorder.ofType(TYPES.locallySignedCert, "nc-client-").length, 0);
    });
});

describe("Pki refused arguments", () => {
    const refuse = (name: string, args: Record<string, unknown>, argPath: string) =>
        assertRefused(() => new Pki(name, { endpoints: ENDPOINTS, ...args }), argPath, recorder, name);

    it("no endpoints", () => refuse("a-none", { endpoints: [] }, "endpoints"));
    it("duplicate endpoint names", () =>
        refuse("a-dup", { endpoints: [ENDPOINTS[0], { ...ENDPOINTS[1], name: "public" }] }, "endpoints[1].name"));
    it("endpoint name unusable as a resource name", () =>
        refuse("a-name", { endpoints: [{ name: "Public API", dnsNames: ["a.example.com"] }] }, "endpoints[0].name"));
    it("endpoint without any subjectAltName", () =>
        refuse("a-nosan", { endpoints: [{ name: "x", dnsNames: [] }] }, "endpoints[0].dnsNames"));
    it("malformed DNS name", () =>
        refuse("a-dns", { endpoints: [{ name: "x", dnsNames: ["api..example.com"] }] }, "endpoints[0].dnsNames[0]"));
    it("malformed IP address", () =>
        refuse("a-ip", { endpoints: [{ name: "x", dnsNames: ["a.example.com"], ipAddresses: ["10.0.0.300"] }] }, "endpoints[0].ipAddresses[0]"));
    it("duplicate client names", () =>
        refuse("a-cdup", { clients: [{ name: "app", commonName: "a" }, { name: "app", commonName: "b" }] }, "clients[1].name"));
    it("two clients with one commonName (nginx could not tell them apart)", () =>
        refuse("a-ccn", { clients: [{ name: "a", commonName: "same" }, { name: "b", commonName: "same" }] }, "clients[1].commonName"));
    it("empty client commonName", () =>
        refuse("a-cempty", { clients: [{ name: "a", commonName: "" }] }, "clients[0].commonName"));

    it("accepts an IP-only endpoint and a wildcard DNS name", async () => {
        await resolveOutputs(new Pki("a-ok", { endpoints: [
            { name: "ip", dnsNames: [], ipAddresses: ["192.0.2.10", "2001:db8::1"] },
            { name: "wild", dnsNames: ["*.api.example.com"] },
        ] }));
        assert.deepEqual(recorder.named("a-ok-server-ip-csr").inputs["ipAddresses"], ["192.0.2.10", "2001:db8::1"]);
        assert.deepEqual(recorder.named("a-ok-server-wild-csr").inputs["dnsNames"], ["*.api.example.com"]);
    });
});
