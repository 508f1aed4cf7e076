/**
 * OpenAPI 3.0 / 3.1 as a route source: each path of the document becomes one route that
 * matches it exactly (a templated path like /orders/{id} matches each {param} as one segment,
 * never as an open prefix), with its operations' methods and what each operation requires of a
 * request: required query parameters and headers, and the JSON request body against its schema
 * (compiled here, at render time, by components/validation). Pure: the caller reads the file.
 *
 * Anything the proxy cannot enforce is refused with the JSON pointer of the part, never
 * skipped: a body other than JSON, a required cookie parameter, a TRACE operation, an external
 * $ref. A request that would reach the upstream is therefore one the document describes.
 */
import { compileSchema, SchemaError } from "../validation/schema-compiler";
import type { HttpMethod, OperationValidation, ParameterValidation, RouteValidation } from "../nginx/types";

export class OpenApiError extends Error {
    constructor(readonly pointer: string, message: string) {
        super(`${pointer || "/"}: ${message}`);
        this.name = "OpenApiError";
    }
}

/** One route the document yields. */
export interface OpenApiRoute {
    /** A name for the route, unique within the document: "<pool>-<path words>". */
    readonly name: string;
    /** The full path (basePath + the document's path key). */
    readonly path: string;
    /** Set when the path has {params}: the full template. */
    readonly template?: string;
    readonly methods: HttpMethod[];
    readonly validation: RouteValidation;
}

const METHODS: Record<string, HttpMethod> = {
    get: "GET", put: "PUT", post: "POST", delete: "DELETE", options: "OPTIONS", head: "HEAD", patch: "PATCH",
};
const JSON_MEDIA_TYPE = /^application\/([a-z0-9.+-]+\+)?json$/;
const PATH_KEY = /^(\/([A-Za-z0-9._~-]+|\{[A-Za-z0-9_.-]+\}))+\/?$/;

const escapePointer = (key: string): string => key.replace(/~/g, "~0").replace(/\//g, "~1");
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function resolvePointer(document: unknown, ref: string, at: string): { value: unknown; pointer: string } {
    if (!ref.startsWith("#/")) throw new OpenApiError(at, `$ref "${ref}" is not a reference within this document (external references are not fetched)`);
    let value: unknown = document;
    for (const raw of ref.slice(2).split("/")) {
        const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
        if (!isObject(value) || !(key in value)) throw new OpenApiError(at, `$ref "${ref}" points at nothing`);
        value = value[key];
    }
    return { value, pointer: ref.slice(1) };
}

/** Follows $ref chains of parameters and request bodies (schemas are the compiler's business). */
function deref(document: unknown, value: unknown, pointer: string): { value: unknown; pointer: string } {
    const seen = new Set<string>();
    let current = { value, pointer };
    while (isObject(current.value) && typeof current.value.$ref === "string") {
        if (seen.has(current.value.$ref)) throw new OpenApiError(current.pointer, `$ref cycle through "${current.value.$ref}"`);
        seen.add(current.value.$ref);
        current = resolvePointer(document, current.value.$ref, `${current.pointer}/$ref`);
    }
    return current;
}

function routeName(pool: string, path: string, taken: Set<string>): string {
    const words = path.split("/").filter(Boolean).map((s) => s.replace(/[{}]/g, "").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, ""))
        .filter(Boolean);
    const base = `${pool}-${words.join("-")}`.replace(/-+/g, "-").slice(0, 28).replace(/-$/, "");
    let name = base;
    for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
    taken.add(name);
    return name;
}

interface Parameter { name: string; in: string; required: boolean; pointer: string; schema: unknown }

function parameters(document: unknown, list: unknown, pointer: string): Parameter[] {
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw new OpenApiError(pointer, "parameters must be an array");
    return list.map((item, i) => {
        const { value, pointer: at } = deref(document, item, `${pointer}/${i}`);
        if (!isObject(value) || typeof value.name !== "string" || typeof value.in !== "string") {
            throw new OpenApiError(at, "a parameter needs a name and an in");
        }
        return { name: value.name, in: value.in, required: value.required === true || value.in === "path", pointer: at, schema: value.schema };
    });
}

/**
 * The routes of one OpenAPI document for one upstream pool. basePath ("" or "/api/v1") is
 * prepended to every path key.
 */
export function routesFromOpenApi(document: unknown, pool: string, basePath: string): OpenApiRoute[] {
    if (!isObject(document)) throw new OpenApiError("", "the document is not an object");
    const version = typeof document.openapi === "string" ? document.openapi : "";
    const dialect = /^3\.0\.\d+$/.test(version) ? "openapi-3.0" : /^3\.1\.\d+$/.test(version) ? "openapi-3.1" : undefined;
    if (!dialect) throw new OpenApiError("/openapi", `must be an OpenAPI 3.0.x or 3.1.x version, got ${JSON.stringify(document.openapi)}`);
    if (!isObject(document.paths) || Object.keys(document.paths).length === 0) throw new OpenApiError("/paths", "declares no paths");

    const taken = new Set<string>();
    const routes: OpenApiRoute[] = [];
    for (const [key, rawItem] of Object.entries(document.paths)) {
        const itemPointer = `/paths/${escapePointer(key)}`;
        if (!PATH_KEY.test(key) || key.split("/").includes("..")) {
            throw new OpenApiError(itemPointer, "a path must be literal segments (letters, digits, . _ ~ -) and whole-segment {param}s");
        }
        const { value: item, pointer: itemAt } = deref(document, rawItem, itemPointer);
        if (!isObject(item)) throw new OpenApiError(itemAt, "a path item must be an object");
        const templateParams = [...key.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
        const shared = parameters(document, item.parameters, `${itemAt}/parameters`);
        const operations: Partial<Record<HttpMethod, OperationValidation>> = {};
        for (const [field, raw] of Object.entries(item)) {
            const at = `${itemAt}/${escapePointer(field)}`;
            if (["parameters", "summary", "description", "servers"].includes(field) || field.startsWith("x-")) continue;
            const method = METHODS[field];
            if (!method) throw new OpenApiError(at, `"${field}" is not an operation the proxy serves (get, put, post, delete, options, head, patch)`);
            if (!isObject(raw)) throw new OpenApiError(at, "an operation must be an object");
            const own = parameters(document, raw.parameters, `${at}/parameters`);
            // An operation's parameter overrides the path item's of the same name and location.
            const all = [...shared.filter((p) => !own.some((o) => o.name === p.name && o.in === p.in)), ...own];
            for (const p of all) {
                if (p.in === "path" && !templateParams.includes(p.name)) throw new OpenApiError(p.pointer, `path parameter "${p.name}" is not in the path ${key}`);
                if (p.in === "cookie" && p.required) throw new OpenApiError(p.pointer, "required cookie parameters are not validated by the proxy; declare it optional or use a header");
                if (!["path", "query", "header", "cookie"].includes(p.in)) throw new OpenApiError(p.pointer, `"in: ${p.in}" is not a parameter location`);
            }
            for (const name of templateParams) {
                if (!all.some((p) => p.in === "path" && p.name === name)) throw new OpenApiError(at, `the path parameter {${name}} is not declared (in: path)`);
            }
            const checked = all.filter((p) => p.in !== "cookie" && p.schema !== undefined)
                .map((p) => parameterValidation(document, p, `${basePath}${key}`, dialect));
            operations[method] = {
                requiredQuery: all.filter((p) => p.in === "query" && p.required).map((p) => p.name),
                requiredHeaders: all.filter((p) => p.in === "header" && p.required).map((p) => p.name.toLowerCase()),
                ...(checked.length > 0 ? { parameters: checked } : {}),
                ...(raw.requestBody !== undefined ? { body: requestBody(document, raw.requestBody, `${at}/requestBody`, dialect) } : {}),
            };
        }
        const methods = Object.keys(operations) as HttpMethod[];
        if (methods.length === 0) throw new OpenApiError(itemAt, "declares no operations");
        const path = `${basePath}${key}`;
        routes.push({
            name: routeName(pool, key, taken),
            path,
            ...(templateParams.length > 0 ? { template: path } : {}),
            methods,
            validation: { operations },
        });
    }
    return routes;
}

/** A parameter's value check: its scalar type (how the text is read) and its compiled schema. */
function parameterValidation(document: unknown, p: Parameter, pathKey: string, dialect: "openapi-3.0" | "openapi-3.1"): ParameterValidation {
    const at = `${p.pointer}/schema`;
    const { value: schema } = deref(document, p.schema, at);
    const declared = isObject(schema) ? schema.type : undefined;
    const type = declared === undefined ? "string" : declared;
    if (typeof type !== "string" || !["string", "integer", "number", "boolean"].includes(type)) {
        throw new OpenApiError(at, `a ${p.in} parameter is read as one scalar (string, integer, number or boolean), not ${JSON.stringify(type)}`);
    }
    try {
        return {
            in: p.in as ParameterValidation["in"], name: p.in === "header" ? p.name.toLowerCase() : p.name,
            type: type as ParameterValidation["type"],
            schema: compileSchema(p.schema, { document, pointer: at, dialect }),
            ...(p.in === "path" ? { segment: pathKey.split("/").indexOf(`{${p.name}}`) } : {}),
        };
    } catch (err) {
        if (err instanceof SchemaError) throw new OpenApiError(err.pointer, err.reason);
        throw err;
    }
}

function requestBody(document: unknown, raw: unknown, pointer: string, dialect: "openapi-3.0" | "openapi-3.1"): NonNullable<OperationValidation["body"]> {
    const { value, pointer: at } = deref(document, raw, pointer);
    if (!isObject(value) || !isObject(value.content) || Object.keys(value.content).length === 0) {
        throw new OpenApiError(at, "a requestBody needs content with at least one media type");
    }
    const types = Object.keys(value.content);
    for (const type of types) {
        if (!JSON_MEDIA_TYPE.test(type)) {
            throw new OpenApiError(`${at}/content/${escapePointer(type)}`, `"${type}" bodies cannot be validated by the proxy: only JSON (application/json, application/*+json)`);
        }
    }
    const schemas = types.map((type) => {
        const media = (value.content as Record<string, unknown>)[type];
        const mediaAt = `${at}/content/${escapePointer(type)}`;
        if (!isObject(media) || media.schema === undefined) throw new OpenApiError(mediaAt, "a JSON body needs a schema (nothing would be validated)");
        return { schema: media.schema, pointer: `${mediaAt}/schema` };
    });
    if (schemas.some((s) => JSON.stringify(s.schema) !== JSON.stringify(schemas[0].schema))) {
        throw new OpenApiError(at, "JSON media types of one body must share one schema");
    }
    try {
        return {
            required: value.required === true,
            contentTypes: types.map((t) => t.toLowerCase()),
            schema: compileSchema(schemas[0].schema, { document, pointer: schemas[0].pointer, dialect }),
        };
    } catch (err) {
        if (err instanceof SchemaError) throw new OpenApiError(err.pointer, err.reason);
        throw err;
    }
}
