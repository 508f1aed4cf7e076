import * as assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { setupMocks, TYPES, type Recorder } from "./mocks";
import { assertRefused, CLIENTS, ENDPOINTS, resolveOutputs } from "./harness";

let recorder: Recorder;
let Pki: typeof import("../../../components/pki/pki").Pki;
let pkiDefault: import("../../../components/pki/pki").Pki;

before(async () => {
    recorder = setupMocks();
    ({ Pki } = await import("../../../components/pki/pki"));
    pkiDefault = new Pki("vd", { endpoints: ENDPOINTS, clients: CLIENTS });
    await resolveOutputs(pkiDefault);
});

function lifetime(name: string, type: string): [number, number] {
    const inputs = recorder.named(name, type).inputs;
    return [inputs["validityPeriodHours"], inputs["earlyRenewalHours"]];
}

describe("Pki validity defaults", () => {
    it("root CA: 10 years, renewed 3 years early", () => {
        assert.deepEqual(lifetime("vd-root-ca-cert", TYPES.selfSignedCert), [87600, 26280]);
    });
    it("intermediate CA: 3 years, renewed 1 year early", () => {
        assert.deepEqual(lifetime("vd-intermediate-ca-cert", TYPES.locallySignedCert), [26280, 8760]);
    });
    it("client CA: 5 years, renewed 1 year early", () => {
        assert.deepEqual(lifetime("vd-client-ca-cert", TYPES.selfSignedCert), [43800, 8760]);
    });
    it("server and client certificates: 90 days, renewed 30 days early", () => {
        for (const e of ENDPOINTS) assert.deepEqual(lifetime(`vd-server-${e.name}-cert`, TYPES.locallySignedCert), [2160, 720]);
        for (const c of CLIENTS) assert.deepEqual(lifetime(`vd-client-${c.name}-cert`, TYPES.locallySignedCert), [2160, 720]);
    });
    it("rotation output reports the windows in force and the shortest one as the deployment cadence", () => {
        assert.deepEqual(pkiDefault.rotation, {
            rootCa: { validityHours: 87600, earlyRenewalHours: 26280 },
            intermediateCa: { validityHours: 26280, earlyRenewalHours: 8760 },
            clientCa: { validityHours: 43800, earlyRenewalHours: 8760 },
            serverCertificates: { validityHours: 2160, earlyRenewalHours: 720 },
            clientCertificates: { validityHours: 2160, earlyRenewalHours: 720 },
            maxHoursBetweenDeployments: 720,
        });
    });
});

describe("Pki validity overrides", () => {
    it("passes given server/client validity to the certificates and the rotation output", async () => {
        const pki = new Pki("vo", {
            endpoints: ENDPOINTS, clients: CLIENTS,
            serverCertificateValidity: { validityHours: 720, earlyRenewalHours: 240 },
            clientCertificateValidity: { validityHours: 1440 },
        });
        await resolveOutputs(pki);
        for (const e of ENDPOINTS) assert.deepEqual(lifetime(`vo-server-${e.name}-cert`, TYPES.locallySignedCert), [720, 240]);
        for (const c of CLIENTS) assert.deepEqual(lifetime(`vo-client-${c.name}-cert`, TYPES.locallySignedCert), [1440, 720]);
        assert.deepEqual(pki.rotation.serverCertificates, { validityHours: 720, earlyRenewalHours: 240 });
        assert.equal(pki.rotation.maxHoursBetweenDeployments, 240);
    });
});

describe("Pki refused validity combinations", () => {
    const refuse = (name: string, args: Record<string, unknown>, argPath: string) =>
        assertRefused(() => new Pki(name, { endpoints: ENDPOINTS, ...args }), argPath, recorder, name);

    it("early renewal of 0 (nothing would rotate before expiry)", () =>
        refuse("bad-zero", { serverCertificateValidity: { earlyRenewalHours: 0 } }, "serverCertificateValidity.earlyRenewalHours"));
    it("negative early renewal", () =>
        refuse("bad-neg", { clientCertificateValidity: { earlyRenewalHours: -1 } }, "clientCertificateValidity.earlyRenewalHours"));
    it("early renewal equal to validity (every up would re-issue)", () =>
        refuse("bad-eq", { serverCertificateValidity: { validityHours: 720, earlyRenewalHours: 720 } }, "serverCertificateValidity.earlyRenewalHours"));
    it("early renewal longer than validity", () =>
        refuse("bad-gt", { intermediateCaValidity: { validityHours: 8000, earlyRenewalHours: 9000 } }, "intermediateCaValidity.earlyRenewalHours"));
    it("leaf validity above the 200-day CA/B Forum ceiling (4800 h)", () =>
        refuse("bad-max", { serverCertificateValidity: { validityHours: 4801 } }, "serverCertificateValidity.validityHours"));
    it("client certificate validity above the leaf ceiling", () =>
        refuse("bad-cmax", { clientCertificateValidity: { validityHours: 398 * 24 } }, "clientCertificateValidity.validityHours"));
    it("CA validity above the 15-year ceiling", () =>
        refuse("bad-camax", { rootCaValidity: { validityHours: 15 * 8760 + 1 } }, "rootCaValidity.validityHours"));
    it("non-integer hours", () =>
        refuse("bad-frac", { clientCaValidity: { validityHours: 43800.5 } }, "clientCaValidity.validityHours"));
    it("intermediate that would outlive the root's renewal window", () =>
        refuse("bad-nest", { intermediateCaValidity: { validityHours: 26281, earlyRenewalHours: 8760 } }, "intermediateCaValidity.validityHours"));
    it("server certificate that would outlive the intermediate's renewal window", () =>
        refuse("bad-nest2", { intermediateCaValidity: { earlyRenewalHours: 2000 } }, "serverCertificateValidity.validityHours"));
    it("client certificate that would outlive the client CA's renewal window", () =>
        refuse("bad-nest3", { clientCaValidity: { earlyRenewalHours: 2000 } }, "clientCertificateValidity.validityHours"));

    it("accepts the boundary: leaf validity 4800 h with early renewal 4799 h", async () => {
        await resolveOutputs(new Pki("ok-max", { endpoints: ENDPOINTS, serverCertificateValidity: { validityHours: 4800, earlyRenewalHours: 4799 } }));
        assert.deepEqual(lifetime("ok-max-server-public-cert", TYPES.locallySignedCert), [4800, 4799]);
    });
});
