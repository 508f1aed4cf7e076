/** The real tool: the rendered tree, relocated into a temp prefix with throwaway certs, passes `nginx -t`. */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { join } from "node:path";
import * as YAML from "yaml";
import { renderNginx } from "../../../components/nginx";
import { routesFromOpenApi } from "../../../components/openapi/routes";
import { nginxLayout } from "../../../components/nginx/layout";
import type { NginxSpec } from "../../../components/nginx/types";
import { validSpec } from "./fixtures";
import { makeTempTree, NGINX_BINARY, nginxConfigTest, type TempTree } from "./harness";

describe("nginx -t on the rendered config", { skip: !existsSync(NGINX_BINARY) && `${NGINX_BINARY} not installed` }, () => {
    let tree: TempTree;
    let spec: NginxSpec;
    before(() => {
        tree = makeTempTree();
        spec = tree.relocate(validSpec);
    });
    after(() => tree?.remove());

    it("accepts the full fixture (http, API key, gRPC, WebSocket, mTLS-only routes; two pools)", () => {
        const files = renderNginx(spec);
        for (const f of files) assert.ok(f.path.startsWith(tree.root), f.path);
        tree.writeFiles(files);
        const result = nginxConfigTest(nginxLayout(spec).mainConf, tree.root);
        assert.ok(result.ok, result.output);
    });

    it("accepts the alternative shapes (tickets on, one protocol, Debian nobody/nogroup, bound address)", () => {
        const variant: NginxSpec = {
            ...spec,
            runUser: "nobody",
            runGroup: "nogroup",
            listenAddress: "127.0.0.1",
            tls: { ...spec.tls, protocols: ["TLSv1.3"], sessionTickets: true, groups: ["P-384", "P-521"] },
        };
        tree.writeFiles(renderNginx(variant));
        const result = nginxConfigTest(nginxLayout(variant).mainConf, tree.root);
        assert.ok(result.ok, result.output);
    });

    it("accepts PROXY protocol behind a load balancer: proxy_protocol on the TLS listeners, realip from the LB only", () => {
        const variant: NginxSpec = { ...spec, proxyProtocol: { trustedAddresses: ["198.18.2.10", "198.18.2.0/24"] } };
        const files = renderNginx(variant);
        const servers = files.find((f) => f.path.endsWith("servers.conf"))!.content;
        assert.equal(servers.match(/listen \S+ ssl http2 proxy_protocol backlog=/g)?.length, 2, "both TLS listeners require the header");
        assert.doesNotMatch(servers, /listen \S+ backlog=\d+;.*\n(?:.*\n){0,3}.*proxy_protocol/, "the health listener stays plain");
        assert.equal(servers.match(/set_real_ip_from 198\.18\.2\.10;/g)?.length, 2);
        assert.equal(servers.match(/real_ip_header proxy_protocol;/g)?.length, 2);
        tree.writeFiles(files);
        const result = nginxConfigTest(nginxLayout(variant).mainConf, tree.root);
        assert.ok(result.ok, result.output);
        assert.throws(() => renderNginx({ ...spec, proxyProtocol: { trustedAddresses: [] } }), /proxyProtocol\.trustedAddresses/);
        assert.throws(() => renderNginx({ ...spec, proxyProtocol: { trustedAddresses: ["lb.example"] } }), /proxyProtocol\.trustedAddresses\[0\]/);
    });

    it("accepts per-route client identities and a declared public route", () => {
        const variant: NginxSpec = {
            ...spec,
            routes: spec.routes.map((route) => route.name === "admin" ? { ...route, allowedClientCommonNames: ["payments-team", "ops.example.com"] }
                : route.name === "status" ? { ...route, publicReason: "Public status page for uptime monitors" } : route),
        };
        tree.writeFiles(renderNginx(variant));
        const result = nginxConfigTest(nginxLayout(variant).mainConf, tree.root);
        assert.ok(result.ok, result.output);
    });

    it("accepts request validation: njs loaded, the generated validate.js imported, templated and exact routes", () => {
        const document = YAML.parse(readFileSync(join(__dirname, "..", "..", "..", "stacks", "openapi", "orders.yaml"), "utf8"));
        const generated = routesFromOpenApi(document, "orders", "/api/v2");
        const base = spec.routes.find((route) => route.name === "orders")!;
        const variant: NginxSpec = {
            ...spec,
            routes: [...spec.routes, ...generated.map((g) => ({
                ...base, name: g.name, methods: g.methods, validation: g.validation,
                ...(g.template ? { template: g.template, pathPrefix: g.template.slice(0, g.template.indexOf("{")), exact: false } : { pathPrefix: g.path, exact: true }),
            }))],
        };
        const files = renderNginx(variant);
        assert.ok(files.some((f) => f.path === nginxLayout(variant).validationModule));
        tree.writeFiles(files);
        const result = nginxConfigTest(nginxLayout(variant).mainConf, tree.root);
        assert.ok(result.ok, result.output);
    });

    it("really checks: a corrupted include is rejected (the harness is not vacuous)", () => {
        tree.writeFiles(renderNginx(spec));
        const routes = nginxLayout(spec).routes("public");
        writeFileSync(routes, readFileSync(routes, "utf8").replace("proxy_pass http://pool_orders;", "proxy_pass http://pool_missing;"));
        const result = nginxConfigTest(nginxLayout(spec).mainConf, tree.root);
        assert.equal(result.ok, false);
        assert.match(result.output, /host not found in upstream|pool_missing/);
    });
});
