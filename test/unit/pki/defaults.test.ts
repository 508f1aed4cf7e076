/** The args JSDoc in pki.ts and the constants in defaults.ts must say the same thing (STYLE.md). */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as defaults from "../../../components/pki/defaults";

const source = readFileSync(join(__dirname, "../../../components/pki/pki.ts"), "utf8");
const argsBlock = /export interface PkiArgs \{([\s\S]*?)\n\}/.exec(source)?.[1] ?? "";

/** JSDoc text of each optional arg of PkiArgs, by arg name. */
const optionalArgDocs = new Map(
    [...argsBlock.matchAll(/\/\*\*([\s\S]*?)\*\/\s*readonly (\w+)\?:/g)].map((m) => [m[2]!, m[1]!]),
);

function defaultText(arg: string): string {
    const doc = optionalArgDocs.get(arg);
    assert.ok(doc !== undefined, `PkiArgs.${arg} is not an optional documented arg`);
    const match = /Default: (.*?)\s*$/.exec(doc);
    assert.ok(match, `PkiArgs.${arg} JSDoc has no "Default:"`);
    return match[1]!;
}

/** Turns `{ algorithm: "ECDSA" }` (TS object literal) into a value. */
const parseLiteral = (text: string): unknown => JSON.parse(text.replace(/(\w+):/g, '"$1":'));

function documentedValidity(arg: string): { validityHours: number; earlyRenewalHours: number } {
    const m = /validityHours (\d+) \(.*?\), earlyRenewalHours (\d+)/.exec(defaultText(arg));
    assert.ok(m, `PkiArgs.${arg} default should read "validityHours N (...), earlyRenewalHours N (...)"`);
    return { validityHours: Number(m[1]), earlyRenewalHours: Number(m[2]) };
}

describe("Pki docs and defaults agree", () => {
    it("found the args block", () => assert.ok(optionalArgDocs.size >= 8));
    it("every optional arg documents its default", () => {
        for (const arg of optionalArgDocs.keys()) defaultText(arg);
    });
    it("keyAlgorithm", () => assert.deepEqual(parseLiteral(defaultText("keyAlgorithm")), defaults.DEFAULT_KEY_ALGORITHM));
    it("organization", () => assert.equal(JSON.parse(defaultText("organization")), defaults.DEFAULT_ORGANIZATION));
    it("clients", () => assert.deepEqual(JSON.parse(defaultText("clients")), []));
    it("rootCaValidity", () => assert.deepEqual(documentedValidity("rootCaValidity"), defaults.DEFAULT_ROOT_CA_VALIDITY));
    it("intermediateCaValidity", () => assert.deepEqual(documentedValidity("intermediateCaValidity"), defaults.DEFAULT_INTERMEDIATE_CA_VALIDITY));
    it("clientCaValidity", () => assert.deepEqual(documentedValidity("clientCaValidity"), defaults.DEFAULT_CLIENT_CA_VALIDITY));
    it("serverCertificateValidity", () => assert.deepEqual(documentedValidity("serverCertificateValidity"), defaults.DEFAULT_LEAF_VALIDITY));
    it("clientCertificateValidity", () => assert.deepEqual(documentedValidity("clientCertificateValidity"), defaults.DEFAULT_LEAF_VALIDITY));
    it("the documented leaf ceiling is MAX_LEAF_VALIDITY_HOURS", () => {
        for (const arg of ["serverCertificateValidity", "clientCertificateValidity"]) {
            const m = /at most (\d+) h/.exec(optionalArgDocs.get(arg) ?? "");
            assert.equal(Number(m?.[1]), defaults.MAX_LEAF_VALIDITY_HOURS, arg);
        }
    });
});
