/** validator.js is fit to be concatenated into the generated njs module: two top-level names, no module syntax, nothing from Node. */
import assert from "node:assert/strict";
import * as vm from "node:vm";
import { describe, it } from "node:test";
import { jsonExpression, VALIDATOR_SOURCE } from "../../../components/validation/runtime";

describe("validator.js as a module fragment", () => {
    it("defines exactly apiproxyParseJson and apiproxyValidateJson at the top level", () => {
        const context = vm.createContext({});
        vm.runInContext(VALIDATOR_SOURCE, context);
        assert.deepEqual(Object.keys(context).sort(), ["apiproxyParseJson", "apiproxyValidateJson"]);
    });

    it("has no module syntax and uses nothing Node-only (the nginx renderer appends export default)", () => {
        const code = VALIDATOR_SOURCE.replace(/^\s*\/\/.*$/gm, "");
        assert.doesNotMatch(code, /\bexport\b|module\.exports|\brequire\(|\bprocess\.|\bBuffer\b/);
    });

    it("jsonExpression keeps a \"__proto__\" member a member and escapes U+2028/U+2029", () => {
        const value = JSON.parse('{"__proto__":{"x":"\\u2028"}}');
        const expression = jsonExpression(value);
        assert.doesNotMatch(expression, /[\u2028\u2029]/);
        const roundTrip = vm.runInNewContext(`(${expression})`);
        assert.ok(Object.prototype.hasOwnProperty.call(roundTrip, "__proto__"));
        assert.equal(JSON.stringify(roundTrip), JSON.stringify(value));
    });
});
