import { before, test } from "node:test";
import assert from "node:assert/strict";
import { parse } from "yaml";
import type { HostFile } from "../../../components/core/host-file";
import { installMocks, GOLDEN_AMI, UBUNTU_AMI, type RecordingMocks } from "./mocks";
import { imageFamilyPattern } from "../../../components/image/golden-image";
import { ofType, one, ownedBy, policy, resourceError, settle, tagProblems, unwrap } from "./helpers";
import type * as ImageModule from "../../../components/image/golden-image";
import type * as PipelineModule from "../../../components/image/golden-image-pipeline";
import { COMPONENT_DATA_LIMIT, renderToeDocuments } from "../../../components/image/toe-document";

let mocks: RecordingMocks;
let GoldenImage: typeof ImageModule.GoldenImage;
let GoldenImagePipeline: typeof PipelineModule.GoldenImagePipeline;

const FILES: HostFile[] = [
    { path: "/etc/nginx/nginx.conf", content: "user www-data;\nworker_processes auto;\n", mode: "0644", owner: "root", group: "root", action: "nginx-reload" },
    { path: "/etc/sysctl.d/zz-apiproxy.conf", content: "net.ipv4.tcp_syncookies = 1\n", mode: "0644", owner: "root", group: "root", action: "sysctl-reload" },
    { path: "/etc/nftables.conf", content: "table inet filter {}\n", mode: "0600", owner: "root", group: "root", action: "firewall-reload" },
    { path: "/etc/ssh/sshd_config.d/50-apiproxy.conf", content: "PermitRootLogin no\n", mode: "0600", owner: "root", group: "root", action: "sshd-reload" },
];
const SECRET_FILE: HostFile = { path: "/etc/nginx/tls/server.key", content: "k", mode: "0600", owner: "root", group: "root", action: "nginx-reload", secret: true };
const KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/tier";
const baseArgs: ImageModule.GoldenImageArgs = {
    environment: "prod",
    hostFiles: FILES,
    vpcId: "vpc-1",
    subnetId: "subnet-dmz-a",
    kmsKeyArn: KMS_KEY,
    tags: { owner: "security" },
};

let image: ImageModule.GoldenImage;
/** The aliases the pipeline was registered with (it used to be GoldenImage's child). */
const pipelineAliases: unknown[] = [];
before(async () => {
    mocks = installMocks();
    ({ GoldenImage } = await import("../../../components/image/golden-image"));
    ({ GoldenImagePipeline } = await import("../../../components/image/golden-image-pipeline"));
    image = new GoldenImage("golden", baseArgs);
    const pinned = new GoldenImage("pinned", { ...baseArgs, parentImage: "ami-0pinned" });
    new GoldenImagePipeline("golden", { environment: "prod", image, launchTemplateIds: ["lt-pair-0", "lt-pair-1"], tags: { owner: "security" } }, {
        transformations: [(a) => {
            if (a.type === "aws:imagebuilder/imagePipeline:ImagePipeline") pipelineAliases.push(...(a.opts.aliases ?? []));
            return undefined;
        }],
    });
    new GoldenImagePipeline("pinned", { environment: "prod", image: pinned, launchTemplateIds: ["lt-pair-0"], scheduleExpression: "cron(0 4 ? * SUN *)" });
    await unwrap(image.amiId);
    await settle(mocks);
});

const mine = () => ownedBy(mocks, "golden");
const componentDoc = () => parse(one(mine(), "aws:imagebuilder/component:Component", "golden-host-files").inputs["data"] as string);
const steps = (doc: any, phase: string): any[] => doc.phases.find((p: any) => p.name === phase).steps;

test("image: one AWSTOE component writes every HostFile with CreateFile {path, content, permissions, owner, group}", () => {
    const components = ofType(mine(), "aws:imagebuilder/component:Component");
    assert.equal(components.length, 1);
    assert.equal(components[0]!.inputs["platform"], "Linux");
    assert.equal(components[0]!.inputs["kmsKeyId"], KMS_KEY);
    const doc = componentDoc();
    assert.equal(doc.schemaVersion, 1);
    assert.match(one(mine(), "aws:imagebuilder/component:Component", "golden-host-files").inputs["data"], /^schemaVersion: 1\.0$/m);
    const create = steps(doc, "build").filter((s) => s.action === "CreateFile");
    assert.equal(create.length, 1);
    assert.deepEqual(create[0].inputs, FILES.map((f) => ({ path: f.path, content: f.content, permissions: f.mode, owner: f.owner, group: f.group })));
    for (const input of create[0].inputs) {
        assert.deepEqual(Object.keys(input), ["path", "content", "permissions", "owner", "group"]);
    }
});

test("image: packages are installed before the files are written; validation checks sysctl/nft/sshd and modes, not nginx -t", () => {
    const build = steps(componentDoc(), "build");
    assert.deepEqual(build.map((s) => [s.name, s.action]), [["InstallPackages", "ExecuteBash"], ["CreateDirectories", "ExecuteBash"], ["WriteHostFiles", "CreateFile"]]);
    assert.ok(build[0].inputs.commands.some((c: string) => /apt-get install .*'nginx'.*'nftables'/.test(c)));
    const validate = steps(componentDoc(), "validate");
    assert.equal(validate[0].action, "ExecuteBash");
    const commands: string[] = validate[0].inputs.commands;
    assert.ok(commands.includes("nft -c -f /etc/nftables.conf"));
    assert.ok(commands.includes("sysctl -p '/etc/sysctl.d/zz-apiproxy.conf' >/dev/null"));
    assert.ok(commands.includes("sshd -t"));
    assert.ok(commands.some((c) => c.includes("'/etc/nftables.conf'") && c.includes("'600 root:root'")));
    assert.ok(!commands.some((c) => /nginx -t/.test(c)), "nginx -t needs the certificates that arrive at boot");
});

test("image: secret HostFiles and embedded private keys are refused with ResourceError before any child", async () => {
    assert.throws(() => new GoldenImage("leaky", { ...baseArgs, hostFiles: [...FILES, SECRET_FILE] }), resourceError(/hostFiles\[4\].*server\.key.*secret/));
    const hidden: HostFile = { ...FILES[0]!, path: "/etc/nginx/extra.conf", content: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n" };
    assert.throws(() => new GoldenImage("hidden-key", { ...baseArgs, hostFiles: [hidden] }), resourceError(/hostFiles\[0\].*private key/));
    assert.throws(() => new GoldenImage("arm-build", { ...baseArgs, instanceType: "m7gd.xlarge" }), resourceError(/^instanceType: .*ARM/));
    assert.throws(() => new GoldenImage("dup", { ...baseArgs, hostFiles: [FILES[0]!, FILES[0]!] }), resourceError(/listed twice/));
    assert.throws(() => new GoldenImage("empty", { ...baseArgs, hostFiles: [] }), resourceError(/hostFiles must not be empty/));
    await settle(mocks);
    for (const name of ["leaky", "hidden-key", "arm-build", "dup", "empty"]) {
        assert.deepEqual(ownedBy(mocks, name).filter((r) => r.custom), [], name);
    }
});

test("image: the recipe builds on the SSM-published Ubuntu 22.04 amd64 AMI with an encrypted gp3 root", () => {
    const call = mocks.calls.find((c) => c.token === "aws:ssm/getParameter:getParameter");
    assert.equal(call?.inputs["name"], "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id");
    const recipe = one(mine(), "aws:imagebuilder/imageRecipe:ImageRecipe", "golden-recipe");
    assert.equal(recipe.inputs["parentImage"], UBUNTU_AMI);
    assert.deepEqual(recipe.inputs["components"], [{ componentArn: "arn:aws:imagebuilder:eu-west-1:123456789012:component/golden-host-files" }]);
    const ebs = recipe.inputs["blockDeviceMappings"][0].ebs;
    assert.equal(ebs.encrypted, "true");
    assert.equal(ebs.kmsKeyId, KMS_KEY);
    assert.equal(ebs.volumeType, "gp3");
    assert.equal(one(ownedBy(mocks, "pinned"), "aws:imagebuilder/imageRecipe:ImageRecipe", "pinned-recipe").inputs["parentImage"], "ami-0pinned");
});

test("image: build infrastructure uses a catalogue type, a DMZ subnet, IMDSv2 with hop limit 1 and no inbound SG rules", () => {
    const infra = one(mine(), "aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration", "golden-infrastructure");
    assert.deepEqual(infra.inputs["instanceTypes"], ["c6id.xlarge"]);
    assert.equal(infra.inputs["subnetId"], "subnet-dmz-a");
    assert.deepEqual(infra.inputs["instanceMetadataOptions"], { httpTokens: "required", httpPutResponseHopLimit: 1 });
    assert.equal(infra.inputs["terminateInstanceOnFailure"], true);
    assert.deepEqual(infra.inputs["securityGroupIds"], ["golden-build-id"]);
    assert.equal(infra.inputs["instanceProfileName"], "golden-build-profile");
    assert.equal(ofType(mine(), "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").length, 0);
    const egress = ofType(mine(), "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule");
    assert.deepEqual(egress.map((r) => r.inputs["fromPort"]).sort(), [443, 80]);
    assert.ok(egress.every((r) => r.inputs["description"]));
});

test("image: the build role has exactly EC2InstanceProfileForImageBuilder + AmazonSSMManagedInstanceCore", () => {
    const role = one(mine(), "aws:iam/role:Role", "golden-build-role");
    assert.deepEqual(policy(role, "assumeRolePolicy").Statement.map((s) => s.Principal.Service), ["ec2.amazonaws.com"]);
    const attached = ofType(mine(), "aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((a) => a.inputs["policyArn"]).sort();
    assert.deepEqual(attached, ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "arn:aws:iam::aws:policy/EC2InstanceProfileForImageBuilder"]);
    assert.equal(ofType(mine(), "aws:iam/rolePolicy:RolePolicy").length, 0);
});

test("image: the stack's build distributes a private, encrypted AMI; amiId is the newest AMI of the recipe's family", async () => {
    const dist = one(mine(), "aws:imagebuilder/distributionConfiguration:DistributionConfiguration", "golden-distribution");
    assert.equal(dist.inputs["distributions"][0].region, "eu-west-1");
    assert.equal(dist.inputs["distributions"][0].amiDistributionConfiguration.kmsKeyId, KMS_KEY);
    assert.equal(dist.inputs["distributions"][0].launchTemplateConfigurations, undefined, "the stack's build reaches the templates through amiId");
    const img = one(mine(), "aws:imagebuilder/image:Image", "golden-image");
    assert.match(img.inputs["imageRecipeArn"], /imagerecipe\/golden-recipe$/);
    assert.match(img.inputs["infrastructureConfigurationArn"], /infrastructureconfiguration\/golden-infrastructure$/);
    assert.match(img.inputs["distributionConfigurationArn"], /distributionconfiguration\/golden-distribution$/);
    assert.equal(img.inputs["imageTestsConfiguration"].imageTestsEnabled, true);
    assert.equal(await unwrap(image.amiId), GOLDEN_AMI);
    // Every build of the recipe, the stack's or the pipeline's, is tagged with its image ARN.
    const newest = mocks.calls.filter((c) => c.token === "aws:ec2/getAmi:getAmi");
    assert.ok(newest.length >= 1);
    assert.deepEqual(newest[0]!.inputs["owners"], ["self"]);
    assert.equal(newest[0]!.inputs["mostRecent"], true);
    assert.deepEqual(newest.map((c) => c.inputs["filters"][0]).find((f: { values: string[] }) => f.values[0]!.includes("golden-recipe")),
        { name: "tag:Ec2ImageBuilderArn", values: ["arn:aws:imagebuilder:eu-west-1:123456789012:imagerecipe/golden-recipe/*"] });
    assert.equal(imageFamilyPattern("arn:aws:imagebuilder:eu-west-1:123456789012:image-recipe/proxy-image-recipe-1a2b3c/1.0.0"),
        "arn:aws:imagebuilder:eu-west-1:123456789012:image/proxy-image-recipe-1a2b3c/1.0.0/*", "a real recipe ARN names its images' family");
});

test("pipeline: rebuilds the image's recipe on its infrastructure and publishes each AMI as the default version of the proxy launch templates", () => {
    const pipeline = one(ownedBy(mocks, "golden"), "aws:imagebuilder/imagePipeline:ImagePipeline", "golden-pipeline");
    assert.match(pipeline.inputs["imageRecipeArn"], /imagerecipe\/golden-recipe$/);
    assert.match(pipeline.inputs["infrastructureConfigurationArn"], /infrastructureconfiguration\/golden-infrastructure$/);
    assert.match(pipeline.inputs["distributionConfigurationArn"], /distributionconfiguration\/golden-pipeline-distribution$/);
    assert.equal(pipeline.inputs["imageTestsConfiguration"].imageTestsEnabled, true);
    assert.equal(pipeline.inputs["status"], "ENABLED");
    assert.equal(pipeline.inputs["schedule"], undefined, "no schedule: builds started by hand");
    const dist = one(ownedBy(mocks, "golden"), "aws:imagebuilder/distributionConfiguration:DistributionConfiguration", "golden-pipeline-distribution");
    const [distribution] = dist.inputs["distributions"];
    assert.deepEqual(distribution.launchTemplateConfigurations, [
        { launchTemplateId: "lt-pair-0", default: true },
        { launchTemplateId: "lt-pair-1", default: true },
    ]);
    const own = one(mine(), "aws:imagebuilder/distributionConfiguration:DistributionConfiguration", "golden-distribution");
    assert.deepEqual(distribution.amiDistributionConfiguration, own.inputs["distributions"][0].amiDistributionConfiguration, "the same private, encrypted AMI as the stack's build");
    assert.equal(distribution.region, "eu-west-1");
    assert.equal(one(ownedBy(mocks, "pinned"), "aws:imagebuilder/imagePipeline:ImagePipeline", "pinned-pipeline").inputs["schedule"].scheduleExpression, "cron(0 4 ? * SUN *)");
    assert.deepEqual(pipelineAliases, [{ parent: image }], "the pipeline keeps its state from when it was GoldenImage's child");
    assert.throws(() => new GoldenImagePipeline("bad-schedule", { environment: "prod", image, launchTemplateIds: [], scheduleExpression: "weekly" }),
        resourceError(/scheduleExpression must be cron/));
});

test("image: every taggable resource carries the tier tags", () => {
    assert.deepEqual(tagProblems(mine(), "prod", { owner: "security" }), []);
    const infra = one(mine(), "aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration", "golden-infrastructure");
    assert.equal(infra.inputs["resourceTags"]["apiproxy:environment"], "prod");
});

test("image: documents over Image Builder's 16,000-character limit are split, same shape, packages installed once", () => {
    const big: HostFile[] = Array.from({ length: 6 }, (_, i) => ({ ...FILES[0]!, path: `/etc/nginx/apiproxy/big-${i}.conf`, content: `${"# filler\n".repeat(500)}` }));
    const docs = renderToeDocuments(big, { name: "t", description: "t", packages: ["nginx"] });
    assert.ok(docs.length > 1);
    assert.ok(docs.every((d) => d.length <= COMPONENT_DATA_LIMIT));
    const parsed = docs.map((d) => parse(d));
    assert.deepEqual(parsed.flatMap((d) => steps(d, "build").filter((s: any) => s.action === "CreateFile").flatMap((s: any) => s.inputs.map((i: any) => i.path))),
        big.map((f) => f.path));
    assert.equal(parsed.filter((d) => steps(d, "build").some((s: any) => s.name === "InstallPackages")).length, 1);
    assert.throws(() => renderToeDocuments([{ ...FILES[0]!, content: "x".repeat(COMPONENT_DATA_LIMIT) }], { name: "t", description: "t", packages: [] }), /does not fit/);
});

test("image: each document makes the directories its files land in before CreateFile writes them", () => {
    // Running the dev image's documents on a Debian 12 build instance, CreateFile stopped at
    // /etc/nginx/apiproxy/logging.conf: nothing had made /etc/nginx/apiproxy. Each part makes its
    // own files' directories (mkdir -p: existing ones keep their owner and mode).
    const docs = renderToeDocuments([
        { path: "/etc/nginx/apiproxy/logging.conf", content: "x\n", mode: "0644", owner: "root", group: "root", action: "nginx-reload" },
        { path: "/etc/ssl/apiproxy/client-ca.pem", content: "y\n", mode: "0644", owner: "root", group: "root", action: "nginx-reload" },
    ], { name: "t", description: "t", packages: ["nginx"] }).map((d) => parse(d));
    for (const doc of docs) {
        const build = steps(doc, "build");
        const mkdir = build.findIndex((s) => s.name === "CreateDirectories");
        const write = build.findIndex((s) => s.action === "CreateFile");
        assert.ok(mkdir >= 0 && mkdir < write, JSON.stringify(build.map((s) => s.name)));
        const dirs = [...new Set(build[write].inputs.map((i: { path: string }) => i.path.slice(0, i.path.lastIndexOf("/"))))];
        assert.deepEqual(build[mkdir].inputs.commands, ["set -euo pipefail", `mkdir -p -- ${dirs.map((d) => `'${d}'`).join(" ")}`]);
    }
});
