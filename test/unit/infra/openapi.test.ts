/**
 * OpenAPI as a route source: a document becomes exact (templated) routes with per-operation
 * request requirements; anything the proxy cannot enforce is refused naming the JSON pointer;
 * the stack config reports a bad document by field, and refuses validation where njs is absent.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { OpenApiError, routesFromOpenApi } from "../../../components/openapi/routes";
import { renderNginx } from "../../../components/nginx";
import { TIER_CONFIG_KEY, validateTierConfig } from "../../../infra/config/load";
import { problemsOf } from "./config-problems";
import { buildNginxSpec } from "../../../infra/spec/nginx-spec";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const ORDERS = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "openapi", "orders.yaml"), "utf8"));
const doc = () => structuredClone(ORDERS);

function refusedAt(document: unknown, pointer: string, reason: RegExp): void {
    try {
        routesFromOpenApi(document, "orders", "/api/v2");
        assert.fail("accepted");
    } catch (err) {
        assert.ok(err instanceof OpenApiError, String(err));
        assert.equal(err.pointer, pointer, err.message);
        assert.match(err.message, reason);
    }
}

describe("routes from an OpenAPI document", () => {
    const routes = routesFromOpenApi(doc(), "orders", "/api/v2");
    test("one exact route per path; a templated path matches its segments, never a prefix", () => {
        assert.deepEqual(routes.map((r) => [r.name, r.path, r.template, r.methods]), [
            ["orders-orders", "/api/v2/orders", undefined, ["GET", "POST"]],
            ["orders-orders-orderid", "/api/v2/orders/{orderId}", "/api/v2/orders/{orderId}", ["GET"]],
        ]);
    });
    test("each operation carries its required query parameters, headers and body", () => {
        const list = routes[0].validation.operations.GET!;
        assert.deepEqual([list.requiredQuery, list.requiredHeaders, list.body], [["limit"], [], undefined]);
        assert.deepEqual(list.parameters?.map((p) => [p.in, p.name, p.type, p.segment]), [["query", "limit", "integer", undefined]]);
        const one = routes[1].validation.operations.GET!;
        assert.deepEqual(one.parameters?.map((p) => [p.in, p.name, p.type, p.segment]), [["path", "orderId", "integer", 4]], "/api/v2/orders/{orderId}: segment 4");
        const place = routes[0].validation.operations.POST!;
        assert.deepEqual(place.requiredHeaders, ["idempotency-key"]);
        assert.equal(place.body?.required, true);
        assert.deepEqual(place.body?.contentTypes, ["application/json"]);
        assert.ok(place.body?.schema, "a compiled schema");
    });
    test("what the proxy cannot enforce is refused with the JSON pointer", () => {
        refusedAt({ ...doc(), openapi: "2.0" }, "/openapi", /OpenAPI 3\.0\.x or 3\.1\.x/);
        const form = doc();
        form.paths["/orders"].post.requestBody.content = { "application/x-www-form-urlencoded": { schema: { type: "object" } } };
        refusedAt(form, "/paths/~1orders/post/requestBody/content/application~1x-www-form-urlencoded", /only JSON/);
        const cookie = doc();
        cookie.paths["/orders"].get.parameters.push({ name: "session", in: "cookie", required: true });
        refusedAt(cookie, "/paths/~1orders/get/parameters/1", /cookie parameters are not validated/);
        const trace = doc();
        trace.paths["/orders"].trace = { responses: {} };
        refusedAt(trace, "/paths/~1orders/trace", /not an operation the proxy serves/);
        const external = doc();
        external.paths["/orders"].post.requestBody = { $ref: "https://example.com/bodies.yaml#/Order" };
        refusedAt(external, "/paths/~1orders/post/requestBody/$ref", /not a reference within this document/);
        const undeclared = doc();
        delete undeclared.paths["/orders/{orderId}"].parameters;
        refusedAt(undeclared, "/paths/~1orders~1{orderId}/get", /path parameter \{orderId\} is not declared/);
        const noSchema = doc();
        delete noSchema.paths["/orders"].post.requestBody.content["application/json"].schema;
        refusedAt(noSchema, "/paths/~1orders/post/requestBody/content/application~1json", /needs a schema/);
        const arrayParam = doc();
        arrayParam.paths["/orders"].get.parameters[0].schema = { type: "array", items: { type: "integer" } };
        refusedAt(arrayParam, "/paths/~1orders/get/parameters/0/schema", /read as one scalar/);
        const badPath = doc();
        badPath.paths["/orders/*"] = badPath.paths["/orders"];
        refusedAt(badPath, "/paths/~1orders~1*", /literal segments/);
    });
    test("a schema the compiler refuses is reported at its pointer inside the document", () => {
        const weird = doc();
        weird.components.schemas.Line.properties.count.someKeyword = 1;
        refusedAt(weird, "/components/schemas/Line/properties/count/someKeyword", /./);
    });
    test("the rendered location of a templated route is an anchored regex; the validator's named location alone proxies", () => {
        const tier = validateTierConfig(YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.local.yaml"), "utf8")).config[TIER_CONFIG_KEY], "local");
        const files = renderNginx(buildNginxSpec(tier, { runUser: "www-data", runGroup: "www-data", nginxVersion: "1.22.1" }));
        const routesPublic = files.find((f) => f.path.endsWith("routes-public.conf"))!.content;
        assert.match(routesPublic, /location ~ \^\/api\/v2\/orders\/\[\^\/\]\+\$ \{/);
        assert.match(routesPublic, /location = \/api\/v2\/orders \{[\s\S]*?js_content apiproxy_validation\.validate;/);
        assert.match(routesPublic, /location @apiproxy_validated_orders_orders \{[\s\S]*?proxy_pass http:\/\/pool_orders;/);
        assert.ok(files.some((f) => f.path.endsWith("/validate.js")));
        assert.match(files.find((f) => f.path.endsWith("nginx.conf"))!.content, /^load_module \/usr\/lib\/nginx\/modules\/ngx_http_js_module\.so;/m);
    });
});

describe("upstreams[].openapi in stack config", () => {
    const localTier = (): Record<string, any> =>
        structuredClone(YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.local.yaml"), "utf8")).config[TIER_CONFIG_KEY]);
    const problems = problemsOf;
    test("the local stack's document expands into validated routes", () => {
        const tier = validateTierConfig(localTier(), "local");
        const generated = tier.routes.filter((r) => r.source === "stacks/openapi/orders.yaml");
        assert.deepEqual(generated.map((r) => r.name), ["orders-orders", "orders-orders-orderid"]);
        assert.ok(generated.every((r) => r.validation && r.apiKey));
    });
    test("a missing document, or one with a problem, names the field and the pointer", () => {
        const missing = localTier();
        missing.upstreams[0].openapi.document = "stacks/openapi/nope.yaml";
        assert.deepEqual(problems(missing), [{ path: "tier.upstreams[0].openapi.document", message: "stacks/openapi/nope.yaml does not exist" }]);
        const bad = doc();
        bad.paths["/orders"].trace = {};
        const file = path.join("stacks", "openapi", `.test-${process.pid}.yaml`);
        fs.writeFileSync(path.join(ROOT, file), YAML.stringify(bad));
        try {
            const tier = localTier();
            tier.upstreams[0].openapi.document = file;
            const [p] = problems(tier);
            assert.equal(p.path, "tier.upstreams[0].openapi.document");
            assert.match(p.message, /#\/paths\/~1orders\/trace: "trace" is not an operation/);
        } finally {
            fs.rmSync(path.join(ROOT, file), { force: true });
        }
        const escape = localTier();
        escape.upstreams[0].openapi.document = "../etc/passwd.yaml";
        assert.ok(problems(escape).some((p) => p.path === "tier.upstreams[0].openapi.document" && /must not leave the project|relative path/.test(p.message)));
    });
    test("a generated route that collides with a hand-written one is named by its source", () => {
        const tier = localTier();
        tier.routes.push({ name: "orders-orders", path: "/api/v3/x", methods: ["GET"], upstream: "orders" });
        assert.ok(problems(tier).some((p) => p.path.startsWith("tier.upstreams[0].openapi(route orders-orders") || /orders-orders" is declared twice/.test(p.message)));
    });
    test("validation is refused where the proxies cannot run it (the AWS target's Ubuntu 22.04)", () => {
        const prod = structuredClone(YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.prod.yaml"), "utf8")).config[TIER_CONFIG_KEY]);
        prod.upstreams[0].openapi = { document: "stacks/openapi/orders.yaml", basePath: "/api/v2" };
        assert.ok(problems(prod).some((p) => p.path === "tier.upstreams[0].openapi" && /debian-12 only; the proxies here run ubuntu-22\.04/.test(p.message)), JSON.stringify(problems(prod)));
    });
});
