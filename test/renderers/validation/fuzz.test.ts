/**
 * Bounded, seeded mutation test: from one valid order (nested objects and arrays, enums,
 * formats, patterns, required members), every mutation below is invalid by construction and
 * must be rejected at the pointer the mutation touched; a few valid variations must pass.
 * Deterministic (fixed seed and count); the same set then runs in njs and must agree.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileSchema } from "../../../components/validation/schema-compiler";
import { loadValidator } from "../../../components/validation/runtime";
import { runInNjs, runInNode, type Job } from "./njs-harness";

const SEED = 0x5eed1234;
const MUTATIONS = 400;
const TIME_BUDGET_MS = 10_000;

const DOCUMENT = {
    openapi: "3.0.3",
    components: {
        schemas: {
            Order: {
                type: "object",
                additionalProperties: false,
                required: ["id", "customer", "lines", "status", "createdAt"],
                properties: {
                    id: { type: "string", format: "uuid" },
                    customer: { $ref: "#/components/schemas/Customer" },
                    lines: { type: "array", minItems: 1, maxItems: 10, items: { $ref: "#/components/schemas/Line" } },
                    status: { type: "string", enum: ["new", "paid", "shipped"] },
                    createdAt: { type: "string", format: "date-time" },
                    tags: { type: "array", maxItems: 5, uniqueItems: true, items: { type: "string", pattern: "^[a-z][a-z0-9-]{0,19}$" } },
                    note: { type: "string", nullable: true, maxLength: 200 },
                    discount: { type: "number", minimum: 0, maximum: 100 },
                },
            },
            Customer: {
                type: "object",
                additionalProperties: false,
                required: ["email", "name", "address"],
                properties: {
                    email: { type: "string", format: "email" },
                    name: { type: "string", minLength: 1, maxLength: 50 },
                    address: { $ref: "#/components/schemas/Address" },
                    ip: { type: "string", format: "ipv4" },
                },
            },
            Address: {
                type: "object",
                additionalProperties: false,
                required: ["street", "city", "country"],
                properties: {
                    street: { type: "string", minLength: 1, maxLength: 100 },
                    city: { type: "string", minLength: 1, maxLength: 60 },
                    country: { type: "string", pattern: "^[A-Z]{2}$" },
                    zip: { type: "string", pattern: "^[0-9]{5}$" },
                },
            },
            Line: {
                type: "object",
                additionalProperties: false,
                required: ["sku", "qty", "price"],
                properties: {
                    sku: { type: "string", pattern: "^[A-Z]{3}-[0-9]{4}$" },
                    qty: { type: "integer", minimum: 1, maximum: 1000 },
                    price: { type: "number", minimum: 0, exclusiveMinimum: true, multipleOf: 0.01 },
                    options: {
                        type: "array",
                        items: {
                            type: "object",
                            additionalProperties: false,
                            required: ["name", "value"],
                            properties: { name: { type: "string", enum: ["color", "size"] }, value: { type: "string", maxLength: 20 } },
                        },
                    },
                },
            },
        },
    },
};

const VALID_ORDER = {
    id: "123e4567-e89b-12d3-a456-426614174000",
    customer: { email: "buyer@example.com", name: "Zoë \u{1F600}", address: { street: "1 Main St", city: "Springfield", country: "US", zip: "12345" }, ip: "192.0.2.7" },
    lines: [
        { sku: "ABC-0001", qty: 2, price: 19.99, options: [{ name: "color", value: "red" }, { name: "size", value: "M" }] },
        { sku: "XYZ-9999", qty: 1, price: 0.01 },
        { sku: "QRS-1234", qty: 1000, price: 1234.5, options: [] },
    ],
    status: "paid",
    createdAt: "2024-02-29T12:30:00.5+01:00",
    tags: ["gift", "rush-2"],
    note: null,
    discount: 12.5,
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Mutation {
    kind: string;
    value: Json;
    pointer: string;
}

function mulberry32(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const escape = (segment: string | number): string => String(segment).replace(/~/g, "~0").replace(/\//g, "~1");
const pointerOf = (path: Array<string | number>): string => path.map((s) => `/${escape(s)}`).join("");

function generate(count: number, seed: number): Mutation[] {
    const random = mulberry32(seed);
    const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
    const pick = <T>(list: readonly T[]): T => list[int(0, list.length - 1)];
    const word = (length: number, alphabet = "abcdefghijklmnopqrstuvwxyz"): string => Array.from({ length }, () => pick([...alphabet])).join("");
    const clone = (): { [key: string]: Json } => JSON.parse(JSON.stringify(VALID_ORDER));
    const at = (root: Json, path: Array<string | number>): Json => path.reduce<Json>((v, s) => (v as Record<string, Json>)[s], root);
    const lineIndex = (): number => int(0, VALID_ORDER.lines.length - 1);
    const otherType = (exclude: string[]): Json => {
        const candidates: Array<[string, Json]> = [["null", null], ["boolean", random() < 0.5], ["number", int(-5, 5) + 0.5], ["integer", int(-5, 5)], ["string", word(3)], ["array", []], ["object", {}]];
        return pick(candidates.filter(([type]) => !exclude.includes(type) && !(type === "integer" && exclude.includes("number"))))[1];
    };
    // Each maker returns the path it changes and the new value (undefined: delete the member).
    const makers: Array<[string, () => { path: Array<string | number>; value: Json | undefined }]> = [
        ["drop a required member", () => pick([
            { path: [pick(["id", "customer", "lines", "status", "createdAt"])], value: undefined },
            { path: ["customer", pick(["email", "name", "address"])], value: undefined },
            { path: ["customer", "address", pick(["street", "city", "country"])], value: undefined },
            { path: ["lines", lineIndex(), pick(["sku", "qty", "price"])], value: undefined },
            { path: ["lines", 0, "options", int(0, 1), pick(["name", "value"])], value: undefined },
        ])],
        ["wrong type", () => pick([
            { path: ["id"], value: otherType(["string"]) },
            { path: ["customer"], value: otherType(["object"]) },
            { path: ["lines"], value: otherType(["array"]) },
            { path: ["lines", lineIndex()], value: otherType(["object"]) },
            { path: ["lines", lineIndex(), "qty"], value: otherType(["integer"]) },
            { path: ["lines", lineIndex(), "price"], value: otherType(["number"]) },
            { path: ["customer", "name"], value: otherType(["string"]) },
            { path: ["note"], value: otherType(["string", "null"]) },
            { path: ["tags", int(0, 1)], value: otherType(["string"]) },
            { path: ["discount"], value: otherType(["number"]) },
        ])],
        ["number out of range", () => pick([
            { path: ["lines", lineIndex(), "qty"], value: pick([int(-1000, 0), int(1001, 1e6), int(1, 999) + 0.5]) },
            { path: ["lines", lineIndex(), "price"], value: pick([0, -int(1, 1000) / 100, int(1, 100000) / 100 + 0.001 * int(1, 9)]) },
            { path: ["discount"], value: pick([-0.01 * int(1, 100), 100 + 0.01 * int(1, 1000)]) },
        ])],
        ["extra property", () => {
            const objects: Array<Array<string | number>> = [[], ["customer"], ["customer", "address"], ["lines", lineIndex()], ["lines", 0, "options", int(0, 1)]];
            return { path: [...pick(objects), `zz${word(int(1, 6))}${pick(["", "/x", "~y", " z"])}`], value: pick([1, "v", null, {}, []]) };
        }],
        ["bad format", () => pick([
            { path: ["id"], value: pick(["123e4567-e89b-12d3-a456-42661417400", "123e4567e89b12d3a456426614174000", `${word(8, "ghijk")}-e89b-12d3-a456-426614174000`]) },
            { path: ["customer", "email"], value: pick([`${word(5)}example.com`, `${word(3)}@`, `@${word(4)}.com`, `${word(2)} ${word(2)}@example.com`]) },
            { path: ["createdAt"], value: pick(["2023-02-29T00:00:00Z", `2024-${int(13, 99)}-01T00:00:00Z`, "2024-01-01T25:00:00Z", "2024-01-01", "2024-01-01T00:00:00Z\n"]) },
            { path: ["customer", "ip"], value: pick([`${int(256, 999)}.0.0.1`, "1.2.3", "1.2.3.4.5", `0${int(1, 9)}.1.1.1`]) },
        ])],
        ["string too long or too short", () => pick([
            { path: ["customer", "name"], value: pick(["", "x".repeat(int(51, 80)), "\u{1F600}".repeat(int(51, 60))]) },
            { path: ["customer", "address", "street"], value: pick(["", "é".repeat(int(101, 150))]) },
            { path: ["note"], value: "n".repeat(int(201, 300)) },
            { path: ["lines", 0, "options", int(0, 1), "value"], value: "v".repeat(int(21, 40)) },
        ])],
        ["pattern mismatch", () => pick([
            { path: ["lines", lineIndex(), "sku"], value: pick([`${word(3)}-1234`, `ABC-${int(0, 999)}`, "ABC-12345", "ABC-1234\n", `ABCD-${int(1000, 9999)}`]) },
            { path: ["customer", "address", "country"], value: pick([word(2), "USA", "U", "U\u00c9"]) },
            { path: ["customer", "address", "zip"], value: pick([String(int(0, 9999)), `${int(10000, 99999)}-1`, "1234a"]) },
            { path: ["tags", int(0, 1)], value: pick([`9${word(3)}`, `-${word(3)}`, word(21), `${word(2)}_${word(2)}`, `${word(2)}A`]) },
        ])],
        ["enum mismatch", () => pick([
            { path: ["status"], value: pick(["New", "cancelled", "", "paid "]) },
            { path: ["lines", 0, "options", int(0, 1), "name"], value: pick(["colour", "Size", `x${word(3)}`]) },
        ])],
        ["bad array", () => pick([
            { path: ["lines"], value: [] },
            { path: ["lines"], value: Array.from({ length: int(11, 15) }, () => ({ sku: "ABC-0001", qty: 1, price: 1 })) },
            { path: ["tags"], value: ["a", "b", "c", "d", "e", "f"] },
            { path: ["tags", 1], value: "gift" },
        ])],
    ];

    const mutations: Mutation[] = [];
    for (let i = 0; i < count; i++) {
        const [kind, make] = makers[i % makers.length];
        const { path, value } = make();
        const order = clone();
        const parent = at(order, path.slice(0, -1)) as Record<string | number, Json>;
        const key = path[path.length - 1];
        if (value === undefined) delete parent[key];
        else parent[key] = value;
        // The failure is where the mutation is: the changed value, the missing member, the
        // added member, the array with the wrong size, or the repeated item.
        mutations.push({ kind, value: order, pointer: pointerOf(path) });
    }
    return mutations;
}

const compiled = compileSchema(DOCUMENT.components.schemas.Order, { document: DOCUMENT, pointer: "/components/schemas/Order", dialect: "openapi-3.0" });
const validator = loadValidator();

describe(`seeded mutations of a valid order (seed ${SEED.toString(16)}, ${MUTATIONS} mutations)`, () => {
    const mutations = generate(MUTATIONS, SEED);

    it("accepts the unmutated order and valid variations", () => {
        assert.equal(validator.validate(compiled, VALID_ORDER), null);
        const variation = JSON.parse(JSON.stringify(VALID_ORDER));
        delete variation.tags;
        delete variation.note;
        delete variation.discount;
        delete variation.customer.ip;
        variation.customer.name = "\u{1F600}".repeat(50); // 50 code points, 100 UTF-16 units
        variation.lines[0].price = 0.3;
        variation.note = "é".repeat(200);
        assert.equal(validator.validate(compiled, variation), null);
    });

    it("rejects every mutation at the pointer it touched", () => {
        const started = Date.now();
        const kinds = new Set<string>();
        for (const mutation of mutations) {
            kinds.add(mutation.kind);
            const failure = validator.validate(compiled, mutation.value);
            assert.notEqual(failure, null, `${mutation.kind} at ${mutation.pointer} was accepted: ${JSON.stringify(mutation.value)}`);
            assert.equal(failure!.pointer, mutation.pointer, `${mutation.kind}: ${failure!.reason}`);
        }
        assert.equal(kinds.size, 9, "every kind of mutation ran");
        assert.ok(Date.now() - started < TIME_BUDGET_MS, "within the time budget");
    });

    it("njs gives the same answer for every mutation", () => {
        const jobs: Job[] = [VALID_ORDER, ...mutations.map((m) => m.value)].map((value) => ({ op: "validate", schema: 0, value }));
        assert.deepEqual(runInNjs([compiled], jobs), runInNode(validator, [compiled], jobs));
    });
});
