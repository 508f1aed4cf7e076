/**
 * HA proxy pairs behind an internet-facing NLB, rolled onto a new image one proxy at a time.
 * TLS terminates on nginx (TCP listeners, client IPs preserved); instances sit in the DMZ
 * subnets without public IPs, boot from the golden image, fetch their TLS material from Secrets
 * Manager through a least-privilege role, and are reached through Session Manager.
 *
 * Shape: one Auto Scaling group per pair, spanning the pair's two AZs (two DMZ subnets), two
 * instances, from one launch template per pair. Chosen over one group per instance because a
 * group that spans both AZs heals across them (a proxy lost with its AZ is relaunched in the
 * surviving one, then rebalanced back) and because the rolling bound is then AWS's own: with one
 * group per instance both groups would refresh at once, and nothing in AWS orders two groups'
 * refreshes. The template carries what the instances had: AMI, type, IMDSv2 only (hop limit 1),
 * KMS-encrypted gp3 root, no public IP, the proxy security group, the instance profile, user
 * data (base64, or the caller's gzip-base64), tags (role, environment, pair).
 *
 * Rolling image updates (values and their AWS sources in rolling-updates.ts): a new AMI or user
 * data changes only the launch template, which gets a new version in place (made the default);
 * the group launches the template's `latestVersion` (a number: the provider starts no refresh for
 * `$Latest`), so the change starts an instance refresh, strategy Rolling, MinHealthyPercentage 50
 * (of 2, rounded up: one stays), MaxHealthyPercentage 100. One proxy leaves the target groups
 * (deregistration delay 30 s = connection draining, then the NLB resets what is left), is
 * terminated and replaced from the new version; the replacement must be InService, healthy
 * (health check type ELB) and warmed up (300 s, covering first boot to the NLB's healthy
 * threshold) before the second one leaves. Tag changes roll too (trigger "tag": tags reach
 * instances at launch only). No resource is replaced, and the provider does not wait for the
 * refresh (aws.autoscaling.Group docs): `pulumi up` returns while AWS rolls. Pairs are separate
 * groups and roll concurrently, each keeping one proxy in service in its other AZ.
 *
 * Deletion protection (`deletionProtection`, required in prod) covers everything that is not
 * being rolled:
 *   - the NLB: `enableDeletionProtection`;
 *   - the groups and their launch templates: Pulumi's `protect` (AWS has no deletion protection
 *     for either): no `pulumi destroy` or replacing change removes them while it is on;
 *   - the instances against a lowered capacity: `protectFromScaleIn` on the group, with the
 *     refresh preference `scaleInProtectedInstances: Refresh`, so Auto Scaling refreshes them
 *     instead of waiting an hour for the protection to go and failing (API RefreshPreferences;
 *     scale-in protection alone would block the refresh);
 *   - the instances against a manual TerminateInstances: EC2 termination protection
 *     (`disableApiTermination`) in the launch template. It "does not prevent Amazon EC2 Auto
 *     Scaling from terminating instances" (Auto Scaling User Guide, "Use instance scale-in
 *     protection"), so refreshes and health-check replacements still work: the flag that
 *     blocked replacing plain instances can stay on here.
 * No scaling process is suspended: Launch, Terminate, HealthCheck, ReplaceUnhealthy,
 * AddToLoadBalancer and InstanceRefresh are the refresh and the self-healing, and AZRebalance
 * puts a pair back into both AZs after an AZ outage.
 *
 * Auto Scaling launches with its service-linked role, which gets a KMS grant on the tier key (the
 * golden AMI's snapshots and the root volumes are encrypted with it). Migrating a stack that ran
 * plain instances: their termination protection stops Pulumi from deleting them; turn it off on
 * the old instances (`aws ec2 modify-instance-attribute --no-disable-api-termination`) before the
 * first `up` with this component.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { checkInstanceType } from "./instance-catalogue";
import { ec2AssumeRolePolicy, proxyInstancePolicy, SSM_CORE_POLICY } from "./proxy-iam";
import {
    CAPACITY_TIMEOUT, DEFAULT_DEREGISTRATION_DELAY_SECONDS, DEFAULT_HEALTH_CHECK_GRACE_PERIOD_SECONDS, DEFAULT_INSTANCE_WARMUP_SECONDS,
    PROXIES_PER_PAIR, pairMaintenancePolicy, pairSubnetIndexes, rollingInstanceRefresh,
} from "./rolling-updates";
import { DEFAULT_HEALTH_PATH, DEFAULT_PROXY_PORTS, ProxyPorts } from "../network/ports";
import { tierTags } from "../network/tags";

export { DEFAULT_DEREGISTRATION_DELAY_SECONDS, DEFAULT_HEALTH_CHECK_GRACE_PERIOD_SECONDS, DEFAULT_INSTANCE_WARMUP_SECONDS } from "./rolling-updates";

/** One pair = two instances in two AZs: survives the loss of an AZ or an instance. */
export const DEFAULT_PAIR_COUNT = 1;
/** Fail safe: the NLB, the groups and their templates cannot be deleted by accident unless the caller opts out. */
export const DEFAULT_DELETION_PROTECTION = true;
/** One year of proxy logs (PCI DSS 10.5.1). */
export const DEFAULT_LOG_RETENTION_DAYS = 365;
/** Plain text keeps user data readable in the console and the plan. */
export const DEFAULT_USER_DATA_ENCODING = "text";
/** Room for the OS, nginx and logs before shipping; buffers and temp files go to local NVMe. */
export const DEFAULT_ROOT_VOLUME_GB = 20;
/** Root device of Ubuntu AMIs: the stock image and the golden image built on it. */
export const DEFAULT_ROOT_DEVICE_NAME = "/dev/sda1";
/** Three consecutive results flip health: ~30 s at a 10 s interval, without flapping on one lost probe. */
export const DEFAULT_HEALTHY_THRESHOLD = 3;
export const DEFAULT_UNHEALTHY_THRESHOLD = 3;
/** The shortest NLB health-check interval: a dead proxy leaves rotation within ~30 s. */
export const HEALTH_CHECK_INTERVAL_SECONDS = 10;
/** Below the interval, as AWS requires. */
const HEALTH_CHECK_TIMEOUT_SECONDS = 5;
/** The role Auto Scaling launches instances with (Auto Scaling User Guide, "Service-linked roles"). */
export const AUTOSCALING_SERVICE_LINKED_ROLE = "AWSServiceRoleForAutoScaling";
/** What that role needs of the CMK to launch from an encrypted AMI into encrypted volumes. */
const AUTOSCALING_KMS_OPERATIONS = ["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "DescribeKey", "CreateGrant"] as const;
/** Tag key of the pair an instance belongs to. */
export const PAIR_TAG = "apiproxy:pair";

export interface ProxyPortsWithPath extends ProxyPorts {
    /** Health-check path on the health port. */
    readonly healthPath: string;
}

export interface ProxyPairArgs {
    /** Environment name, tagged as `apiproxy:environment`. */
    readonly environment: string;
    readonly vpcId: pulumi.Input<string>;
    /** DMZ subnet ids, one per AZ, in AZ order (DmzNetwork.dmzSubnetIds); at least 2. */
    readonly dmzSubnetIds: readonly pulumi.Input<string>[];
    /** Public subnet ids for the NLB, one per AZ (DmzNetwork.publicSubnetIds); at least 2. */
    readonly publicSubnetIds: readonly pulumi.Input<string>[];
    /** Proxy security group (ProxySecurityGroups.proxySecurityGroupId). */
    readonly proxySecurityGroupId: pulumi.Input<string>;
    /** An allowed type from the instance catalogue (components/compute/instance-catalogue.ts). */
    readonly instanceType: string;
    /** AMI id, normally GoldenImage.amiId. A new value makes a new launch template version and a rolling refresh. */
    readonly amiId: pulumi.Input<string>;
    /** `#cloud-config` user data for every pair's instances; carries no secrets. */
    readonly userData: pulumi.Input<string>;
    /** Per-pair replacement user data by pair index (e.g. a canary pair); undefined entries use `userData`. Default: []. */
    readonly userDataOverrides?: readonly (pulumi.Input<string> | undefined)[];
    /** How `userData` is encoded: "text" (a #cloud-config document) or "gzip-base64" (the document
     *  gzipped and base64-encoded, for hosts whose files exceed the 16 KiB raw limit; cloud-init
     *  inflates it). The launch template takes base64 either way. Default: "text" (DEFAULT_USER_DATA_ENCODING). */
    readonly userDataEncoding?: "text" | "gzip-base64";
    /** Number of HA pairs (one Auto Scaling group of 2 instances each). Default: 1 (DEFAULT_PAIR_COUNT). */
    readonly pairCount?: number;
    /** Listener and health ports. Default: { https: 443, mtls: 8443, health: 8081, healthPath: "/healthz" }. */
    readonly ports?: Partial<ProxyPortsWithPath>;
    /** Deletion protection on the NLB, Pulumi `protect` on the groups and templates, scale-in and
     *  EC2 termination protection on the instances. Default: true (DEFAULT_DELETION_PROTECTION). */
    readonly deletionProtection?: boolean;
    /** Exactly the Secrets Manager ARNs the instances may read (TlsSecrets.secretArnList). */
    readonly tlsSecretArns: pulumi.Input<readonly pulumi.Input<string>[]>;
    /** The tier CMK (TlsSecrets.kmsKeyArn): decrypts the secrets, encrypts root volumes and the log group. */
    readonly kmsKeyArn: pulumi.Input<string>;
    /** Tier log group retention in days. Default: 365 (DEFAULT_LOG_RETENTION_DAYS). */
    readonly logRetentionDays?: number;
    /** Root volume size in GB. Default: 20 (DEFAULT_ROOT_VOLUME_GB). */
    readonly rootVolumeSizeGb?: number;
    /** The AMI's root device, which the template's encrypted volume replaces. Default: "/dev/sda1" (DEFAULT_ROOT_DEVICE_NAME). */
    readonly rootDeviceName?: string;
    /** NLB access logs to an S3 bucket; undefined = off. Default: undefined. */
    readonly accessLogs?: { readonly bucket: pulumi.Input<string>; readonly prefix?: pulumi.Input<string> };
    /** Consecutive passes before a target is healthy. Default: 3 (DEFAULT_HEALTHY_THRESHOLD). */
    readonly healthyThreshold?: number;
    /** Consecutive failures before a target is unhealthy. Default: 3 (DEFAULT_UNHEALTHY_THRESHOLD). */
    readonly unhealthyThreshold?: number;
    /** Connection draining of a leaving proxy, seconds. Default: 30 (DEFAULT_DEREGISTRATION_DELAY_SECONDS). */
    readonly deregistrationDelaySeconds?: number;
    /** Seconds a refresh waits after a replacement is InService before the next proxy leaves. Default: 300 (DEFAULT_INSTANCE_WARMUP_SECONDS). */
    readonly instanceWarmupSeconds?: number;
    /** Seconds before Auto Scaling acts on a new instance's failed NLB checks; at least the warm-up. Default: 600 (DEFAULT_HEALTH_CHECK_GRACE_PERIOD_SECONDS). */
    readonly healthCheckGracePeriodSeconds?: number;
    /** Extra tags for every resource. */
    readonly tags?: Readonly<Record<string, string>>;
}

export interface ProxyEndpoints {
    readonly https: pulumi.Output<string>;
    readonly mtls: pulumi.Output<string>;
}

export interface ProxyHealthCheck {
    readonly protocol: "HTTP";
    readonly port: number;
    readonly path: string;
    readonly intervalSeconds: number;
    readonly healthyThreshold: number;
    readonly unhealthyThreshold: number;
}

export class ProxyPair extends pulumi.ComponentResource {
    /** One Auto Scaling group per pair. */
    public readonly autoScalingGroupNames: pulumi.Output<string[]>;
    /** One launch template per pair (GoldenImagePipeline publishes new AMIs into them). */
    public readonly launchTemplateIds: pulumi.Output<string[]>;
    public readonly targetGroupArns: pulumi.Output<string[]>;
    public readonly nlbDnsName: pulumi.Output<string>;
    public readonly nlbArn: pulumi.Output<string>;
    public readonly nlbZoneId: pulumi.Output<string>;
    public readonly endpoints: ProxyEndpoints;
    public readonly healthCheck: ProxyHealthCheck;
    public readonly roleArn: pulumi.Output<string>;
    public readonly logGroupName: pulumi.Output<string>;

    constructor(name: string, args: ProxyPairArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("apiproxy:compute:ProxyPair", name, {}, opts);
        const pairCount = args.pairCount ?? DEFAULT_PAIR_COUNT;
        const ports: ProxyPortsWithPath = { ...DEFAULT_PROXY_PORTS, healthPath: DEFAULT_HEALTH_PATH, ...args.ports };
        const deletionProtection = args.deletionProtection ?? DEFAULT_DELETION_PROTECTION;
        const logRetentionDays = args.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS;
        const rootVolumeSizeGb = args.rootVolumeSizeGb ?? DEFAULT_ROOT_VOLUME_GB;
        const rootDeviceName = args.rootDeviceName ?? DEFAULT_ROOT_DEVICE_NAME;
        const userDataEncoding = args.userDataEncoding ?? DEFAULT_USER_DATA_ENCODING;
        const deregistrationDelay = args.deregistrationDelaySeconds ?? DEFAULT_DEREGISTRATION_DELAY_SECONDS;
        const warmup = args.instanceWarmupSeconds ?? DEFAULT_INSTANCE_WARMUP_SECONDS;
        const gracePeriod = args.healthCheckGracePeriodSeconds ?? DEFAULT_HEALTH_CHECK_GRACE_PERIOD_SECONDS;
        const healthCheck: ProxyHealthCheck = {
            protocol: "HTTP",
            port: ports.health,
            path: ports.healthPath,
            intervalSeconds: HEALTH_CHECK_INTERVAL_SECONDS,
            healthyThreshold: args.healthyThreshold ?? DEFAULT_HEALTHY_THRESHOLD,
            unhealthyThreshold: args.unhealthyThreshold ?? DEFAULT_UNHEALTHY_THRESHOLD,
        };

        // ---- validation: before any child exists ----
        const instanceCheck = checkInstanceType(args.instanceType);
        if (!instanceCheck.ok) {
            throw new pulumi.ResourceError(`instanceType: ${instanceCheck.reason}`, this);
        }
        if (args.dmzSubnetIds.length < 2) {
            throw new pulumi.ResourceError(`dmzSubnetIds must cover at least 2 availability zones (one subnet per AZ), got ${args.dmzSubnetIds.length}`, this);
        }
        if (args.publicSubnetIds.length < 2) {
            throw new pulumi.ResourceError(`publicSubnetIds must cover at least 2 availability zones, got ${args.publicSubnetIds.length}`, this);
        }
        if (!Number.isInteger(pairCount) || pairCount < 1) {
            throw new pulumi.ResourceError(`pairCount must be a positive integer, got ${pairCount}`, this);
        }
        if ((args.userDataOverrides ?? []).length > pairCount) {
            throw new pulumi.ResourceError(`userDataOverrides has ${args.userDataOverrides?.length} entries for ${pairCount} pair(s)`, this);
        }
        if (new Set([ports.https, ports.mtls, ports.health]).size !== 3) {
            throw new pulumi.ResourceError("ports: https, mtls and health must differ", this);
        }
        if (!ports.healthPath.startsWith("/")) {
            throw new pulumi.ResourceError(`ports.healthPath must start with "/", got "${ports.healthPath}"`, this);
        }
        // NLB target groups accept 0-3600 s; 0 would cut every open connection of a leaving proxy.
        if (!Number.isInteger(deregistrationDelay) || deregistrationDelay < 1 || deregistrationDelay > 3600) {
            throw new pulumi.ResourceError(`deregistrationDelaySeconds must be 1-3600 (connection draining), got ${deregistrationDelay}`, this);
        }
        if (!Number.isInteger(warmup) || warmup < 0 || !Number.isInteger(gracePeriod) || gracePeriod < warmup) {
            throw new pulumi.ResourceError(`healthCheckGracePeriodSeconds (${gracePeriod}) must be a whole number of seconds no shorter than instanceWarmupSeconds (${warmup})`, this);
        }

        const parent = { parent: this };
        // Pulumi's own deletion protection for what AWS cannot protect (groups, templates).
        const protectedChild = { parent: this, protect: deletionProtection };
        const proxyTags = tierTags(args.environment, "proxy", args.tags);
        const nlbTags = tierTags(args.environment, "nlb", args.tags);
        const region = aws.getRegionOutput({}, parent).region;
        const partition = aws.getPartitionOutput({}, parent).partition;

        // ---- logs + identity ----
        const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, {
            name: `/apiproxy/${args.environment}/${name}/proxy`,
            retentionInDays: logRetentionDays,
            kmsKeyId: args.kmsKeyArn,
            tags: proxyTags,
        }, parent);
        const role = new aws.iam.Role(`${name}-role`, {
            description: "API proxy instances: SSM, the tier's TLS secrets, the tier's log group",
            assumeRolePolicy: JSON.stringify(ec2AssumeRolePolicy()),
            tags: proxyTags,
        }, parent);
        new aws.iam.RolePolicyAttachment(`${name}-ssm-core`, {
            role: role.name,
            policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/${SSM_CORE_POLICY}`,
        }, parent);
        new aws.iam.RolePolicy(`${name}-least-privilege`, {
            role: role.id,
            policy: pulumi.all([region, args.tlsSecretArns, args.kmsKeyArn, logGroup.arn])
                .apply(([regionName, secretArns, kmsKeyArn, logGroupArn]) =>
                    JSON.stringify(proxyInstancePolicy({ region: regionName, secretArns, kmsKeyArn, logGroupArn }))),
        }, parent);
        const profile = new aws.iam.InstanceProfile(`${name}-profile`, { role: role.name, tags: proxyTags }, parent);
        // Auto Scaling launches the instances with its service-linked role, which needs the tier CMK
        // for the encrypted root volumes and the golden AMI's snapshots (Auto Scaling User Guide,
        // "Required AWS KMS key policy for use with encrypted volumes"). A grant, so the key policy
        // (TlsSecrets) stays as it is; the role exists once any group was created in the account
        // (else: `aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com`).
        const accountId = aws.getCallerIdentityOutput({}, parent).accountId;
        const ebsGrant = new aws.kms.Grant(`${name}-autoscaling-ebs`, {
            keyId: args.kmsKeyArn,
            granteePrincipal: pulumi.interpolate`arn:${partition}:iam::${accountId}:role/aws-service-role/autoscaling.amazonaws.com/${AUTOSCALING_SERVICE_LINKED_ROLE}`,
            operations: [...AUTOSCALING_KMS_OPERATIONS],
        }, parent);

        // ---- NLB: TCP pass-through, TLS ends on nginx ----
        const nlb = new aws.lb.LoadBalancer(`${name}-nlb`, {
            loadBalancerType: "network",
            internal: false,
            ipAddressType: "ipv4",
            subnets: [...args.publicSubnetIds],
            enableCrossZoneLoadBalancing: true,
            enableDeletionProtection: deletionProtection,
            ...(args.accessLogs === undefined ? {} : {
                accessLogs: { bucket: args.accessLogs.bucket, prefix: args.accessLogs.prefix, enabled: true },
            }),
            tags: nlbTags,
        }, parent);
        const listen = (kind: "https" | "mtls", port: number): aws.lb.TargetGroup => {
            const targetGroup = new aws.lb.TargetGroup(`${name}-${kind}`, {
                vpcId: args.vpcId,
                port,
                protocol: "TCP",
                targetType: "instance",
                preserveClientIp: "true",
                // Connection draining: a proxy leaving for a refresh gets no new flows and keeps its
                // open ones this long; then the NLB resets what is left, so clients reconnect to the
                // partner at once instead of waiting on a terminated instance.
                deregistrationDelay,
                connectionTermination: true,
                // The per-IP rate limits live in each proxy's memory: NLB flows hash per connection,
                // so without stickiness N proxies would each grant a client the full rate (N x).
                // Source-IP stickiness keeps a client on one proxy while it is healthy.
                stickiness: { enabled: true, type: "source_ip" },
                healthCheck: {
                    enabled: true,
                    protocol: healthCheck.protocol,
                    port: String(healthCheck.port),
                    path: healthCheck.path,
                    matcher: "200",
                    interval: healthCheck.intervalSeconds,
                    timeout: HEALTH_CHECK_TIMEOUT_SECONDS,
                    healthyThreshold: healthCheck.healthyThreshold,
                    unhealthyThreshold: healthCheck.unhealthyThreshold,
                },
                tags: nlbTags,
            }, parent);
            new aws.lb.Listener(`${name}-${kind}`, {
                loadBalancerArn: nlb.arn,
                port,
                protocol: "TCP",
                defaultActions: [{ type: "forward", targetGroupArn: targetGroup.arn }],
                tags: nlbTags,
            }, parent);
            return targetGroup;
        };
        const targetGroups = [listen("https", ports.https), listen("mtls", ports.mtls)];

        // ---- pairs: pair p -> one launch template + one group over AZs 2p and 2p+1 (mod n) ----
        const subnetCount = args.dmzSubnetIds.length;
        const pairs = Array.from({ length: pairCount }, (_, p) => {
            const pairTags = { ...proxyTags, [PAIR_TAG]: String(p) };
            const userData = pulumi.output(args.userDataOverrides?.[p] ?? args.userData)
                // A launch template takes user data base64-encoded; gzip-base64 already is.
                .apply((document) => (userDataEncoding === "gzip-base64" ? document : Buffer.from(document, "utf8").toString("base64")));
            const template = new aws.ec2.LaunchTemplate(`${name}-pair-${p}`, {
                description: `apiproxy ${args.environment} proxy pair ${p}`,
                imageId: args.amiId,
                instanceType: args.instanceType,
                iamInstanceProfile: { arn: profile.arn },
                networkInterfaces: [{
                    deviceIndex: 0,
                    associatePublicIpAddress: "false", // the NLB is the only public entry
                    securityGroups: [args.proxySecurityGroupId],
                    deleteOnTermination: "true",
                }],
                // IMDSv2 only, one hop (containers/proxied requests cannot reach it), no tags in IMDS (CIS AWS Foundations 5.6).
                metadataOptions: {
                    httpEndpoint: "enabled",
                    httpTokens: "required",
                    httpPutResponseHopLimit: 1,
                    instanceMetadataTags: "disabled",
                },
                // The provider types the EBS flags as strings.
                blockDeviceMappings: [{
                    deviceName: rootDeviceName,
                    ebs: {
                        volumeType: "gp3",
                        volumeSize: rootVolumeSizeGb,
                        encrypted: "true",
                        kmsKeyId: args.kmsKeyArn,
                        deleteOnTermination: "true",
                    },
                }],
                ebsOptimized: "true",
                monitoring: { enabled: true },
                // Blocks a manual TerminateInstances, never Auto Scaling's own replacements.
                disableApiTermination: deletionProtection,
                userData,
                tagSpecifications: ["volume", "network-interface"].map((resourceType) => ({ resourceType, tags: pairTags })),
                // Every change (a new AMI) is a new version, made the default at once; the group follows latestVersion.
                updateDefaultVersion: true,
                tags: { ...pairTags, Name: `${name}-pair-${p}` },
            }, { ...protectedChild, dependsOn: [logGroup] });
            const group = new aws.autoscaling.Group(`${name}-pair-${p}`, {
                vpcZoneIdentifiers: pairSubnetIndexes(p, subnetCount).map((i) => args.dmzSubnetIds[i]),
                minSize: PROXIES_PER_PAIR,
                maxSize: PROXIES_PER_PAIR,
                desiredCapacity: PROXIES_PER_PAIR,
                // A version number, never $Latest: the provider starts a refresh only when this changes.
                launchTemplate: { id: template.id, version: template.latestVersion.apply((v) => String(v)) },
                targetGroupArns: targetGroups.map((g) => g.arn),
                // The NLB's health check (nginx's status endpoint) decides, not only EC2 status checks (AWS Security Hub AutoScaling.1).
                healthCheckType: "ELB",
                healthCheckGracePeriod: gracePeriod,
                defaultInstanceWarmup: warmup,
                instanceRefresh: rollingInstanceRefresh(warmup),
                instanceMaintenancePolicy: pairMaintenancePolicy(),
                protectFromScaleIn: deletionProtection,
                // The first `up` fails unless both proxies become healthy in the target groups.
                minElbCapacity: PROXIES_PER_PAIR,
                waitForCapacityTimeout: CAPACITY_TIMEOUT,
                // Instance tags come from the group (so "tag" can trigger a refresh), volume and ENI tags from the template.
                tags: Object.entries({ ...pairTags, Name: `${name}-proxy-${p}` }).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
            }, { ...protectedChild, dependsOn: [ebsGrant] });
            return { template, group };
        });

        this.autoScalingGroupNames = pulumi.all(pairs.map((p) => p.group.name));
        this.launchTemplateIds = pulumi.all(pairs.map((p) => p.template.id));
        this.targetGroupArns = pulumi.all(targetGroups.map((g) => g.arn));
        this.nlbDnsName = nlb.dnsName;
        this.nlbArn = nlb.arn;
        this.nlbZoneId = nlb.zoneId;
        this.endpoints = {
            https: pulumi.interpolate`https://${nlb.dnsName}:${ports.https}`,
            mtls: pulumi.interpolate`https://${nlb.dnsName}:${ports.mtls}`,
        };
        this.healthCheck = healthCheck;
        this.roleArn = role.arn;
        this.logGroupName = logGroup.name;
        this.registerOutputs({
            autoScalingGroupNames: this.autoScalingGroupNames, launchTemplateIds: this.launchTemplateIds, targetGroupArns: this.targetGroupArns,
            nlbDnsName: this.nlbDnsName, nlbArn: this.nlbArn, nlbZoneId: this.nlbZoneId,
            endpoints: this.endpoints, healthCheck, roleArn: this.roleArn, logGroupName: this.logGroupName,
        });
    }
}
