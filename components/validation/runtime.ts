/**
 * validator.js as text (for the generated njs module) and as callable functions (for Node and
 * the tests). The same source runs in both places; nothing is transpiled.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as vm from "node:vm";
import type { CompiledSchema, JsonValue } from "./ir";

/** The runtime's source: defines apiproxyParseJson and apiproxyValidateJson, exports nothing. */
export const VALIDATOR_SOURCE: string = readFileSync(join(__dirname, "validator.js"), "utf8");

export interface ValidationLimits {
    /** Parse: nesting levels (capped at 31, njs's JSON.parse limit; default 24). Validate: levels checked (default 64). */
    maxDepth?: number;
    /** Parse: values in the body (default 10000). */
    maxNodes?: number;
}

export interface ValidationFailure {
    /** RFC 6901 pointer into the body. */
    pointer: string;
    /** The rule that failed; never the value. */
    reason: string;
}

export type ParseResult = { value: JsonValue } | { error: string };

export interface Validator {
    validate(compiled: CompiledSchema, value: unknown, limits?: ValidationLimits): ValidationFailure | null;
    parse(text: string, limits?: ValidationLimits): ParseResult;
}

/**
 * Evaluates the runtime in a fresh V8 context (no require, no process: it must need nothing
 * njs lacks). Results are copied into this realm so deepStrictEqual compares them plainly.
 */
export function loadValidator(): Validator {
    const context = vm.createContext({});
    const exported = vm.runInContext(`${VALIDATOR_SOURCE}\n;({ validate: apiproxyValidateJson, parse: apiproxyParseJson });`, context, {
        filename: "validator.js",
    }) as {
        validate(compiled: unknown, value: unknown, limits: unknown): { pointer: string; reason: string } | null;
        parse(text: unknown, limits: unknown): { value?: unknown; error?: string };
    };
    return {
        validate(compiled, value, limits = {}) {
            const failure = exported.validate(compiled, value, limits);
            return failure === null ? null : { pointer: failure.pointer, reason: failure.reason };
        },
        parse(text, limits = {}) {
            const result = exported.parse(text, limits);
            return result.error !== undefined ? { error: result.error } : { value: structuredClone(result.value) as JsonValue };
        },
    };
}

/**
 * JSON data (a compiled schema, a route table) as a JavaScript expression for a generated
 * module: JSON.parse of a string literal, not an object literal, because in an object literal a
 * "__proto__" member (an enum value's, say) sets a prototype instead of a property, and
 * U+2028/U+2029 are not legal in older engines' string literals.
 */
export function jsonExpression(value: unknown): string {
    const literal = JSON.stringify(JSON.stringify(value)).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
    return `JSON.parse(${literal})`;
}
