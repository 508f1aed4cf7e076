/**
 * The DMZ tier's VPC: public subnets for the NLB only, DMZ subnets for the proxies (no public
 * IPs, egress through NAT), private subnets for upstreams (no internet route at all), VPC
 * endpoints so instances reach AWS APIs privately, NACLs as a subnet backstop and VPC flow
 * logs for every packet decision (CIS AWS Foundations 3.9).
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { isIpv6Cidr, isOpenCidr, parseIpv4Cidr, subnetTiers, vpcResolverCidr } from "./cidr";
import { dmzNaclRules, NaclRulePlan, overQuota, privateNaclRules } from "./nacl-rules";
import { DEFAULT_PROXY_PORTS, DEFAULT_UPSTREAM_PORTS, ProxyPorts } from "./ports";
import type { PackageMirrorEgress } from "./package-mirror";
import { tierTags } from "./tags";
import { keyPolicy } from "../secrets/key-policy";

/** seed: 10.40.0.0/16 leaves room for three /20 tiers in up to five AZs. */
export const DEFAULT_VPC_CIDR = "10.40.0.0/16";
/** One year of flow history (PCI DSS 10.5.1 keeps audit trails for at least a year). */
export const DEFAULT_FLOW_LOG_RETENTION_DAYS = 365;
/** A NAT gateway per AZ keeps the surviving AZ's egress working when one AZ fails. */
export const DEFAULT_NAT_PER_AZ = true;
/** Fail closed: no client CIDR reaches 443/8443 beyond the VPC unless the caller lists it. */
export const DEFAULT_TRAFFIC_CIDRS: readonly string[] = [];
/** No SSH path unless asked: Session Manager (through the ssm endpoints) is the way in. */
export const DEFAULT_MANAGEMENT_CIDRS: readonly string[] = [];
/** Interface endpoints instances need: Session Manager (ssm, ssmmessages, ec2messages), secrets, logs, KMS. */
export const INTERFACE_ENDPOINT_SERVICES = ["ssm", "ssmmessages", "ec2messages", "secretsmanager", "logs", "kms"] as const;
/** Flow records aggregated per minute instead of AWS's default ten: faster incident response. */
/** Golden images install nothing at boot: no mirror path. */
export const DEFAULT_DMZ_PACKAGE_MIRROR: readonly PackageMirrorEgress[] = [];
const FLOW_LOG_AGGREGATION_SECONDS = 60;
/** The smallest subnet AWS allows. */
const SMALLEST_SUBNET_PREFIX = 28;

export interface DmzNetworkArgs {
    /** Environment name, tagged as `apiproxy:environment`. */
    readonly environment: string;
    /** IPv4 VPC CIDR; subnets are carved tier-major (public, dmz, private). Default: "10.40.0.0/16" (DEFAULT_VPC_CIDR). */
    readonly cidr?: string;
    /** At least two availability zones, one subnet per tier in each. */
    readonly availabilityZones: readonly string[];
    /** Flow-log group retention in days. Default: 365 (DEFAULT_FLOW_LOG_RETENTION_DAYS). */
    readonly flowLogRetentionDays?: number;
    /** One NAT gateway per AZ instead of one in total. Default: true (DEFAULT_NAT_PER_AZ). */
    readonly natPerAz?: boolean;
    /** Client CIDRs the DMZ NACL admits on the https/mtls ports. Default: [] (DEFAULT_TRAFFIC_CIDRS). */
    readonly trafficCidrs?: readonly string[];
    /** CIDRs the DMZ NACL admits on port 22; never 0.0.0.0/0. Default: [] (DEFAULT_MANAGEMENT_CIDRS). */
    readonly managementCidrs?: readonly string[];
    /** Proxy ports. Default: { https: 443, mtls: 8443, health: 8081 } (DEFAULT_PROXY_PORTS). */
    readonly ports?: Partial<ProxyPorts>;
    /** Ports the upstreams listen on in the private subnets. Default: [8080] (DEFAULT_UPSTREAM_PORTS). */
    readonly upstreamPorts?: readonly number[];
    /** Key-store (Redis) port in the private subnets, opened from the DMZ; usually 6379 (DEFAULT_KEY_STORE_PORT). Default: undefined (no key-store). */
    readonly keyStorePort?: number;
    /** The package mirror stock hosts install from at first boot (packageMirrorEgress): the DMZ ACL lets it out. Default: [] (DEFAULT_DMZ_PACKAGE_MIRROR) */
    readonly packageMirror?: readonly PackageMirrorEgress[];
    /** Extra tags for every resource. */
    readonly tags?: Readonly<Record<string, string>>;
}

export class DmzNetwork extends pulumi.ComponentResource {
    public readonly vpcId: pulumi.Output<string>;
    public readonly vpcCidr: string;
    /** Amazon-provided DNS resolver (VPC base + 2) as a /32. */
    public readonly resolverCidr: string;
    public readonly availabilityZones: readonly string[];
    public readonly publicSubnetIds: pulumi.Output<string>[];
    public readonly dmzSubnetIds: pulumi.Output<string>[];
    public readonly privateSubnetIds: pulumi.Output<string>[];
    public readonly publicCidrs: readonly string[];
    public readonly dmzCidrs: readonly string[];
    public readonly privateCidrs: readonly string[];
    /** Security group of the interface endpoints (443 from the DMZ subnets only). */
    public readonly endpointSecurityGroupId: pulumi.Output<string>;
    /** Prefix list of the S3 gateway endpoint, for security-group egress rules. */
    public readonly s3PrefixListId: pulumi.Output<string>;
    public readonly flowLogId: pulumi.Output<string>;
    public readonly flowLogGroupName: pulumi.Output<string>;

    constructor(name: string, args: DmzNetworkArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("apiproxy:network:DmzNetwork", name, {}, opts);
        const cidr = args.cidr ?? DEFAULT_VPC_CIDR;
        const zones = [...args.availabilityZones];
        const retentionInDays = args.flowLogRetentionDays ?? DEFAULT_FLOW_LOG_RETENTION_DAYS;
        const natPerAz = args.natPerAz ?? DEFAULT_NAT_PER_AZ;
        const trafficCidrs = [...(args.trafficCidrs ?? DEFAULT_TRAFFIC_CIDRS)];
        const managementCidrs = [...(args.managementCidrs ?? DEFAULT_MANAGEMENT_CIDRS)];
        const ports: ProxyPorts = { ...DEFAULT_PROXY_PORTS, ...args.ports };
        const upstreamPorts = [...(args.upstreamPorts ?? DEFAULT_UPSTREAM_PORTS)];
        const privatePorts = args.keyStorePort === undefined ? upstreamPorts : [...upstreamPorts, args.keyStorePort];

        // ---- validation: before any child exists ----
        const parsed = parseIpv4Cidr(cidr);
        if (parsed === undefined) {
            throw new pulumi.ResourceError(`cidr must be an IPv4 network CIDR like ${DEFAULT_VPC_CIDR}, got "${cidr}"`, this);
        }
        if (zones.length < 2) {
            throw new pulumi.ResourceError(`availabilityZones must list at least 2 zones for an HA pair, got ${zones.length}`, this);
        }
        if (new Set(zones).size !== zones.length) {
            throw new pulumi.ResourceError(`availabilityZones lists a zone twice: ${zones.join(", ")}`, this);
        }
        const tiers = subnetTiers(cidr, zones.length);
        const newBits = tiers.newBits;
        if (parsed.prefix + newBits > SMALLEST_SUBNET_PREFIX) {
            throw new pulumi.ResourceError(`cidr ${cidr} is too small for 3 subnets in each of ${zones.length} zones`, this);
        }
        const openManagement = managementCidrs.find(isOpenCidr);
        if (openManagement !== undefined) {
            throw new pulumi.ResourceError(`managementCidrs must not contain ${openManagement}: SSH is never open to the internet`, this);
        }
        const dmzRulesCheck = (rules: NaclRulePlan[], argNames: string): NaclRulePlan[] => {
            const over = overQuota(rules);
            if (over !== undefined) {
                throw new pulumi.ResourceError(`${argNames}: the network ACL would need ${over.count} ${over.direction} rules (AWS default quota 20)`, this);
            }
            return rules;
        };

        const { public: publicCidrs, dmz: dmzCidrs, private: privateCidrs } = tiers;
        const dmzRules = dmzRulesCheck(dmzNaclRules({ vpcCidr: cidr, trafficCidrs, managementCidrs, privateCidrs, ports, upstreamPorts: privatePorts, packageMirror: args.packageMirror ?? DEFAULT_DMZ_PACKAGE_MIRROR }), "trafficCidrs/managementCidrs");
        const privateRules = dmzRulesCheck(privateNaclRules({ dmzCidrs, upstreamPorts: privatePorts }), "upstreamPorts");

        const parent = { parent: this };
        const tags = (role: "network" | "nlb" | "proxy" | "upstream", extra: Record<string, string> = {}) =>
            tierTags(args.environment, role, args.tags, extra);
        const region = aws.getRegionOutput({}, parent).region;

        // ---- VPC ----
        const vpc = new aws.ec2.Vpc(`${name}-vpc`, {
            cidrBlock: cidr,
            enableDnsSupport: true,   // required by interface endpoints' private DNS
            enableDnsHostnames: true,
            tags: tags("network", { Name: `${name}-vpc` }),
        }, parent);
        // CIS AWS Foundations 5.4: the default security group allows nothing.
        new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, {
            vpcId: vpc.id,
            tags: tags("network", { Name: `${name}-default-deny` }),
        }, parent);

        const subnet = (kind: "public" | "dmz" | "private", cidrs: string[], role: "nlb" | "proxy" | "upstream") =>
            zones.map((zone, i) => new aws.ec2.Subnet(`${name}-${kind}-${i}`, {
                vpcId: vpc.id,
                availabilityZone: zone,
                cidrBlock: cidrs[i],
                // No subnet hands out public IPs: the NLB gets its own, instances never do.
                mapPublicIpOnLaunch: false,
                tags: tags(role, { Name: `${name}-${kind}-${zone}`, "apiproxy:subnet-tier": kind }),
            }, parent));
        const publicSubnets = subnet("public", publicCidrs, "nlb");
        const dmzSubnets = subnet("dmz", dmzCidrs, "proxy");
        const privateSubnets = subnet("private", privateCidrs, "upstream");

        // ---- routing: public -> IGW, DMZ -> NAT, private -> nowhere ----
        const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tags("network") }, parent);
        const publicRoutes = new aws.ec2.RouteTable(`${name}-public-rt`, { vpcId: vpc.id, tags: tags("network") }, parent);
        new aws.ec2.Route(`${name}-public-default`, {
            routeTableId: publicRoutes.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id,
        }, parent);
        publicSubnets.forEach((s, i) => new aws.ec2.RouteTableAssociation(`${name}-public-rta-${i}`, {
            subnetId: s.id, routeTableId: publicRoutes.id,
        }, parent));

        const natZones = natPerAz ? zones.map((_, i) => i) : [0];
        const natGateways = natZones.map((i) => {
            const eip = new aws.ec2.Eip(`${name}-nat-eip-${i}`, { domain: "vpc", tags: tags("network") }, { parent: this, dependsOn: [igw] });
            return new aws.ec2.NatGateway(`${name}-nat-${i}`, {
                allocationId: eip.id, subnetId: publicSubnets[i]!.id, tags: tags("network"),
            }, parent);
        });
        const dmzRouteTables = dmzSubnets.map((s, i) => {
            const table = new aws.ec2.RouteTable(`${name}-dmz-rt-${i}`, { vpcId: vpc.id, tags: tags("network") }, parent);
            new aws.ec2.Route(`${name}-dmz-default-${i}`, {
                routeTableId: table.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: natGateways[natPerAz ? i : 0]!.id,
            }, parent);
            new aws.ec2.RouteTableAssociation(`${name}-dmz-rta-${i}`, { subnetId: s.id, routeTableId: table.id }, parent);
            return table;
        });
        // Upstreams have no route out of the VPC: data can only leave through the proxies.
        const privateRoutes = new aws.ec2.RouteTable(`${name}-private-rt`, { vpcId: vpc.id, tags: tags("network") }, parent);
        privateSubnets.forEach((s, i) => new aws.ec2.RouteTableAssociation(`${name}-private-rta-${i}`, {
            subnetId: s.id, routeTableId: privateRoutes.id,
        }, parent));

        // ---- VPC endpoints: AWS APIs without the internet ----
        const endpointSg = new aws.ec2.SecurityGroup(`${name}-endpoints-sg`, {
            vpcId: vpc.id,
            description: "VPC interface endpoints: 443 from the DMZ subnets only",
            tags: tags("network"),
        }, parent);
        dmzCidrs.forEach((dmzCidr, i) => new aws.vpc.SecurityGroupIngressRule(`${name}-endpoints-in-${i}`, {
            securityGroupId: endpointSg.id,
            description: `https to AWS APIs from DMZ subnet ${zones[i]}`,
            ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: dmzCidr,
            tags: tags("network"),
        }, parent));
        for (const service of INTERFACE_ENDPOINT_SERVICES) {
            new aws.ec2.VpcEndpoint(`${name}-${service}-endpoint`, {
                vpcId: vpc.id,
                vpcEndpointType: "Interface",
                serviceName: pulumi.interpolate`com.amazonaws.${region}.${service}`,
                privateDnsEnabled: true,
                subnetIds: dmzSubnets.map((s) => s.id),
                securityGroupIds: [endpointSg.id],
                tags: tags("network"),
            }, parent);
        }
        const s3Endpoint = new aws.ec2.VpcEndpoint(`${name}-s3-endpoint`, {
            vpcId: vpc.id,
            vpcEndpointType: "Gateway",
            serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
            routeTableIds: dmzRouteTables.map((t) => t.id),
            tags: tags("network"),
        }, parent);

        // ---- network ACLs ----
        const nacl = (kind: "dmz" | "private", subnets: aws.ec2.Subnet[], rules: NaclRulePlan[], role: "proxy" | "upstream") => {
            const acl = new aws.ec2.NetworkAcl(`${name}-${kind}-nacl`, {
                vpcId: vpc.id, subnetIds: subnets.map((s) => s.id), tags: tags(role),
            }, parent);
            for (const rule of rules) {
                new aws.ec2.NetworkAclRule(`${name}-${kind}-nacl-${rule.egress ? "out" : "in"}-${rule.ruleNumber}`, {
                    networkAclId: acl.id,
                    ruleNumber: rule.ruleNumber,
                    egress: rule.egress,
                    protocol: rule.protocol,
                    ruleAction: "allow",
                    ...(isIpv6Cidr(rule.cidr) ? { ipv6CidrBlock: rule.cidr } : { cidrBlock: rule.cidr }),
                    fromPort: rule.fromPort,
                    toPort: rule.toPort,
                }, parent);
            }
            return acl;
        };
        nacl("dmz", dmzSubnets, dmzRules, "proxy");
        nacl("private", privateSubnets, privateRules, "upstream");

        // ---- flow logs: ALL traffic, to a KMS-encrypted log group ----
        const identity = aws.getCallerIdentityOutput({}, parent);
        const partition = aws.getPartitionOutput({}, parent).partition;
        const flowKey = new aws.kms.Key(`${name}-flow-logs-key`, {
            description: `apiproxy ${args.environment}: VPC flow logs`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            policy: pulumi.all([identity.accountId, region, partition]).apply(([accountId, regionName, partitionName]) =>
                JSON.stringify(keyPolicy({ accountId, region: regionName, partition: partitionName }, { allowCloudWatchLogs: true }))),
            tags: tags("network"),
        }, parent);
        const flowLogGroup = new aws.cloudwatch.LogGroup(`${name}-flow-logs`, {
            name: `/apiproxy/${args.environment}/${name}/vpc-flow-logs`,
            retentionInDays,
            kmsKeyId: flowKey.arn,
            tags: tags("network"),
        }, parent);
        const flowRole = new aws.iam.Role(`${name}-flow-logs-role`, {
            description: "VPC flow logs delivery to one log group",
            assumeRolePolicy: pulumi.all([identity.accountId, region, partition]).apply(([accountId, regionName, partitionName]) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [{
                    Effect: "Allow",
                    Principal: { Service: "vpc-flow-logs.amazonaws.com" },
                    Action: "sts:AssumeRole",
                    // Confused-deputy guard: only this account's flow logs may assume the role.
                    Condition: {
                        StringEquals: { "aws:SourceAccount": accountId },
                        ArnLike: { "aws:SourceArn": `arn:${partitionName}:ec2:${regionName}:${accountId}:vpc-flow-log/*` },
                    },
                }],
            })),
            tags: tags("network"),
        }, parent);
        new aws.iam.RolePolicy(`${name}-flow-logs-policy`, {
            role: flowRole.id,
            policy: flowLogGroup.arn.apply((arn) => JSON.stringify({
                Version: "2012-10-17",
                Statement: [{
                    Effect: "Allow",
                    Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    Resource: [arn, `${arn}:*`],
                }],
            })),
        }, parent);
        const flowLog = new aws.ec2.FlowLog(`${name}-flow-log`, {
            vpcId: vpc.id,
            trafficType: "ALL",
            logDestinationType: "cloud-watch-logs",
            logDestination: flowLogGroup.arn,
            iamRoleArn: flowRole.arn,
            maxAggregationInterval: FLOW_LOG_AGGREGATION_SECONDS,
            tags: tags("network"),
        }, parent);

        this.vpcId = vpc.id;
        this.vpcCidr = cidr;
        this.resolverCidr = vpcResolverCidr(cidr);
        this.availabilityZones = zones;
        this.publicSubnetIds = publicSubnets.map((s) => s.id);
        this.dmzSubnetIds = dmzSubnets.map((s) => s.id);
        this.privateSubnetIds = privateSubnets.map((s) => s.id);
        this.publicCidrs = publicCidrs;
        this.dmzCidrs = dmzCidrs;
        this.privateCidrs = privateCidrs;
        this.endpointSecurityGroupId = endpointSg.id;
        this.s3PrefixListId = s3Endpoint.prefixListId;
        this.flowLogId = flowLog.id;
        this.flowLogGroupName = flowLogGroup.name;
        this.registerOutputs({
            vpcId: this.vpcId, vpcCidr: cidr, availabilityZones: zones,
            publicSubnetIds: this.publicSubnetIds, dmzSubnetIds: this.dmzSubnetIds, privateSubnetIds: this.privateSubnetIds,
            publicCidrs, dmzCidrs, privateCidrs,
            endpointSecurityGroupId: this.endpointSecurityGroupId, s3PrefixListId: this.s3PrefixListId,
            flowLogId: this.flowLogId, flowLogGroupName: this.flowLogGroupName,
        });
    }
}
