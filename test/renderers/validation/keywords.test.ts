/** Each supported keyword accepts what it should and rejects what it should, with the right pointer and reason (Node; parity.test.ts runs the same corpus in njs). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileSchema } from "../../../components/validation/schema-compiler";
import { loadValidator } from "../../../components/validation/runtime";
import { caseContext, KEYWORD_CASES } from "./corpus";

const validator = loadValidator();

describe("keywords (Node)", () => {
    for (const c of KEYWORD_CASES) {
        it(c.name, () => {
            const { schema, document, pointer } = caseContext(c);
            const compiled = compileSchema(schema, { document, pointer, dialect: c.dialect });
            for (const value of c.valid) {
                assert.equal(validator.validate(compiled, value), null, `should accept ${JSON.stringify(value)}`);
            }
            for (const { value, pointer: at, reason } of c.invalid) {
                assert.deepEqual(validator.validate(compiled, value), { pointer: at, reason }, `should reject ${JSON.stringify(value)}`);
            }
        });
    }

    it("non-finite numbers (1e400 parses to Infinity) are refused wherever they are checked", () => {
        const compiled = compileSchema({ type: "object", properties: { n: {} } }, { document: {}, pointer: "", dialect: "openapi-3.1" });
        const parsed = validator.parse('{"n": 1e400}');
        assert.ok("value" in parsed);
        assert.deepEqual(validator.validate(compiled, parsed.value), { pointer: "/n", reason: "must be a finite number" });
    });
});
