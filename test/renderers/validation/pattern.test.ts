/** The regex subset: what is rewritten (and why: each is a measured V8/PCRE2 difference) and what is refused. parity.test.ts runs the rewrites in njs. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalPattern, MAX_REPEAT, PatternError } from "../../../components/validation/pattern";

function refused(pattern: string, reason: RegExp): void {
    assert.throws(() => canonicalPattern(pattern), (err: unknown) => err instanceof PatternError && reason.test(err.reason), pattern);
}

describe("pattern subset: rewrites", () => {
    it("$ becomes the true end (PCRE2's $ also matches before a final newline)", () => {
        assert.equal(canonicalPattern("^a$"), "^a(?![\\s\\S])");
    });

    it(". becomes ECMAScript's dot (PCRE2's also matches CR, U+2028, U+2029)", () => {
        assert.equal(canonicalPattern("a.b"), "a[^\\n\\r\\u2028\\u2029]b");
    });

    it("\\s and \\S become ECMAScript's explicit white-space set, \\v as \\u000b (PCRE2's class \\v is vertical space)", () => {
        const set = "\\t\\n\\u000b\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";
        assert.equal(canonicalPattern("\\s"), `[${set}]`);
        assert.equal(canonicalPattern("\\S"), `[^${set}]`);
        assert.equal(canonicalPattern("[\\sx]"), `[${set}x]`);
        assert.equal(canonicalPattern("\\v"), "\\u000b");
    });

    it("class punctuation is always escaped ([:alpha:] is a POSIX class to PCRE2)", () => {
        assert.equal(canonicalPattern("[[:alpha:]"), "[\\[:alpha:]"); // JavaScript: the characters [ : a l p h
        refused("[[:alpha:]]", /unbalanced "\]"/); // the POSIX class a PCRE user means is not JavaScript
        assert.equal(canonicalPattern("[a-]"), "[a\\-]");
        assert.equal(canonicalPattern("[-a^]"), "[\\-a\\^]");
    });

    it("escapes become the character, invisible ones as \\uHHHH; / is escaped", () => {
        assert.equal(canonicalPattern("\\x41\\u00e9\\t/"), "A\u00e9\\u0009\\/");
    });

    it("supported constructs pass through", () => {
        for (const pattern of ["^(?:ab|cd)+?x{2,3}y{2,}z*?$", "(?=.*\\d)(?!.*\\W)\\bword\\B", "^([a-z]{1,3}\\.){3}[a-z]{1,3}$", "^\u{1F600}[\u{1F600}-\u{1F64F}]$"]) {
            assert.doesNotThrow(() => canonicalPattern(pattern), pattern);
        }
    });
});

describe("pattern subset: refusals", () => {
    it("lookbehind", () => refused("(?<=a)b", /lookbehind/));
    it("negative lookbehind", () => refused("(?<!a)b", /lookbehind/));
    it("named groups", () => refused("(?<year>\\d{4})", /named group/));
    it("backreferences", () => refused("(a)\\1", /backreference/));
    it("named backreferences", () => refused("\\k<a>", /named backreference/));
    it("Unicode property escapes", () => refused("\\p{L}", /property escape/));
    it("inline flags (PCRE-only)", () => refused("(?i)abc", /unsupported group/));
    it("\\u{...} and surrogate escapes", () => {
        refused("\\u{1F600}", /four hex digits/);
        refused("\\ud83d\\ude00", /surrogate/);
    });
    it("octal / NUL and control escapes", () => {
        refused("\\0", /NUL/);
        refused("\\cA", /control escape/);
    });
    it("unknown escapes (\\Q...\\E, \\z, \\A are PCRE-only)", () => {
        refused("\\Qa.b\\E", /unknown escape/);
        refused("a\\z", /unknown escape/);
    });
    it("a bare { or } (escape it)", () => {
        refused("a{,3}", /not a quantifier/);
        refused("a}", /unbalanced/);
    });
    it("a quantifier on an assertion or on nothing", () => {
        refused("^*a", /after the assertion/);
        refused("*a", /nothing to repeat/);
        refused("(?=a)+", /after the assertion/);
    });
    it("possessive and stacked quantifiers (PCRE-only)", () => refused("a*+", /cannot follow a quantifier/));
    it("empty classes and reversed ranges", () => {
        refused("[]a]", /empty character class/);
        refused("[^]", /empty character class/);
        refused("[z-a]", /reversed range/);
        refused("[\\d-z]", /class escape/);
    });
    it("\\S and \\b inside a class", () => {
        refused("[\\S]", /inside a class/);
        refused("[\\b]", /inside a class/);
    });
    it(`repeat counts above ${MAX_REPEAT}`, () => refused("a{1,1001}", /above 1000/));
    it("nested repetition (exponential backtracking)", () => {
        refused("^(a+)+$", /nested repetition/);
        refused("^(\\w+\\s?)*$", /nested repetition/);
        refused("^(?:a|b*){2,}$", /nested repetition/);
    });
    it("unbalanced groups and classes", () => {
        refused("(a", /expected "\)"/);
        refused("a)", /unbalanced/);
        refused("[a", /unterminated/);
        refused("a\\", /trailing backslash/);
    });
});
