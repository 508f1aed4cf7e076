/** Reasons name the rule that failed, never the value: a client's payload is not reflected back (no echo into responses or logs). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileSchema } from "../../../components/validation/schema-compiler";
import { loadValidator } from "../../../components/validation/runtime";

const validator = loadValidator();
const CANARY = "CANARY<script>alert(1)</script>";
const CANARY_NUMBER = 987654.321;

const schema = {
    type: "object",
    additionalProperties: false,
    properties: {
        s: { type: "string", maxLength: 5 },
        p: { type: "string", pattern: "^[0-9]+$" },
        f: { type: "string", format: "email" },
        e: { type: "string", enum: ["a", "b"] },
        c: { const: "fixed" },
        n: { type: "number", maximum: 10 },
        m: { type: "number", multipleOf: 7 },
        i: { type: "integer" },
        t: { type: "boolean" },
        a: { type: "array", uniqueItems: true },
        o: { oneOf: [{ type: "integer" }, { type: "boolean" }] },
        x: { not: { type: "string" } },
        r: { type: "string", readOnly: true },
    },
};

describe("reasons never contain the offending value", () => {
    const compiled = compileSchema(schema, { document: schema, pointer: "", dialect: "openapi-3.1" });
    const bodies: Array<Record<string, unknown>> = [
        { s: CANARY }, { p: CANARY }, { f: CANARY }, { e: CANARY }, { c: CANARY }, { n: CANARY_NUMBER }, { m: CANARY_NUMBER },
        { i: CANARY }, { i: CANARY_NUMBER }, { t: CANARY }, { a: [CANARY, CANARY] }, { o: CANARY }, { x: CANARY }, { r: CANARY },
        { [CANARY]: CANARY },
    ];
    for (const body of bodies) {
        const [key] = Object.keys(body);
        it(`${key === CANARY ? "an unknown member" : `member ${key} (${typeof body[key]})`}`, () => {
            const failure = validator.validate(compiled, body);
            assert.ok(failure !== null, "rejected");
            assert.doesNotMatch(failure.reason, /CANARY|script|987654/);
        });
    }

    it("parse errors do not quote the body either (V8's own JSON.parse message would)", () => {
        const failure = validator.parse(`{"a": ${CANARY}}`);
        assert.deepEqual(failure, { error: "the body is not valid JSON" });
    });
});
