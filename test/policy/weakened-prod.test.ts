/**
 * The prod stack as the program registers it passes the pack; each control weakened one at a
 * time in the registered resources (as a code change would) fails the named mandatory policy.
 * The config-level variants go through the review command: the schema or a policy refuses.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "path";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as YAML from "yaml";
import { loadStackFile } from "../../infra/config/load";
import type { RecordedResource } from "../../infra/review/mocks";
import { evaluatePolicies, type RecordedResource as PolicyResource } from "../../policy-packs/api-proxy-baseline/evaluate";

const ROOT = path.resolve(__dirname, "..", "..");
let baseline: RecordedResource[] = [];

before(async () => {
    // The same mock run the review command performs (infra/review/run.ts), so what is weakened
    // here is exactly what `npm run review -- prod` registers.
    const tier = loadStackFile(path.join(ROOT, "stacks", "Pulumi.prod.yaml"));
    const { runReview } = await import("../../infra/review/run");
    baseline = (await runReview("prod", tier)).resources.filter((r) => r.custom);
});

function toPolicy(resources: readonly RecordedResource[]): PolicyResource[] {
    return resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.props, id: r.id, outputs: r.outputs }));
}

async function mandatoryFailures(resources: readonly RecordedResource[]): Promise<string[]> {
    const verdicts = await evaluatePolicies(toPolicy(resources));
    return [...new Set(verdicts.filter((v) => v.status === "fail" && v.enforcementLevel === "mandatory").map((v) => v.policyName))].sort();
}

/** A deep copy of the baseline with one resource changed. */
function weaken(pick: (r: RecordedResource) => boolean, change: (props: Record<string, any>) => void): RecordedResource[] {
    let changed = 0;
    const copy = baseline.map((r) => {
        const props = structuredClone(r.props) as Record<string, any>;
        if (pick(r)) {
            change(props);
            changed++;
        }
        return { ...r, props };
    });
    assert.ok(changed > 0, "the mutation matched no resource");
    return copy;
}

/** Rewrites nginx/sysctl text wherever it is carried (image components hold prod's host files). */
function weakenText(from: RegExp, to: string): RecordedResource[] {
    return weaken((r) => r.type === "aws:imagebuilder/component:Component" && from.test(String(r.props.data)),
        (props) => { props.data = String(props.data).replace(from, to); });
}

const isType = (type: string) => (r: RecordedResource) => r.type === type;
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
const GROUP = "aws:autoscaling/group:Group";

describe("prod as registered", () => {
    test("passes every mandatory policy", async () => {
        assert.ok(baseline.length > 100, `only ${baseline.length} resources recorded`);
        assert.deepEqual(await mandatoryFailures(baseline), []);
    });
});

describe("one control weakened at a time fails the named policy", () => {
    const cases: [string, () => RecordedResource[], string][] = [
        ["IMDSv1 allowed", () => weaken(isType(LAUNCH_TEMPLATE), (p) => { p.metadataOptions.httpTokens = "optional"; }), "imdsv2-required"],
        ["ARM instance type", () => weaken(isType(LAUNCH_TEMPLATE), (p) => { p.instanceType = "c7gd.xlarge"; }), "instance-type-approved"],
        ["public IP on a proxy", () => weaken(isType(LAUNCH_TEMPLATE), (p) => { p.networkInterfaces[0].associatePublicIpAddress = "true"; }), "no-public-ip-on-tier-instances"],
        ["unencrypted root volume", () => weaken(isType(LAUNCH_TEMPLATE), (p) => { p.blockDeviceMappings[0].ebs.encrypted = "false"; }), "ebs-encrypted"],
        ["groups on $Latest: a new AMI starts no refresh", () => weaken(isType(GROUP), (p) => { p.launchTemplate.version = "$Latest"; }), "proxy-rolling-updates"],
        ["a refresh that may take the whole pair out", () => weaken(isType(GROUP), (p) => { p.instanceRefresh.preferences.minHealthyPercentage = 0; }), "proxy-rolling-updates"],
        ["no connection draining", () => weaken(isType("aws:lb/targetGroup:TargetGroup"), (p) => { p.deregistrationDelay = 0; }), "proxy-rolling-updates"],
        ["a pair in one AZ", () => weaken(isType(GROUP), (p) => { p.vpcZoneIdentifiers = [p.vpcZoneIdentifiers[0]]; }), "proxy-pairs-span-azs"],
        ["SSH open to the internet", () => weaken((r) => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" && r.props.fromPort === 22,
            (p) => { p.cidrIpv4 = "0.0.0.0/0"; }), "sg-ssh-only-from-management"],
        ["NLB deletion protection off in prod", () => weaken(isType("aws:lb/loadBalancer:LoadBalancer"), (p) => { p.enableDeletionProtection = false; }), "nlb-deletion-protection-in-prod"],
        ["NLB cross-zone off", () => weaken(isType("aws:lb/loadBalancer:LoadBalancer"), (p) => { p.enableCrossZoneLoadBalancing = false; }), "nlb-cross-zone"],
        ["RSA 2048 key", () => weaken(isType("tls:index/privateKey:PrivateKey"), (p) => { p.algorithm = "RSA"; p.rsaBits = 2048; delete p.ecdsaCurve; }), "tls-key-strength"],
        ["TLS 1.1 allowed", () => weakenText(/ssl_protocols TLSv1\.2 TLSv1\.3;/g, "ssl_protocols TLSv1.1 TLSv1.2 TLSv1.3;"), "nginx-tls-protocols"],
        ["CBC suite allowed", () => weakenText(/ssl_ciphers ([^;]+);/g, "ssl_ciphers $1:ECDHE-RSA-AES128-SHA;"), "nginx-tls-ciphers"],
        ["server_tokens on", () => weakenText(/server_tokens off;/g, "server_tokens on;"), "nginx-server-tokens-off"],
        // Every zone keyed by the client address goes (the tier-wide one and the per-route ones).
        ["per-IP rate limit removed", () => weakenText(/^\s*limit_req zone=(per_ip|route_[a-z0-9_]+) [^\n]*\n/gm, "\n"), "nginx-rate-limit-per-ip"],
        ["client certificates optional on 8443", () => weakenText(/ssl_verify_client on;/g, "ssl_verify_client optional;"), "nginx-mtls-verify-client"],
        ["SYN cookies off", () => weakenText(/net\.ipv4\.tcp_syncookies = 1/g, "net.ipv4.tcp_syncookies = 0"), "sysctl-network-hardening"],
    ];
    for (const [title, mutate, policy] of cases) {
        test(title, async () => {
            const failures = await mandatoryFailures(mutate());
            assert.ok(failures.includes(policy), `expected ${policy}, got ${JSON.stringify(failures)}`);
        });
    }

    test("no flow log on the VPC", async () => {
        const failures = await mandatoryFailures(baseline.filter((r) => r.type !== "aws:ec2/flowLog:FlowLog"));
        assert.ok(failures.includes("vpc-flow-logs"), JSON.stringify(failures));
    });

    test("a proxy pair not attached to the NLB", async () => {
        const failures = await mandatoryFailures(weaken((r) => r.type === GROUP && r.name.endsWith("-0"), (p) => { p.targetGroupArns = []; }));
        assert.ok(failures.includes("proxy-behind-nlb"), JSON.stringify(failures));
    });
});

describe("a weakened copy of the prod stack config, through the review command", () => {
    const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
    const run = (mutate: (tier: Record<string, any>) => void) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-weak-"));
        try {
            const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.prod.yaml"), "utf8"));
            mutate(doc.config["api-proxy-security:tier"]);
            fs.writeFileSync(path.join(dir, "Pulumi.weak.yaml"), YAML.stringify(doc));
            const r = spawnSync(tsx, [path.join(ROOT, "infra/review/cli.ts"), "weak", "--stack-file", path.join(dir, "Pulumi.weak.yaml")],
                { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
            return { status: r.status, out: r.stdout + r.stderr };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    };

    test("SSH from a public network the schema accepts: the pack refuses it (exit 1, policy named)", () => {
        const r = run((t) => { t.managementCidrs = ["203.0.113.0/24"]; });
        assert.equal(r.status, 1, r.out.slice(-2000));
        assert.match(r.out, /FAIL\s+sg-ssh-only-from-management \[mandatory\]/);
    });

    for (const [title, mutate, field] of [
        ["open SSH", (t: Record<string, any>) => { t.managementCidrs = ["0.0.0.0/0"]; }, "tier.managementCidrs[0]"],
        ["TLS 1.1", (t: Record<string, any>) => { t.tls = { protocols: ["TLSv1.1"] }; }, "tier.tls.protocols[0]"],
        ["ARM instance", (t: Record<string, any>) => { t.aws.instanceType = "c7gd.2xlarge"; }, "tier.aws.instanceType"],
        ["catch-all route", (t: Record<string, any>) => { t.routes[0].path = "/"; }, "tier.routes[0].path"],
        ["rate limit beyond the ceiling", (t: Record<string, any>) => { t.limits.rateLimitPerIp.ratePerSecond = 1_000_000; }, "tier.limits.rateLimitPerIp.ratePerSecond"],
    ] as const) {
        test(`${title}: the schema refuses it (exit 2, field named)`, () => {
            const r = run(mutate);
            assert.equal(r.status, 2, r.out.slice(-2000));
            assert.ok(r.out.includes(field), r.out.slice(-2000));
        });
    }
});
