import * as assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { setupMocks, TYPES, type Recorder } from "./mocks";
import { assertRefused, ENDPOINTS, CLIENTS, resolveOutputs } from "./harness";

let recorder: Recorder;
let Pki: typeof import("../../../components/pki/pki").Pki;

before(async () => {
    recorder = setupMocks();
    ({ Pki } = await import("../../../components/pki/pki"));
});

/** tls.PrivateKey inputs of every key the Pki named `name` created. */
function keysOf(name: string): Record<string, unknown>[] {
    return recorder.ofType(TYPES.privateKey, `${name}-`).map((r) => r.inputs);
}

describe("Pki key algorithm", () => {
    it("defaults every key (3 CAs + each server + each client) to ECDSA P256", async () => {
        await resolveOutputs(new Pki("ka-default", { endpoints: ENDPOINTS, clients: CLIENTS }));
        const keys = keysOf("ka-default");
        assert.equal(keys.length, 3 + ENDPOINTS.length + CLIENTS.length);
        for (const key of keys) {
            assert.equal(key["algorithm"], "ECDSA");
            assert.equal(key["ecdsaCurve"], "P256");
            assert.equal(key["rsaBits"], undefined);
        }
    });

    it("uses the P384 curve when asked", async () => {
        await resolveOutputs(new Pki("ka-p384", { endpoints: ENDPOINTS, keyAlgorithm: { algorithm: "ECDSA", curve: "P384" } }));
        const keys = keysOf("ka-p384");
        assert.ok(keys.length > 0);
        for (const key of keys) assert.deepEqual([key["algorithm"], key["ecdsaCurve"]], ["ECDSA", "P384"]);
    });

    it("accepts RSA 3072 and passes rsaBits to every key", async () => {
        await resolveOutputs(new Pki("ka-rsa", { endpoints: ENDPOINTS, clients: CLIENTS, keyAlgorithm: { algorithm: "RSA", rsaBits: 3072 } }));
        const keys = keysOf("ka-rsa");
        assert.equal(keys.length, 3 + ENDPOINTS.length + CLIENTS.length);
        for (const key of keys) {
            assert.deepEqual([key["algorithm"], key["rsaBits"], key["ecdsaCurve"]], ["RSA", 3072, undefined]);
        }
    });

    it("refuses RSA 2048 (NIST SP 800-57 floor), naming keyAlgorithm.rsaBits", async () => {
        await assertRefused(
            () => new Pki("ka-rsa2048", { endpoints: ENDPOINTS, keyAlgorithm: { algorithm: "RSA", rsaBits: 2048 } }),
            "keyAlgorithm.rsaBits", recorder, "ka-rsa2048");
    });

    it("refuses a curve outside P256/P384 arriving as data, naming keyAlgorithm.curve", async () => {
        const keyAlgorithm = JSON.parse('{"algorithm":"ECDSA","curve":"P224"}') as { algorithm: "ECDSA"; curve: "P256" };
        await assertRefused(() => new Pki("ka-p224", { endpoints: ENDPOINTS, keyAlgorithm }),
            "keyAlgorithm.curve", recorder, "ka-p224");
    });
});
