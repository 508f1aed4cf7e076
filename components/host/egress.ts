/**
 * The egress allow-list both firewall renderers enforce, derived once from the spec so
 * nftables and firewalld cannot drift apart.
 */
import { parseCidr } from "./common";
import type { HostSpec } from "./types";

/** Default for HostSpec.dnsResolvers: none beyond those the stack names explicitly. */
export const DEFAULT_DNS_RESOLVERS: readonly string[] = [];
/** AWS VPC (Route 53) resolver, reachable from every VPC at this link-local address. */
export const AWS_VPC_RESOLVER = "169.254.169.253";
/** AWS instance metadata service: instance-role credentials for the certificate fetch. */
export const AWS_IMDS_ADDRESS = "169.254.169.254";
/** Amazon Time Sync Service: TLS and log timestamps need a correct clock. */
export const AWS_TIME_SYNC_ADDRESS = "169.254.169.123";

export interface EgressRule {
    readonly family: 4 | 6;
    readonly cidr: string;
    readonly port: number;
    readonly protocol: "tcp" | "udp";
    /** Only this uid may use the rule (IMDS: root only, so an SSRF in the proxy cannot fetch role credentials). */
    readonly uid?: number;
    readonly control: string;
}

export function egressRules(spec: HostSpec): EgressRule[] {
    const rules: EgressRule[] = [];
    const add = (cidr: string, port: number, protocol: "tcp" | "udp", control: string, uid?: number) => {
        const family = parseCidr(cidr, "egress").family;
        rules.push(uid === undefined ? { family, cidr, port, protocol, control } : { family, cidr, port, protocol, control, uid });
    };
    spec.upstreamEndpoints.forEach((endpoint) =>
        add(endpoint.cidr, endpoint.port, "tcp", "NIST SP 800-53 SC-7(5): proxy may reach only declared upstreams"));
    spec.extraEgress.forEach((egress) =>
        add(egress.cidr, egress.port, egress.protocol, "NIST SP 800-53 SC-7(5): declared extra egress (resolver, VPC endpoint, key service)"));
    const resolvers = [...(spec.dnsResolvers ?? DEFAULT_DNS_RESOLVERS), ...(spec.aws ? [AWS_VPC_RESOLVER] : [])];
    for (const resolver of new Set(resolvers)) {
        add(resolver, 53, "udp", "NIST SP 800-53 SC-7(5): DNS only to declared resolvers");
        add(resolver, 53, "tcp", "NIST SP 800-53 SC-7(5): DNS over TCP (large answers) only to declared resolvers");
    }
    if (spec.aws) {
        add(AWS_IMDS_ADDRESS, 80, "tcp", "NIST SP 800-53 AC-6: instance metadata (role credentials) for root only, never the proxy user (SSRF)", 0);
        add(AWS_TIME_SYNC_ADDRESS, 123, "udp", "NIST SP 800-53 AU-8: time sync for TLS validity and log timestamps");
    }
    return rules;
}
