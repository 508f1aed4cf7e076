/**
 * `pattern` / `patternProperties` regular expressions, restricted to a subset that V8 (Node, where
 * the tests run) and njs 0.7.9 (PCRE2 in UTF mode, where requests are checked) read alike, and
 * rewritten into one canonical source for both.
 *
 * Measured differences (njs 0.7.9 CLI vs Node 20) the rewrite removes:
 * - `$` also matches before a final "\n" in PCRE2: emitted as `(?![\s\S])` (the true end).
 * - `.` also matches "\r", U+2028, U+2029 in PCRE2: emitted as `[^\n\r\u2028\u2029]`.
 * - `\s` / `\S` are ASCII-only in PCRE2 (no U+00A0, U+FEFF, ...): emitted as ECMAScript's
 *   explicit white-space set; `\S` inside a class cannot be spelled that way and is refused.
 * - `\v` inside a PCRE2 class is "vertical space" (also U+0085, U+2028): emitted as \u000b.
 * - njs 0.7.9 never matches the empty string against a pattern compiled in UTF mode (one with a
 *   character above U+00FF): the compiler records V8's answer for "" beside each pattern.
 * - Astral characters are one character in njs and two without V8's `u` flag: validator.js
 *   runs these sources with the `u` flag where the engine has it (V8) and without it in njs,
 *   whose strings and PCRE2 are code-point based already; the canonical source is valid in both.
 * - Literal `[`, `-`, `^`, `]` inside a class are always escaped (PCRE2 reads `[:alpha:]`).
 *
 * Refused, with the reason: lookbehind, named groups, backreferences, `\p{..}`, `\k`, `\c`,
 * octal/NUL escapes, `\u{..}` and surrogate `\u` escapes (write the character itself), unknown
 * escapes, inline flags and any other `(?` group, a quantifier on an assertion, `{` that is not
 * a quantifier (escape it), empty classes, reversed ranges, repeat counts above
 * MAX_REPEAT, and a repeated group that itself contains an unbounded repeat (`(a+)+`,
 * `(\w+\s?)*`): that shape backtracks exponentially and V8 has no match limit. Supported:
 * literals, escaped syntax characters, `\d \D \w \W \s \S \b \B \t \n \v \f \r \xHH \uHHHH`,
 * `.`, `^`, `$`, classes with ranges, `(...)`, `(?:...)`, `(?=...)`, `(?!...)`, `|`,
 * `* + ? {n} {n,} {n,m}` and their lazy forms.
 */

/** Larger counts are refused: PCRE2 caps repeats at 65535 and large counts only cost time. */
export const MAX_REPEAT = 1000;

/** ECMAScript's \s (WhiteSpace + LineTerminator, ECMA-262 22.2.2.9), spelled for a class body. */
const ECMASCRIPT_WHITESPACE = "\\t\\n\\u000b\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";
const DOT = "[^\\n\\r\\u2028\\u2029]";
const END = "(?![\\s\\S])";
const SYNTAX_CHARACTERS = "^$\\.*+?()[]{}|/";

export class PatternError extends Error {
    constructor(readonly reason: string) {
        super(reason);
        this.name = "PatternError";
    }
}

interface Piece {
    source: string;
    /** Contains a quantifier with no upper bound. */
    unbounded: boolean;
    /** Contains a quantifier that repeats (upper bound > 1). */
    repeats: boolean;
}

/** Turns a schema pattern into its canonical source, or throws PatternError naming the problem. */
export function canonicalPattern(pattern: string): string {
    const parser = new PatternParser(pattern);
    const source = parser.parse();
    // V8 runs it with the u flag (validator.js); njs's PCRE2 reading is covered by the parity tests.
    try {
        new RegExp(source, "u");
    } catch (err) {
        throw new PatternError(`does not compile (${(err as Error).message})`);
    }
    return source;
}

class PatternParser {
    private readonly chars: string[];
    private pos = 0;

    constructor(pattern: string) {
        this.chars = Array.from(pattern); // code points: an astral character is one literal
    }

    parse(): string {
        const result = this.disjunction();
        if (this.pos < this.chars.length) {
            throw new PatternError(`unbalanced "${this.chars[this.pos]}" at character ${this.pos} (escape it)`);
        }
        return result.source;
    }

    private peek(offset = 0): string | undefined {
        return this.chars[this.pos + offset];
    }

    private disjunction(): Piece {
        const alternatives = [this.alternative()];
        while (this.peek() === "|") {
            this.pos++;
            alternatives.push(this.alternative());
        }
        return {
            source: alternatives.map((a) => a.source).join("|"),
            unbounded: alternatives.some((a) => a.unbounded),
            repeats: alternatives.some((a) => a.repeats),
        };
    }

    private alternative(): Piece {
        const terms: Piece[] = [];
        for (let c = this.peek(); c !== undefined && c !== "|" && c !== ")"; c = this.peek()) {
            terms.push(this.term());
        }
        return {
            source: terms.map((t) => t.source).join(""),
            unbounded: terms.some((t) => t.unbounded),
            repeats: terms.some((t) => t.repeats),
        };
    }

    private term(): Piece {
        const start = this.pos;
        const assertion = this.assertion();
        if (assertion !== undefined) {
            if (this.quantifierAhead()) throw new PatternError(`a quantifier after the assertion at character ${start}`);
            return { source: assertion, unbounded: false, repeats: false };
        }
        const atom = this.atom();
        const quantifier = this.quantifier();
        if (quantifier === undefined) return atom;
        const repeats = quantifier.max === undefined || quantifier.max > 1;
        if ((quantifier.max === undefined && atom.repeats) || (repeats && atom.unbounded)) {
            throw new PatternError(
                `nested repetition at character ${start}: a repeated group containing an unbounded repeat backtracks exponentially`,
            );
        }
        return {
            source: atom.source + quantifier.source,
            unbounded: atom.unbounded || quantifier.max === undefined,
            repeats: atom.repeats || repeats,
        };
    }

    private assertion(): string | undefined {
        const c = this.peek();
        if (c === "^") {
            this.pos++;
            return "^";
        }
        if (c === "$") {
            this.pos++;
            return END;
        }
        if (c === "\\" && (this.peek(1) === "b" || this.peek(1) === "B")) {
            this.pos += 2;
            return `\\${this.chars[this.pos - 1]}`;
        }
        if (c === "(" && this.peek(1) === "?" && (this.peek(2) === "=" || this.peek(2) === "!")) {
            const open = `(?${this.peek(2)}`;
            this.pos += 3;
            const inner = this.disjunction();
            this.expect(")");
            return `${open}${inner.source})`;
        }
        return undefined;
    }

    private atom(): Piece {
        const at = this.pos;
        const c = this.chars[this.pos++];
        switch (c) {
            case ".":
                return literalPiece(DOT);
            case "[":
                return literalPiece(this.characterClass(at));
            case "(": {
                let open = "(";
                if (this.peek() === "?") {
                    if (this.peek(1) !== ":") throw new PatternError(groupRefusal(this.chars.slice(at, at + 4).join(""), at));
                    this.pos += 2;
                    open = "(?:";
                }
                const inner = this.disjunction();
                this.expect(")");
                return { source: `${open}${inner.source})`, unbounded: inner.unbounded, repeats: inner.repeats };
            }
            case "\\":
                return literalPiece(this.escape(at, false));
            case "*":
            case "+":
            case "?":
                throw new PatternError(`nothing to repeat at character ${at}`);
            case "{":
                throw new PatternError(`"{" at character ${at} is not a quantifier (escape it as \\{)`);
            case "}":
            case "]":
                throw new PatternError(`unbalanced "${c}" at character ${at} (escape it)`);
            default:
                return literalPiece(literal(c as string, false));
        }
    }

    private quantifierAhead(): boolean {
        const c = this.peek();
        return c === "*" || c === "+" || c === "?" || (c === "{" && /^\{\d+(,\d*)?\}/.test(this.chars.slice(this.pos, this.pos + 12).join("")));
    }

    private quantifier(): { source: string; max: number | undefined } | undefined {
        const c = this.peek();
        let source: string;
        let max: number | undefined;
        if (c === "*" || c === "+" || c === "?") {
            this.pos++;
            source = c;
            max = c === "?" ? 1 : undefined;
        } else if (c === "{") {
            const rest = this.chars.slice(this.pos).join("");
            const match = /^\{(\d+)(,(\d*))?\}/.exec(rest);
            if (match === null) throw new PatternError(`"{" at character ${this.pos} is not a quantifier (escape it as \\{)`);
            const min = Number(match[1]);
            max = match[2] === undefined ? min : match[3] === "" ? undefined : Number(match[3]);
            if (min > MAX_REPEAT || (max !== undefined && max > MAX_REPEAT)) {
                throw new PatternError(`repeat count above ${MAX_REPEAT} at character ${this.pos}`);
            }
            if (max !== undefined && max < min) throw new PatternError(`repeat range {${min},${max}} is reversed`);
            this.pos += Array.from(match[0]).length;
            source = match[0];
        } else {
            return undefined;
        }
        if (this.peek() === "?") {
            this.pos++;
            source += "?";
        }
        if (this.peek() === "+" || this.quantifierAhead()) {
            throw new PatternError(`a quantifier cannot follow a quantifier at character ${this.pos}`);
        }
        return { source, max };
    }

    private characterClass(at: number): string {
        let negated = false;
        if (this.peek() === "^") {
            negated = true;
            this.pos++;
        }
        let body = "";
        let members = 0;
        for (;;) {
            const c = this.peek();
            if (c === undefined) throw new PatternError(`unterminated character class at character ${at}`);
            if (c === "]") {
                this.pos++;
                break;
            }
            const start = this.classAtom();
            if (this.peek() === "-" && this.peek(1) !== "]" && this.peek(1) !== undefined) {
                this.pos++;
                const end = this.classAtom();
                if (start.codePoint === undefined || end.codePoint === undefined) {
                    throw new PatternError(`a range with a class escape (like \\d) as an end at character ${at}`);
                }
                if (start.codePoint > end.codePoint) throw new PatternError(`reversed range in the class at character ${at}`);
                body += `${start.source}-${end.source}`;
            } else {
                body += start.source;
            }
            members++;
        }
        if (members === 0) throw new PatternError(`empty character class at character ${at}`);
        return `[${negated ? "^" : ""}${body}]`;
    }

    /** One class member: a character (with its code point, for ranges) or a class escape. */
    private classAtom(): { source: string; codePoint?: number } {
        const at = this.pos;
        const c = this.chars[this.pos++];
        if (c === "\\") {
            const next = this.peek();
            if (next === "b" || next === "B") throw new PatternError(`"\\${next}" inside a class at character ${at}`);
            if (next === "S") throw new PatternError(`"\\S" inside a class at character ${at} (list the characters instead)`);
            if (next === "d" || next === "D" || next === "w" || next === "W" || next === "s") {
                this.pos++;
                return { source: next === "s" ? ECMASCRIPT_WHITESPACE : `\\${next}` };
            }
            const codePoint = this.escapedCodePoint(at);
            return { source: literal(String.fromCodePoint(codePoint), true), codePoint };
        }
        return { source: literal(c as string, true), codePoint: (c as string).codePointAt(0) };
    }

    /** An escape outside a class (the backslash is consumed). */
    private escape(at: number, inClass: boolean): string {
        const next = this.peek();
        switch (next) {
            case "d":
            case "D":
            case "w":
            case "W":
                this.pos++;
                return `\\${next}`;
            case "s":
                this.pos++;
                return `[${ECMASCRIPT_WHITESPACE}]`;
            case "S":
                this.pos++;
                return `[^${ECMASCRIPT_WHITESPACE}]`;
            default:
                return literal(String.fromCodePoint(this.escapedCodePoint(at)), inClass);
        }
    }

    /** The character a character escape stands for (the backslash is consumed). */
    private escapedCodePoint(at: number): number {
        const c = this.chars[this.pos++];
        if (c === undefined) throw new PatternError("a trailing backslash");
        const simple: Record<string, number> = { t: 0x09, n: 0x0a, v: 0x0b, f: 0x0c, r: 0x0d, "-": 0x2d };
        if (c in simple) return simple[c];
        if (SYNTAX_CHARACTERS.includes(c)) return c.codePointAt(0)!;
        if (c === "x") {
            const hex = this.chars.slice(this.pos, this.pos + 2).join("");
            if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new PatternError(`"\\x" needs two hex digits at character ${at}`);
            this.pos += 2;
            return parseInt(hex, 16);
        }
        if (c === "u") {
            const hex = this.chars.slice(this.pos, this.pos + 4).join("");
            if (!/^[0-9A-Fa-f]{4}$/.test(hex)) {
                throw new PatternError(`"\\u" needs four hex digits at character ${at} (\\u{...} is not supported: write the character itself)`);
            }
            const codePoint = parseInt(hex, 16);
            if (codePoint >= 0xd800 && codePoint <= 0xdfff) {
                throw new PatternError(`surrogate escape at character ${at} (write the character itself)`);
            }
            this.pos += 4;
            return codePoint;
        }
        if (/[1-9]/.test(c)) throw new PatternError(`backreference at character ${at}`);
        if (c === "0") throw new PatternError(`NUL/octal escape at character ${at} (use \\x00)`);
        if (c === "k") throw new PatternError(`named backreference at character ${at}`);
        if (c === "p" || c === "P") throw new PatternError(`Unicode property escape at character ${at}`);
        if (c === "c") throw new PatternError(`control escape at character ${at} (use \\xHH)`);
        throw new PatternError(`unknown escape "\\${c}" at character ${at}`);
    }

    private expect(c: string): void {
        if (this.peek() !== c) throw new PatternError(`expected "${c}" at character ${this.pos}`);
        this.pos++;
    }
}

function literalPiece(source: string): Piece {
    return { source, unbounded: false, repeats: false };
}

function groupRefusal(opening: string, at: number): string {
    if (opening.startsWith("(?<=") || opening.startsWith("(?<!")) return `lookbehind at character ${at}`;
    if (opening.startsWith("(?<")) return `named group at character ${at}`;
    return `unsupported group "${opening}" at character ${at} (only (?:, (?= and (?! are supported)`;
}

/** One character as canonical source: syntax characters escaped, invisible ones as \uHHHH. */
function literal(c: string, inClass: boolean): string {
    const codePoint = c.codePointAt(0)!;
    if (SYNTAX_CHARACTERS.includes(c) || (inClass && c === "-")) return `\\${c}`;
    if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint <= 0x9f) || codePoint === 0x2028 || codePoint === 0x2029) {
        return `\\u${codePoint.toString(16).padStart(4, "0")}`;
    }
    if (codePoint >= 0xd800 && codePoint <= 0xdfff) throw new PatternError("a lone surrogate in the pattern");
    return c;
}
