/**
 * Security groups of the proxy tier: the proxies accept only their listeners, health checks
 * from the NLB subnets and SSH from management networks, and may only talk to the upstreams,
 * AWS endpoints, the VPC resolver and (optionally) the key-store. Upstreams accept only the
 * proxies. Rules are standalone resources with descriptions (no inline rules), so each one
 * is reviewable and the policy pack can check it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { isIpv6Cidr, isOpenCidr, parseIpv4Cidr, vpcResolverCidr } from "./cidr";
import { DEFAULT_KEY_STORE_PORT, DEFAULT_PROXY_PORTS, DEFAULT_UPSTREAM_PORTS, ProxyPorts } from "./ports";
import type { PackageMirrorEgress } from "./package-mirror";
import { tierTags } from "./tags";

/** No package mirror unless the hosts install at boot: golden images carry their packages. */
export const DEFAULT_PACKAGE_MIRROR_EGRESS: readonly PackageMirrorEgress[] = [];
/** No SSH path unless asked: Session Manager is the way in. */
export const DEFAULT_SG_MANAGEMENT_CIDRS: readonly string[] = [];

export interface KeyStoreAccess {
    /** Key-store port. Default: 6379 (DEFAULT_KEY_STORE_PORT). */
    readonly port?: number;
    /** Key-store security group (preferred). */
    readonly securityGroupId?: pulumi.Input<string>;
    /** Or key-store CIDRs. */
    readonly cidrs?: readonly string[];
}

export interface ProxySecurityGroupsArgs {
    /** Environment name, tagged as `apiproxy:environment`. */
    readonly environment: string;
    readonly vpcId: pulumi.Input<string>;
    /** VPC CIDR; the resolver (base + 2) is derived from it. */
    readonly vpcCidr: string;
    /** Clients allowed on https/mtls (NLB preserves client IPs); 0.0.0.0/0 is accepted here only. */
    readonly trafficCidrs: readonly string[];
    /** NLB (public) subnet CIDRs: the only sources of health checks. */
    readonly healthCheckCidrs: readonly string[];
    /** Sources allowed on port 22; never 0.0.0.0/0 or ::/0. Default: [] (DEFAULT_SG_MANAGEMENT_CIDRS). */
    readonly managementCidrs?: readonly string[];
    /** Proxy ports. Default: { https: 443, mtls: 8443, health: 8081 } (DEFAULT_PROXY_PORTS). */
    readonly ports?: Partial<ProxyPorts>;
    /** Ports the upstreams listen on. Default: [8080] (DEFAULT_UPSTREAM_PORTS). */
    readonly upstreamPorts?: readonly number[];
    /** Security group of the VPC interface endpoints (DmzNetwork.endpointSecurityGroupId). */
    readonly endpointSecurityGroupId: pulumi.Input<string>;
    /** Prefix lists reachable on 443 (e.g. DmzNetwork.s3PrefixListId). Default: []. */
    readonly httpsPrefixListIds?: readonly pulumi.Input<string>[];
    /** The package mirror stock hosts install from at first boot (packageMirrorEgress). Default: [] (DEFAULT_PACKAGE_MIRROR_EGRESS) */
    readonly packageMirror?: readonly PackageMirrorEgress[];
    /** Key-store egress; undefined = none. Default: undefined. */
    readonly keyStore?: KeyStoreAccess;
    /** Extra tags for every resource. */
    readonly tags?: Readonly<Record<string, string>>;
}

export class ProxySecurityGroups extends pulumi.ComponentResource {
    public readonly proxySecurityGroupId: pulumi.Output<string>;
    public readonly upstreamSecurityGroupId: pulumi.Output<string>;

    constructor(name: string, args: ProxySecurityGroupsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("apiproxy:network:ProxySecurityGroups", name, {}, opts);
        const ports: ProxyPorts = { ...DEFAULT_PROXY_PORTS, ...args.ports };
        const managementCidrs = args.managementCidrs ?? DEFAULT_SG_MANAGEMENT_CIDRS;
        const upstreamPorts = args.upstreamPorts ?? DEFAULT_UPSTREAM_PORTS;

        // ---- validation: before any child exists ----
        const openManagement = managementCidrs.find(isOpenCidr);
        if (openManagement !== undefined) {
            throw new pulumi.ResourceError(`managementCidrs must not contain ${openManagement}: SSH is never open to the internet`, this);
        }
        const openHealth = args.healthCheckCidrs.find(isOpenCidr);
        if (openHealth !== undefined || args.healthCheckCidrs.length === 0) {
            throw new pulumi.ResourceError("healthCheckCidrs must list the NLB subnet CIDRs (not empty, not /0)", this);
        }
        if (parseIpv4Cidr(args.vpcCidr) === undefined) {
            throw new pulumi.ResourceError(`vpcCidr must be an IPv4 network CIDR, got "${args.vpcCidr}"`, this);
        }
        if (upstreamPorts.length === 0) {
            throw new pulumi.ResourceError("upstreamPorts must list at least one port", this);
        }
        if (args.keyStore !== undefined && args.keyStore.securityGroupId === undefined && (args.keyStore.cidrs ?? []).length === 0) {
            throw new pulumi.ResourceError("keyStore needs a securityGroupId or cidrs", this);
        }
        if ((args.keyStore?.cidrs ?? []).some(isOpenCidr)) {
            throw new pulumi.ResourceError("keyStore.cidrs must not be /0", this);
        }
        const packageMirror = args.packageMirror ?? DEFAULT_PACKAGE_MIRROR_EGRESS;
        if (packageMirror.some((m) => isOpenCidr(m.cidr))) {
            throw new pulumi.ResourceError("packageMirror: a mirror is one network, never /0", this);
        }

        const parent = { parent: this };
        const proxyTags = tierTags(args.environment, "proxy", args.tags);
        const upstreamTags = tierTags(args.environment, "upstream", args.tags);

        const proxySg = new aws.ec2.SecurityGroup(`${name}-proxy`, {
            vpcId: args.vpcId,
            description: "API proxies: listeners, NLB health checks, management SSH",
            tags: { ...proxyTags, Name: `${name}-proxy` },
        }, parent);
        const upstreamSg = new aws.ec2.SecurityGroup(`${name}-upstream`, {
            vpcId: args.vpcId,
            description: "Upstreams: reachable from the API proxies only",
            tags: { ...upstreamTags, Name: `${name}-upstream` },
        }, parent);

        const source = (cidr: string) => (isIpv6Cidr(cidr) ? { cidrIpv6: cidr } : { cidrIpv4: cidr });
        const ingress = (id: string, description: string, port: number, from: Omit<aws.vpc.SecurityGroupIngressRuleArgs, "securityGroupId" | "ipProtocol">, sg = proxySg, tags = proxyTags) =>
            new aws.vpc.SecurityGroupIngressRule(`${name}-${id}`, {
                securityGroupId: sg.id, description, ipProtocol: "tcp", fromPort: port, toPort: port, ...from, tags,
            }, parent);
        const egress = (id: string, description: string, protocol: "tcp" | "udp", port: number, to: Omit<aws.vpc.SecurityGroupEgressRuleArgs, "securityGroupId" | "ipProtocol">) =>
            new aws.vpc.SecurityGroupEgressRule(`${name}-${id}`, {
                securityGroupId: proxySg.id, description, ipProtocol: protocol, fromPort: port, toPort: port, ...to, tags: proxyTags,
            }, parent);

        // ---- proxy ingress ----
        args.trafficCidrs.forEach((cidr, i) => {
            ingress(`proxy-in-https-${i}`, `https from clients ${cidr} (NLB preserves client IPs)`, ports.https, source(cidr));
            ingress(`proxy-in-mtls-${i}`, `mtls from clients ${cidr} (NLB preserves client IPs)`, ports.mtls, source(cidr));
        });
        args.healthCheckCidrs.forEach((cidr, i) =>
            ingress(`proxy-in-health-${i}`, `NLB health checks from public subnet ${cidr}`, ports.health, source(cidr)));
        managementCidrs.forEach((cidr, i) =>
            ingress(`proxy-in-ssh-${i}`, `ssh from management network ${cidr}`, 22, source(cidr)));

        // ---- proxy egress ----
        upstreamPorts.forEach((port) =>
            egress(`proxy-out-upstream-${port}`, `to upstreams on ${port}`, "tcp", port, { referencedSecurityGroupId: upstreamSg.id }));
        egress("proxy-out-endpoints", "https to VPC interface endpoints (SSM, Secrets Manager, KMS, logs)", "tcp", 443,
            { referencedSecurityGroupId: args.endpointSecurityGroupId });
        (args.httpsPrefixListIds ?? []).forEach((prefixListId, i) =>
            egress(`proxy-out-prefix-list-${i}`, "https to AWS service prefix list (S3 gateway endpoint)", "tcp", 443, { prefixListId }));
        const resolver = vpcResolverCidr(args.vpcCidr);
        egress("proxy-out-dns-udp", `DNS to the VPC resolver ${resolver}`, "udp", 53, { cidrIpv4: resolver });
        egress("proxy-out-dns-tcp", `DNS (large answers) to the VPC resolver ${resolver}`, "tcp", 53, { cidrIpv4: resolver });
        if (args.keyStore !== undefined) {
            const port = args.keyStore.port ?? DEFAULT_KEY_STORE_PORT;
            if (args.keyStore.securityGroupId !== undefined) {
                egress("proxy-out-key-store-sg", `key-store on ${port}`, "tcp", port, { referencedSecurityGroupId: args.keyStore.securityGroupId });
            }
            (args.keyStore.cidrs ?? []).forEach((cidr, i) =>
                egress(`proxy-out-key-store-${i}`, `key-store ${cidr} on ${port}`, "tcp", port, source(cidr)));
        }

        packageMirror.forEach((mirror, i) =>
            egress(`proxy-out-package-mirror-${i}`, `apt mirror ${mirror.cidr} on ${mirror.port} (stock image: packages installed at first boot)`, "tcp", mirror.port, source(mirror.cidr)));

        // ---- upstream ingress: the proxy security group only ----
        upstreamPorts.forEach((port) =>
            ingress(`upstream-in-${port}`, `from the API proxies on ${port}`, port, { referencedSecurityGroupId: proxySg.id }, upstreamSg, upstreamTags));

        this.proxySecurityGroupId = proxySg.id;
        this.upstreamSecurityGroupId = upstreamSg.id;
        this.registerOutputs({ proxySecurityGroupId: this.proxySecurityGroupId, upstreamSecurityGroupId: this.upstreamSecurityGroupId });
    }
}
