import { before, test } from "node:test";
import assert from "node:assert/strict";
import { installMocks, type RecordingMocks } from "./mocks";
import { ofType, one, ownedBy, resourceError, settle, tagProblems, unwrap } from "./helpers";
import type * as SgModule from "../../../components/network/security-groups";

let mocks: RecordingMocks;
let ProxySecurityGroups: typeof SgModule.ProxySecurityGroups;

const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const USER_TAGS = { team: "edge" };
const baseArgs: SgModule.ProxySecurityGroupsArgs = {
    environment: "prod",
    vpcId: "vpc-1",
    vpcCidr: "10.40.0.0/16",
    trafficCidrs: ["0.0.0.0/0", "::/0"],
    healthCheckCidrs: ["10.40.0.0/20", "10.40.16.0/20"],
    managementCidrs: ["10.255.10.0/24"],
    upstreamPorts: [8080, 50051],
    endpointSecurityGroupId: "sg-endpoints",
    httpsPrefixListIds: ["pl-s3"],
    keyStore: { securityGroupId: "sg-redis" },
    tags: USER_TAGS,
};

let groups: SgModule.ProxySecurityGroups;
before(async () => {
    mocks = installMocks();
    ({ ProxySecurityGroups } = await import("../../../components/network/security-groups"));
    groups = new ProxySecurityGroups("sgs", baseArgs);
    new ProxySecurityGroups("nokeystore", { ...baseArgs, keyStore: undefined, httpsPrefixListIds: undefined });
    await unwrap(groups.upstreamSecurityGroupId);
    await settle(mocks);
});

const PROXY = "sgs-proxy-id";
const UPSTREAM = "sgs-upstream-id";
const rules = (type: string, sg: string) => ofType(ownedBy(mocks, "sgs"), type).filter((r) => r.inputs["securityGroupId"] === sg);
const sourceOf = (r: { inputs: Record<string, any> }) =>
    r.inputs["cidrIpv4"] ?? r.inputs["cidrIpv6"] ?? r.inputs["referencedSecurityGroupId"] ?? r.inputs["prefixListId"];

test("sg: security groups carry no inline rules; every standalone rule has a description", () => {
    for (const sg of ofType(ownedBy(mocks, "sgs"), "aws:ec2/securityGroup:SecurityGroup")) {
        assert.equal(sg.inputs["ingress"], undefined, sg.name);
        assert.equal(sg.inputs["egress"], undefined, sg.name);
        assert.equal(sg.inputs["vpcId"], "vpc-1");
    }
    const all = [...ofType(ownedBy(mocks, "sgs"), INGRESS), ...ofType(ownedBy(mocks, "sgs"), EGRESS)];
    assert.ok(all.length > 10);
    assert.ok(all.every((r) => typeof r.inputs["description"] === "string" && r.inputs["description"].length > 0));
});

test("sg: proxy admits 443 and 8443 from every traffic CIDR (IPv4 and IPv6)", () => {
    const ingress = rules(INGRESS, PROXY);
    for (const port of [443, 8443]) {
        const onPort = ingress.filter((r) => r.inputs["fromPort"] === port && r.inputs["toPort"] === port && r.inputs["ipProtocol"] === "tcp");
        assert.deepEqual(onPort.map(sourceOf).sort(), ["0.0.0.0/0", "::/0"], `port ${port}`);
    }
    assert.equal(ingress.find((r) => r.inputs["cidrIpv6"] === "::/0")?.inputs["cidrIpv4"], undefined);
});

test("sg: the health port is open only to the NLB subnet CIDRs", () => {
    const health = rules(INGRESS, PROXY).filter((r) => r.inputs["fromPort"] <= 8081 && r.inputs["toPort"] >= 8081);
    assert.deepEqual(health.map(sourceOf).sort(), ["10.40.0.0/20", "10.40.16.0/20"]);
});

test("sg: SSH only from management CIDRs; /0 is allowed only on 443/8443", () => {
    const ingress = rules(INGRESS, PROXY);
    const ssh = ingress.filter((r) => r.inputs["fromPort"] <= 22 && r.inputs["toPort"] >= 22);
    assert.deepEqual(ssh.map(sourceOf), ["10.255.10.0/24"]);
    const open = ingress.filter((r) => /\/0$/.test(sourceOf(r) ?? ""));
    assert.ok(open.every((r) => [443, 8443].includes(r.inputs["fromPort"]) && r.inputs["fromPort"] === r.inputs["toPort"]));
    assert.ok(ingress.every((r) => r.inputs["ipProtocol"] !== "-1"), "no all-protocol ingress");
    const nokeystoreSsh = ofType(ownedBy(mocks, "nokeystore"), INGRESS).filter((r) => r.inputs["fromPort"] === 22);
    assert.deepEqual(nokeystoreSsh.map(sourceOf), ["10.255.10.0/24"]);
});

test("sg: proxy egress only to upstream SG, endpoint SG / prefix lists on 443, resolver DNS and the key-store", () => {
    const egress = rules(EGRESS, PROXY);
    const described = egress.map((r) => `${r.inputs["ipProtocol"]}/${r.inputs["fromPort"]}-${r.inputs["toPort"]}->${sourceOf(r)}`).sort();
    assert.deepEqual(described, [
        "tcp/443-443->pl-s3",
        "tcp/443-443->sg-endpoints",
        "tcp/50051-50051->sgs-upstream-id",
        "tcp/53-53->10.40.0.2/32",
        "tcp/6379-6379->sg-redis",
        "tcp/8080-8080->sgs-upstream-id",
        "udp/53-53->10.40.0.2/32",
    ]);
    const other = ofType(ownedBy(mocks, "nokeystore"), EGRESS);
    assert.ok(!other.some((r) => r.inputs["fromPort"] === 6379), "no key-store egress unless asked");
    assert.ok(!other.some((r) => r.inputs["prefixListId"] !== undefined));
});

test("sg: upstreams admit only the proxy security group, on upstream ports, and nothing from a CIDR", () => {
    const ingress = rules(INGRESS, UPSTREAM);
    assert.deepEqual(ingress.map((r) => [r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"], r.inputs["toPort"]]),
        [[PROXY, 8080, 8080], [PROXY, 50051, 50051]]);
    assert.ok(ingress.every((r) => r.inputs["cidrIpv4"] === undefined && r.inputs["cidrIpv6"] === undefined));
    assert.equal(rules(EGRESS, UPSTREAM).length, 0);
});

test("sg: tags and outputs", async () => {
    assert.deepEqual(tagProblems(ownedBy(mocks, "sgs"), "prod", USER_TAGS), []);
    assert.equal(one(ownedBy(mocks, "sgs"), "aws:ec2/securityGroup:SecurityGroup", "sgs-upstream").inputs["tags"]["apiproxy:role"], "upstream");
    assert.equal(one(ownedBy(mocks, "sgs"), "aws:ec2/securityGroup:SecurityGroup", "sgs-proxy").inputs["tags"]["apiproxy:role"], "proxy");
    assert.equal(await unwrap(groups.proxySecurityGroupId), PROXY);
    assert.equal(await unwrap(groups.upstreamSecurityGroupId), UPSTREAM);
});

test("sg: open SSH (0.0.0.0/0 or ::/0), open health sources and an empty key-store throw ResourceError before any child", async () => {
    assert.throws(() => new ProxySecurityGroups("open-ssh4", { ...baseArgs, managementCidrs: ["10.0.0.0/8", "0.0.0.0/0"] }), resourceError(/managementCidrs.*0\.0\.0\.0\/0/));
    assert.throws(() => new ProxySecurityGroups("open-ssh6", { ...baseArgs, managementCidrs: ["::/0"] }), resourceError(/managementCidrs.*::\/0/));
    assert.throws(() => new ProxySecurityGroups("open-health", { ...baseArgs, healthCheckCidrs: ["0.0.0.0/0"] }), resourceError(/healthCheckCidrs/));
    assert.throws(() => new ProxySecurityGroups("empty-ks", { ...baseArgs, keyStore: {} }), resourceError(/keyStore/));
    await settle(mocks);
    for (const name of ["open-ssh4", "open-ssh6", "open-health", "empty-ks"]) {
        assert.deepEqual(ownedBy(mocks, name).filter((r) => r.custom), [], name);
    }
});
