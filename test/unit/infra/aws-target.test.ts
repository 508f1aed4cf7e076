/**
 * The AWS target through the real program under the review's mocks: a key service named by DNS
 * opens the private subnets (never an invalid "name/32" rule), a literal one its /32; the hosts'
 * firewall admits DNS to the resolver their security group admits (the one DHCP hands them);
 * proxies run in one Auto Scaling group per pair that rolls a new image one proxy at a time, and
 * the golden image's pipeline publishes into the pairs' launch templates.
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
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
const GROUP = "aws:autoscaling/group:Group";
const load = (stack: string) => YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8")).config[TIER_CONFIG_KEY];

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
    const templates = stock.resources.filter((r) => r.type === LAUNCH_TEMPLATE);
    assert.ok(templates.length > 0);
    for (const template of templates) {
        const document = gunzipSync(Buffer.from(String(template.props["userData"]), "base64")).toString();
        assert.match(document, /^packages:[\s\S]*?- awscli$/m, template.name);
        assert.match(document, /aws --region "\$REGION" secretsmanager get-secret-value/, template.name);
    }
    const golden = await runReview("prod", validateTierConfig(load("prod"), "prod"));
    const components = golden.resources.filter((r) => r.type === "aws:imagebuilder/component:Component").map((r) => String(r.props["data"]));
    assert.ok(components.some((data) => /apt-get install -y --no-install-recommends .*awscli/.test(data)), "the image installs awscli");
});

test("the account the rendered sshd admits is the one cloud-init creates, with the stack's admin keys", async () => {
    const raw = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.dev.yaml"), "utf8")).config[TIER_CONFIG_KEY];
    const review = await runReview("dev", validateTierConfig(structuredClone(raw), "dev"));
    const templates = review.resources.filter((r) => r.type === LAUNCH_TEMPLATE);
    assert.ok(templates.length > 0);
    for (const template of templates) {
        const document = gunzipSync(Buffer.from(String(template.props["userData"]), "base64")).toString();
        const allow = /AllowUsers (.+)/.exec(document)?.[1]?.split(" ") ?? [];
        const users = (YAML.parse(document) as { users: { name: string; ssh_authorized_keys: string[] }[] }).users;
        assert.deepEqual(users.map((u) => u.name), allow, template.name);
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

test("proxies run in one Auto Scaling group per pair, from its launch template, across two AZs, registered with both target groups", async () => {
    const raw = load("prod");
    const review = await runReview("prod", validateTierConfig(structuredClone(raw), "prod"));
    assert.equal(review.resources.filter((r) => r.type === "aws:ec2/instance:Instance").length, 0);
    const templates = review.resources.filter((r) => r.type === LAUNCH_TEMPLATE);
    const groups = review.resources.filter((r) => r.type === GROUP);
    assert.deepEqual(groups.map((g) => g.name), ["proxy-pair-0", "proxy-pair-1"], "pairCount 2");
    const dmz = new Map(review.resources.filter((r) => r.type === "aws:ec2/subnet:Subnet" && r.name.startsWith("dmz-dmz"))
        .map((s) => [s.id, s.props["availabilityZone"]]));
    const targetGroupArns = review.resources.filter((r) => r.type === "aws:lb/targetGroup:TargetGroup").map((g) => g.outputs["arn"]).sort();
    for (const group of groups) {
        const zones = (group.props["vpcZoneIdentifiers"] as string[]).map((id) => dmz.get(id));
        assert.equal(new Set(zones).size, 2, `${group.name} spans two AZs: ${zones.join(", ")}`);
        assert.ok(zones.every((z) => z !== undefined), "DMZ subnets");
        const template = templates.find((t) => t.id === (group.props["launchTemplate"] as { id: string }).id);
        assert.ok(template, `${group.name} launches from a template of this stack`);
        assert.equal((group.props["launchTemplate"] as { version: string }).version, "1", "the template's latest version");
        assert.deepEqual([...(group.props["targetGroupArns"] as string[])].sort(), targetGroupArns);
        assert.equal(group.props["healthCheckType"], "ELB");
    }
    for (const group of review.resources.filter((r) => r.type === "aws:lb/targetGroup:TargetGroup")) {
        assert.equal(group.props["deregistrationDelay"], 30, group.name);
    }
    for (const stack of ["prod", "dev"]) {
        const r = stack === "prod" ? review : await runReview(stack, validateTierConfig(load(stack), stack));
        const protectedFlag = stack === "prod";
        for (const group of r.resources.filter((x) => x.type === GROUP)) {
            const refresh = group.props["instanceRefresh"] as { strategy: string; preferences: Record<string, unknown> };
            assert.equal(refresh.strategy, "Rolling");
            assert.equal(refresh.preferences["minHealthyPercentage"], 50, "one proxy of the pair at a time");
            assert.equal(group.props["protectFromScaleIn"], protectedFlag, `${stack}: scale-in protection follows deletionProtection`);
            // dev boots the stock image, which installs its packages at first boot: longer warm-up.
            assert.deepEqual([refresh.preferences["instanceWarmup"], group.props["healthCheckGracePeriod"]], stack === "prod" ? ["300", 600] : ["600", 900]);
        }
        for (const template of r.resources.filter((x) => x.type === LAUNCH_TEMPLATE)) {
            assert.equal(template.props["disableApiTermination"], protectedFlag, `${stack}: termination protection follows deletionProtection`);
        }
    }
    assert.ok(review.verdicts.some((v) => v.policy === "proxy-rolling-updates" && v.status === "pass"));
    assert.ok(review.verdicts.some((v) => v.policy === "proxy-behind-nlb" && v.status === "pass"));
});

test("the golden image's pipeline publishes each build into the pairs' launch templates; their AMI is the image's newest build", async () => {
    const review = await runReview("prod", validateTierConfig(load("prod"), "prod"));
    const templates = review.resources.filter((r) => r.type === LAUNCH_TEMPLATE);
    const pipeline = review.resources.find((r) => r.type === "aws:imagebuilder/imagePipeline:ImagePipeline");
    assert.ok(pipeline);
    assert.equal((pipeline.props["schedule"] as { scheduleExpression: string }).scheduleExpression, "cron(0 4 ? * SUN *)", "prod rebuilds weekly");
    const distribution = review.resources.find((r) => r.type === "aws:imagebuilder/distributionConfiguration:DistributionConfiguration"
        && r.outputs["arn"] === pipeline.props["distributionConfigurationArn"]);
    assert.ok(distribution, "the pipeline's distribution configuration");
    const [target] = distribution.props["distributions"] as { launchTemplateConfigurations: { launchTemplateId: string; default: boolean }[] }[];
    assert.deepEqual(target.launchTemplateConfigurations, templates.map((t) => ({ launchTemplateId: t.id, default: true })));
    const image = review.resources.find((r) => r.type === "aws:imagebuilder/image:Image");
    assert.ok(image);
    const built = (image.outputs["outputResources"] as { amis: { image: string }[] }[])[0].amis[0].image;
    assert.ok(templates.every((t) => t.props["imageId"] === built), "the templates carry the golden AMI");
    const recipe = review.resources.find((r) => r.type === "aws:imagebuilder/imageRecipe:ImageRecipe");
    assert.equal(pipeline.props["imageRecipeArn"], recipe?.outputs["arn"], "the pipeline rebuilds the stack's recipe");
    assert.equal(image.props["imageRecipeArn"], recipe?.outputs["arn"]);
    const dev = await runReview("dev", validateTierConfig(load("dev"), "dev"));
    assert.ok(!dev.resources.some((r) => r.type.startsWith("aws:imagebuilder/")), "a stock-image stack has no image pipeline");
});

test("stock hosts install from the declared package mirror, and only it: apt sources, security group and DMZ ACL name the same one", async () => {
    const raw = load("dev");
    const review = await runReview("dev", validateTierConfig(structuredClone(raw), "dev"));
    const mirror = raw.aws.packageMirror as { url: string; securityUrl: string };
    for (const template of review.resources.filter((r) => r.type === LAUNCH_TEMPLATE)) {
        const document = YAML.parse(gunzipSync(Buffer.from(String(template.props["userData"]), "base64")).toString()) as {
            apt?: { primary: { uri: string }[]; security: { uri: string }[] }; packages?: string[]; package_update?: boolean;
        };
        assert.equal(document.package_update, true, "a stock host installs at first boot");
        assert.ok(document.packages?.includes("nginx"));
        assert.deepEqual(document.apt?.primary.map((p) => p.uri), [mirror.url], template.name);
        assert.deepEqual(document.apt?.security.map((p) => p.uri), [mirror.securityUrl], template.name);
    }
    const egress = review.resources.filter((r) => r.type === "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule" && r.name.includes("package-mirror"));
    assert.deepEqual(egress.map((r) => [r.props["cidrIpv4"], r.props["ipProtocol"], r.props["fromPort"], r.props["toPort"]]), [["10.255.40.10/32", "tcp", 3142, 3142]]);
    const acl = review.resources.filter((r) => r.type === "aws:ec2/networkAclRule:NetworkAclRule" && r.props["egress"] === true && r.props["cidrBlock"] === "10.255.40.10/32");
    assert.deepEqual(acl.map((r) => [r.props["fromPort"], r.props["toPort"]]), [[3142, 3142]], "the DMZ ACL lets the mirror's port out");
    // The review still passes with the new egress (least privilege: one /32, one port).
    assert.ok(review.verdicts.some((v) => v.policy === "sg-egress-least-privilege" && v.status === "pass"), JSON.stringify(review.verdicts.filter((v) => v.status !== "pass")));
});

test("a stock stack without a package mirror is refused, naming the field; a golden one may not declare one", () => {
    const raw = load("dev");
    const { packageMirror: _, ...aws } = raw.aws as Record<string, unknown>;
    assert.throws(() => validateTierConfig({ ...structuredClone(raw), aws }, "dev"), /tier\.aws\.packageMirror: is required when aws\.image is "stock"/);
    const prod = load("prod");
    assert.throws(() => validateTierConfig({ ...structuredClone(prod), aws: { ...prod.aws, packageMirror: { url: "http://10.40.5.10/ubuntu" } } }, "prod"),
        /tier\.aws\.packageMirror: only applies to aws\.image "stock"/);
    assert.throws(() => validateTierConfig({ ...structuredClone(raw), aws: { ...raw.aws, packageMirror: { url: "http://mirror.internal:3142/ubuntu" } } }, "dev"),
        /tier\.aws\.packageMirror\.cidrs: is required when url or securityUrl names the mirror by DNS/);
});

test("golden hosts install nothing at first boot: their image carries the packages, and no mirror is reachable from them", async () => {
    const review = await runReview("prod", validateTierConfig(load("prod"), "prod"));
    const templates = review.resources.filter((r) => r.type === LAUNCH_TEMPLATE);
    assert.ok(templates.length > 0);
    for (const template of templates) {
        // Launch templates carry user data base64-encoded; golden hosts' is plain text inside.
        const document = YAML.parse(Buffer.from(String(template.props["userData"]), "base64").toString("utf8")) as Record<string, unknown>;
        assert.ok(document["write_files"], `${template.name}: the decoded document is the cloud-config`);
        assert.equal(document["package_update"], undefined, `${template.name}: apt-get update at boot would fail (no mirror egress) and leave cloud-init in error`);
        assert.equal(document["packages"], undefined, template.name);
    }
});
