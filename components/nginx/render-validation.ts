/**
 * Request validation inside nginx, before any upstream sees the request (seed: "no request
 * should reach an upstream server without first being validated against a schema or
 * signature"). A validated route's location reads the whole body into memory and hands the
 * request to an njs handler (js_content); the handler checks, per method, the required query
 * parameters and headers, parameter values against their schemas, the body's media type (415) and the body against the operation's
 * JSON Schema (400 naming the failing JSON pointer, never echoing the payload), then
 * internally redirects to the route's named location, which alone proxies.
 *
 * validate.js is generated at render time: components/validation's runtime (the JSON parser
 * with depth/size bounds and the schema interpreter) + the routes' compiled schemas as a JSON
 * literal + the handler. Nothing is fetched or compiled at request time.
 */
import { jsonExpression, VALIDATOR_SOURCE } from "../validation/runtime";
import { SIGNATURE_CONTENT_DIGEST_HEADER, VALIDATION_MAX_DEPTH, VALIDATION_MAX_NODES } from "./constants";
import { identifier } from "./lines";
import type { NginxSpec, RouteSpec } from "./types";

/** The njs module's import name (js_import NAME from validate.js). */
export const VALIDATION_MODULE_NAME = "apiproxy_validation";
/** The variable a validated location sets to its route name (the handler's table key). */
export const VALIDATED_ROUTE_VARIABLE = "$apiproxy_validated_route";

/** Routes whose requests the njs handler checks before they are proxied: schema validation,
 *  and/or the body against the digest an HMAC signature covers. */
export function checkedInNjs(route: RouteSpec): boolean {
    return route.validation !== undefined || route.requestAuth?.signature === true;
}

export function validatedRoutes(spec: NginxSpec): RouteSpec[] {
    return spec.routes.filter(checkedInNjs);
}

/** The named location that proxies a validated route (reachable only by the handler's redirect). */
export function validatedUpstreamLocation(route: RouteSpec): string {
    return `@apiproxy_validated_${identifier(route.name)}`;
}



const HANDLER = `
function apiproxyProblem(r, status, error, detail, pointer) {
    var body = { error: error, status: status, detail: detail, request_id: r.variables.request_id };
    if (pointer !== undefined) {
        body.pointer = pointer;
    }
    r.headersOut['Content-Type'] = 'application/json';
    r.return(status, JSON.stringify(body) + '\\n');
}

function apiproxyMediaType(value) {
    return String(value || '').split(';')[0].trim().toLowerCase();
}

function apiproxyReadParameter(raw, type) {
    if (type === 'integer' || type === 'number') {
        if (!/^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(raw)) {
            return { error: 'must be a number' };
        }
        return { value: Number(raw) };
    }
    if (type === 'boolean') {
        if (raw === 'true' || raw === 'false') {
            return { value: raw === 'true' };
        }
        return { error: 'must be true or false' };
    }
    return { value: raw };
}

function apiproxyBodyMatchesDigest(r) {
    var claimed = r.headersIn[APIPROXY_DIGEST_HEADER];
    if (typeof claimed !== 'string' || !/^[0-9a-fA-F]{64}$/.test(claimed)) {
        return false;
    }
    var body = r.requestBuffer;
    var digest = APIPROXY_CRYPTO.createHash('sha256').update(body === undefined ? '' : body).digest('hex');
    return digest === claimed.toLowerCase();
}

function validate(r) {
    var route = APIPROXY_ROUTES[r.variables.apiproxy_validated_route];
    if (route === undefined) {
        apiproxyProblem(r, 500, 'internal_error', 'no validator for this route');
        return;
    }
    if (route.digest) {
        if (r.variables.request_body_file) {
            apiproxyProblem(r, 413, 'payload_too_large', 'the body does not fit the validation buffer');
            return;
        }
        if (!apiproxyBodyMatchesDigest(r)) {
            apiproxyProblem(r, 400, 'digest_mismatch', 'the body does not match the signed ' + APIPROXY_DIGEST_HEADER);
            return;
        }
    }
    if (route.operations === undefined) {
        r.internalRedirect('@apiproxy_validated_' + route.id);
        return;
    }
    var op = route.operations[r.method];
    if (op === undefined) {
        apiproxyProblem(r, 405, 'method_not_allowed', 'the method is not declared for this path');
        return;
    }
    var i;
    for (i = 0; i < op.requiredQuery.length; i++) {
        if (r.args[op.requiredQuery[i]] === undefined) {
            apiproxyProblem(r, 400, 'missing_parameter', 'a required query parameter is missing: ' + op.requiredQuery[i]);
            return;
        }
    }
    for (i = 0; i < op.requiredHeaders.length; i++) {
        if (r.headersIn[op.requiredHeaders[i]] === undefined) {
            apiproxyProblem(r, 400, 'missing_header', 'a required header is missing: ' + op.requiredHeaders[i]);
            return;
        }
    }
    var params = op.parameters || [];
    var segments = null;
    for (i = 0; i < params.length; i++) {
        var p = params[i];
        var raw;
        if (p['in'] === 'query') {
            raw = r.args[p.name];
        } else if (p['in'] === 'header') {
            raw = r.headersIn[p.name];
        } else {
            if (segments === null) {
                segments = r.uri.split('/');
            }
            raw = segments[p.segment];
        }
        if (raw === undefined) {
            continue;
        }
        if (typeof raw !== 'string') {
            apiproxyProblem(r, 400, 'invalid_parameter', p['in'] + ' parameter ' + p.name + ' is given more than once');
            return;
        }
        var read = apiproxyReadParameter(raw, p.type);
        var bad = read.error !== undefined ? read.error : apiproxyValidateJson(p.schema, read.value, APIPROXY_LIMITS);
        if (bad !== null) {
            apiproxyProblem(r, 400, 'invalid_parameter', p['in'] + ' parameter ' + p.name + ': ' + (typeof bad === 'string' ? bad : bad.reason));
            return;
        }
    }
    var text = r.requestText;
    var hasBody = text !== undefined && text.length > 0;
    if (!hasBody && r.variables.request_body_file) {
        apiproxyProblem(r, 413, 'payload_too_large', 'the body does not fit the validation buffer');
        return;
    }
    if (op.body === undefined) {
        if (hasBody) {
            apiproxyProblem(r, 400, 'unexpected_body', 'this operation takes no request body');
            return;
        }
    } else if (!hasBody) {
        if (op.body.required) {
            apiproxyProblem(r, 400, 'missing_body', 'this operation requires a request body');
            return;
        }
    } else {
        if (op.body.contentTypes.indexOf(apiproxyMediaType(r.headersIn['Content-Type'])) < 0) {
            apiproxyProblem(r, 415, 'unsupported_media_type', 'Content-Type must be one of: ' + op.body.contentTypes.join(', '));
            return;
        }
        var parsed = apiproxyParseJson(text, APIPROXY_LIMITS);
        if (parsed.error !== undefined) {
            apiproxyProblem(r, 400, 'invalid_json', parsed.error);
            return;
        }
        var failure = apiproxyValidateJson(op.body.schema, parsed.value, APIPROXY_LIMITS);
        if (failure !== null) {
            apiproxyProblem(r, 400, 'invalid_body', failure.reason, failure.pointer);
            return;
        }
    }
    r.internalRedirect('@apiproxy_validated_' + route.id);
}

export default { validate: validate };
`;

/** validate.js: the runtime, the routes' validators, the handler. Undefined when no route validates. */
export function renderValidationModule(spec: NginxSpec): string | undefined {
    const routes = validatedRoutes(spec);
    if (routes.length === 0) return undefined;
    const table: Record<string, unknown> = {};
    for (const route of routes) {
        const digest = route.requestAuth?.signature === true;
        if (route.validation === undefined) {
            table[route.name] = { id: identifier(route.name), digest };
            continue;
        }
        const operations: Record<string, unknown> = {};
        for (const [method, op] of Object.entries(route.validation.operations)) {
            if (op === undefined) continue;
            operations[method] = {
                requiredQuery: op.requiredQuery,
                requiredHeaders: op.requiredHeaders,
                ...(op.parameters ? { parameters: op.parameters } : {}),
                ...(op.body ? { body: { required: op.body.required, contentTypes: op.body.contentTypes, schema: op.body.schema } } : {}),
            };
        }
        table[route.name] = { id: identifier(route.name), digest, operations };
    }
    return [
        "// validate.js: generated by api-proxy-security (components/nginx/render-validation.ts); do not edit.",
        "// seed: no request reaches an upstream without first being validated against a schema or signature.",
        "var APIPROXY_CRYPTO = require('crypto');",
        `var APIPROXY_DIGEST_HEADER = ${jsonExpression(SIGNATURE_CONTENT_DIGEST_HEADER)};`,
        VALIDATOR_SOURCE.trim(),
        "",
        `var APIPROXY_LIMITS = ${jsonExpression({ maxDepth: VALIDATION_MAX_DEPTH, maxNodes: VALIDATION_MAX_NODES })};`,
        `var APIPROXY_ROUTES = ${jsonExpression(table)};`,
        HANDLER.trim(),
        "",
    ].join("\n");
}
