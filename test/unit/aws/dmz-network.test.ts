import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, type RecordingMocks } from "./mocks";
import { ofType, one, ownedBy, policy, resourceError, settle, tagProblems, unwrap } from "./helpers";
import type * as NetworkModule from "../../../components/network/dmz-network";

let mocks: RecordingMocks;
let DmzNetwork: typeof NetworkModule.DmzNetwork;

const ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
const USER_TAGS = { "cost-center": "platform-security" };
const baseArgs = {
    environment: "prod",
    cidr: "10.40.0.0/16",
    availabilityZones: ZONES,
    flowLogRetentionDays: 400,
    trafficCidrs: ["0.0.0.0/0"],
    managementCidrs: ["10.255.10.0/24", "10.255.20.0/24"],
    upstreamPorts: [8080, 50051],
    keyStorePort: 6379,
    tags: USER_TAGS,
};

let net: NetworkModule.DmzNetwork;
before(async () => {
    mocks = installMocks();
    ({ DmzNetwork } = await import("../../../components/network/dmz-network"));
    net = new DmzNetwork("net", baseArgs);
    new DmzNetwork("single", { ...baseArgs, natPerAz: false });
    await unwrap(net.flowLogId);
    await settle(mocks);
});

const mine = () => ownedBy(mocks, "net");

test("network: VPC has DNS support and hostnames on, the given CIDR, and a default SG with no rules", () => {
    const vpc = one(mine(), "aws:ec2/vpc:Vpc", "net-vpc");
    assert.equal(vpc.inputs["cidrBlock"], "10.40.0.0/16");
    assert.equal(vpc.inputs["enableDnsSupport"], true);
    assert.equal(vpc.inputs["enableDnsHostnames"], true);
    const defaultSg = one(mine(), "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "net-default-sg");
    assert.equal(defaultSg.inputs["vpcId"], "net-vpc-id");
    assert.deepEqual(defaultSg.inputs["ingress"] ?? [], []);
    assert.deepEqual(defaultSg.inputs["egress"] ?? [], []);
});

test("network: three subnets per AZ, none maps public IPs, CIDRs carved tier-major inside the VPC", async () => {
    const subnets = ofType(mine(), "aws:ec2/subnet:Subnet");
    assert.equal(subnets.length, 9);
    assert.ok(subnets.every((s) => s.inputs["mapPublicIpOnLaunch"] === false), "mapPublicIpOnLaunch false everywhere");
    for (const kind of ["public", "dmz", "private"]) {
        assert.deepEqual(ZONES.map((_, i) => one(subnets, "aws:ec2/subnet:Subnet", `net-${kind}-${i}`).inputs["availabilityZone"]), ZONES);
    }
    assert.deepEqual(net.dmzCidrs, ["10.40.48.0/20", "10.40.64.0/20", "10.40.80.0/20"]);
    assert.deepEqual(net.privateCidrs, ["10.40.96.0/20", "10.40.112.0/20", "10.40.128.0/20"]);
    assert.equal(new Set(subnets.map((s) => s.inputs["cidrBlock"])).size, 9, "no overlapping subnets");
    assert.deepEqual(await unwrap(pulumi.all(net.dmzSubnetIds)), ["net-dmz-0-id", "net-dmz-1-id", "net-dmz-2-id"]);
    assert.deepEqual(net.availabilityZones, ZONES);
});

test("network: public subnets route to the IGW, DMZ subnets to NAT per AZ, private subnets nowhere", () => {
    const routes = ofType(mine(), "aws:ec2/route:Route");
    const publicDefault = one(routes, "aws:ec2/route:Route", "net-public-default");
    assert.equal(publicDefault.inputs["gatewayId"], "net-igw-id");
    assert.equal(publicDefault.inputs["routeTableId"], "net-public-rt-id");
    ZONES.forEach((_, i) => {
        const dmz = one(routes, "aws:ec2/route:Route", `net-dmz-default-${i}`);
        assert.equal(dmz.inputs["natGatewayId"], `net-nat-${i}-id`);
        assert.equal(dmz.inputs["gatewayId"], undefined);
    });
    assert.equal(routes.filter((r) => r.inputs["routeTableId"] === "net-private-rt-id").length, 0, "no route out of the private subnets");
    const assoc = ofType(mine(), "aws:ec2/routeTableAssociation:RouteTableAssociation");
    ZONES.forEach((_, i) => {
        assert.equal(assoc.find((a) => a.inputs["subnetId"] === `net-private-${i}-id`)?.inputs["routeTableId"], "net-private-rt-id");
        assert.equal(assoc.find((a) => a.inputs["subnetId"] === `net-dmz-${i}-id`)?.inputs["routeTableId"], `net-dmz-rt-${i}-id`);
        assert.equal(assoc.find((a) => a.inputs["subnetId"] === `net-public-${i}-id`)?.inputs["routeTableId"], "net-public-rt-id");
    });
    const nats = ofType(mine(), "aws:ec2/natGateway:NatGateway");
    assert.deepEqual(nats.map((n) => n.inputs["subnetId"]).sort(), ["net-public-0-id", "net-public-1-id", "net-public-2-id"]);
});

test("network: natPerAz false gives one NAT gateway shared by every DMZ route table", () => {
    const single = ownedBy(mocks, "single");
    assert.equal(ofType(single, "aws:ec2/natGateway:NatGateway").length, 1);
    const dmzRoutes = ofType(single, "aws:ec2/route:Route").filter((r) => r.name.startsWith("single-dmz-default-"));
    assert.equal(dmzRoutes.length, 3);
    assert.ok(dmzRoutes.every((r) => r.inputs["natGatewayId"] === "single-nat-0-id"));
});

test("network: interface endpoints for ssm, ssmmessages, ec2messages, secretsmanager, logs, kms in the DMZ + S3 gateway", () => {
    const endpoints = ofType(mine(), "aws:ec2/vpcEndpoint:VpcEndpoint");
    const iface = endpoints.filter((e) => e.inputs["vpcEndpointType"] === "Interface");
    assert.deepEqual(iface.map((e) => e.inputs["serviceName"]).sort(),
        ["ec2messages", "kms", "logs", "secretsmanager", "ssm", "ssmmessages"].map((s) => `com.amazonaws.eu-west-1.${s}`));
    for (const e of iface) {
        assert.equal(e.inputs["privateDnsEnabled"], true);
        assert.deepEqual(e.inputs["subnetIds"], ["net-dmz-0-id", "net-dmz-1-id", "net-dmz-2-id"]);
        assert.deepEqual(e.inputs["securityGroupIds"], ["net-endpoints-sg-id"]);
    }
    const s3 = endpoints.find((e) => e.inputs["vpcEndpointType"] === "Gateway");
    assert.equal(s3?.inputs["serviceName"], "com.amazonaws.eu-west-1.s3");
    assert.deepEqual(s3?.inputs["routeTableIds"], ["net-dmz-rt-0-id", "net-dmz-rt-1-id", "net-dmz-rt-2-id"]);
});

test("network: the endpoint security group admits 443 from the DMZ subnets only, via described standalone rules", () => {
    const sg = one(mine(), "aws:ec2/securityGroup:SecurityGroup", "net-endpoints-sg");
    assert.equal(sg.inputs["ingress"], undefined, "no inline ingress");
    assert.equal(sg.inputs["egress"], undefined, "no inline egress");
    const rules = ofType(mine(), "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        .filter((r) => r.inputs["securityGroupId"] === "net-endpoints-sg-id");
    assert.deepEqual(rules.map((r) => r.inputs["cidrIpv4"]), net.dmzCidrs);
    for (const r of rules) {
        assert.deepEqual([r.inputs["ipProtocol"], r.inputs["fromPort"], r.inputs["toPort"]], ["tcp", 443, 443]);
        assert.ok((r.inputs["description"] ?? "").length > 0);
    }
    assert.equal(ofType(mine(), "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").length, 0);
});

function naclRules(kind: "dmz" | "private", egress: boolean) {
    return ofType(mine(), "aws:ec2/networkAclRule:NetworkAclRule")
        .filter((r) => r.inputs["networkAclId"] === `net-${kind}-nacl-id` && r.inputs["egress"] === egress);
}

test("network: DMZ NACL admits 443/8443/health from the VPC, 443/8443 from clients, 22 only from management", () => {
    const acl = one(mine(), "aws:ec2/networkAcl:NetworkAcl", "net-dmz-nacl");
    assert.deepEqual(acl.inputs["subnetIds"], ["net-dmz-0-id", "net-dmz-1-id", "net-dmz-2-id"]);
    const inbound = naclRules("dmz", false);
    const admits = (cidr: string, port: number) => inbound.some((r) => r.inputs["cidrBlock"] === cidr && r.inputs["ruleAction"] === "allow"
        && r.inputs["protocol"] === "tcp" && r.inputs["fromPort"] === port && r.inputs["toPort"] === port);
    for (const port of [443, 8443, 8081]) {
        assert.ok(admits("10.40.0.0/16", port), `VPC -> ${port}`);
    }
    assert.ok(admits("0.0.0.0/0", 443) && admits("0.0.0.0/0", 8443));
    const ssh = inbound.filter((r) => r.inputs["fromPort"] <= 22 && r.inputs["toPort"] >= 22);
    assert.deepEqual(ssh.map((r) => r.inputs["cidrBlock"]).sort(), ["10.255.10.0/24", "10.255.20.0/24"]);
    assert.ok(inbound.some((r) => r.inputs["fromPort"] === 1024 && r.inputs["toPort"] === 65535), "ephemeral return traffic");
    assert.ok(inbound.every((r) => r.inputs["ruleAction"] === "allow" && r.inputs["ruleNumber"] >= 100));
});

test("network: private NACL admits only the DMZ CIDRs (upstream + key-store ports, ephemeral)", () => {
    const acl = one(mine(), "aws:ec2/networkAcl:NetworkAcl", "net-private-nacl");
    assert.deepEqual(acl.inputs["subnetIds"], ["net-private-0-id", "net-private-1-id", "net-private-2-id"]);
    const inbound = naclRules("private", false);
    assert.ok(inbound.length > 0);
    assert.ok(inbound.every((r) => net.dmzCidrs.includes(r.inputs["cidrBlock"])), "sources are DMZ subnets only");
    for (const port of [8080, 50051, 6379]) {
        assert.equal(inbound.filter((r) => r.inputs["fromPort"] === port && r.inputs["toPort"] === port).length, 3, `port ${port} from each DMZ subnet`);
    }
    assert.ok(naclRules("private", true).every((r) => net.dmzCidrs.includes(r.inputs["cidrBlock"])), "replies only to the DMZ");
});

test("network: flow logs capture ALL traffic into a CMK-encrypted log group with the given retention", () => {
    const flow = one(mine(), "aws:ec2/flowLog:FlowLog", "net-flow-log");
    assert.equal(flow.inputs["trafficType"], "ALL");
    assert.equal(flow.inputs["vpcId"], "net-vpc-id");
    assert.equal(flow.inputs["logDestinationType"], "cloud-watch-logs");
    const group = one(mine(), "aws:cloudwatch/logGroup:LogGroup", "net-flow-logs");
    assert.equal(flow.inputs["logDestination"], `arn:aws:logs:eu-west-1:123456789012:log-group:${group.inputs["name"]}`);
    assert.equal(group.inputs["retentionInDays"], 400);
    const key = one(mine(), "aws:kms/key:Key", "net-flow-logs-key");
    assert.equal(group.inputs["kmsKeyId"], "arn:aws:kms:eu-west-1:123456789012:key/net-flow-logs-key-key-id");
    assert.equal(key.inputs["enableKeyRotation"], true);
    const keyStatements = policy(key).Statement;
    assert.ok(keyStatements.some((s) => s.Principal?.Service === "logs.eu-west-1.amazonaws.com"
        && s.Condition?.ArnLike?.["kms:EncryptionContext:aws:logs:arn"]?.startsWith("arn:aws:logs:eu-west-1:123456789012:")));
});

test("network: the flow-log role is assumable by VPC flow logs only and writes only to its log group", () => {
    const role = one(mine(), "aws:iam/role:Role", "net-flow-logs-role");
    const trust = policy(role, "assumeRolePolicy").Statement;
    assert.deepEqual(trust.map((s) => s.Principal.Service), ["vpc-flow-logs.amazonaws.com"]);
    assert.equal(trust[0].Condition.StringEquals["aws:SourceAccount"], "123456789012");
    const flow = one(mine(), "aws:ec2/flowLog:FlowLog", "net-flow-log");
    assert.equal(flow.inputs["iamRoleArn"], "arn:aws:iam:eu-west-1:123456789012:role/net-flow-logs-role");
    const inline = one(mine(), "aws:iam/rolePolicy:RolePolicy", "net-flow-logs-policy");
    assert.equal(inline.inputs["role"], "net-flow-logs-role-id");
    const groupArn = flow.inputs["logDestination"] as string;
    for (const statement of policy(inline).Statement) {
        for (const resource of [statement.Resource].flat()) {
            assert.ok(resource === groupArn || resource === `${groupArn}:*`, `scoped to the log group, got ${resource}`);
        }
        assert.ok([statement.Action].flat().every((a: string) => a.startsWith("logs:") && !a.includes("*")));
    }
});

test("network: every taggable resource carries the environment, a tier role and the user tags", () => {
    assert.deepEqual(tagProblems(mine(), "prod", USER_TAGS), []);
    const roleOf = (type: string, name: string) => one(mine(), type, name).inputs["tags"]["apiproxy:role"];
    assert.equal(roleOf("aws:ec2/subnet:Subnet", "net-public-0"), "nlb");
    assert.equal(roleOf("aws:ec2/subnet:Subnet", "net-dmz-0"), "proxy");
    assert.equal(roleOf("aws:ec2/subnet:Subnet", "net-private-0"), "upstream");
    assert.equal(roleOf("aws:ec2/vpc:Vpc", "net-vpc"), "network");
});

test("network: outputs expose ids, CIDRs, zones and the flow log", async () => {
    assert.equal(await unwrap(net.vpcId), "net-vpc-id");
    assert.equal(await unwrap(net.flowLogId), "net-flow-log-id");
    assert.equal(await unwrap(net.endpointSecurityGroupId), "net-endpoints-sg-id");
    assert.equal(await unwrap(net.s3PrefixListId), "pl-6da54004");
    assert.equal(net.resolverCidr, "10.40.0.2/32");
    assert.deepEqual(net.publicCidrs, ["10.40.0.0/20", "10.40.16.0/20", "10.40.32.0/20"]);
});

test("network: fewer than 2 AZs, an open management CIDR or a bad VPC CIDR throw ResourceError before any child", async () => {
    assert.throws(() => new DmzNetwork("one-az", { ...baseArgs, availabilityZones: ["eu-west-1a"] }), resourceError(/availabilityZones.*at least 2/));
    assert.throws(() => new DmzNetwork("dup-az", { ...baseArgs, availabilityZones: ["eu-west-1a", "eu-west-1a"] }), resourceError(/availabilityZones/));
    assert.throws(() => new DmzNetwork("open-ssh", { ...baseArgs, managementCidrs: ["0.0.0.0/0"] }), resourceError(/managementCidrs.*0\.0\.0\.0\/0/));
    assert.throws(() => new DmzNetwork("bad-cidr", { ...baseArgs, cidr: "10.40.0.1/16" }), resourceError(/^cidr/));
    assert.throws(() => new DmzNetwork("many-clients", { ...baseArgs, trafficCidrs: Array.from({ length: 12 }, (_, i) => `192.0.${i}.0/24`) }),
        resourceError(/trafficCidrs.*quota/));
    await settle(mocks);
    for (const name of ["one-az", "dup-az", "open-ssh", "bad-cidr", "many-clients"]) {
        assert.deepEqual(ownedBy(mocks, name).filter((r) => r.custom).map((r) => r.name), [], `${name} created children`);
    }
});
