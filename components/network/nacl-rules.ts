/**
 * Network ACL rule plans for the DMZ and private subnets (pure). NACLs are stateless, so
 * every allowed flow needs its return path spelled out; security groups do the fine-grained
 * filtering, NACLs are the subnet-level backstop (CIS AWS Foundations 5.1, defence in depth).
 */
import { EPHEMERAL_PORTS, ProxyPorts } from "./ports";

export interface NaclRulePlan {
    readonly ruleNumber: number;
    readonly egress: boolean;
    readonly protocol: "tcp" | "udp";
    readonly cidr: string;
    readonly fromPort: number;
    readonly toPort: number;
    /** Why the rule exists (kept for review output; NACL rules carry no description). */
    readonly purpose: string;
}

/** AWS's default quota of rules per direction per NACL. */
export const NACL_RULES_PER_DIRECTION_QUOTA = 20;
/** First rule number and step: gaps leave room for manual emergency denies. */
const FIRST_RULE = 100;
const RULE_STEP = 10;

type Draft = Omit<NaclRulePlan, "ruleNumber">;

function numbered(drafts: readonly Draft[]): NaclRulePlan[] {
    const counters = { ingress: FIRST_RULE, egress: FIRST_RULE };
    return drafts.map((draft) => {
        const direction = draft.egress ? "egress" : "ingress";
        const ruleNumber = counters[direction];
        counters[direction] += RULE_STEP;
        return { ...draft, ruleNumber };
    });
}

const ANYWHERE = "0.0.0.0/0";
const tcp = (egress: boolean, cidr: string, fromPort: number, toPort: number, purpose: string): Draft =>
    ({ egress, protocol: "tcp", cidr, fromPort, toPort, purpose });
const udp = (egress: boolean, cidr: string, fromPort: number, toPort: number, purpose: string): Draft =>
    ({ egress, protocol: "udp", cidr, fromPort, toPort, purpose });

export interface DmzNaclInput {
    readonly vpcCidr: string;
    readonly trafficCidrs: readonly string[];
    readonly managementCidrs: readonly string[];
    readonly privateCidrs: readonly string[];
    readonly ports: ProxyPorts;
    readonly upstreamPorts: readonly number[];
    /** Where stock hosts install packages from at first boot (packageMirrorEgress). */
    readonly packageMirror?: readonly { readonly cidr: string; readonly port: number }[];
}

/** DMZ subnets: the proxies. */
export function dmzNaclRules(input: DmzNaclInput): NaclRulePlan[] {
    const { vpcCidr, ports } = input;
    const external = input.trafficCidrs.filter((c) => c !== vpcCidr);
    const { from, to } = EPHEMERAL_PORTS;
    return numbered([
        tcp(false, vpcCidr, ports.https, ports.https, "https from the NLB inside the VPC"),
        tcp(false, vpcCidr, ports.mtls, ports.mtls, "mtls from the NLB inside the VPC"),
        tcp(false, vpcCidr, ports.health, ports.health, "NLB health checks"),
        ...external.flatMap((cidr) => [
            tcp(false, cidr, ports.https, ports.https, "https from allowed clients (NLB preserves client IPs)"),
            tcp(false, cidr, ports.mtls, ports.mtls, "mtls from allowed clients (NLB preserves client IPs)"),
        ]),
        ...input.managementCidrs.map((cidr) => tcp(false, cidr, 22, 22, "ssh from management networks")),
        tcp(false, ANYWHERE, from, to, "return traffic of the proxies' own connections"),
        udp(false, vpcCidr, from, to, "DNS answers from the VPC resolver"),
        tcp(true, ANYWHERE, from, to, "replies to clients, NLB and management sessions"),
        tcp(true, ANYWHERE, 443, 443, "https to VPC endpoints and through NAT"),
        // Image Builder bakes in a DMZ subnet and Ubuntu's EC2 mirrors serve signed indexes over
        // http; the proxies' security group allows no port 80, so only the build instance uses it.
        tcp(true, ANYWHERE, 80, 80, "apt mirrors through NAT during image builds"),
        ...input.upstreamPorts.flatMap((port) => input.privateCidrs.map((cidr) => tcp(true, cidr, port, port, "to upstreams"))),
        ...(input.packageMirror ?? []).map((m) => tcp(true, m.cidr, m.port, m.port, "apt mirror: stock hosts install packages at first boot")),
        udp(true, vpcCidr, 53, 53, "DNS to the VPC resolver"),
        tcp(true, vpcCidr, 53, 53, "DNS (large answers) to the VPC resolver"),
    ]);
}

export interface PrivateNaclInput {
    readonly dmzCidrs: readonly string[];
    readonly upstreamPorts: readonly number[];
}

/** Private subnets: upstreams, reachable only from the DMZ. */
export function privateNaclRules(input: PrivateNaclInput): NaclRulePlan[] {
    const { from, to } = EPHEMERAL_PORTS;
    return numbered([
        ...input.upstreamPorts.flatMap((port) => input.dmzCidrs.map((cidr) => tcp(false, cidr, port, port, "from the proxies"))),
        ...input.dmzCidrs.map((cidr) => tcp(false, cidr, from, to, "return traffic from the DMZ")),
        ...input.dmzCidrs.map((cidr) => tcp(true, cidr, from, to, "replies to the proxies")),
    ]);
}

/** Direction whose rule count exceeds the quota, if any. */
export function overQuota(rules: readonly NaclRulePlan[]): { direction: "inbound" | "outbound"; count: number } | undefined {
    const inbound = rules.filter((r) => !r.egress).length;
    const outbound = rules.length - inbound;
    if (inbound > NACL_RULES_PER_DIRECTION_QUOTA) {
        return { direction: "inbound", count: inbound };
    }
    return outbound > NACL_RULES_PER_DIRECTION_QUOTA ? { direction: "outbound", count: outbound } : undefined;
}
