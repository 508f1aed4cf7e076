import { before, test } from "node:test";
import assert from "node:assert/strict";
import { installMocks, type RecordingMocks } from "./mocks";
import { ofType, one, ownedBy, policy, resourceError, settle, tagProblems, unwrap } from "./helpers";
import type * as PairModule from "../../../components/compute/proxy-pair";

let mocks: RecordingMocks;
let ProxyPair: typeof PairModule.ProxyPair;

const USER_TAGS = { "cost-center": "platform-security" };
const SECRET_ARNS = [
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:chain-AbCdEf",
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:key-AbCdEf",
];
const KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/tier";
const USER_DATA = "#cloud-config\nwrite_files: []\n";
const baseArgs: PairModule.ProxyPairArgs = {
    environment: "prod",
    vpcId: "vpc-1",
    dmzSubnetIds: ["subnet-dmz-a", "subnet-dmz-b", "subnet-dmz-c"],
    publicSubnetIds: ["subnet-pub-a", "subnet-pub-b", "subnet-pub-c"],
    proxySecurityGroupId: "sg-proxy",
    instanceType: "c6id.2xlarge",
    amiId: "ami-0golden",
    userData: USER_DATA,
    userDataOverrides: [undefined, undefined, "#cloud-config\n# canary\n"],
    pairCount: 2,
    deletionProtection: true,
    tlsSecretArns: SECRET_ARNS,
    kmsKeyArn: KMS_KEY,
    logRetentionDays: 365,
    accessLogs: { bucket: "nlb-logs", prefix: "prod" },
    tags: USER_TAGS,
};

let pair: PairModule.ProxyPair;
before(async () => {
    mocks = installMocks();
    ({ ProxyPair } = await import("../../../components/compute/proxy-pair"));
    pair = new ProxyPair("edge", baseArgs);
    new ProxyPair("dev", { ...baseArgs, pairCount: undefined, deletionProtection: false, accessLogs: undefined, userDataOverrides: undefined,
        dmzSubnetIds: ["subnet-dmz-a", "subnet-dmz-b"] });
    new ProxyPair("gz", { ...baseArgs, pairCount: 1, userData: "H4sIAAAA", userDataOverrides: undefined, userDataEncoding: "gzip-base64" });
    await unwrap(pair.instanceIds);
    await settle(mocks);
});

const mine = () => ownedBy(mocks, "edge");
const instances = (owner = "edge") => ofType(ownedBy(mocks, owner), "aws:ec2/instance:Instance").sort((a, b) => a.name.localeCompare(b.name));

test("pair: pairCount pairs of instances, instance i in subnet i mod n, each pair across two AZs", () => {
    const all = instances();
    assert.deepEqual(all.map((i) => i.name), ["edge-proxy-0", "edge-proxy-1", "edge-proxy-2", "edge-proxy-3"]);
    assert.deepEqual(all.map((i) => i.inputs["subnetId"]), ["subnet-dmz-a", "subnet-dmz-b", "subnet-dmz-c", "subnet-dmz-a"]);
    for (let p = 0; p < 2; p++) {
        assert.notEqual(all[2 * p]!.inputs["subnetId"], all[2 * p + 1]!.inputs["subnetId"], `pair ${p} spans two AZs`);
    }
    const dev = instances("dev");
    assert.equal(dev.length, 2, "pairCount defaults to 1 -> 2 instances");
    assert.deepEqual(dev.map((i) => i.inputs["subnetId"]), ["subnet-dmz-a", "subnet-dmz-b"]);
});

test("pair: instances enforce IMDSv2 (hop limit 1, no tags), no public IP, encrypted gp3 root, EBS-optimised, monitored", () => {
    for (const i of [...instances(), ...instances("dev")]) {
        assert.deepEqual(i.inputs["metadataOptions"], {
            httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled", instanceMetadataTags: "disabled",
        }, i.name);
        assert.equal(i.inputs["associatePublicIpAddress"], false);
        assert.equal(i.inputs["rootBlockDevice"]["encrypted"], true);
        assert.equal(i.inputs["rootBlockDevice"]["volumeType"], "gp3");
        assert.equal(i.inputs["rootBlockDevice"]["kmsKeyId"], KMS_KEY);
        assert.equal(i.inputs["ebsOptimized"], true);
        assert.equal(i.inputs["monitoring"], true);
        assert.equal(i.inputs["instanceType"], "c6id.2xlarge");
        assert.equal(i.inputs["ami"], "ami-0golden");
        assert.deepEqual(i.inputs["vpcSecurityGroupIds"], ["sg-proxy"]);
        assert.ok(i.name.startsWith("dev") || i.inputs["iamInstanceProfile"] === "edge-profile");
    }
});

test("pair: disableApiTermination follows deletionProtection", () => {
    assert.ok(instances().every((i) => i.inputs["disableApiTermination"] === true));
    assert.ok(instances("dev").every((i) => i.inputs["disableApiTermination"] === false));
});

test("pair: user data is the caller's #cloud-config, with per-instance overrides", () => {
    assert.deepEqual(instances().map((i) => i.inputs["userData"]), [USER_DATA, USER_DATA, "#cloud-config\n# canary\n", USER_DATA]);
});

test("pair: gzip-base64 user data goes to userDataBase64 (never double-encoded into userData)", () => {
    const gz = instances("gz");
    assert.equal(gz.length, 2);
    for (const instance of gz) {
        assert.equal(instance.inputs["userDataBase64"], "H4sIAAAA");
        assert.equal(instance.inputs["userData"], undefined);
    }
    assert.ok(instances().every((i) => i.inputs["userDataBase64"] === undefined), "text stays in userData");
});

test("pair: the role is EC2-only, has the SSM core managed policy and a least-privilege inline policy", () => {
    const role = one(mine(), "aws:iam/role:Role", "edge-role");
    assert.deepEqual(policy(role, "assumeRolePolicy").Statement.map((s) => [s.Principal.Service, s.Action]), [["ec2.amazonaws.com", "sts:AssumeRole"]]);
    const attachments = ofType(mine(), "aws:iam/rolePolicyAttachment:RolePolicyAttachment");
    assert.deepEqual(attachments.map((a) => a.inputs["policyArn"]), ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]);
    assert.equal(one(mine(), "aws:iam/instanceProfile:InstanceProfile", "edge-profile").inputs["role"], "edge-role");

    const statements = policy(one(mine(), "aws:iam/rolePolicy:RolePolicy", "edge-least-privilege")).Statement;
    const byAction = (action: string) => statements.filter((s) => [s.Action].flat().includes(action));
    const secrets = byAction("secretsmanager:GetSecretValue");
    assert.equal(secrets.length, 1);
    assert.deepEqual([secrets[0].Resource].flat(), SECRET_ARNS, "exactly the given secret ARNs");
    const decrypt = byAction("kms:Decrypt");
    assert.equal(decrypt.length, 1);
    assert.deepEqual([decrypt[0].Resource].flat(), [KMS_KEY], "exactly the tier key");
    assert.deepEqual(decrypt[0].Condition, { StringEquals: { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com" } });
    const logs = byAction("logs:PutLogEvents");
    assert.equal(logs.length, 1);
    assert.deepEqual([logs[0].Action].flat().sort(), ["logs:CreateLogStream", "logs:PutLogEvents"]);
    const groupArn = "arn:aws:logs:eu-west-1:123456789012:log-group:/apiproxy/prod/edge/proxy";
    assert.ok([logs[0].Resource].flat().every((r: string) => r === groupArn || r.startsWith(`${groupArn}:`)), "the tier's log group only");
    for (const s of statements) {
        assert.equal(s.Effect, "Allow");
        assert.ok([s.Resource].flat().every((r: string) => r !== "*"), "no wildcard resource");
        assert.ok([s.Action].flat().every((a: string) => !a.includes("*")), "no wildcard action");
    }
    assert.equal(statements.length, 3);
});

test("pair: the tier log group is CMK-encrypted with the given retention", () => {
    const group = one(mine(), "aws:cloudwatch/logGroup:LogGroup", "edge-logs");
    assert.equal(group.inputs["kmsKeyId"], KMS_KEY);
    assert.equal(group.inputs["retentionInDays"], 365);
});

test("pair: internet-facing network load balancer in the public subnets, cross-zone, deletion protection, access logs", () => {
    const nlb = one(mine(), "aws:lb/loadBalancer:LoadBalancer", "edge-nlb");
    assert.equal(nlb.inputs["loadBalancerType"], "network");
    assert.equal(nlb.inputs["internal"], false);
    assert.deepEqual(nlb.inputs["subnets"], ["subnet-pub-a", "subnet-pub-b", "subnet-pub-c"]);
    assert.equal(nlb.inputs["enableCrossZoneLoadBalancing"], true);
    assert.equal(nlb.inputs["enableDeletionProtection"], true);
    assert.deepEqual(nlb.inputs["accessLogs"], { bucket: "nlb-logs", prefix: "prod", enabled: true });
    const dev = one(ownedBy(mocks, "dev"), "aws:lb/loadBalancer:LoadBalancer", "dev-nlb");
    assert.equal(dev.inputs["enableDeletionProtection"], false);
    assert.equal(dev.inputs["accessLogs"], undefined);
});

test("pair: TCP target groups on 443/8443 preserve client IPs and health-check HTTP on the health port + path", () => {
    const groups = ofType(mine(), "aws:lb/targetGroup:TargetGroup");
    assert.deepEqual(groups.map((g) => g.inputs["port"]).sort(), [443, 8443]);
    for (const g of groups) {
        assert.equal(g.inputs["protocol"], "TCP");
        assert.equal(g.inputs["preserveClientIp"], "true");
        assert.equal(g.inputs["targetType"], "instance");
        assert.equal(g.inputs["vpcId"], "vpc-1");
        const hc = g.inputs["healthCheck"];
        assert.equal(hc.protocol, "HTTP");
        assert.equal(hc.port, "8081");
        assert.equal(hc.path, "/healthz");
        assert.equal(hc.interval, 10);
        assert.equal(hc.healthyThreshold, 3);
        assert.equal(hc.unhealthyThreshold, 3);
        assert.equal(hc.enabled, true);
    }
});

test("pair: TCP listeners 443/8443 forward to their target groups; no TLS listener, no certificate on the NLB", () => {
    const listeners = ofType(mine(), "aws:lb/listener:Listener");
    assert.deepEqual(listeners.map((l) => [l.inputs["port"], l.inputs["protocol"]]).sort(), [[443, "TCP"], [8443, "TCP"]]);
    for (const l of listeners) {
        assert.equal(l.inputs["certificateArn"], undefined);
        assert.equal(l.inputs["sslPolicy"], undefined);
        assert.equal(l.inputs["loadBalancerArn"], "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/edge-nlb");
        const kind = l.inputs["port"] === 443 ? "https" : "mtls";
        assert.deepEqual(l.inputs["defaultActions"].map((a: any) => [a.type, a.targetGroupArn]),
            [["forward", `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/edge-${kind}`]]);
    }
});

test("pair: one target-group attachment per instance per target group", () => {
    const attachments = ofType(mine(), "aws:lb/targetGroupAttachment:TargetGroupAttachment");
    const pairs = attachments.map((a) => `${a.inputs["targetGroupArn"].split("/").pop()}:${a.inputs["targetId"]}:${a.inputs["port"]}`).sort();
    const expected = ["https:443", "mtls:8443"].flatMap((k) => {
        const [kind, port] = k.split(":");
        return [0, 1, 2, 3].map((i) => `edge-${kind}:edge-proxy-${i}-id:${port}`);
    }).sort();
    assert.deepEqual(pairs, expected);
});

test("pair: outputs", async () => {
    assert.deepEqual(await unwrap(pair.instanceIds), [0, 1, 2, 3].map((i) => `edge-proxy-${i}-id`));
    assert.equal((await unwrap(pair.privateIps)).length, 4);
    const dns = await unwrap(pair.nlbDnsName);
    assert.match(dns, /elb\.eu-west-1\.amazonaws\.com$/);
    assert.equal(await unwrap(pair.endpoints.https), `https://${dns}:443`);
    assert.equal(await unwrap(pair.endpoints.mtls), `https://${dns}:8443`);
    assert.equal(await unwrap(pair.nlbZoneId), "Z2IFOLAFXWLO4F");
    assert.match(await unwrap(pair.nlbArn), /loadbalancer\/edge-nlb$/);
    assert.deepEqual(pair.healthCheck, { protocol: "HTTP", port: 8081, path: "/healthz", intervalSeconds: 10, healthyThreshold: 3, unhealthyThreshold: 3 });
});

test("pair: every taggable resource carries the tier tags; instances are role proxy, the NLB role nlb", () => {
    assert.deepEqual(tagProblems(mine(), "prod", USER_TAGS), []);
    assert.ok(instances().every((i) => i.inputs["tags"]["apiproxy:role"] === "proxy"));
    assert.ok(instances().every((i) => i.inputs["rootBlockDevice"]["tags"]["apiproxy:role"] === "proxy"));
    assert.equal(one(mine(), "aws:lb/loadBalancer:LoadBalancer", "edge-nlb").inputs["tags"]["apiproxy:role"], "nlb");
});

test("pair: ARM or too-small instance types, one AZ and no pairs throw ResourceError before any child", async () => {
    assert.throws(() => new ProxyPair("arm", { ...baseArgs, instanceType: "c7gd.xlarge" }), resourceError(/^instanceType: "c7gd\.xlarge" is ARM/));
    assert.throws(() => new ProxyPair("small", { ...baseArgs, instanceType: "c6id.large" }), resourceError(/^instanceType: .*2 vCPU/));
    assert.throws(() => new ProxyPair("nonvme", { ...baseArgs, instanceType: "c7i.xlarge" }), resourceError(/no local NVMe/));
    assert.throws(() => new ProxyPair("one-az", { ...baseArgs, dmzSubnetIds: ["subnet-dmz-a"] }), resourceError(/dmzSubnetIds.*at least 2/));
    assert.throws(() => new ProxyPair("one-pub", { ...baseArgs, publicSubnetIds: ["subnet-pub-a"] }), resourceError(/publicSubnetIds/));
    assert.throws(() => new ProxyPair("zero", { ...baseArgs, pairCount: 0 }), resourceError(/pairCount/));
    await settle(mocks);
    for (const name of ["arm", "small", "nonvme", "one-az", "one-pub", "zero"]) {
        assert.deepEqual(ownedBy(mocks, name).filter((r) => r.custom), [], name);
    }
});
