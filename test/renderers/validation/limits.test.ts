/** Hostile shapes end in a refusal, never a crash: nesting and size bounds before JSON.parse, and a validator without native recursion. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileSchema } from "../../../components/validation/schema-compiler";
import { loadValidator } from "../../../components/validation/runtime";
import { runInNjs, runInNode, type Job } from "./njs-harness";

const validator = loadValidator();
const deepArray = (levels: number): string => `${"[".repeat(levels)}${"]".repeat(levels)}`;
const deepObject = (levels: number): string => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;

describe("depth and size limits", () => {
    it("a 10,000-deep nested array is refused by apiproxyParseJson in Node", () => {
        assert.deepEqual(validator.parse(deepArray(10_000)), { error: "the body nests deeper than 24 levels" });
        assert.deepEqual(validator.parse(deepObject(10_000), { maxDepth: 31 }), { error: "the body nests deeper than 31 levels" });
    });

    it("a 10,000-deep nested array is refused by apiproxyParseJson in njs, without a crash", () => {
        const jobs: Job[] = [
            { op: "parse", text: deepArray(10_000) },
            { op: "parse", text: deepObject(10_000), limits: { maxDepth: 64 } },
            { op: "parse", text: `[${deepArray(10_000)}, "after"]` },
        ];
        const answers = runInNjs([], jobs);
        assert.deepEqual(answers, [
            { result: { error: "the body nests deeper than 24 levels" } },
            { result: { error: "the body nests deeper than 31 levels" } },
            { result: { error: "the body nests deeper than 24 levels" } },
        ]);
        assert.deepEqual(answers, runInNode(validator, [], jobs));
    });

    it("maxDepth is capped at 31, the depth njs's own JSON.parse refuses beyond", () => {
        assert.ok("value" in validator.parse(deepArray(31), { maxDepth: 1000 }));
        assert.deepEqual(validator.parse(deepArray(32), { maxDepth: 1000 }), { error: "the body nests deeper than 31 levels" });
    });

    it("the number of values is bounded before parsing (commas inside strings do not count)", () => {
        const many = `[${Array.from({ length: 20_001 }, () => "0").join(",")}]`;
        assert.deepEqual(validator.parse(many, { maxNodes: 20_000 }), { error: "the body has more than 20000 values" });
        assert.ok("value" in validator.parse(`["${",".repeat(50_000)}"]`, { maxNodes: 10 }));
    });

    it("duplicate member names are refused (parsers disagree on which one wins)", () => {
        assert.deepEqual(validator.parse('{"role":"user","role":"admin"}'), { error: "an object has a duplicate member name" });
        assert.deepEqual(validator.parse('{"role":"user","r\\u006fle":"admin"}'), { error: "an object has a duplicate member name" });
        assert.ok("value" in validator.parse('{"a":{"role":1},"b":{"role":2}}'));
    });

    it("validating a 100,000-deep value (built in memory, not parsed) ends in a refusal, not a stack overflow", () => {
        const tree = { type: "array", items: { $ref: "#/$defs/T" } };
        const compiled = compileSchema({ $ref: "#/$defs/T" }, { document: { $defs: { T: tree } }, pointer: "", dialect: "json-schema-2020-12" });
        let value: unknown[] = [];
        for (let i = 0; i < 100_000; i++) value = [value];
        const failure = validator.validate(compiled, value, { maxDepth: 64 });
        assert.equal(failure?.reason, "is nested too deeply");
        assert.equal(failure?.pointer, "/0".repeat(65));
    });

    it("uniqueItems over values deeper than the stack fails closed", () => {
        const compiled = compileSchema({ type: "array", uniqueItems: true }, { document: {}, pointer: "", dialect: "openapi-3.1" });
        let deep: unknown[] = [];
        for (let i = 0; i < 1_000_000; i++) deep = [deep];
        assert.deepEqual(validator.validate(compiled, [deep, 1]), { pointer: "", reason: "is nested too deeply to validate" });
    });
});
