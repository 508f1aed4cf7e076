/** The pack as a whole: metadata conventions, config defaults, evaluatePolicies, and the lib. */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_CONFIG, allPolicies, evaluatePolicies, type RecordedResource } from "../../policy-packs/api-proxy-baseline/evaluate";
import { CONFIG_PROPERTIES } from "../../policy-packs/api-proxy-baseline/policies/config";
import { cidrContains, containedInAny, parseCidr } from "../../policy-packs/api-proxy-baseline/lib/cidr";
import { parseNginx, parseWithIncludes } from "../../policy-packs/api-proxy-baseline/lib/nginx-parse";
import { T, tags, validInstance, validStack } from "./fixtures";

function recorded(): RecordedResource[] {
    return validStack().map((e) => {
        const { id, arn, ...inputs } = e.props as { id?: string; arn?: string };
        return { type: e.type, name: e.name, urn: `urn:pulumi:test::p::${e.type}::${e.name}`, props: inputs, id, outputs: arn ? { arn } : undefined };
    });
}

describe("pack conventions", () => {
    it("names are unique kebab-case; descriptions say what is checked; levels are explicit", () => {
        const names = allPolicies.map((p) => p.name);
        assert.equal(new Set(names).size, names.length);
        for (const p of allPolicies) {
            assert.match(p.name, /^[a-z0-9]+(-[a-z0-9]+)*$/, p.name);
            assert.match(p.description, /^Checks that /, p.name);
            assert.ok(p.enforcementLevel === "mandatory" || p.enforcementLevel === "advisory", p.name);
        }
    });
    it("every config key has a schema whose default equals DEFAULT_CONFIG", () => {
        for (const [key, value] of Object.entries(DEFAULT_CONFIG)) {
            const schema = CONFIG_PROPERTIES[key as keyof typeof CONFIG_PROPERTIES] as { default?: unknown };
            assert.deepEqual(schema.default, value, key);
        }
        for (const p of allPolicies) {
            for (const [key, schema] of Object.entries(p.configSchema?.properties ?? {})) {
                assert.ok(key in DEFAULT_CONFIG, `${p.name} declares unknown config ${key}`);
                assert.notEqual((schema as { default?: unknown }).default, undefined, `${p.name}.${key} has no default`);
            }
        }
    });
});

describe("evaluatePolicies", () => {
    it("passes every policy on the compliant stack, one pass verdict each", async () => {
        const verdicts = await evaluatePolicies(recorded());
        assert.deepEqual(verdicts.filter((v) => v.status === "fail"), []);
        assert.deepEqual(verdicts.map((v) => v.policyName), allPolicies.map((p) => p.name));
    });
    it("reports violations with the policy, level, message and resource URN", async () => {
        const resources = recorded().map((r) => r.name === "proxy-a" ? { ...r, props: { ...r.props, metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 1 } } } : r);
        const verdicts = await evaluatePolicies(resources);
        const imds = verdicts.filter((v) => v.policyName === "imdsv2-required");
        assert.equal(imds.length, 1);
        assert.equal(imds[0].status, "fail");
        assert.equal(imds[0].enforcementLevel, "mandatory");
        assert.match(imds[0].message, /httpTokens is "optional"/);
        assert.equal(imds[0].urn, "urn:pulumi:test::p::aws:ec2/instance:Instance::proxy-a");
    });
    it("links stack resources through recorded ids and dependencies", async () => {
        const noIds = recorded().map(({ id: _id, outputs: _o, ...r }) => r);
        const verdicts = await evaluatePolicies(noIds);
        assert.ok(verdicts.some((v) => v.policyName === "vpc-flow-logs" && v.status === "fail"), "without ids the flow log cannot be linked");
        const withDeps = noIds.map((r) => r.name === "vpc-flow-log" ? { ...r, propertyDependencies: { vpcId: ["urn:pulumi:test::p::aws:ec2/vpc:Vpc::vpc"] } } : r);
        const again = await evaluatePolicies(withDeps);
        assert.ok(again.some((v) => v.policyName === "vpc-flow-logs" && v.status === "pass"));
    });
    it("applies config to the policies that read it", async () => {
        const verdicts = await evaluatePolicies(recorded(), { managementCidrs: ["192.168.0.0/16"] });
        assert.ok(verdicts.some((v) => v.policyName === "sg-ssh-only-from-management" && v.status === "fail" && /10\.20\.30\.0\/24 is not inside/.test(v.message)));
    });
    it("survives resources with undefined props (preview in the mock runtime)", async () => {
        const sparse: RecordedResource[] = [
            { type: T.instance, name: "p", urn: "urn:p", props: { tags: tags("proxy"), userData: undefined, metadataOptions: undefined } },
            { type: T.loadBalancer, name: "l", urn: "urn:l", props: { subnets: undefined } },
            { type: "tls:index/privateKey:PrivateKey", name: "k", urn: "urn:k", props: {} },
        ];
        const verdicts = await evaluatePolicies(sparse);
        assert.ok(verdicts.length >= allPolicies.length);
    });
    it("does not start the PolicyPack server (evaluate.ts never imports index.ts)", () => {
        assert.ok(!Object.keys(require.cache).some((k) => /api-proxy-baseline[\\/]index\.ts$/.test(k)));
    });
});

describe("lib: CIDR containment", () => {
    it("contains by prefix, not by string", () => {
        assert.ok(containedInAny("10.20.30.0/24", ["10.20.0.0/16"]));
        assert.ok(!containedInAny("10.200.0.0/24", ["10.20.0.0/16"]));
        assert.ok(!containedInAny("10.0.0.0/8", ["10.20.0.0/16"]));
        assert.ok(containedInAny("2001:db8:1::/48", ["2001:db8::/32"]));
        assert.ok(!containedInAny("2001:db9::/48", ["2001:db8::/32"]));
        assert.ok(!containedInAny("not-a-cidr", ["0.0.0.0/0"]));
        const a = parseCidr("::ffff:10.0.0.1/128");
        assert.ok(a && cidrContains(parseCidr("::ffff:10.0.0.0/120")!, a));
    });
});

describe("lib: nginx parser", () => {
    it("handles quotes, comments, ${var} and nested blocks", () => {
        const tree = parseNginx(`http { log_format x '$a # not a comment' "b;c"; # comment\n map \${host}x $y { default 1; } server { location / { return 404; } } }`);
        const http = tree[0];
        assert.equal(http.name, "http");
        assert.deepEqual(http.block?.[0].args, ["x", "$a # not a comment", "b;c"]);
        assert.equal(http.block?.[1].args[0], "${host}x");
        assert.equal(http.block?.[2].block?.[0].block?.[0].name, "return");
    });
    it("expands includes in place, by glob, and detects loops", () => {
        const files = new Map([
            ["/etc/nginx/nginx.conf", "http { include apiproxy/*.conf; include /etc/nginx/mime.types; }"],
            ["/etc/nginx/apiproxy/a.conf", "server_tokens off;"],
            ["/etc/nginx/apiproxy/b.conf", "client_max_body_size 1m;"],
        ]);
        const tree = parseWithIncludes(files);
        assert.deepEqual(tree[0].block?.map((d) => d.name), ["server_tokens", "client_max_body_size", "include"]);
        const loop = new Map([["/etc/nginx/nginx.conf", "include /etc/nginx/apiproxy/x.conf;"], ["/etc/nginx/apiproxy/x.conf", "include /etc/nginx/apiproxy/x.conf;"]]);
        assert.throws(() => parseWithIncludes(loop), /include loop/);
    });
    it("reads the fixture instance's user data without the renderer", async () => {
        const verdicts = await evaluatePolicies([{ type: T.instance, name: "i", urn: "urn:i", props: validInstance() }]);
        assert.ok(verdicts.some((v) => v.policyName === "nginx-config-parses" && v.status === "pass"));
    });
});

describe("one source of truth for the data the schema and the pack judge by", () => {
    it("an instance type the schema accepts passes the pack's catalogue, and one the schema refuses fails it (r5d.xlarge)", async () => {
        const { checkInstanceType, CATALOGUED_INSTANCE_TYPES } = await import("../../components/compute/instance-catalogue");
        const { INSTANCE_CATALOGUE, DEFAULT_CONFIG } = await import("../../policy-packs/api-proxy-baseline/policies/config");
        for (const info of CATALOGUED_INSTANCE_TYPES) {
            const size = INSTANCE_CATALOGUE[info.instanceType];
            const packAccepts = size !== undefined && DEFAULT_CONFIG.allowedInstanceFamilies.includes(info.family)
                && size.vcpus >= DEFAULT_CONFIG.minInstanceVcpus && size.memoryGib >= DEFAULT_CONFIG.minInstanceMemoryGib && size.nvmeGb >= DEFAULT_CONFIG.minInstanceNvmeGb;
            assert.equal(packAccepts, checkInstanceType(info.instanceType).ok, info.instanceType);
        }
        assert.equal(checkInstanceType("r5d.xlarge").ok, true);
        assert.ok(INSTANCE_CATALOGUE["r5d.xlarge"], "the pack knows r5d.xlarge");
    });
});
