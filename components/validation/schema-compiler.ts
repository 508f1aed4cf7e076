/**
 * Render-time compiler: a JSON Schema (an OpenAPI 3.0.x / 3.1.x schema object, or a JSON Schema
 * 2020-12 schema from stack config) becomes the plain-data IR of ir.ts, which validator.js
 * interprets per request inside nginx. Pure: no I/O, the whole document is handed in.
 *
 * Fail closed: a keyword the runtime would not enforce is an error, never skipped, because a
 * silently ignored keyword lets the bodies it was meant to stop through. Annotation keywords
 * (title, description, default, example(s), deprecated, writeOnly, $comment, discriminator, xml,
 * externalDocs, and x-* extensions in OpenAPI) are accepted and dropped; discriminator is only
 * a hint, the oneOf/anyOf it sits on is what is enforced.
 *
 * readOnly: OpenAPI 3.0.3 / 3.1 ("SHOULD NOT be sent as part of the request"; a required
 * read-only property is required in responses only). These are request bodies, so a read-only
 * schema rejects any value it meets (a client cannot set `id` or `role`: mass assignment,
 * OWASP API3:2023), and a read-only property is dropped from `required`.
 *
 * $ref: local only ("#" + JSON pointer, RFC 6901, percent-decoded per RFC 3986 3.5) against the
 * document handed in; every schema location compiles once into a node index, so recursion is a
 * cycle of indices. In OpenAPI 3.0 siblings of $ref are ignored by the spec, so non-annotation
 * siblings are refused (wrap in allOf); in 3.1 / 2020-12 $ref applies alongside its siblings.
 * A cycle that never descends into the value (A = allOf[A]) would never end and is refused.
 */
import { canonicalPattern, PatternError } from "./pattern";
import { FORMATS, IR_VERSION, TYPE_BITS, type CompiledNode, type CompiledPattern, type CompiledSchema, type FormatName, type JsonTypeName, type JsonValue } from "./ir";

export type { CompiledNode, CompiledSchema } from "./ir";

export type SchemaDialect = "openapi-3.0" | "openapi-3.1" | "json-schema-2020-12";

export interface CompileContext {
    /** The whole document `$ref`s resolve against. */
    document: unknown;
    /** JSON pointer of `schema` inside `document` (used in error messages and to share nodes with $refs to it). */
    pointer: string;
    dialect: SchemaDialect;
}

export class SchemaError extends Error {
    constructor(readonly pointer: string, readonly reason: string) {
        super(`${pointer || "/"}: ${reason}`);
        this.name = "SchemaError";
    }
}

/** Keywords that constrain a value, per dialect. Anything not here or in ANNOTATIONS is refused. */
const ASSERTIONS_COMMON = [
    "type", "enum", "properties", "required", "additionalProperties", "patternProperties", "items",
    "minItems", "maxItems", "uniqueItems", "minLength", "maxLength", "pattern", "format",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minProperties",
    "maxProperties", "allOf", "anyOf", "oneOf", "not", "$ref", "readOnly",
] as const;
const ASSERTIONS: Record<SchemaDialect, readonly string[]> = {
    "openapi-3.0": [...ASSERTIONS_COMMON, "nullable"],
    "openapi-3.1": [...ASSERTIONS_COMMON, "const", "prefixItems"],
    "json-schema-2020-12": [...ASSERTIONS_COMMON, "const", "prefixItems"],
};
const ANNOTATIONS: Record<SchemaDialect, readonly string[]> = {
    "openapi-3.0": ["title", "description", "default", "example", "deprecated", "writeOnly", "discriminator", "xml", "externalDocs"],
    "openapi-3.1": [
        "title", "description", "default", "example", "examples", "deprecated", "writeOnly", "discriminator", "xml",
        "externalDocs", "$comment", "$schema", "$defs",
    ],
    "json-schema-2020-12": ["title", "description", "default", "examples", "deprecated", "writeOnly", "$comment", "$schema", "$defs"],
};
/** Every keyword the compiler accepts, for documentation and the tests. */
export const SUPPORTED_KEYWORDS: Readonly<Record<SchemaDialect, readonly string[]>> = {
    "openapi-3.0": [...ASSERTIONS["openapi-3.0"], ...ANNOTATIONS["openapi-3.0"], "x-*"],
    "openapi-3.1": [...ASSERTIONS["openapi-3.1"], ...ANNOTATIONS["openapi-3.1"], "x-*"],
    "json-schema-2020-12": [...ASSERTIONS["json-schema-2020-12"], ...ANNOTATIONS["json-schema-2020-12"]],
};
export const SUPPORTED_FORMATS: readonly FormatName[] = Object.keys(FORMATS) as FormatName[];

/** $schema values that mean what this compiler implements. */
const KNOWN_META_SCHEMAS = ["https://json-schema.org/draft/2020-12/schema", "https://spec.openapis.org/oas/3.1/dialect/base"];
/** Keywords that are refused with a pointer to what to use instead. */
const HINTS: Record<string, string> = {
    nullable: 'is OpenAPI 3.0 only: use type: [T, "null"]',
    const: "is not an OpenAPI 3.0 keyword: use enum with one value",
    prefixItems: "is not an OpenAPI 3.0 keyword",
    additionalItems: "is not supported (2020-12: prefixItems + items)",
    $id: "is not supported: $ref resolves against the document only",
    $anchor: "is not supported: use a JSON-pointer $ref",
    $dynamicRef: "is not supported",
    $dynamicAnchor: "is not supported",
    $recursiveRef: "is not supported",
    definitions: "is not supported: use $defs (OpenAPI 3.1 / 2020-12) or components/schemas",
    contentEncoding: "is not supported (not enforced by JSON Schema; use format: byte in OpenAPI 3.0 terms)",
    contentMediaType: "is not supported (not enforced by JSON Schema)",
    contentSchema: "is not supported (not enforced by JSON Schema)",
    unevaluatedProperties: "is not supported",
    unevaluatedItems: "is not supported",
};
const TYPES_30: readonly JsonTypeName[] = ["boolean", "object", "array", "number", "string", "integer"];
const TYPES_31: readonly JsonTypeName[] = [...TYPES_30, "null"];

type SchemaObject = Record<string, unknown>;

export function compileSchema(schema: unknown, ctx: CompileContext): CompiledSchema {
    const compiler = new Compiler(ctx);
    const root = compiler.compileAt(schema, ctx.pointer);
    compiler.checkNonDescendingCycles();
    return { version: IR_VERSION, root, nodes: compiler.nodes, patterns: compiler.patterns };
}

class Compiler {
    readonly nodes: CompiledNode[] = [];
    readonly patterns: CompiledPattern[] = [];
    private readonly nodePointers: string[] = [];
    /** Schema location -> node index (filled before its children compile, so cycles resolve). */
    private readonly byPointer = new Map<string, number>();
    /** $ref-only schemas being resolved: a ref chain that comes back to one of them never ends. */
    private readonly resolvingAliases = new Set<string>();

    constructor(private readonly ctx: CompileContext) {}

    compileAt(schema: unknown, pointer: string): number {
        const known = this.byPointer.get(pointer);
        if (known !== undefined) return known;
        if (typeof schema === "boolean") {
            if (this.ctx.dialect === "openapi-3.0") throw new SchemaError(pointer, "a boolean schema is not allowed in OpenAPI 3.0");
            return this.store(pointer, schema ? {} : { reject: "is not allowed" });
        }
        if (!isObject(schema)) throw new SchemaError(pointer, "a schema must be an object");
        if (typeof schema.$ref === "string" && this.isAliasOnly(schema, pointer)) {
            if (this.resolvingAliases.has(pointer)) throw new SchemaError(`${pointer}/$ref`, "circular $ref (refers back to itself)");
            this.resolvingAliases.add(pointer);
            const target = this.resolveRef(schema.$ref, `${pointer}/$ref`);
            const index = this.compileAt(target.schema, target.pointer);
            this.resolvingAliases.delete(pointer);
            this.byPointer.set(pointer, index);
            return index;
        }
        const index = this.store(pointer, {});
        this.nodes[index] = this.compileObject(schema, pointer);
        return index;
    }

    /** Refuses recursion that never descends into the value: validation of it would not end. */
    checkNonDescendingCycles(): void {
        const state = new Array<0 | 1 | 2>(this.nodes.length).fill(0); // unvisited, on the path, done
        const visit = (index: number): void => {
            if (state[index] === 2) return;
            if (state[index] === 1) {
                throw new SchemaError(this.nodePointers[index], "recursive $ref that does not descend into the value (it would never end)");
            }
            state[index] = 1;
            const node = this.nodes[index];
            for (const next of [...(node.allOf ?? []), ...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.not === undefined ? [] : [node.not])]) {
                visit(next);
            }
            state[index] = 2;
        };
        for (let i = 0; i < this.nodes.length; i++) visit(i);
    }

    private store(pointer: string, node: CompiledNode): number {
        const index = this.nodes.length;
        this.nodes.push(node);
        this.nodePointers.push(pointer);
        this.byPointer.set(pointer, index);
        return index;
    }

    private isAliasOnly(schema: SchemaObject, pointer: string): boolean {
        const annotations = ANNOTATIONS[this.ctx.dialect];
        const siblings = Object.keys(schema).filter((k) => k !== "$ref" && !annotations.includes(k) && !this.isExtension(k));
        if (siblings.length === 0) return true;
        if (this.ctx.dialect === "openapi-3.0") {
            throw new SchemaError(
                `${pointer}/${escapeSegment(siblings[0])}`,
                `"${siblings[0]}" beside $ref is ignored by OpenAPI 3.0: wrap both in allOf`,
            );
        }
        return false;
    }

    private isExtension(keyword: string): boolean {
        return this.ctx.dialect !== "json-schema-2020-12" && keyword.startsWith("x-");
    }

    private compileObject(schema: SchemaObject, pointer: string): CompiledNode {
        const dialect = this.ctx.dialect;
        for (const keyword of Object.keys(schema)) {
            if (ASSERTIONS[dialect].includes(keyword) || ANNOTATIONS[dialect].includes(keyword) || this.isExtension(keyword)) continue;
            const hint = HINTS[keyword];
            throw new SchemaError(`${pointer}/${escapeSegment(keyword)}`, `unsupported keyword "${keyword}"${hint ? ` (${hint})` : ` in ${dialect}`}`);
        }
        const at = (keyword: string): string => `${pointer}/${escapeSegment(keyword)}`;
        this.checkAnnotations(schema, at);

        const node: CompiledNode = {};
        const allOf: number[] = [];
        if (typeof schema.$ref === "string") {
            const target = this.resolveRef(schema.$ref, at("$ref"));
            allOf.push(this.compileAt(target.schema, target.pointer));
        } else if (schema.$ref !== undefined) {
            throw new SchemaError(at("$ref"), "$ref must be a string");
        }
        this.compileType(schema, node, at);
        if (schema.enum !== undefined) {
            if (!Array.isArray(schema.enum) || schema.enum.length === 0) throw new SchemaError(at("enum"), "enum must be a non-empty array");
            node.enum = schema.enum.map((v, i) => jsonValue(v, `${at("enum")}/${i}`));
        }
        if ("const" in schema) {
            const constant = jsonValue(schema.const, at("const"));
            node.enum = node.enum === undefined ? [constant] : node.enum.filter((v) => jsonEqual(v, constant));
            if (node.enum.length === 0) throw new SchemaError(at("const"), "const is not one of the enum values (nothing could match)");
        }
        this.compileNumber(schema, node, at);
        this.compileString(schema, node, at);
        this.compileArray(schema, node, at);
        this.compileObjectKeywords(schema, node, at);
        for (const keyword of ["allOf", "anyOf", "oneOf"] as const) {
            if (schema[keyword] === undefined) continue;
            const list = schema[keyword];
            if (!Array.isArray(list) || list.length === 0) throw new SchemaError(at(keyword), `${keyword} must be a non-empty array of schemas`);
            const indices = list.map((s, i) => this.compileAt(s, `${at(keyword)}/${i}`));
            if (keyword === "allOf") allOf.push(...indices);
            else node[keyword] = indices;
        }
        if (allOf.length > 0) node.allOf = allOf;
        if (schema.not !== undefined) node.not = this.compileAt(schema.not, at("not"));
        if (schema.readOnly === true) return { reject: "is read-only" };
        return node;
    }

    private checkAnnotations(schema: SchemaObject, at: (k: string) => string): void {
        for (const keyword of ["readOnly", "writeOnly", "deprecated", "nullable", "uniqueItems"]) {
            if (schema[keyword] !== undefined && typeof schema[keyword] !== "boolean") throw new SchemaError(at(keyword), `${keyword} must be a boolean`);
        }
        if (schema.$schema !== undefined && !KNOWN_META_SCHEMAS.includes(schema.$schema as string)) {
            throw new SchemaError(at("$schema"), `unknown $schema (known: ${KNOWN_META_SCHEMAS.join(", ")})`);
        }
        if (schema.$defs !== undefined && !isObject(schema.$defs)) throw new SchemaError(at("$defs"), "$defs must be an object of schemas");
        if (schema.discriminator !== undefined && (!isObject(schema.discriminator) || typeof schema.discriminator.propertyName !== "string")) {
            throw new SchemaError(at("discriminator"), "discriminator must be an object with a propertyName");
        }
    }

    private compileType(schema: SchemaObject, node: CompiledNode, at: (k: string) => string): void {
        const dialect = this.ctx.dialect;
        const allowed = dialect === "openapi-3.0" ? TYPES_30 : TYPES_31;
        if (schema.type !== undefined) {
            const names = typeof schema.type === "string" ? [schema.type] : schema.type;
            if (!Array.isArray(names) || names.length === 0 || (dialect === "openapi-3.0" && typeof schema.type !== "string")) {
                throw new SchemaError(at("type"), dialect === "openapi-3.0" ? "type must be a string in OpenAPI 3.0" : "type must be a string or a non-empty array of strings");
            }
            let bits = 0;
            names.forEach((name, i) => {
                if (!allowed.includes(name as JsonTypeName)) throw new SchemaError(at("type"), `unknown type "${String(name)}" (known: ${allowed.join(", ")})`);
                const bit = TYPE_BITS[name as JsonTypeName];
                if (bits & bit) throw new SchemaError(`${at("type")}/${i}`, `type "${name}" is listed twice`);
                bits |= bit;
            });
            node.types = bits;
        }
        if (schema.nullable === true && node.types !== undefined) node.types |= TYPE_BITS.null; // 3.0.3: nullable without type adds nothing
    }

    private compileNumber(schema: SchemaObject, node: CompiledNode, at: (k: string) => string): void {
        for (const keyword of ["minimum", "maximum", "multipleOf"] as const) {
            if (schema[keyword] !== undefined) node[keyword] = finiteNumber(schema[keyword], at(keyword));
        }
        if (node.multipleOf !== undefined && node.multipleOf <= 0) throw new SchemaError(at("multipleOf"), "multipleOf must be greater than 0");
        for (const [keyword, bound] of [["exclusiveMinimum", "minimum"], ["exclusiveMaximum", "maximum"]] as const) {
            const value = schema[keyword];
            if (value === undefined) continue;
            if (this.ctx.dialect === "openapi-3.0") {
                if (typeof value !== "boolean") throw new SchemaError(at(keyword), `${keyword} is a boolean in OpenAPI 3.0 (a number from 3.1 on)`);
                if (node[bound] === undefined) throw new SchemaError(at(keyword), `${keyword} needs ${bound} in OpenAPI 3.0`);
                if (value) {
                    node[keyword] = node[bound];
                    delete node[bound];
                }
            } else {
                if (typeof value === "boolean") throw new SchemaError(at(keyword), `${keyword} is a number in ${this.ctx.dialect} (the boolean form is OpenAPI 3.0)`);
                node[keyword] = finiteNumber(value, at(keyword));
            }
        }
        const lower = node.minimum ?? node.exclusiveMinimum;
        const upper = node.maximum ?? node.exclusiveMaximum;
        if (lower !== undefined && upper !== undefined && (lower > upper || (lower === upper && (node.exclusiveMinimum !== undefined || node.exclusiveMaximum !== undefined)))) {
            throw new SchemaError(at("maximum" in schema ? "maximum" : "exclusiveMaximum"), "the range is empty (no number could match)");
        }
    }

    private compileString(schema: SchemaObject, node: CompiledNode, at: (k: string) => string): void {
        this.counts(schema, node, at, "minLength", "maxLength");
        if (schema.pattern !== undefined) {
            if (typeof schema.pattern !== "string") throw new SchemaError(at("pattern"), "pattern must be a string");
            node.pattern = this.pattern(schema.pattern, at("pattern"));
        }
        if (schema.format !== undefined) {
            if (typeof schema.format !== "string" || !(schema.format in FORMATS)) {
                throw new SchemaError(at("format"), `unknown format "${String(schema.format)}" (checked: ${SUPPORTED_FORMATS.join(", ")})`);
            }
            node.format = schema.format as FormatName;
        }
    }

    private compileArray(schema: SchemaObject, node: CompiledNode, at: (k: string) => string): void {
        this.counts(schema, node, at, "minItems", "maxItems");
        if (schema.uniqueItems === true) node.uniqueItems = true;
        if (schema.prefixItems !== undefined) {
            if (!Array.isArray(schema.prefixItems) || schema.prefixItems.length === 0) {
                throw new SchemaError(at("prefixItems"), "prefixItems must be a non-empty array of schemas");
            }
            node.prefixItems = schema.prefixItems.map((s, i) => this.compileAt(s, `${at("prefixItems")}/${i}`));
        }
        if (schema.items !== undefined) {
            if (Array.isArray(schema.items)) throw new SchemaError(at("items"), "the array form of items is not supported (use prefixItems)");
            if (this.ctx.dialect === "openapi-3.0" && !isObject(schema.items)) throw new SchemaError(at("items"), "items must be a schema object");
            node.items = this.compileAt(schema.items, at("items"));
        }
    }

    private compileObjectKeywords(schema: SchemaObject, node: CompiledNode, at: (k: string) => string): void {
        this.counts(schema, node, at, "minProperties", "maxProperties");
        const readOnly = new Set<string>();
        if (schema.properties !== undefined) {
            if (!isObject(schema.properties)) throw new SchemaError(at("properties"), "properties must be an object of schemas");
            node.properties = Object.entries(schema.properties).map(([name, sub]) => {
                const subPointer = `${at("properties")}/${escapeSegment(name)}`;
                if (this.isReadOnly(sub, new Set())) readOnly.add(name);
                return [name, this.compileAt(sub, subPointer)];
            });
        }
        if (schema.required !== undefined) {
            const required = schema.required;
            if (!Array.isArray(required) || required.some((r) => typeof r !== "string")) throw new SchemaError(at("required"), "required must be an array of strings");
            required.forEach((name, i) => {
                if (required.indexOf(name) !== i) throw new SchemaError(`${at("required")}/${i}`, `"${name}" is listed twice`);
            });
            const enforced = (required as string[]).filter((name) => !readOnly.has(name));
            if (enforced.length > 0) node.required = enforced;
        }
        if (schema.patternProperties !== undefined) {
            if (!isObject(schema.patternProperties)) throw new SchemaError(at("patternProperties"), "patternProperties must be an object of schemas");
            node.patternProperties = Object.entries(schema.patternProperties).map(([source, sub]) => {
                const subPointer = `${at("patternProperties")}/${escapeSegment(source)}`;
                return [this.pattern(source, subPointer), this.compileAt(sub, subPointer)];
            });
        }
        const additional = schema.additionalProperties;
        if (additional === false) {
            node.additionalProperties = this.reject("is not an allowed property");
        } else if (additional !== undefined && additional !== true) {
            if (!isObject(additional)) throw new SchemaError(at("additionalProperties"), "additionalProperties must be a boolean or a schema");
            node.additionalProperties = this.compileAt(additional, at("additionalProperties"));
        }
    }

    /** A read-only schema, directly, through $ref, or through an allOf member (cycles end as "no"). */
    private isReadOnly(schema: unknown, seen: Set<unknown>): boolean {
        if (!isObject(schema) || seen.has(schema)) return false;
        seen.add(schema);
        if (schema.readOnly === true) return true;
        if (typeof schema.$ref === "string") {
            try {
                if (this.isReadOnly(this.resolveRef(schema.$ref, "").schema, seen)) return true;
            } catch {
                return false; // the compile of the property reports the bad $ref with its pointer
            }
        }
        return Array.isArray(schema.allOf) && schema.allOf.some((s) => this.isReadOnly(s, seen));
    }

    private reject(reason: string): number {
        const found = this.nodes.findIndex((n) => n.reject === reason);
        if (found >= 0) return found;
        this.nodes.push({ reject: reason });
        this.nodePointers.push("");
        return this.nodes.length - 1;
    }

    private counts(schema: SchemaObject, node: CompiledNode, at: (k: string) => string, low: CountKeyword, high: CountKeyword): void {
        for (const keyword of [low, high]) {
            const value = schema[keyword];
            if (value === undefined) continue;
            if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new SchemaError(at(keyword), `${keyword} must be a non-negative integer`);
            node[keyword] = value;
        }
        if (node[low] !== undefined && node[high] !== undefined && node[low]! > node[high]!) {
            throw new SchemaError(at(high), `${high} is below ${low} (nothing could match)`);
        }
    }

    private pattern(source: string, pointer: string): number {
        let canonical: string;
        try {
            canonical = canonicalPattern(source);
        } catch (err) {
            if (err instanceof PatternError) throw new SchemaError(pointer, `unsupported or invalid pattern: ${err.reason}`);
            throw err;
        }
        const known = this.patterns.findIndex((p) => p.source === canonical);
        if (known >= 0) return known;
        this.patterns.push({ source: canonical, matchesEmpty: new RegExp(canonical, "u").test("") });
        return this.patterns.length - 1;
    }

    private resolveRef(ref: string, pointer: string): { schema: unknown; pointer: string } {
        if (!ref.startsWith("#")) throw new SchemaError(pointer, "only local $refs (#/...) are supported: external and remote documents are not fetched");
        let fragment: string;
        try {
            fragment = decodeURIComponent(ref.slice(1));
        } catch {
            throw new SchemaError(pointer, "$ref has invalid percent-encoding");
        }
        if (fragment !== "" && !fragment.startsWith("/")) throw new SchemaError(pointer, "$ref to a plain-name anchor is not supported: use a JSON pointer");
        const segments = fragment === "" ? [] : fragment.slice(1).split("/");
        let value: unknown = this.ctx.document;
        for (const raw of segments) {
            if (/~[^01]|~$/.test(raw)) throw new SchemaError(pointer, "$ref has an invalid JSON-pointer escape (only ~0 and ~1)");
            const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~");
            if (Array.isArray(value) && /^(0|[1-9][0-9]*)$/.test(segment) && Number(segment) < value.length) {
                value = value[Number(segment)];
            } else if (isObject(value) && Object.prototype.hasOwnProperty.call(value, segment)) {
                value = value[segment];
            } else {
                throw new SchemaError(pointer, `$ref target ${ref} does not exist in the document`);
            }
        }
        return { schema: value, pointer: segments.map((s) => `/${s}`).join("") };
    }
}

type CountKeyword = "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties" | "maxProperties";

function isObject(value: unknown): value is SchemaObject {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function escapeSegment(key: string): string {
    return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

function finiteNumber(value: unknown, pointer: string): number {
    if (typeof value !== "number" || !Number.isFinite(value)) throw new SchemaError(pointer, "must be a finite number");
    return value;
}

/**
 * Nesting allowed inside an enum/const value. njs's JSON.parse stops at 31 levels and the IR is
 * embedded as JSON inside a route table, so its own nesting must leave room (ir.ts adds 3 levels).
 */
const MAX_VALUE_DEPTH = 16;

/** A JSON value from the document (enum/const), refusing what JSON cannot carry. */
function jsonValue(value: unknown, pointer: string, depth = 0): JsonValue {
    if (value === null || typeof value === "boolean" || typeof value === "string") return value;
    if (typeof value === "number") return finiteNumber(value, pointer);
    if (depth >= MAX_VALUE_DEPTH) throw new SchemaError(pointer, `nests deeper than ${MAX_VALUE_DEPTH} levels (the njs runtime's JSON limit)`);
    if (Array.isArray(value)) return value.map((v, i) => jsonValue(v, `${pointer}/${i}`, depth + 1));
    if (isObject(value)) {
        const out: { [key: string]: JsonValue } = {};
        for (const [k, v] of Object.entries(value)) {
            // defineProperty: a "__proto__" member stays a member, as JSON.parse made it.
            Object.defineProperty(out, k, { value: jsonValue(v, `${pointer}/${escapeSegment(k)}`, depth + 1), enumerable: true, writable: true, configurable: true });
        }
        return out;
    }
    throw new SchemaError(pointer, "must be a JSON value");
}

function jsonEqual(a: JsonValue, b: JsonValue): boolean {
    if (a === b) return true;
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
    const ka = Object.keys(a);
    const objB = b as { [key: string]: JsonValue };
    return ka.length === Object.keys(objB).length && ka.every((k) => Object.prototype.hasOwnProperty.call(objB, k) && jsonEqual((a as { [key: string]: JsonValue })[k], objB[k]));
}
