/**
 * The keyword corpus: per supported keyword, a schema with values it must accept and values it
 * must reject (with the pointer and reason expected). The keyword tests run it in Node; the
 * parity test runs the same corpus in njs and requires identical answers.
 */
import type { SchemaDialect } from "../../../components/validation/schema-compiler";

export interface Rejection {
    value: unknown;
    pointer: string;
    reason: string;
}

export interface KeywordCase {
    /** What the case is about (one property per test). */
    name: string;
    dialect: SchemaDialect;
    schema: unknown;
    /** When $refs need a surrounding document: the schema sits at `pointer` in it. */
    document?: unknown;
    pointer?: string;
    valid: unknown[];
    invalid: Rejection[];
}

const O30 = "openapi-3.0" as const;
const O31 = "openapi-3.1" as const;
const JS = "json-schema-2020-12" as const;

const reject = (value: unknown, pointer: string, reason: string): Rejection => ({ value, pointer, reason });

/** The schema a case compiles and the context it compiles in. */
export function caseContext(c: KeywordCase): { schema: unknown; document: unknown; pointer: string } {
    const document = c.document ?? c.schema;
    const pointer = c.pointer ?? "";
    let schema = c.schema;
    if (schema === undefined) {
        schema = document;
        for (const segment of pointer.split("/").slice(1)) schema = (schema as Record<string, unknown>)[segment.replace(/~1/g, "/").replace(/~0/g, "~")];
    }
    return { schema, document, pointer };
}

export const KEYWORD_CASES: KeywordCase[] = [
    {
        name: "type: string",
        dialect: O30,
        schema: { type: "string" },
        valid: ["", "a"],
        invalid: [reject(1, "", "must be string"), reject(null, "", "must be string"), reject(["a"], "", "must be string")],
    },
    {
        name: "type: integer (a number with no fraction; 1.0 is 1 in JSON)",
        dialect: O30,
        schema: { type: "integer" },
        valid: [0, -5, 1e3, 2 ** 60],
        invalid: [reject(1.5, "", "must be integer"), reject("1", "", "must be integer"), reject(true, "", "must be integer")],
    },
    {
        name: "type: number",
        dialect: O30,
        schema: { type: "number" },
        valid: [0, 1.5, -1e-9],
        invalid: [reject("1.5", "", "must be number"), reject({}, "", "must be number")],
    },
    {
        name: "type: boolean, object, array",
        dialect: O30,
        schema: { type: "object", properties: { b: { type: "boolean" }, o: { type: "object" }, a: { type: "array" } } },
        valid: [{ b: false, o: {}, a: [] }],
        invalid: [reject({ b: "true" }, "/b", "must be boolean"), reject({ o: [] }, "/o", "must be object"), reject({ a: {} }, "/a", "must be array")],
    },
    {
        name: "type array (3.1): string or null",
        dialect: O31,
        schema: { type: ["string", "null"] },
        valid: ["x", null],
        invalid: [reject(1, "", "must be one of null, string"), reject(false, "", "must be one of null, string")],
    },
    {
        name: "nullable (3.0) adds null to type",
        dialect: O30,
        schema: { type: "object", properties: { n: { type: "integer", nullable: true }, s: { type: "integer" } } },
        valid: [{ n: null, s: 1 }, { n: 2 }],
        invalid: [reject({ s: null }, "/s", "must be integer"), reject({ n: "x" }, "/n", "must be one of null, integer")],
    },
    {
        name: "nullable with enum still needs null in the enum (OpenAPI 3.0.3)",
        dialect: O30,
        schema: { type: "string", nullable: true, enum: ["a", null] },
        valid: ["a", null],
        invalid: [reject("b", "", "must be one of the allowed values")],
    },
    {
        name: "enum (deep equality, member order ignored)",
        dialect: O31,
        schema: { enum: ["a", 1, null, { x: [1, { y: true }], z: "q" }, [1, 2]] },
        valid: ["a", 1, 1.0, null, { z: "q", x: [1, { y: true }] }, [1, 2]],
        invalid: [
            reject("A", "", "must be one of the allowed values"),
            reject({ x: [1, { y: false }], z: "q" }, "", "must be one of the allowed values"),
            reject([2, 1], "", "must be one of the allowed values"),
            reject("1", "", "must be one of the allowed values"),
        ],
    },
    {
        name: "const (3.1)",
        dialect: O31,
        schema: { const: { kind: "order", v: [1] } },
        valid: [{ v: [1], kind: "order" }],
        invalid: [reject({ kind: "order" }, "", "must be the allowed value"), reject("order", "", "must be the allowed value")],
    },
    {
        name: "properties and required (pointer names the missing member)",
        dialect: O30,
        schema: { type: "object", required: ["id", "qty"], properties: { id: { type: "string" }, qty: { type: "integer" } } },
        valid: [{ id: "a", qty: 1 }, { id: "a", qty: 1, other: true }],
        invalid: [
            reject({ qty: 1 }, "/id", "is required"),
            reject({ id: "a" }, "/qty", "is required"),
            reject({ id: 1, qty: 1 }, "/id", "must be string"),
        ],
    },
    {
        name: "additionalProperties: false",
        dialect: O30,
        schema: { type: "object", additionalProperties: false, properties: { a: { type: "integer" } } },
        valid: [{}, { a: 1 }],
        invalid: [reject({ a: 1, b: 2 }, "/b", "is not an allowed property"), reject({ "a/b": 1, "c~d": 1 }, "/a~1b", "is not an allowed property")],
    },
    {
        name: "additionalProperties as a schema",
        dialect: O30,
        schema: { type: "object", properties: { name: { type: "string" } }, additionalProperties: { type: "integer", minimum: 0 } },
        valid: [{ name: "x", a: 1, b: 0 }],
        invalid: [reject({ name: "x", a: -1 }, "/a", "must be >= 0"), reject({ name: 1 }, "/name", "must be string")],
    },
    {
        name: "patternProperties with additionalProperties false",
        dialect: O31,
        schema: { type: "object", properties: { id: { type: "string" } }, patternProperties: { "^x-[a-z]+$": { type: "string" } }, additionalProperties: false },
        valid: [{ id: "1", "x-trace": "t" }],
        invalid: [reject({ "x-trace": 1 }, "/x-trace", "must be string"), reject({ "x-Trace": "t" }, "/x-Trace", "is not an allowed property")],
    },
    {
        name: "items (every item, pointer is the index)",
        dialect: O30,
        schema: { type: "array", items: { type: "integer" } },
        valid: [[], [1, 2, 3]],
        invalid: [reject([1, 2, "3"], "/2", "must be integer"), reject([1.5], "/0", "must be integer")],
    },
    {
        name: "prefixItems with items: false (3.1)",
        dialect: O31,
        schema: { type: "array", prefixItems: [{ type: "string" }, { type: "integer" }], items: false },
        valid: [[], ["a"], ["a", 1]],
        invalid: [reject([1], "/0", "must be string"), reject(["a", 1, null], "/2", "is not allowed")],
    },
    {
        name: "minItems / maxItems",
        dialect: O30,
        schema: { type: "array", minItems: 1, maxItems: 2 },
        valid: [[1], [1, 2]],
        invalid: [reject([], "", "must have at least 1 items"), reject([1, 2, 3], "", "must have at most 2 items")],
    },
    {
        name: "uniqueItems (deep equality; the pointer is the repeat)",
        dialect: O30,
        schema: { type: "array", uniqueItems: true },
        valid: [[1, "1", [1], { a: 1 }, { a: "1" }, true, null]],
        invalid: [reject([{ a: 1, b: 2 }, 3, { b: 2, a: 1 }], "/2", "must not repeat item 0"), reject(["x", "y", "x"], "/2", "must not repeat item 0")],
    },
    {
        name: "minLength / maxLength count code points, not UTF-16 units",
        dialect: O30,
        schema: { type: "string", minLength: 2, maxLength: 3 },
        valid: ["ab", "\u{1F600}\u{1F600}", "\u{1F600}\u{1F600}\u{1F600}", "e\u0301x"],
        invalid: [reject("\u{1F600}", "", "must have at least 2 characters"), reject("abcd", "", "must have at most 3 characters"), reject("\u{1F600}\u{1F600}ab", "", "must have at most 3 characters")],
    },
    {
        name: "pattern: $ is the true end (PCRE2 would also match before a final newline)",
        dialect: O30,
        schema: { type: "string", pattern: "^[a-z]+$" },
        valid: ["abc"],
        invalid: [reject("abc\n", "", "must match the pattern"), reject("ABC", "", "must match the pattern")],
    },
    {
        name: "pattern: . is ECMAScript's (not CR, LS, PS) and an astral character is one",
        dialect: O30,
        schema: { type: "string", pattern: "^a.c$" },
        valid: ["abc", "a\u{1F600}c"],
        invalid: [reject("a\rc", "", "must match the pattern"), reject("a\u2028c", "", "must match the pattern"), reject("a\nc", "", "must match the pattern")],
    },
    {
        name: "pattern: \\s is ECMAScript's white space (U+00A0, U+FEFF too)",
        dialect: O30,
        schema: { type: "string", pattern: "^\\S+\\s\\S+$" },
        valid: ["a b", "a\u00a0b", "a\ufeffb", "a\tb"],
        invalid: [reject("ab", "", "must match the pattern"), reject("a\u0085b", "", "must match the pattern")],
    },
    {
        name: "pattern: negated class and counted repeats over astral characters",
        dialect: O30,
        schema: { type: "string", pattern: "^[^a]{2}$" },
        valid: ["\u{1F600}\u{1F601}", "bc"],
        invalid: [reject("\u{1F600}", "", "must match the pattern"), reject("ba", "", "must match the pattern")],
    },
    {
        name: "pattern on the empty string (njs 0.7.9 never matches \"\" in UTF mode; the compiler's answer is used)",
        dialect: O30,
        schema: { type: "object", properties: { any: { type: "string", pattern: "^[^\u2028]*$" }, some: { type: "string", pattern: "\u00e9|\u0100" } } },
        valid: [{ any: "" }, { any: "x", some: "\u0100" }],
        invalid: [reject({ some: "" }, "/some", "must match the pattern"), reject({ any: "\u2028" }, "/any", "must match the pattern")],
    },
    {
        name: "pattern is an unanchored search (JSON Schema)",
        dialect: O30,
        schema: { type: "string", pattern: "[0-9]" },
        valid: ["ab1", "9"],
        invalid: [reject("abc", "", "must match the pattern")],
    },
    {
        name: "format: date-time (RFC 3339, calendar-checked)",
        dialect: O30,
        schema: { type: "string", format: "date-time" },
        valid: ["2024-02-29T23:59:60Z", "2023-01-01t00:00:00.123+05:30", "1999-12-31T23:59:59-00:00"],
        invalid: [
            reject("2023-02-29T00:00:00Z", "", "must be a valid date-time"),
            reject("2023-01-01T24:00:00Z", "", "must be a valid date-time"),
            reject("2023-01-01 00:00:00Z", "", "must be a valid date-time"),
            reject("2023-01-01T00:00:00", "", "must be a valid date-time"),
            reject("2023-01-01T00:00:00Z\n", "", "must be a valid date-time"),
        ],
    },
    {
        name: "format: date",
        dialect: O30,
        schema: { type: "string", format: "date" },
        valid: ["2000-02-29", "2023-12-31"],
        invalid: [reject("1900-02-29", "", "must be a valid date"), reject("2023-13-01", "", "must be a valid date"), reject("2023-1-01", "", "must be a valid date")],
    },
    {
        name: "format: email",
        dialect: O30,
        schema: { type: "string", format: "email" },
        valid: ["a@example.com", "first.last+tag@sub.example.org", "x@localhost"],
        invalid: [
            reject("a@", "", "must be a valid email"),
            reject("@example.com", "", "must be a valid email"),
            reject("a..b@example.com", "", "must be a valid email"),
            reject("a b@example.com", "", "must be a valid email"),
            reject("a@-example.com", "", "must be a valid email"),
        ],
    },
    {
        name: "format: uuid",
        dialect: O30,
        schema: { type: "string", format: "uuid" },
        valid: ["123e4567-e89b-12d3-a456-426614174000", "00000000-0000-0000-0000-000000000000"],
        invalid: [reject("123e4567e89b12d3a456426614174000", "", "must be a valid uuid"), reject("123e4567-e89b-12d3-a456-42661417400g", "", "must be a valid uuid")],
    },
    {
        name: "format: ipv4",
        dialect: O30,
        schema: { type: "string", format: "ipv4" },
        valid: ["192.0.2.1", "0.0.0.0", "255.255.255.255"],
        invalid: [reject("256.0.0.1", "", "must be a valid ipv4"), reject("01.2.3.4", "", "must be a valid ipv4"), reject("1.2.3", "", "must be a valid ipv4")],
    },
    {
        name: "format: ipv6",
        dialect: O30,
        schema: { type: "string", format: "ipv6" },
        valid: ["::", "::1", "2001:db8::8a2e:370:7334", "2001:0db8:0000:0000:0000:ff00:0042:8329", "::ffff:192.0.2.1"],
        invalid: [
            reject("2001:db8::1::1", "", "must be a valid ipv6"),
            reject("12345::", "", "must be a valid ipv6"),
            reject("1:2:3:4:5:6:7", "", "must be a valid ipv6"),
            reject("fe80::1%eth0", "", "must be a valid ipv6"),
        ],
    },
    {
        name: "format: uri (absolute)",
        dialect: O30,
        schema: { type: "string", format: "uri" },
        valid: ["https://example.com/a?b=c#d", "urn:isbn:0451450523", "mailto:a@example.com"],
        invalid: [reject("/relative/path", "", "must be a valid uri"), reject("https://exa mple.com", "", "must be a valid uri"), reject("http://x/%zz", "", "must be a valid uri")],
    },
    {
        name: "format: hostname",
        dialect: O30,
        schema: { type: "string", format: "hostname" },
        valid: ["example.com", "a-b.c0"],
        invalid: [reject("-a.com", "", "must be a valid hostname"), reject("a..com", "", "must be a valid hostname"), reject(`${"a".repeat(64)}.com`, "", "must be a valid hostname")],
    },
    {
        name: "format: byte (base64)",
        dialect: O30,
        schema: { type: "string", format: "byte" },
        valid: ["", "YQ==", "YWI=", "YWJj"],
        invalid: [reject("YQ", "", "must be a valid byte"), reject("Y===", "", "must be a valid byte"), reject("YW J", "", "must be a valid byte")],
    },
    {
        name: "format: int32 / int64 / float on numbers",
        dialect: O30,
        schema: { type: "object", properties: { i: { type: "integer", format: "int32" }, l: { type: "integer", format: "int64" }, f: { type: "number", format: "float" } } },
        valid: [{ i: 2147483647, l: 9007199254740993, f: 3.4e38 }],
        invalid: [reject({ i: 2147483648 }, "/i", "must be a valid int32"), reject({ l: 1e19 }, "/l", "must be a valid int64"), reject({ f: 3.5e38 }, "/f", "must be a valid float")],
    },
    {
        name: "format applies only to its JSON type",
        dialect: O31,
        schema: { type: ["string", "null", "integer"], format: "date" },
        valid: [null, 5, "2024-01-01"],
        invalid: [reject("2024-01-32", "", "must be a valid date")],
    },
    {
        name: "minimum / maximum (inclusive)",
        dialect: O30,
        schema: { type: "number", minimum: 1, maximum: 10.5 },
        valid: [1, 10.5, 5],
        invalid: [reject(0.999, "", "must be >= 1"), reject(10.51, "", "must be <= 10.5")],
    },
    {
        name: "exclusiveMinimum / exclusiveMaximum, OpenAPI 3.0 boolean form",
        dialect: O30,
        schema: { type: "number", minimum: 0, exclusiveMinimum: true, maximum: 100, exclusiveMaximum: true },
        valid: [0.001, 99.999],
        invalid: [reject(0, "", "must be > 0"), reject(100, "", "must be < 100")],
    },
    {
        name: "exclusiveMinimum: false keeps minimum inclusive (3.0)",
        dialect: O30,
        schema: { type: "number", minimum: 0, exclusiveMinimum: false },
        valid: [0],
        invalid: [reject(-1, "", "must be >= 0")],
    },
    {
        name: "exclusiveMinimum / exclusiveMaximum, 3.1 number form",
        dialect: O31,
        schema: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 100 },
        valid: [0.001, 99.999],
        invalid: [reject(0, "", "must be > 0"), reject(100, "", "must be < 100")],
    },
    {
        name: "multipleOf (decimal steps are exact)",
        dialect: O30,
        schema: { type: "object", properties: { price: { type: "number", multipleOf: 0.01 }, tenth: { type: "number", multipleOf: 0.1 }, three: { type: "integer", multipleOf: 3 } } },
        valid: [{ price: 19.99, tenth: 0.3, three: -9 }, { price: 1e-2, tenth: 12345.6 }],
        invalid: [reject({ price: 19.999 }, "/price", "must be a multiple of 0.01"), reject({ tenth: 0.35 }, "/tenth", "must be a multiple of 0.1"), reject({ three: 10 }, "/three", "must be a multiple of 3")],
    },
    {
        name: "minProperties / maxProperties",
        dialect: O30,
        schema: { type: "object", minProperties: 1, maxProperties: 2 },
        valid: [{ a: 1 }, { a: 1, b: 2 }],
        invalid: [reject({}, "", "must have at least 1 properties"), reject({ a: 1, b: 2, c: 3 }, "", "must have at most 2 properties")],
    },
    {
        name: "allOf (every member; the first failure is reported)",
        dialect: O30,
        schema: { allOf: [{ type: "object", required: ["a"] }, { type: "object", properties: { a: { type: "integer", maximum: 5 } } }] },
        valid: [{ a: 5 }],
        invalid: [reject({}, "/a", "is required"), reject({ a: 6 }, "/a", "must be <= 5")],
    },
    {
        name: "anyOf",
        dialect: O30,
        schema: { anyOf: [{ type: "string", maxLength: 2 }, { type: "integer" }] },
        valid: ["ab", 7],
        invalid: [reject("abc", "", "must match at least one schema in anyOf"), reject(1.5, "", "must match at least one schema in anyOf")],
    },
    {
        name: "oneOf (exactly one; discriminator is an annotation)",
        dialect: O30,
        schema: {
            oneOf: [
                { type: "object", required: ["kind", "radius"], properties: { kind: { type: "string", enum: ["circle"] }, radius: { type: "number" } } },
                { type: "object", required: ["kind", "side"], properties: { kind: { type: "string", enum: ["square"] }, side: { type: "number" } } },
                { type: "integer" },
                { type: "number", minimum: 10 },
            ],
            discriminator: { propertyName: "kind" },
        },
        valid: [{ kind: "circle", radius: 1 }, { kind: "square", side: 2 }, 3, 10.5],
        invalid: [
            reject({ kind: "triangle" }, "", "must match exactly one schema in oneOf (matches none)"),
            reject(12, "", "must match exactly one schema in oneOf (matches more than one)"),
        ],
    },
    {
        name: "not",
        dialect: O30,
        schema: { type: "string", not: { enum: ["admin", "root"] } },
        valid: ["alice"],
        invalid: [reject("root", "", "must not match the schema in not")],
    },
    {
        name: "boolean schemas (3.1): a false property is refused",
        dialect: O31,
        schema: { type: "object", properties: { anything: true, never: false } },
        valid: [{ anything: [1, { a: null }] }],
        invalid: [reject({ never: 1 }, "/never", "is not allowed")],
    },
    {
        name: "readOnly: refused in a request body and not required",
        dialect: O30,
        schema: { type: "object", required: ["id", "name"], properties: { id: { type: "string", readOnly: true }, name: { type: "string" }, secret: { type: "string", writeOnly: true } } },
        valid: [{ name: "a" }, { name: "a", secret: "s" }],
        invalid: [reject({ id: "1", name: "a" }, "/id", "is read-only")],
    },
    {
        name: "$ref: recursive tree (a cycle of node indices)",
        dialect: O30,
        document: {
            components: {
                schemas: {
                    Tree: { type: "object", required: ["value"], additionalProperties: false, properties: { value: { type: "integer" }, children: { type: "array", items: { $ref: "#/components/schemas/Tree" } } } },
                },
            },
        },
        pointer: "/components/schemas/Tree",
        schema: undefined,
        valid: [{ value: 1 }, { value: 1, children: [{ value: 2, children: [{ value: 3, children: [] }] }, { value: 4 }] }],
        invalid: [
            reject({ value: 1, children: [{ value: 2, children: [{ value: "3" }] }] }, "/children/0/children/0/value", "must be integer"),
            reject({ value: 1, children: [{ value: 2 }, { children: [] }] }, "/children/1/value", "is required"),
        ],
    },
    {
        name: "$ref to a $ref to a $ref (escaped ~0 ~1 and percent-encoded names)",
        dialect: O31,
        document: {
            components: {
                schemas: {
                    "a/b": { $ref: "#/components/schemas/c~0d" },
                    "c~d": { $ref: "#/components/schemas/with%20space" },
                    "with space": { type: "string", maxLength: 1 },
                    Holder: { type: "object", properties: { v: { $ref: "#/components/schemas/a~1b" } } },
                },
            },
        },
        pointer: "/components/schemas/Holder",
        schema: undefined,
        valid: [{ v: "x" }],
        invalid: [reject({ v: "xy" }, "/v", "must have at most 1 characters")],
    },
    {
        name: "$ref with sibling keywords applies both (3.1)",
        dialect: O31,
        document: { $defs: { Name: { type: "string", minLength: 1 } } },
        pointer: "/x",
        schema: { $ref: "#/$defs/Name", maxLength: 3 },
        valid: ["abc"],
        invalid: [reject("", "", "must have at least 1 characters"), reject("abcd", "", "must have at most 3 characters")],
    },
    {
        name: "error pointers escape ~ and / (RFC 6901)",
        dialect: JS,
        schema: { type: "object", additionalProperties: { type: "object", additionalProperties: { type: "integer" } } },
        valid: [{ "a/b": { "c~d": 1 } }],
        invalid: [reject({ "a/b": { "c~d": "x" } }, "/a~1b/c~0d", "must be integer"), reject({ "~/": { "": true } }, "/~0~1/", "must be integer")],
    },
    {
        name: "nested arrays of objects",
        dialect: O30,
        schema: {
            type: "object",
            properties: {
                orders: {
                    type: "array",
                    items: { type: "object", required: ["lines"], properties: { lines: { type: "array", items: { type: "object", required: ["qty"], properties: { qty: { type: "integer", minimum: 1 } } } } } },
                },
            },
        },
        valid: [{ orders: [{ lines: [{ qty: 1 }, { qty: 2 }] }, { lines: [] }] }],
        invalid: [reject({ orders: [{ lines: [{ qty: 1 }] }, { lines: [{ qty: 1 }, { qty: 0 }] }] }, "/orders/1/lines/1/qty", "must be >= 1")],
    },
    {
        name: "first error in a fixed order: members by code point, not insertion order",
        dialect: O30,
        schema: { type: "object", additionalProperties: { type: "integer" } },
        valid: [{ "2": 1, a: 2 }],
        invalid: [
            reject({ b: "x", "10": "y", a: "z" }, "/10", "must be integer"),
            reject({ "\u{1F600}": "x", "\uffff": "y" }, "/\uffff", "must be integer"),
        ],
    },
];
