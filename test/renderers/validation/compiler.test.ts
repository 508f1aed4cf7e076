/** The schema compiler: what it refuses (with the exact pointer), the IR it emits, and the documented lists agreeing with the code. */
import assert from "node:assert/strict";
import * as vm from "node:vm";
import { describe, it } from "node:test";
import { compileSchema, SchemaError, SUPPORTED_FORMATS, SUPPORTED_KEYWORDS, type SchemaDialect } from "../../../components/validation/schema-compiler";
import { jsonExpression, loadValidator } from "../../../components/validation/runtime";
import { FORMATS } from "../../../components/validation/ir";

const validator = loadValidator();

const orderDocument = (qty: Record<string, unknown>): unknown => ({
    openapi: "3.0.3",
    components: {
        schemas: {
            Order: { type: "object", properties: { qty } },
        },
    },
});

function compileIn(document: unknown, pointer: string, dialect: SchemaDialect = "openapi-3.0") {
    let schema: unknown = document;
    for (const segment of pointer.split("/").slice(1)) schema = (schema as Record<string, unknown>)[segment.replace(/~1/g, "/").replace(/~0/g, "~")];
    return compileSchema(schema, { document, pointer, dialect });
}

/** Asserts compile fails with a SchemaError at exactly `pointer` whose reason matches. */
function assertRefused(fn: () => unknown, pointer: string, reason: RegExp): void {
    assert.throws(fn, (err: unknown) => {
        assert.ok(err instanceof SchemaError, `expected a SchemaError, got ${String(err)}`);
        assert.equal(err.pointer, pointer);
        assert.match(err.reason, reason);
        assert.equal(err.message, `${pointer}: ${err.reason}`);
        return true;
    });
}

const schemaOnly = (schema: unknown, dialect: SchemaDialect = "openapi-3.0") => () => compileSchema(schema, { document: schema, pointer: "", dialect });

describe("schema compiler: refusals name the JSON pointer", () => {
    it("an unsupported keyword is refused at its own pointer, not ignored", () => {
        assertRefused(() => compileIn(orderDocument({ type: "integer", foo: 1 }), "/components/schemas/Order"), "/components/schemas/Order/properties/qty/foo", /unsupported keyword "foo"/);
    });

    it("a keyword of another dialect is refused with a hint", () => {
        assertRefused(schemaOnly({ type: "string", nullable: true }, "openapi-3.1"), "/nullable", /OpenAPI 3\.0 only/);
        assertRefused(schemaOnly({ const: 1 }, "openapi-3.0"), "/const", /not an OpenAPI 3\.0 keyword/);
        assertRefused(schemaOnly({ type: ["string", "null"] }, "openapi-3.0"), "/type", /a string in OpenAPI 3\.0/);
        assertRefused(schemaOnly({ "x-internal": true }, "json-schema-2020-12"), "/x-internal", /unsupported keyword/);
        assertRefused(schemaOnly({ unevaluatedProperties: false }, "openapi-3.1"), "/unevaluatedProperties", /not supported/);
    });

    it("exclusiveMinimum: boolean in 3.0, number in 3.1, each refused in the other", () => {
        assertRefused(schemaOnly({ minimum: 1, exclusiveMinimum: 1 }, "openapi-3.0"), "/exclusiveMinimum", /boolean in OpenAPI 3\.0/);
        assertRefused(schemaOnly({ exclusiveMaximum: true, maximum: 1 }, "openapi-3.1"), "/exclusiveMaximum", /number in openapi-3\.1/);
        assertRefused(schemaOnly({ exclusiveMinimum: true }, "openapi-3.0"), "/exclusiveMinimum", /needs minimum/);
    });

    it("a dangling $ref is refused at the $ref", () => {
        const document = { components: { schemas: { A: { type: "object", properties: { b: { $ref: "#/components/schemas/Nope" } } } } } };
        assertRefused(() => compileIn(document, "/components/schemas/A"), "/components/schemas/A/properties/b/$ref", /does not exist/);
    });

    it("remote, external-file and anchor $refs are refused", () => {
        for (const ref of ["https://example.com/schemas/a.json", "other.yaml#/components/schemas/A", "./a.json"]) {
            assertRefused(schemaOnly({ $ref: ref }, "openapi-3.1"), "/$ref", /only local \$refs/);
        }
        assertRefused(schemaOnly({ $ref: "#anchor" }, "openapi-3.1"), "/$ref", /anchor/);
        assertRefused(schemaOnly({ $ref: "#/a~2b" }, "openapi-3.1"), "/$ref", /invalid JSON-pointer escape/);
    });

    it("a $ref chain that only refers back to itself is refused", () => {
        const document = { components: { schemas: { A: { $ref: "#/components/schemas/B" }, B: { $ref: "#/components/schemas/A" } } } };
        assertRefused(() => compileIn(document, "/components/schemas/A"), "/components/schemas/A/$ref", /circular \$ref/);
    });

    it("recursion that never descends into the value is refused (validation would not end)", () => {
        const document = { components: { schemas: { A: { allOf: [{ $ref: "#/components/schemas/B" }] }, B: { anyOf: [{ $ref: "#/components/schemas/A" }, { type: "string" }] } } } };
        assertRefused(() => compileIn(document, "/components/schemas/A"), "/components/schemas/A", /does not descend/);
    });

    it("a non-annotation sibling of $ref is refused in 3.0 (the spec ignores it); annotations are fine", () => {
        const document = { components: { schemas: { Id: { type: "string" }, A: { type: "object", properties: { id: { $ref: "#/components/schemas/Id", maxLength: 3 } } } } } };
        assertRefused(() => compileIn(document, "/components/schemas/A"), "/components/schemas/A/properties/id/maxLength", /ignored by OpenAPI 3\.0: wrap both in allOf/);
        const annotated = { components: { schemas: { Id: { type: "string" }, A: { properties: { id: { $ref: "#/components/schemas/Id", description: "the id", "x-go-name": "ID" } } } } } };
        assert.doesNotThrow(() => compileIn(annotated, "/components/schemas/A"));
    });

    it("an unknown format is refused, not ignored", () => {
        assertRefused(schemaOnly({ type: "string", format: "credit-card" }), "/format", /unknown format "credit-card" \(checked: date-time, date, email/);
    });

    it("an invalid or unsupported regex is refused at its pointer", () => {
        assertRefused(schemaOnly({ type: "string", pattern: "([a-z]" }), "/pattern", /expected "\)"/);
        assertRefused(schemaOnly({ type: "string", pattern: "(?<=a)b" }), "/pattern", /lookbehind/);
        assertRefused(schemaOnly({ type: "object", patternProperties: { "^(a+)+$": {} } }, "openapi-3.1"), "/patternProperties/^(a+)+$", /nested repetition/);
    });

    it("malformed keyword values are refused", () => {
        assertRefused(schemaOnly({ minLength: -1 }), "/minLength", /non-negative integer/);
        assertRefused(schemaOnly({ maxItems: 1.5 }), "/maxItems", /non-negative integer/);
        assertRefused(schemaOnly({ enum: [] }), "/enum", /non-empty/);
        assertRefused(schemaOnly({ required: "id" }), "/required", /array of strings/);
        assertRefused(schemaOnly({ required: ["a", "a"] }), "/required/1", /listed twice/);
        assertRefused(schemaOnly({ multipleOf: 0 }), "/multipleOf", /greater than 0/);
        assertRefused(schemaOnly({ type: "strin" }), "/type", /unknown type "strin"/);
        assertRefused(schemaOnly({ type: "object", properties: { a: "string" } }), "/properties/a", /must be an object/);
        assertRefused(schemaOnly({ items: [{ type: "string" }] }, "openapi-3.1"), "/items", /prefixItems/);
        assertRefused(schemaOnly({ additionalProperties: true, type: "object", properties: { a: true } }), "/properties/a", /boolean schema is not allowed in OpenAPI 3\.0/);
        assertRefused(schemaOnly({ $schema: "http://json-schema.org/draft-07/schema#" }, "json-schema-2020-12"), "/$schema", /unknown \$schema/);
        let deep: unknown = 1;
        for (let i = 0; i < 17; i++) deep = [deep];
        assertRefused(schemaOnly({ enum: ["a", deep] }), "/enum/1" + "/0".repeat(16), /nests deeper than 16 levels/);
    });

    it("an empty range is refused (nothing could ever match)", () => {
        assertRefused(schemaOnly({ minimum: 5, maximum: 1 }), "/maximum", /range is empty/);
        assertRefused(schemaOnly({ minLength: 5, maxLength: 1 }), "/maxLength", /below minLength/);
        assertRefused(schemaOnly({ exclusiveMinimum: 1, exclusiveMaximum: 1 }, "openapi-3.1"), "/exclusiveMaximum", /range is empty/);
    });
});

describe("schema compiler: the IR", () => {
    it("is plain JSON: a JSON round trip is the identical object", () => {
        const document = { components: { schemas: { T: { type: "object", properties: { c: { type: "array", items: { $ref: "#/components/schemas/T" } }, s: { type: "string", pattern: "^a$", format: "date" } } } } } };
        const compiled = compileIn(document, "/components/schemas/T");
        assert.deepEqual(JSON.parse(JSON.stringify(compiled)), compiled);
    });

    it("a recursive schema is a cycle of indices, not an expansion", () => {
        const document = { components: { schemas: { T: { type: "object", properties: { left: { $ref: "#/components/schemas/T" }, right: { $ref: "#/components/schemas/T" } } } } } };
        const compiled = compileIn(document, "/components/schemas/T");
        assert.equal(compiled.nodes.length, 1);
        assert.deepEqual(compiled.nodes[0].properties, [["left", 0], ["right", 0]]);
    });

    it("refs to refs share one node (and a ref back to the root pointer reuses the root)", () => {
        const document = {
            components: { schemas: { A: { $ref: "#/components/schemas/B" }, B: { $ref: "#/components/schemas/C" }, C: { type: "integer" }, Root: { properties: { a: { $ref: "#/components/schemas/A" }, c: { $ref: "#/components/schemas/C" }, self: { $ref: "#/components/schemas/Root" } } } } },
        };
        const compiled = compileIn(document, "/components/schemas/Root");
        const [a, c, self] = compiled.nodes[compiled.root].properties!.map(([, index]) => index);
        assert.equal(a, c);
        assert.equal(self, compiled.root);
    });

    it("property names live in arrays: a \"__proto__\" property or enum member survives embedding in a module", () => {
        // JSON.parse makes "__proto__" an own property, as a YAML or JSON document loader does.
        const schema = JSON.parse('{"type":"object","required":["__proto__"],"properties":{"__proto__":{"enum":[{"__proto__":1}]}}}');
        const compiled = compileSchema(schema, { document: schema, pointer: "", dialect: "openapi-3.1" });
        const embedded = vm.runInNewContext(`(${jsonExpression(compiled)})`);
        const value = JSON.parse('{"__proto__":{"__proto__":1}}');
        assert.equal(validator.validate(embedded, value), null);
        assert.deepEqual(validator.validate(embedded, JSON.parse('{"__proto__":{"__proto__":2}}')), { pointer: "/__proto__", reason: "must be the allowed value" });
        assert.deepEqual(validator.validate(embedded, {}), { pointer: "/__proto__", reason: "is required" });
    });

    it("readOnly through a $ref is dropped from required and refused in the body", () => {
        const document = { components: { schemas: { Id: { type: "string", readOnly: true }, A: { type: "object", required: ["id", "n"], properties: { id: { $ref: "#/components/schemas/Id" }, n: { type: "integer" } } } } } };
        const compiled = compileIn(document, "/components/schemas/A");
        assert.deepEqual(compiled.nodes[compiled.root].required, ["n"]);
        assert.deepEqual(validator.validate(compiled, { id: "x", n: 1 }), { pointer: "/id", reason: "is read-only" });
    });
});

describe("schema compiler: documented lists agree with the code", () => {
    it("every keyword in SUPPORTED_KEYWORDS compiles in its dialect", () => {
        const sample: Record<string, unknown> = {
            type: "object", enum: [{}], const: {}, properties: {}, required: [], additionalProperties: false, patternProperties: {}, items: {}, prefixItems: [{}],
            minItems: 0, maxItems: 1, uniqueItems: true, minLength: 0, maxLength: 1, pattern: "a", format: "date", minimum: 0, maximum: 1,
            multipleOf: 1, minProperties: 0, maxProperties: 1, allOf: [{}], anyOf: [{}], oneOf: [{}], not: { type: "string" }, readOnly: false, nullable: true,
            title: "t", description: "d", default: 1, example: 1, examples: [1], deprecated: false, writeOnly: false, discriminator: { propertyName: "k" },
            xml: {}, externalDocs: {}, $comment: "c", $schema: "https://json-schema.org/draft/2020-12/schema", $defs: {}, "x-*": 1,
        };
        for (const [dialect, keywords] of Object.entries(SUPPORTED_KEYWORDS) as Array<[SchemaDialect, string[]]>) {
            for (const keyword of keywords) {
                const schema: Record<string, unknown> = { [keyword]: sample[keyword] };
                if (keyword === "exclusiveMinimum" || keyword === "exclusiveMaximum") {
                    schema.minimum = 0;
                    schema.maximum = 5;
                    schema[keyword] = dialect === "openapi-3.0" ? true : keyword === "exclusiveMinimum" ? -1 : 6;
                }
                if (keyword === "$ref") schema.$ref = "#/$defs/X";
                assert.doesNotThrow(() => compileSchema(schema, { document: { $defs: { X: {} } }, pointer: "/s", dialect }), `${dialect}: ${keyword}`);
            }
        }
    });

    it("every format in SUPPORTED_FORMATS has a runtime check and a documented type", () => {
        for (const format of SUPPORTED_FORMATS) {
            const compiled = compileSchema({ format }, { document: {}, pointer: "", dialect: "openapi-3.0" });
            assert.doesNotThrow(() => validator.validate(compiled, "x"), format);
            assert.doesNotThrow(() => validator.validate(compiled, 1.5), format);
            assert.ok(FORMATS[format] === "string" || FORMATS[format] === "number");
        }
        assert.deepEqual([...SUPPORTED_FORMATS].sort(), ["binary", "byte", "date", "date-time", "double", "email", "float", "hostname", "int32", "int64", "ipv4", "ipv6", "password", "uri", "uuid"]);
    });
});
