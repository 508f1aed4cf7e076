/**
 * The compiled form of a JSON Schema that validator.js interprets inside nginx (njs) and in Node.
 *
 * Plain JSON by construction: it is embedded into the generated njs module as a literal. A schema
 * becomes a table of nodes that refer to each other by index, so a recursive schema (a tree, a
 * linked list) is a cycle of indices, not an infinite expansion, and a `$ref` to a `$ref` is the
 * same index. Schema-defined names (property names) live in arrays, never as object keys, so a
 * property called "__proto__" survives any JavaScript literal embedding.
 *
 * A node holds only the checks that apply; an absent field is "no constraint". Checks that apply
 * to one JSON type (minimum, minLength, items, properties, ...) are skipped for other types,
 * as JSON Schema specifies; `types` is what restricts the type.
 */

/** Bumped whenever validator.js would read a node differently; the runtime refuses other versions. */
export const IR_VERSION = 1;

/** JSON types as bits of `CompiledNode.types`. "integer" is its own bit: a number with no fraction. */
export const TYPE_BITS = {
    null: 1,
    boolean: 2,
    object: 4,
    array: 8,
    number: 16,
    string: 32,
    integer: 64,
} as const;
export type JsonTypeName = keyof typeof TYPE_BITS;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Formats the runtime checks, and the JSON type each applies to (other types pass, as in JSON
 * Schema). `password` and `binary` are accepted and not checked: they describe display or
 * transport, not a set of valid strings. Any other format is refused at compile time.
 */
export const FORMATS = {
    "date-time": "string", // RFC 3339 section 5.6 date-time, calendar-checked (Feb 29 only in leap years); seconds 00-60
    date: "string", // RFC 3339 full-date, calendar-checked
    email: "string", // dot-atom local part (RFC 5322 3.2.3) "@" hostname; no quoted local parts, no IP literals
    uuid: "string", // RFC 9562 text form 8-4-4-4-12 hex digits, any version/variant
    ipv4: "string", // dotted quad, each 0-255, no leading zeros (RFC 6943 3.1.1 ambiguity)
    ipv6: "string", // RFC 4291 2.2 text forms incl. "::" and an embedded dotted quad; no zone index
    uri: "string", // RFC 3986 absolute URI: scheme ":" then only RFC 3986 characters, valid %HH
    hostname: "string", // RFC 1123 2.1: labels of letters/digits/hyphens, 1-63 each, 253 in all
    byte: "string", // RFC 4648 section 4 base64, padded
    password: "string", // not checked (a UI hint)
    binary: "string", // not checked (any string)
    int32: "number", // an integer in [-2^31, 2^31-1]
    int64: "number", // an integer in [-2^63, 2^63] (a JSON number beyond 2^53 is already rounded)
    float: "number", // finite and within IEEE 754 binary32 range
    double: "number", // finite
} as const;
export type FormatName = keyof typeof FORMATS;

export interface CompiledNode {
    /** Every value fails here with this reason (the `false` schema, a read-only property). */
    reject?: string;
    /** Allowed JSON types as a bitmask of TYPE_BITS; absent = any type. */
    types?: number;
    /** The value must deep-equal one of these (const compiles to one entry). */
    enum?: JsonValue[];

    minimum?: number;
    exclusiveMinimum?: number;
    maximum?: number;
    exclusiveMaximum?: number;
    multipleOf?: number;

    /** In Unicode code points, not UTF-16 units. */
    minLength?: number;
    maxLength?: number;
    /** Index into CompiledSchema.patterns (unanchored search, like JSON Schema). */
    pattern?: number;
    format?: FormatName;

    minItems?: number;
    maxItems?: number;
    uniqueItems?: true;
    /** Node indices for the leading items (prefixItems). */
    prefixItems?: number[];
    /** Node index for every item after prefixItems. */
    items?: number;

    minProperties?: number;
    maxProperties?: number;
    /** Required property names, checked in this order. */
    required?: string[];
    /** [property name, node index]. */
    properties?: Array<[string, number]>;
    /** [index into CompiledSchema.patterns, node index]. */
    patternProperties?: Array<[number, number]>;
    /** Node index for properties matched by neither properties nor patternProperties. */
    additionalProperties?: number;

    /** Node indices; a `$ref` with sibling keywords (2020-12 / OpenAPI 3.1) is the first entry. */
    allOf?: number[];
    anyOf?: number[];
    oneOf?: number[];
    not?: number;
}

export interface CompiledSchema {
    version: typeof IR_VERSION;
    /** Index of the node the request body is checked against. */
    root: number;
    nodes: CompiledNode[];
    /** Regular expressions in the subset both V8 and njs (PCRE2) read alike; see pattern.ts. */
    patterns: CompiledPattern[];
}

export interface CompiledPattern {
    /** Canonical source (pattern.ts), run with the u flag in V8 and as is in njs. */
    source: string;
    /** V8's answer for the empty string, which njs 0.7.9 gets wrong for UTF-mode patterns. */
    matchesEmpty: boolean;
}
