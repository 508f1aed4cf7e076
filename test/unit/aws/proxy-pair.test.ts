import { before, test } from "node:test";
import assert from "node:assert/strict";
import type * as pulumi from "@pulumi/pulumi";
import { installMocks, type RecordedResource, type RecordingMocks } from "./mocks";
import { ofType, one, ownedBy, policy, resourceError, settle, tagMap, tagProblems, unwrap } from "./helpers";
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
const CANARY = "#cloud-config\n# canary\n";
const baseArgs: PairModule.ProxyPairArgs = {
    environment: "prod",
    vpcId: "vpc-1",
    dmzSubnetIds: ["subnet-dmz-a", "subnet-dmz-b", "subnet-dmz-c"],
    publicSubnetIds: ["subnet-pub-a", "subnet-pub-b", "subnet-pub-c"],
    proxySecurityGroupId: "sg-proxy",
    instanceType: "c6id.2xlarge",
    amiId: "ami-0golden",
    userData: USER_DATA,
    userDataOverrides: [undefined, CANARY],
    pairCount: 2,
    deletionProtection: true,
    tlsSecretArns: SECRET_ARNS,
    kmsKeyArn: KMS_KEY,
    logRetentionDays: 365,
    accessLogs: { bucket: "nlb-logs", prefix: "prod" },
    tags: USER_TAGS,
};

/** Resource options each child was registered with (a component transformation sees them). */
const protectedByName = new Map<string, boolean>();
const recordProtect = (args: pulumi.ResourceTransformationArgs): undefined => {
    protectedByName.set(`${args.type}::${args.name}`, args.opts.protect === true);
    return undefined;
};

let pair: PairModule.ProxyPair;
before(async () => {
    mocks = installMocks();
    ({ ProxyPair } = await import("../../../components/compute/proxy-pair"));
    pair = new ProxyPair("edge", baseArgs, { transformations: [recordProtect] });
    new ProxyPair("dev", { ...baseArgs, pairCount: undefined, deletionProtection: false, accessLogs: undefined, userDataOverrides: undefined,
        dmzSubnetIds: ["subnet-dmz-a", "subnet-dmz-b"] }, { transformations: [recordProtect] });
    new ProxyPair("gz", { ...baseArgs, pairCount: 1, userData: "H4sIAAAA", userDataOverrides: undefined, userDataEncoding: "gzip-base64" });
    // The same stack before and after a new AMI, and once more with the old AMI.
    const rollArgs = { ...baseArgs, userDataOverrides: undefined };
    new ProxyPair("roll-before", { ...rollArgs, amiId: "ami-0old" });
    new ProxyPair("roll-after", { ...rollArgs, amiId: "ami-0new" });
    new ProxyPair("roll-again", { ...rollArgs, amiId: "ami-0old" });
    await unwrap(pair.autoScalingGroupNames);
    await settle(mocks);
});

const LT = "aws:ec2/launchTemplate:LaunchTemplate";
const ASG = "aws:autoscaling/group:Group";
const mine = () => ownedBy(mocks, "edge");
const templates = (owner = "edge") => ofType(ownedBy(mocks, owner), LT).sort((a, b) => a.name.localeCompare(b.name));
const groups = (owner = "edge") => ofType(ownedBy(mocks, owner), ASG).sort((a, b) => a.name.localeCompare(b.name));
const decoded = (template: RecordedResource) => Buffer.from(template.inputs["userData"], "base64").toString("utf8");

test("pair: one launch template and one Auto Scaling group per pair; pair p spans subnets 2p and 2p+1 (mod n), two instances", () => {
    assert.deepEqual(templates().map((t) => t.name), ["edge-pair-0", "edge-pair-1"]);
    assert.deepEqual(groups().map((g) => g.name), ["edge-pair-0", "edge-pair-1"]);
    assert.deepEqual(groups().map((g) => g.inputs["vpcZoneIdentifiers"]), [["subnet-dmz-a", "subnet-dmz-b"], ["subnet-dmz-c", "subnet-dmz-a"]]);
    for (const g of [...groups(), ...groups("dev")]) {
        const [first, second] = g.inputs["vpcZoneIdentifiers"];
        assert.notEqual(first, second, `${g.name} spans two AZs`);
        assert.deepEqual([g.inputs["minSize"], g.inputs["maxSize"], g.inputs["desiredCapacity"]], [2, 2, 2], g.name);
    }
    assert.equal(groups("dev").length, 1, "pairCount defaults to 1");
    assert.deepEqual(groups("dev")[0]!.inputs["vpcZoneIdentifiers"], ["subnet-dmz-a", "subnet-dmz-b"]);
    assert.equal(ofType(mocks.resources, "aws:ec2/instance:Instance").length, 0, "no plain instances: the groups launch them");
});

test("pair: launch templates carry IMDSv2 (hop limit 1, no tags), no public IP, the proxy SG, the profile, an encrypted gp3 root", () => {
    for (const t of [...templates(), ...templates("dev")]) {
        assert.deepEqual(t.inputs["metadataOptions"], {
            httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled", instanceMetadataTags: "disabled",
        }, t.name);
        assert.deepEqual(t.inputs["networkInterfaces"], [{ deviceIndex: 0, associatePublicIpAddress: "false", securityGroups: ["sg-proxy"], deleteOnTermination: "true" }]);
        assert.equal(t.inputs["vpcSecurityGroupIds"], undefined, "groups live on the interface (EC2 refuses both)");
        assert.deepEqual(t.inputs["blockDeviceMappings"], [{
            deviceName: "/dev/sda1",
            ebs: { volumeType: "gp3", volumeSize: 20, encrypted: "true", kmsKeyId: KMS_KEY, deleteOnTermination: "true" },
        }]);
        assert.equal(t.inputs["ebsOptimized"], "true");
        assert.deepEqual(t.inputs["monitoring"], { enabled: true });
        assert.equal(t.inputs["instanceType"], "c6id.2xlarge");
        assert.equal(t.inputs["imageId"], "ami-0golden");
        assert.equal(t.inputs["updateDefaultVersion"], true);
        const owner = t.name.split("-pair-")[0];
        assert.equal(t.inputs["iamInstanceProfile"].arn, `arn:aws:iam:eu-west-1:123456789012:instanceprofile/${owner}-profile`);
        assert.deepEqual(t.inputs["tagSpecifications"].map((s: { resourceType: string }) => s.resourceType), ["volume", "network-interface"]);
    }
});

test("pair: user data is the caller's #cloud-config, base64 for the template, per-pair overrides; gzip-base64 goes through as is", () => {
    assert.deepEqual(templates().map(decoded), [USER_DATA, CANARY]);
    assert.equal(templates("dev")[0]!.inputs["userData"], Buffer.from(USER_DATA).toString("base64"));
    const gz = templates("gz");
    assert.equal(gz.length, 1);
    assert.equal(gz[0]!.inputs["userData"], "H4sIAAAA", "never base64-encoded twice");
});

test("pair: groups register with both target groups, use the NLB's health check, follow the template's latest version", async () => {
    const arns = ["https", "mtls"].map((k) => `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/edge-${k}`);
    for (const [p, g] of groups().entries()) {
        assert.deepEqual(g.inputs["targetGroupArns"], arns);
        assert.equal(g.inputs["healthCheckType"], "ELB");
        assert.equal(g.inputs["healthCheckGracePeriod"], 600);
        assert.equal(g.inputs["defaultInstanceWarmup"], 300);
        assert.equal(g.inputs["minElbCapacity"], 2);
        const template = templates()[p]!;
        assert.equal(g.inputs["launchTemplate"].id, `${template.name}-id`);
        assert.match(g.inputs["launchTemplate"].version, /^\d+$/, "a version number: the provider starts no refresh for $Latest");
        assert.deepEqual(g.inputs["suspendedProcesses"], undefined, "no scaling process suspended");
        const tags = tagMap(g.inputs["tags"]);
        assert.equal(tags["apiproxy:role"], "proxy");
        assert.equal(tags["apiproxy:environment"], "prod");
        assert.equal(tags["apiproxy:pair"], String(p));
        assert.ok(g.inputs["tags"].every((t: { propagateAtLaunch: boolean }) => t.propagateAtLaunch === true), "instances get the tags at launch");
    }
    assert.deepEqual(await unwrap(pair.targetGroupArns), arns);
});

test("pair: a new launch template version rolls the pair: Rolling refresh, 50 % healthy (one proxy at a time), warm-up, protected instances refreshed", () => {
    for (const g of [...groups(), ...groups("dev")]) {
        assert.deepEqual(g.inputs["instanceRefresh"], {
            strategy: "Rolling",
            preferences: {
                minHealthyPercentage: 50, maxHealthyPercentage: 100, instanceWarmup: "300",
                scaleInProtectedInstances: "Refresh", standbyInstances: "Wait", skipMatching: false,
            },
            triggers: ["tag"],
        }, g.name);
        assert.deepEqual(g.inputs["instanceMaintenancePolicy"], { minHealthyPercentage: 50, maxHealthyPercentage: 100 });
    }
});

test("pair: a new AMI changes only the launch template (a new version) and the version the group launches; nothing is replaced", () => {
    const normalized = (owner: string) => new Map(ownedBy(mocks, owner).filter((r) => r.custom).map((r) => [
        `${r.type}::${r.name.slice(owner.length)}`,
        JSON.parse(JSON.stringify(r.inputs).split(owner).join("<pair>")) as Record<string, any>,
    ]));
    const before = normalized("roll-before");
    const after = normalized("roll-after");
    const again = normalized("roll-again");
    assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), "the same resources: none added, none removed");
    const changed: string[] = [];
    for (const [key, inputs] of before) {
        const next = after.get(key)!;
        for (const prop of new Set([...Object.keys(inputs), ...Object.keys(next)])) {
            if (JSON.stringify(inputs[prop]) !== JSON.stringify(next[prop])) changed.push(`${key}.${prop}`);
        }
    }
    assert.deepEqual(changed.sort(), [`${ASG}::-pair-0.launchTemplate`, `${ASG}::-pair-1.launchTemplate`, `${LT}::-pair-0.imageId`, `${LT}::-pair-1.imageId`]);
    for (const p of [0, 1]) {
        const group = (m: typeof before) => m.get(`${ASG}::-pair-${p}`)!["launchTemplate"];
        assert.equal(group(after).id, group(before).id, "the same template, updated in place");
        assert.notEqual(group(after).version, group(before).version, "its new version is what the group launches: a refresh starts");
        assert.equal(group(again).version, group(before).version, "an unchanged template keeps its version: no refresh");
        assert.equal(after.get(`${LT}::-pair-${p}`)!["imageId"], "ami-0new");
    }
});

test("pair: deletion protection: NLB flag, Pulumi protect on groups and templates, scale-in and termination protection on instances", () => {
    const nlb = one(mine(), "aws:lb/loadBalancer:LoadBalancer", "edge-nlb");
    assert.equal(nlb.inputs["enableDeletionProtection"], true);
    for (const p of [0, 1]) {
        assert.equal(protectedByName.get(`${LT}::edge-pair-${p}`), true, `template ${p} protected`);
        assert.equal(protectedByName.get(`${ASG}::edge-pair-${p}`), true, `group ${p} protected`);
    }
    assert.ok(groups().every((g) => g.inputs["protectFromScaleIn"] === true));
    assert.ok(templates().every((t) => t.inputs["disableApiTermination"] === true));
    // What rolls (the instances) is never blocked: the refresh replaces protected instances.
    assert.ok(groups().every((g) => g.inputs["instanceRefresh"].preferences.scaleInProtectedInstances === "Refresh"));

    assert.equal(one(ownedBy(mocks, "dev"), "aws:lb/loadBalancer:LoadBalancer", "dev-nlb").inputs["enableDeletionProtection"], false);
    assert.equal(protectedByName.get(`${LT}::dev-pair-0`), false);
    assert.equal(protectedByName.get(`${ASG}::dev-pair-0`), false);
    assert.equal(groups("dev")[0]!.inputs["protectFromScaleIn"], false);
    assert.equal(templates("dev")[0]!.inputs["disableApiTermination"], false);
});

test("pair: Auto Scaling's service-linked role gets a grant on the tier key (encrypted AMI and volumes)", () => {
    const grant = one(mine(), "aws:kms/grant:Grant", "edge-autoscaling-ebs");
    assert.equal(grant.inputs["keyId"], KMS_KEY);
    assert.equal(grant.inputs["granteePrincipal"], "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling");
    assert.deepEqual([...grant.inputs["operations"]].sort(),
        ["CreateGrant", "Decrypt", "DescribeKey", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo"]);
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
    assert.deepEqual(nlb.inputs["accessLogs"], { bucket: "nlb-logs", prefix: "prod", enabled: true });
    assert.equal(one(ownedBy(mocks, "dev"), "aws:lb/loadBalancer:LoadBalancer", "dev-nlb").inputs["accessLogs"], undefined);
});

test("pair: TCP target groups on 443/8443 preserve client IPs, drain 30 s, health-check HTTP on the health port + path", () => {
    const targetGroups = ofType(mine(), "aws:lb/targetGroup:TargetGroup");
    assert.deepEqual(targetGroups.map((g) => g.inputs["port"]).sort(), [443, 8443]);
    for (const g of targetGroups) {
        assert.equal(g.inputs["protocol"], "TCP");
        assert.equal(g.inputs["preserveClientIp"], "true");
        assert.equal(g.inputs["targetType"], "instance");
        assert.equal(g.inputs["vpcId"], "vpc-1");
        assert.equal(g.inputs["deregistrationDelay"], 30, "connection draining of a leaving proxy");
        assert.equal(g.inputs["connectionTermination"], true);
        assert.deepEqual(g.inputs["stickiness"], { enabled: true, type: "source_ip" });
        const hc = g.inputs["healthCheck"];
        assert.equal(hc.protocol, "HTTP");
        assert.equal(hc.port, "8081");
        assert.equal(hc.path, "/healthz");
        assert.equal(hc.interval, 10);
        assert.equal(hc.healthyThreshold, 3);
        assert.equal(hc.unhealthyThreshold, 3);
        assert.equal(hc.enabled, true);
    }
    assert.equal(ofType(mocks.resources, "aws:lb/targetGroupAttachment:TargetGroupAttachment").length, 0, "the groups register their instances");
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

test("pair: outputs", async () => {
    assert.deepEqual(await unwrap(pair.autoScalingGroupNames), ["edge-pair-0", "edge-pair-1"]);
    assert.deepEqual(await unwrap(pair.launchTemplateIds), ["edge-pair-0-id", "edge-pair-1-id"]);
    const dns = await unwrap(pair.nlbDnsName);
    assert.match(dns, /elb\.eu-west-1\.amazonaws\.com$/);
    assert.equal(await unwrap(pair.endpoints.https), `https://${dns}:443`);
    assert.equal(await unwrap(pair.endpoints.mtls), `https://${dns}:8443`);
    assert.equal(await unwrap(pair.nlbZoneId), "Z2IFOLAFXWLO4F");
    assert.match(await unwrap(pair.nlbArn), /loadbalancer\/edge-nlb$/);
    assert.deepEqual(pair.healthCheck, { protocol: "HTTP", port: 8081, path: "/healthz", intervalSeconds: 10, healthyThreshold: 3, unhealthyThreshold: 3 });
});

test("pair: every taggable resource carries the tier tags; templates and groups are role proxy, the NLB role nlb", () => {
    assert.deepEqual(tagProblems(mine(), "prod", USER_TAGS), []);
    assert.ok(templates().every((t) => t.inputs["tags"]["apiproxy:role"] === "proxy"));
    assert.ok(templates().every((t) => t.inputs["tagSpecifications"].every((s: { tags: Record<string, string> }) => s.tags["apiproxy:role"] === "proxy")));
    assert.ok(groups().every((g) => tagMap(g.inputs["tags"])["apiproxy:role"] === "proxy"));
    assert.equal(one(mine(), "aws:lb/loadBalancer:LoadBalancer", "edge-nlb").inputs["tags"]["apiproxy:role"], "nlb");
});

test("pair: ARM or too-small instance types, one AZ, no pairs, too many overrides, no draining throw ResourceError before any child", async () => {
    assert.throws(() => new ProxyPair("arm", { ...baseArgs, instanceType: "c7gd.xlarge" }), resourceError(/^instanceType: "c7gd\.xlarge" is ARM/));
    assert.throws(() => new ProxyPair("small", { ...baseArgs, instanceType: "c6id.large" }), resourceError(/^instanceType: .*2 vCPU/));
    assert.throws(() => new ProxyPair("nonvme", { ...baseArgs, instanceType: "c7i.xlarge" }), resourceError(/no local NVMe/));
    assert.throws(() => new ProxyPair("one-az", { ...baseArgs, dmzSubnetIds: ["subnet-dmz-a"] }), resourceError(/dmzSubnetIds.*at least 2/));
    assert.throws(() => new ProxyPair("one-pub", { ...baseArgs, publicSubnetIds: ["subnet-pub-a"] }), resourceError(/publicSubnetIds/));
    assert.throws(() => new ProxyPair("zero", { ...baseArgs, pairCount: 0 }), resourceError(/pairCount/));
    assert.throws(() => new ProxyPair("overrides", { ...baseArgs, userDataOverrides: [USER_DATA, USER_DATA, USER_DATA] }), resourceError(/userDataOverrides has 3 entries for 2 pair/));
    assert.throws(() => new ProxyPair("nodrain", { ...baseArgs, deregistrationDelaySeconds: 0 }), resourceError(/deregistrationDelaySeconds must be 1-3600/));
    assert.throws(() => new ProxyPair("grace", { ...baseArgs, instanceWarmupSeconds: 600, healthCheckGracePeriodSeconds: 300 }), resourceError(/no shorter than instanceWarmupSeconds/));
    await settle(mocks);
    for (const name of ["arm", "small", "nonvme", "one-az", "one-pub", "zero", "overrides", "nodrain", "grace"]) {
        assert.deepEqual(ownedBy(mocks, name).filter((r) => r.custom), [], name);
    }
});
