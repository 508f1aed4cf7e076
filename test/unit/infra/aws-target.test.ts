/**
 * The AWS target through the real program under the review's mocks: a key service named by DNS
 * opens the private subnets (never an invalid "name/32" rule), a literal one its /32; the hosts'
 * firewall admits DNS to the resolver their security group admits (the one DHCP hands them).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import * as YAML from "yaml";
import { TIER_CONFIG_KEY, validateTierConfig } from "../../../infra/config/load";
import { runReview } from "../../../infra/review/run";

const ROOT = path.resolve(__dirname, "..", "..", "..");

test("a key service named by DNS gets egress to the private subnets; a literal one its /32", async () => {
    const raw = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.prod.yaml"), "utf8")).config[TIER_CONFIG_KEY];
    const egressFor = async (apiKeyService: string) => {
        const review = await runReview("prod", validateTierConfig({ ...structuredClone(raw), apiKeyService }, "prod"));
        return review.resources
            .filter((r) => r.type === "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule" && r.name.includes("key-store"))
            .map((r) => r.props["cidrIpv4"]).sort();
    };
    assert.deepEqual(await egressFor("keys.internal.example.com:9000"), ["10.40.112.0/20", "10.40.128.0/20", "10.40.96.0/20"]);
    assert.deepEqual(await egressFor("10.40.96.10:9000"), ["10.40.96.10/32"]);
});

test("the hosts' firewall admits DNS to the resolver DHCP hands them, the one the security group admits", async () => {
    const raw = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.prod.yaml"), "utf8")).config[TIER_CONFIG_KEY];
    const review = await runReview("prod", validateTierConfig(structuredClone(raw), "prod"));
    const sgDns = review.resources
        .filter((r) => r.type === "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule" && r.props["fromPort"] === 53)
        .map((r) => r.props["cidrIpv4"]);
    assert.deepEqual([...new Set(sgDns)], ["10.40.0.2/32"]);
    for (const [host, files] of Object.entries(review.hostFiles)) {
        const nft = files.find((f) => f.path === "/etc/nftables.conf")?.content ?? "";
        assert.match(nft, /ip daddr 10\.40\.0\.2 udp dport 53 ct state new accept/, host);
        assert.match(nft, /ip daddr 10\.40\.0\.2 tcp dport 53 ct state new accept/, host);
    }
});

test("endpoints name serverName (what the certificate covers); with a hosted zone the stack owns its alias to the NLB", async () => {
    const raw = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.prod.yaml"), "utf8")).config[TIER_CONFIG_KEY];
    const plain = await runReview("prod", validateTierConfig(structuredClone(raw), "prod"));
    const endpoints = (r: typeof plain) => r.outputs.endpoints as { https: string; mtls: string; dnsName: string };
    assert.equal(endpoints(plain).https, `https://${raw.serverName}:443`);
    assert.equal(endpoints(plain).mtls, `https://${raw.serverName}:8443`);
    assert.ok(!plain.resources.some((r) => r.type === "aws:route53/record:Record"), "no record without a zone");
    const zoned = await runReview("prod", validateTierConfig({ ...structuredClone(raw), aws: { ...raw.aws, hostedZoneId: "Z0123456789ABC" } }, "prod"));
    const record = zoned.resources.find((r) => r.type === "aws:route53/record:Record");
    assert.ok(record, "the alias record");
    assert.equal(record.props["name"], raw.serverName);
    assert.equal(record.props["type"], "A");
    assert.equal((record.props["aliases"] as { name: string }[])[0].name, endpoints(zoned).dnsName);
});

test("every AWS host gets the AWS CLI its certificate fetch calls: stock hosts at first boot, golden ones in the image", async () => {
    const load = (stack: string) => YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8")).config[TIER_CONFIG_KEY];
    const stock = await runReview("dev", validateTierConfig(load("dev"), "dev"));
    const instances = stock.resources.filter((r) => r.type === "aws:ec2/instance:Instance");
    assert.ok(instances.length > 0);
    for (const instance of instances) {
        const document = gunzipSync(Buffer.from(String(instance.props["userDataBase64"] ?? instance.props["userData"]), "base64")).toString();
        assert.match(document, /^packages:[\s\S]*?- awscli$/m, instance.name);
        assert.match(document, /aws --region "\$REGION" secretsmanager get-secret-value/, instance.name);
    }
    const golden = await runReview("prod", validateTierConfig(load("prod"), "prod"));
    const components = golden.resources.filter((r) => r.type === "aws:imagebuilder/component:Component").map((r) => String(r.props["data"]));
    assert.ok(components.some((data) => /apt-get install -y --no-install-recommends .*awscli/.test(data)), "the image installs awscli");
});

test("the account the rendered sshd admits is the one cloud-init creates, with the stack's admin keys", async () => {
    const raw = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.dev.yaml"), "utf8")).config[TIER_CONFIG_KEY];
    const review = await runReview("dev", validateTierConfig(structuredClone(raw), "dev"));
    for (const instance of review.resources.filter((r) => r.type === "aws:ec2/instance:Instance")) {
        const document = gunzipSync(Buffer.from(String(instance.props["userDataBase64"] ?? instance.props["userData"]), "base64")).toString();
        const allow = /AllowUsers (.+)/.exec(document)?.[1]?.split(" ") ?? [];
        const users = (YAML.parse(document) as { users: { name: string; ssh_authorized_keys: string[] }[] }).users;
        assert.deepEqual(users.map((u) => u.name), allow, instance.name);
        assert.deepEqual(users[0].ssh_authorized_keys, raw.aws.adminSshKeys);
    }
});

test("the NLB keeps a client on one proxy (source-IP stickiness), so the per-IP limit is not multiplied by the proxy count", async () => {
    const raw = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.prod.yaml"), "utf8")).config[TIER_CONFIG_KEY];
    const review = await runReview("prod", validateTierConfig(structuredClone(raw), "prod"));
    const groups = review.resources.filter((r) => r.type === "aws:lb/targetGroup:TargetGroup");
    assert.ok(groups.length >= 2);
    for (const group of groups) assert.deepEqual(group.props["stickiness"], { enabled: true, type: "source_ip" }, group.name);
    assert.ok(review.verdicts.some((v) => v.policy === "target-group-source-ip-stickiness" && v.status === "pass"), JSON.stringify(review.verdicts.map((v) => [v.policy, v.status])));
});

test("AWS hosts (Ubuntu 22.04, nginx 1.18) get no ssl_conf_command: their unit loads the rendered openssl.cnf with the TLS 1.3 suites", async () => {
    const raw = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.prod.yaml"), "utf8")).config[TIER_CONFIG_KEY];
    const review = await runReview("prod", validateTierConfig(structuredClone(raw), "prod"));
    for (const [host, files] of Object.entries(review.hostFiles)) {
        assert.ok(!files.some((f) => /^\s*(proxy_|grpc_)?ssl_conf_command/m.test(f.content)), `${host}: nginx 1.18 has no ssl_conf_command`);
        assert.match(files.find((f) => f.path === "/etc/nginx/apiproxy/openssl.cnf")?.content ?? "", /^Ciphersuites = TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384$/m, host);
        assert.match(files.find((f) => f.path === "/etc/systemd/system/nginx.service")?.content ?? "", /^Environment=OPENSSL_CONF=\/etc\/nginx\/apiproxy\/openssl\.cnf$/m, host);
    }
});
