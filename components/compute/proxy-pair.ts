/**
 * HA proxy pairs behind an internet-facing NLB. Each pair puts one instance in each of two
 * different AZs; TLS terminates on nginx (TCP listeners, client IPs preserved), instances sit
 * in the DMZ subnets without public IPs, boot from the golden image, fetch their TLS material
 * from Secrets Manager through a least-privilege role, and are reached through Session Manager.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { checkInstanceType } from "./instance-catalogue";
import { ec2AssumeRolePolicy, proxyInstancePolicy, SSM_CORE_POLICY } from "./proxy-iam";
import { DEFAULT_HEALTH_PATH, DEFAULT_PROXY_PORTS, ProxyPorts } from "../network/ports";
import { tierTags } from "../network/tags";

/** One pair = two instances in two AZs: survives the loss of an AZ or an instance. */
export const DEFAULT_PAIR_COUNT = 1;
/** Fail safe: instances and the NLB cannot be deleted by accident unless the caller opts out. */
export const DEFAULT_DELETION_PROTECTION = true;
/** One year of proxy logs (PCI DSS 10.5.1). */
export const DEFAULT_LOG_RETENTION_DAYS = 365;
/** Plain text keeps user data readable in the console and the plan. */
export const DEFAULT_USER_DATA_ENCODING = "text";
/** Room for the OS, nginx and logs before shipping; buffers and temp files go to local NVMe. */
export const DEFAULT_ROOT_VOLUME_GB = 20;
/** Three consecutive results flip health: ~30 s at a 10 s interval, without flapping on one lost probe. */
export const DEFAULT_HEALTHY_THRESHOLD = 3;
export const DEFAULT_UNHEALTHY_THRESHOLD = 3;
/** The shortest NLB health-check interval: a dead proxy leaves rotation within ~30 s. */
export const HEALTH_CHECK_INTERVAL_SECONDS = 10;
/** Below the interval, as AWS requires. */
const HEALTH_CHECK_TIMEOUT_SECONDS = 5;

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
    /** AMI id, normally GoldenImage.amiId. */
    readonly amiId: pulumi.Input<string>;
    /** `#cloud-config` user data for every instance; carries no secrets. */
    readonly userData: pulumi.Input<string>;
    /** Per-instance replacement user data by instance index (e.g. a canary); undefined entries use `userData`. Default: []. */
    readonly userDataOverrides?: readonly (pulumi.Input<string> | undefined)[];
    /** How `userData` is encoded: "text" (a #cloud-config document) or "gzip-base64" (the document
     *  gzipped and base64-encoded, for hosts whose files exceed the 16 KiB raw limit; sent as
     *  `userDataBase64`, cloud-init inflates it). Default: "text" (DEFAULT_USER_DATA_ENCODING). */
    readonly userDataEncoding?: "text" | "gzip-base64";
    /** Number of HA pairs (2 instances each). Default: 1 (DEFAULT_PAIR_COUNT). */
    readonly pairCount?: number;
    /** Listener and health ports. Default: { https: 443, mtls: 8443, health: 8081, healthPath: "/healthz" }. */
    readonly ports?: Partial<ProxyPortsWithPath>;
    /** Termination protection on instances and deletion protection on the NLB. Default: true (DEFAULT_DELETION_PROTECTION). */
    readonly deletionProtection?: boolean;
    /** Exactly the Secrets Manager ARNs the instances may read (TlsSecrets.secretArnList). */
    readonly tlsSecretArns: pulumi.Input<readonly pulumi.Input<string>[]>;
    /** The tier CMK (TlsSecrets.kmsKeyArn): decrypts the secrets, encrypts root volumes and the log group. */
    readonly kmsKeyArn: pulumi.Input<string>;
    /** Tier log group retention in days. Default: 365 (DEFAULT_LOG_RETENTION_DAYS). */
    readonly logRetentionDays?: number;
    /** Root volume size in GB. Default: 20 (DEFAULT_ROOT_VOLUME_GB). */
    readonly rootVolumeSizeGb?: number;
    /** NLB access logs to an S3 bucket; undefined = off. Default: undefined. */
    readonly accessLogs?: { readonly bucket: pulumi.Input<string>; readonly prefix?: pulumi.Input<string> };
    /** Consecutive passes before a target is healthy. Default: 3 (DEFAULT_HEALTHY_THRESHOLD). */
    readonly healthyThreshold?: number;
    /** Consecutive failures before a target is unhealthy. Default: 3 (DEFAULT_UNHEALTHY_THRESHOLD). */
    readonly unhealthyThreshold?: number;
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
    public readonly instanceIds: pulumi.Output<string[]>;
    public readonly privateIps: pulumi.Output<string[]>;
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
        const instanceCount = 2 * pairCount;
        if ((args.userDataOverrides ?? []).length > instanceCount) {
            throw new pulumi.ResourceError(`userDataOverrides has ${args.userDataOverrides?.length} entries for ${instanceCount} instances`, this);
        }
        if (new Set([ports.https, ports.mtls, ports.health]).size !== 3) {
            throw new pulumi.ResourceError("ports: https, mtls and health must differ", this);
        }
        if (!ports.healthPath.startsWith("/")) {
            throw new pulumi.ResourceError(`ports.healthPath must start with "/", got "${ports.healthPath}"`, this);
        }

        const parent = { parent: this };
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

        // ---- instances: pair p -> instances 2p, 2p+1 -> AZs (2p) mod n, (2p+1) mod n (always distinct, n >= 2) ----
        const subnetCount = args.dmzSubnetIds.length;
        const instances = Array.from({ length: instanceCount }, (_, i) => new aws.ec2.Instance(`${name}-proxy-${i}`, {
            ami: args.amiId,
            instanceType: args.instanceType,
            subnetId: args.dmzSubnetIds[i % subnetCount],
            vpcSecurityGroupIds: [args.proxySecurityGroupId],
            iamInstanceProfile: profile.name,
            associatePublicIpAddress: false,
            ...((args.userDataEncoding ?? DEFAULT_USER_DATA_ENCODING) === "gzip-base64"
                ? { userDataBase64: args.userDataOverrides?.[i] ?? args.userData }
                : { userData: args.userDataOverrides?.[i] ?? args.userData }),
            // IMDSv2 only, one hop (containers/proxied requests cannot reach it), no tags in IMDS (CIS AWS Foundations 5.6).
            metadataOptions: {
                httpEndpoint: "enabled",
                httpTokens: "required",
                httpPutResponseHopLimit: 1,
                instanceMetadataTags: "disabled",
            },
            rootBlockDevice: {
                volumeType: "gp3",
                volumeSize: rootVolumeSizeGb,
                encrypted: true,
                kmsKeyId: args.kmsKeyArn,
                deleteOnTermination: true,
                tags: proxyTags,
            },
            ebsOptimized: true,
            monitoring: true,
            disableApiTermination: deletionProtection,
            tags: { ...proxyTags, Name: `${name}-proxy-${i}`, "apiproxy:pair": String(Math.floor(i / 2)) },
        }, { parent: this, dependsOn: [logGroup] }));

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
        const listen = (kind: "https" | "mtls", port: number) => {
            const targetGroup = new aws.lb.TargetGroup(`${name}-${kind}`, {
                vpcId: args.vpcId,
                port,
                protocol: "TCP",
                targetType: "instance",
                preserveClientIp: "true",
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
            instances.forEach((instance, i) => new aws.lb.TargetGroupAttachment(`${name}-${kind}-${i}`, {
                targetGroupArn: targetGroup.arn,
                targetId: instance.id,
                port,
            }, parent));
        };
        listen("https", ports.https);
        listen("mtls", ports.mtls);

        this.instanceIds = pulumi.all(instances.map((i) => i.id));
        this.privateIps = pulumi.all(instances.map((i) => i.privateIp));
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
            instanceIds: this.instanceIds, privateIps: this.privateIps,
            nlbDnsName: this.nlbDnsName, nlbArn: this.nlbArn, nlbZoneId: this.nlbZoneId,
            endpoints: this.endpoints, healthCheck, roleArn: this.roleArn, logGroupName: this.logGroupName,
        });
    }
}
