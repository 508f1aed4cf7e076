import { generateKeyPairSync } from "node:crypto";
import { gzipSync } from "node:zlib";
import { describe, it } from "node:test";
import * as YAML from "yaml";
import { ebsEncrypted, goldenImageInProd, imdsv2Required, instanceTypeApproved, noSecretsInUserData, proxyRollingUpdates } from "../../policy-packs/api-proxy-baseline/policies/compute";
import { HOST_FILES, T, cloudConfig, editStack, tags, validAsgStack, validComponent, validInstance, validLaunchTemplate, validStack } from "./fixtures";
import { UNKNOWN, assertCompliant, assertNotApplicable, assertViolation, broken, runResource, runStack } from "./util";

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("instance-type-approved", () => {
    const policy = instanceTypeApproved;
    const NAME = "instance-type-approved";

    it("accepts a catalogued AES-NI + NVMe type on instances and templates", async () => {
        assertCompliant(await runResource(policy, T.instance, validInstance()));
        assertCompliant(await runResource(policy, T.launchTemplate, validLaunchTemplate()));
    });

    it("rejects a family outside the allow-list (Graviton, burstable, diskless)", async () => {
        for (const type of ["c6gd.xlarge", "t3.xlarge", "c6i.xlarge"]) {
            assertViolation(await runResource(policy, T.instance, { ...validInstance(), instanceType: type }), NAME, new RegExp(`${type.replace(".", "\\.")} is not in an allowed family`));
        }
    });

    it("rejects a size below the vCPU and memory minimums", async () => {
        const outcome = await runResource(policy, T.instance, { ...validInstance(), instanceType: "c6id.large" });
        assertViolation(outcome, NAME, /c6id\.large has 2 vCPUs; at least 4 are required/);
        assertViolation(outcome, NAME, /c6id\.large has 4 GiB of memory; at least 8 GiB are required/);
    });

    it("rejects an allowed family size the catalogue does not know", async () => {
        assertViolation(await runResource(policy, T.instance, { ...validInstance(), instanceType: "c6id.metal" }), NAME, /c6id\.metal is not in the pack's AES-NI \+ NVMe catalogue/);
    });

    it("rejects too little NVMe when the minimum is raised", async () => {
        const outcome = await runResource(policy, T.instance, { ...validInstance(), instanceType: "c5d.xlarge" }, { minInstanceNvmeGb: 200 });
        assertViolation(outcome, NAME, /c5d\.xlarge has 100 GB of NVMe instance store; at least 200 GB/);
    });

    it("rejects a proxy instance without instanceType", async () => {
        const props = broken(validInstance() as Mutable, (p) => delete p.instanceType);
        assertViolation(await runResource(policy, T.instance, props), NAME, /sets no instanceType/);
    });

    it("skips other roles and unknown values", async () => {
        assertCompliant(await runResource(policy, T.instance, { ...validInstance(), instanceType: "t3.micro", tags: { "apiproxy:role": "upstream" } }));
        assertCompliant(await runResource(policy, T.instance, { ...validInstance(), instanceType: UNKNOWN }));
    });

    it("only applies to instances and launch templates", async () => {
        assertNotApplicable(await runResource(policy, T.component, validComponent()));
    });
});

describe("imdsv2-required", () => {
    const policy = imdsv2Required;
    const NAME = "imdsv2-required";

    it("accepts required tokens with hop limit 1, or a disabled endpoint", async () => {
        assertCompliant(await runResource(policy, T.instance, validInstance()));
        assertCompliant(await runResource(policy, T.launchTemplate, validLaunchTemplate()));
        assertCompliant(await runResource(policy, T.instance, { ...validInstance(), metadataOptions: { httpEndpoint: "disabled" } }));
    });

    it("rejects optional tokens (IMDSv1)", async () => {
        const props = broken(validInstance() as Mutable, (p) => { p.metadataOptions.httpTokens = "optional"; });
        assertViolation(await runResource(policy, T.instance, props), NAME, /httpTokens is "optional"; it must be "required"/);
    });

    it("rejects a hop limit above 1 on a launch template", async () => {
        const props = broken(validLaunchTemplate() as Mutable, (p) => { p.metadataOptions.httpPutResponseHopLimit = 2; });
        assertViolation(await runResource(policy, T.launchTemplate, props), NAME, /launch template's metadataOptions\.httpPutResponseHopLimit is 2; it must be 1/);
    });

    it("rejects missing metadataOptions and a missing hop limit", async () => {
        const none = broken(validInstance() as Mutable, (p) => delete p.metadataOptions);
        assertViolation(await runResource(policy, T.instance, none), NAME, /sets no metadataOptions; IMDSv1 stays reachable/);
        const noHops = broken(validInstance() as Mutable, (p) => delete p.metadataOptions.httpPutResponseHopLimit);
        assertViolation(await runResource(policy, T.instance, noHops), NAME, /httpPutResponseHopLimit is null; it must be 1/);
    });

    it("gives no verdict on unknown values", async () => {
        assertCompliant(await runResource(policy, T.instance, { ...validInstance(), metadataOptions: UNKNOWN }));
        assertCompliant(await runResource(policy, T.instance, { ...validInstance(), metadataOptions: { httpTokens: UNKNOWN, httpPutResponseHopLimit: UNKNOWN } }));
    });

    it("only applies to instances and launch templates", async () => {
        assertNotApplicable(await runResource(policy, T.loadBalancer, {}));
    });
});

describe("ebs-encrypted", () => {
    const policy = ebsEncrypted;
    const NAME = "ebs-encrypted";

    it("accepts encrypted root and data volumes (instance store mappings need no flag)", async () => {
        assertCompliant(await runResource(policy, T.instance, validInstance()));
        assertCompliant(await runResource(policy, T.launchTemplate, validLaunchTemplate()));
    });

    it("rejects an unencrypted or undeclared root volume", async () => {
        const off = broken(validInstance() as Mutable, (p) => { p.rootBlockDevice.encrypted = false; });
        assertViolation(await runResource(policy, T.instance, off), NAME, /rootBlockDevice\.encrypted must be true/);
        const none = broken(validInstance() as Mutable, (p) => delete p.rootBlockDevice);
        assertViolation(await runResource(policy, T.instance, none), NAME, /rootBlockDevice\.encrypted must be true/);
    });

    it("rejects an unencrypted EBS data volume", async () => {
        const props = broken(validInstance() as Mutable, (p) => { delete p.ebsBlockDevices[0].encrypted; });
        assertViolation(await runResource(policy, T.instance, props), NAME, /ebsBlockDevices\[0\] \(\/dev\/sdf\) must set encrypted = true/);
    });

    it("rejects a launch template volume with encrypted \"false\" or no mappings", async () => {
        const off = broken(validLaunchTemplate() as Mutable, (p) => { p.blockDeviceMappings[0].ebs.encrypted = "false"; });
        assertViolation(await runResource(policy, T.launchTemplate, off), NAME, /blockDeviceMappings\[0\] \(\/dev\/xvda\) must set ebs\.encrypted = true/);
        const none = broken(validLaunchTemplate() as Mutable, (p) => delete p.blockDeviceMappings);
        assertViolation(await runResource(policy, T.launchTemplate, none), NAME, /declares no blockDeviceMappings/);
    });

    it("gives no verdict on unknown values", async () => {
        assertCompliant(await runResource(policy, T.instance, { ...validInstance(), rootBlockDevice: UNKNOWN, ebsBlockDevices: UNKNOWN }));
    });

    it("only applies to instances and launch templates", async () => {
        assertNotApplicable(await runResource(policy, T.secret, {}));
    });
});

describe("no-secrets-in-user-data", () => {
    const policy = noSecretsInUserData;
    const NAME = "no-secrets-in-user-data";
    // Generated per run: no key material is committed.
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const pkcs8Pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const sec1Der = privateKey.export({ type: "sec1", format: "der" });
    const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();

    it("accepts user data, templates and components without secrets (public keys and certificates are fine)", async () => {
        assertCompliant(await runResource(policy, T.instance, validInstance()));
        assertCompliant(await runResource(policy, T.launchTemplate, validLaunchTemplate()));
        assertCompliant(await runResource(policy, T.component, validComponent()));
        const withPublic = { ...HOST_FILES, "/etc/ssl/apiproxy/client-ca.pub": publicPem };
        assertCompliant(await runResource(policy, T.instance, validInstance(withPublic)));
    });

    it("rejects a PEM private key, also inside a base64 write_files entry", async () => {
        const files = { ...HOST_FILES, "/etc/nginx/apiproxy/private/server.key": pkcs8Pem };
        assertViolation(await runResource(policy, T.instance, validInstance(files)), NAME, /user data contains a PEM PRIVATE KEY block/);
        assertViolation(await runResource(policy, T.launchTemplate, validLaunchTemplate(files)), NAME, /PEM PRIVATE KEY block/);
    });

    it("rejects a gzip+base64 file holding a private key", async () => {
        const doc = YAML.stringify({ write_files: [{ path: "/etc/ssl/k.pem", encoding: "gz+b64", content: gzipSync(pkcs8Pem).toString("base64") }] });
        assertViolation(await runResource(policy, T.instance, { ...validInstance(), userData: `#cloud-config\n${doc}` }), NAME, /PEM PRIVATE KEY block/);
    });

    it("rejects a headerless base64 DER private key", async () => {
        const userData = `#!/bin/bash\necho ${sec1Der.toString("base64")} | base64 -d > /etc/ssl/k.der\n`;
        assertViolation(await runResource(policy, T.instance, { ...validInstance(), userData }), NAME, /a base64 DER private key/);
    });

    it("rejects AWS secret keys in user data and in a component document", async () => {
        const files = { ...HOST_FILES, "/root/.aws/credentials": "[default]\naws_access_key_id = AKIAABCDEFGHIJKLMNOP\naws_secret_access_key = abc/def\n" };
        const outcome = await runResource(policy, T.instance, validInstance(files));
        assertViolation(outcome, NAME, /an AWS secret access key \(aws_secret_access_key\)/);
        assertViolation(outcome, NAME, /an AWS access key id/);
        assertViolation(await runResource(policy, T.component, validComponent(files)), NAME, /component document contains an AWS secret access key/);
    });

    it("gives no verdict on unknown user data", async () => {
        assertCompliant(await runResource(policy, T.instance, { ...validInstance(), userData: undefined }));
        assertCompliant(await runResource(policy, T.launchTemplate, { ...validLaunchTemplate(), userData: UNKNOWN }));
    });

    it("only applies to carriers of user data", async () => {
        assertNotApplicable(await runResource(policy, T.secret, { name: "x" }));
    });

    it("keeps the fixture honest: plain cloud-config of the valid files has no secrets", async () => {
        assertCompliant(await runResource(policy, T.instance, { ...validInstance(), userData: cloudConfig(HOST_FILES) }));
    });
});

describe("proxy-rolling-updates", () => {
    const NAME = "proxy-rolling-updates";
    const group = (change: (props: Mutable) => void) => editStack("proxy-asg", (e) => {
        const props = structuredClone(e.props) as Mutable;
        change(props);
        return { ...e, props };
    }, validAsgStack());

    it("accepts a proxy group that rolls one instance of the pair at a time behind draining target groups", async () => {
        assertCompliant(await runStack(proxyRollingUpdates, validAsgStack()));
        assertCompliant(await runStack(proxyRollingUpdates, validStack()), "plain instances: their target groups drain");
    });
    it("rejects a proxy group without an instance refresh", async () => {
        assertViolation(await runStack(proxyRollingUpdates, group((p) => delete p.instanceRefresh)), NAME, /Proxy Auto Scaling group proxy-asg has no instanceRefresh/);
    });
    it("rejects a refresh strategy other than Rolling", async () => {
        assertViolation(await runStack(proxyRollingUpdates, group((p) => { p.instanceRefresh.strategy = "ReplaceRootVolume"; })), NAME, /strategy "ReplaceRootVolume"; it must be "Rolling"/);
    });
    it("rejects a minimum healthy percentage below 50", async () => {
        assertViolation(await runStack(proxyRollingUpdates, group((p) => { p.instanceRefresh.preferences.minHealthyPercentage = 0; })), NAME, /keeps 0 % healthy during a refresh; at least 50 %/);
    });
    it("reads an unset minimum from the instance maintenance policy, else AWS's default of 90", async () => {
        const fromPolicy = group((p) => { delete p.instanceRefresh.preferences.minHealthyPercentage; p.instanceMaintenancePolicy = { minHealthyPercentage: 0, maxHealthyPercentage: 100 }; });
        assertViolation(await runStack(proxyRollingUpdates, fromPolicy), NAME, /keeps 0 % healthy/);
        assertCompliant(await runStack(proxyRollingUpdates, group((p) => { delete p.instanceRefresh.preferences.minHealthyPercentage; })));
    });
    it("rejects scale-in protected instances the refresh would not replace", async () => {
        assertViolation(await runStack(proxyRollingUpdates, group((p) => { delete p.instanceRefresh.preferences.scaleInProtectedInstances; })), NAME,
            /protects its instances from scale-in, and its refresh handles them with the default/);
        assertViolation(await runStack(proxyRollingUpdates, group((p) => { p.instanceRefresh.preferences.scaleInProtectedInstances = "Ignore"; })), NAME, /handles them with Ignore/);
        assertCompliant(await runStack(proxyRollingUpdates, group((p) => { p.protectFromScaleIn = false; delete p.instanceRefresh.preferences.scaleInProtectedInstances; })));
    });
    it("rejects $Latest or $Default as the launched version (the provider starts no refresh)", async () => {
        assertViolation(await runStack(proxyRollingUpdates, group((p) => { p.launchTemplate.version = "$Latest"; })), NAME, /launches launch template version \$Latest/);
    });
    it("rejects EC2-only health checks", async () => {
        assertViolation(await runStack(proxyRollingUpdates, group((p) => { p.healthCheckType = "EC2"; })), NAME, /health check type EC2; it must be "ELB"/);
        assertViolation(await runStack(proxyRollingUpdates, group((p) => delete p.healthCheckType)), NAME, /health check type EC2 \(the default\)/);
    });
    it("rejects a proxy target group that does not drain (deregistration delay 0); an unset delay is AWS's 300 s", async () => {
        const noDrain = editStack("tg-mtls", (e) => ({ ...e, props: { ...e.props, deregistrationDelay: 0 } }), validAsgStack());
        assertViolation(await runStack(proxyRollingUpdates, noDrain), NAME, /Target group tg-mtls has deregistrationDelay 0/);
        const instances = editStack("tg-https", (e) => ({ ...e, props: { ...e.props, deregistrationDelay: 0 } }));
        assertViolation(await runStack(proxyRollingUpdates, instances), NAME, /Target group tg-https has deregistrationDelay 0/);
        assertCompliant(await runStack(proxyRollingUpdates, editStack("tg-mtls", (e) => ({ ...e, props: { ...e.props, deregistrationDelay: undefined } }), validAsgStack())));
    });
    it("judges a group by its launch template's role; ignores other roles; gives no verdict on unknown values", async () => {
        const untagged = group((p) => { p.tags = []; delete p.instanceRefresh; });
        assertViolation(await runStack(proxyRollingUpdates, untagged), NAME, /proxy-asg has no instanceRefresh/);
        const upstream = editStack("proxy-lt", (e) => ({ ...e, props: { ...e.props, tags: { "apiproxy:role": "upstream", "apiproxy:environment": "dev" } } }),
            editStack("proxy-asg", (e) => {
                const { instanceRefresh: _refresh, ...props } = e.props;
                return { ...e, props: { ...props, tags: [] } };
            }, validAsgStack()));
        assertCompliant(await runStack(proxyRollingUpdates, upstream));
        assertCompliant(await runStack(proxyRollingUpdates, group((p) => { p.instanceRefresh = UNKNOWN; })));
        assertCompliant(await runStack(proxyRollingUpdates, group((p) => { p.instanceRefresh.preferences.minHealthyPercentage = UNKNOWN; })));
    });
});

describe("golden-image-in-prod", () => {
    const NAME = "golden-image-in-prod";
    const prodTemplate = (stack = validAsgStack()) => editStack("proxy-lt", (e) => ({ ...e, props: { ...e.props, tags: tags("proxy", "prod") } }), stack);
    const image = { type: "aws:imagebuilder/image:Image", name: "proxy-image", props: { id: "img-1", outputResources: [{ amis: [{ image: "ami-0123456789abcdef0", region: "eu-west-1" }] }] } };
    it("accepts a production proxy template booting the stack's Image Builder AMI, and does not judge other environments", async () => {
        assertCompliant(await runStack(goldenImageInProd, [...prodTemplate(), image]));
        assertCompliant(await runStack(goldenImageInProd, validAsgStack()), "dev boots what it likes");
    });
    it("rejects a production proxy booting an AMI no image of the stack built", async () => {
        assertViolation(await runStack(goldenImageInProd, prodTemplate()), NAME, /Production proxy proxy-lt boots ami-0123456789abcdef0, which no Image Builder image of the stack built/);
        const other = { ...image, props: { ...image.props, outputResources: [{ amis: [{ image: "ami-00000000000000000", region: "eu-west-1" }] }] } };
        assertViolation(await runStack(goldenImageInProd, [...prodTemplate(), other]), NAME, /boots ami-0123456789abcdef0/);
    });
});
