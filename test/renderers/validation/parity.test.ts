/**
 * The same inputs through the runtime in Node (vm) and in the real njs CLI give identical
 * answers, and the answers are the expected ones. The njs CLI is required: without it this
 * fails and says how to install it (a skipped parity test would hide an engine difference).
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { compileSchema, type SchemaDialect } from "../../../components/validation/schema-compiler";
import { loadValidator } from "../../../components/validation/runtime";
import type { CompiledSchema } from "../../../components/validation/ir";
import { caseContext, KEYWORD_CASES } from "./corpus";
import { njsVersion, runInNjs, runInNode, type Job, type JobResult } from "./njs-harness";

const validator = loadValidator();

/** Patterns in the supported subset, each tried on subjects where V8 and PCRE2 used to differ. */
const PATTERNS = [
    "^[a-z]+$", "^a.c$", "^\\S+\\s\\S+$", "^[^a]{2}$", "^\\w+$", "^\\d{3}-\\d{4}$", "\\bword\\b", "^(?:ab|cd)+?$",
    "^[\\u00e0-\\u00ff]+$", "^[à-ÿ]+$", "^\\x41\\u0042$", "^[\\[\\]\\-^]+$", "^a{2,3}$", "^(?=.*[0-9])(?!.*\\s).{8,}$",
    "^[A-Za-z0-9+/]*={0,2}$", "^\\$\\.\\*\\+\\?\\(\\)\\{\\}\\|\\/\\\\$", "^[\\s\\d]+$", "^\u{1F600}+$", "^[\u{1F600}-\u{1F64F}]$",
    "^#[0-9a-fA-F]{6}$", "^(a|)$", "^\\t\\n\\v\\f\\r$", "^$", "^.*$", "^[^\\n]*$",
];
const SUBJECTS = [
    "", "abc", "abc\n", "a\nc", "a\rc", "a\u2028c", "abc", "a\u{1F600}c", "a b", "a\u00a0b", "a\ufeffb", "a\u0085b", "\u{1F600}\u{1F601}",
    "\u{1F600}", "ab_9", "é", "\u00e9\u00ff", "AB", "[]-^", "aa", "aaaa", "passw0rd", "pass word1", "YWJj", "YQ==", "$.*+?(){}|/\\", " 1 2",
    "#a0B1c2", "#a0B1c2\n", "\t\n\u000b\f\r", "a word here", "swords", "abcd", "abab", "\u{1F60A}", "\u{1F680}", "a",
];
const PARSE_TEXTS: Array<{ text: string; limits?: { maxDepth?: number; maxNodes?: number } }> = [
    { text: '{"a":[1,2,{"b":null}],"c":"\\u00e9\\ud83d\\ude00"}' },
    { text: '{"a":1,"a":2}' },
    { text: '{"a":1,"\\u0061":2}' },
    { text: '{"a":{"x":1},"b":{"x":1}}' },
    { text: '[{"a":1},{"a":1}]' },
    { text: '{"__proto__":{"x":1},"constructor":1}' },
    { text: '"a\\"b\\\\"' },
    { text: '{"k\\\\":1,"k\\\\\\"":2}' },
    { text: "[1,]" },
    { text: "{\"a\" 1}" },
    { text: "" },
    { text: "   " },
    { text: "nul" },
    { text: "[1, 2, 3]", limits: { maxNodes: 3 } },
    { text: "[1, 2, 3]", limits: { maxNodes: 4 } },
    { text: '{"a": [], "b": {}}', limits: { maxNodes: 3 } },
    { text: '{"a": [], "b": {}}', limits: { maxNodes: 2 } },
    { text: `${"[".repeat(31)}${"]".repeat(31)}`, limits: { maxDepth: 100 } },
    { text: `${"[".repeat(32)}${"]".repeat(32)}`, limits: { maxDepth: 100 } },
    { text: `${"[".repeat(24)}${"]".repeat(24)}` },
    { text: `${"[".repeat(25)}${"]".repeat(25)}` },
    { text: `${'{"a":'.repeat(31)}1${"}".repeat(31)}`, limits: { maxDepth: 31 } },
    { text: "1e400" },
    { text: "-0" },
    { text: "12345678901234567890" },
    { text: '"\\ud83d\\ude00"' },
];

interface Corpus {
    schemas: CompiledSchema[];
    jobs: Job[];
    /** Expected results where the test knows them (undefined: parity only). */
    expected: Array<JobResult | undefined>;
    labels: string[];
}

function buildCorpus(): Corpus {
    const corpus: Corpus = { schemas: [], jobs: [], expected: [], labels: [] };
    const addSchema = (schema: unknown, dialect: SchemaDialect, document: unknown = schema, pointer = ""): number => {
        corpus.schemas.push(compileSchema(schema, { document, pointer, dialect }));
        return corpus.schemas.length - 1;
    };
    for (const c of KEYWORD_CASES) {
        const { schema, document, pointer } = caseContext(c);
        const index = addSchema(schema, c.dialect, document, pointer);
        for (const value of c.valid) {
            corpus.jobs.push({ op: "validate", schema: index, value });
            corpus.expected.push({ result: null });
            corpus.labels.push(`${c.name}: accepts ${JSON.stringify(value)}`);
        }
        for (const { value, pointer: at, reason } of c.invalid) {
            corpus.jobs.push({ op: "validate", schema: index, value });
            corpus.expected.push({ result: { pointer: at, reason } });
            corpus.labels.push(`${c.name}: rejects ${JSON.stringify(value)}`);
        }
    }
    for (const pattern of PATTERNS) {
        const index = addSchema({ type: "string", pattern }, "json-schema-2020-12");
        for (const subject of SUBJECTS) {
            corpus.jobs.push({ op: "validate", schema: index, value: subject });
            corpus.expected.push(undefined);
            corpus.labels.push(`pattern ${JSON.stringify(pattern)} on ${JSON.stringify(subject)}`);
        }
    }
    for (const { text, limits } of PARSE_TEXTS) {
        corpus.jobs.push({ op: "parse", text, limits });
        corpus.expected.push(undefined);
        corpus.labels.push(`parse ${JSON.stringify(text.slice(0, 40))} ${JSON.stringify(limits ?? {})}`);
    }
    const numbers = addSchema({ properties: { n: { items: {} } } }, "json-schema-2020-12");
    corpus.jobs.push({ op: "check", schema: numbers, text: '{"n":[1e400]}' });
    corpus.expected.push({ result: { pointer: "/n/0", reason: "must be a finite number" } });
    corpus.labels.push("1e400 is refused after parsing");
    // canonical() (uniqueItems) recurses over the value: the deepest body the parser admits must not exhaust njs's stack.
    const unique = addSchema({ type: "array", uniqueItems: true }, "json-schema-2020-12");
    const deep = `[${"[".repeat(29)}1${"]".repeat(29)},${"[".repeat(29)}1${"]".repeat(29)}]`;
    corpus.jobs.push({ op: "check", schema: unique, text: deep, limits: { maxDepth: 31 } });
    corpus.expected.push({ result: { pointer: "/1", reason: "must not repeat item 0" } });
    corpus.labels.push("uniqueItems over two 30-level items");
    return corpus;
}

describe("parity: Node (vm) and njs give identical answers", () => {
    before(() => {
        njsVersion(); // fails with the install hint when the CLI is missing
    });

    it(`runs the keyword, pattern and parse corpus in njs ${(() => { try { return njsVersion(); } catch { return "(missing)"; } })()} and in Node`, () => {
        const corpus = buildCorpus();
        const inNode = runInNode(validator, corpus.schemas, corpus.jobs);
        const inNjs = runInNjs(corpus.schemas, corpus.jobs);
        assert.equal(inNjs.length, corpus.jobs.length);
        const differences: string[] = [];
        for (let i = 0; i < corpus.jobs.length; i++) {
            try {
                assert.deepEqual(inNjs[i], inNode[i]);
            } catch {
                differences.push(`${corpus.labels[i]}: node ${JSON.stringify(inNode[i])} njs ${JSON.stringify(inNjs[i])}`);
            }
            const expected = corpus.expected[i];
            if (expected !== undefined) assert.deepEqual(inNode[i], expected, corpus.labels[i]);
        }
        assert.deepEqual(differences, [], `${differences.length} of ${corpus.jobs.length} answers differ`);
        assert.ok(corpus.jobs.length > 1000, "the corpus is not trivially small");
    });
});
