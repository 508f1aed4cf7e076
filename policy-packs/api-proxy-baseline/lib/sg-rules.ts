/**
 * One shape for the three ways a security group rule can be written: inline `ingress`/`egress`
 * on aws:ec2/securityGroup, the standalone aws:vpc/securityGroupIngressRule (one source each),
 * and the legacy aws:ec2/securityGroupRule (type ingress/egress, CIDR lists).
 */
import { TYPES, asArray, asBoolean, asNumber, asRecord, asString, known, type Props } from "./resource";

export interface NormalizedRule {
    /** "tcp", "udp", "icmp", "all", ... (numbers mapped to names). */
    readonly protocol: string;
    readonly fromPort: number | undefined;
    readonly toPort: number | undefined;
    /** Known CIDR sources (IPv4 and IPv6). */
    readonly cidrs: readonly string[];
    /** Non-CIDR sources: security group ids, prefix lists, self. */
    readonly otherSources: readonly string[];
    /** For messages: "ingress[0]" or the rule resource itself. */
    readonly where: string;
}

function protocolName(value: unknown): string {
    const text = String(value ?? "").toLowerCase();
    switch (text) {
        case "-1":
        case "all":
            return "all";
        case "6":
            return "tcp";
        case "17":
            return "udp";
        case "1":
            return "icmp";
        default:
            return text;
    }
}

function strings(value: unknown): string[] {
    const list = known(() => asArray(value)) ?? [];
    const out: string[] = [];
    for (let i = 0; i < list.length; i++) {
        const v = known(() => list[i]);
        if (typeof v === "string") {
            out.push(v);
        }
    }
    return out;
}

function single(value: () => unknown): string[] {
    const v = known(value);
    return typeof v === "string" && v.length > 0 ? [v] : [];
}

/** Inline rules of a SecurityGroup (`ingress` or `egress`). */
function inlineRules(props: Props, direction: "ingress" | "egress"): NormalizedRule[] {
    const list = known(() => asArray(props[direction])) ?? [];
    const rules: NormalizedRule[] = [];
    for (let i = 0; i < list.length; i++) {
        const rule = known(() => asRecord(list[i]));
        if (!rule) {
            continue;
        }
        const other = [
            ...strings(rule.securityGroups).map((g) => `security group ${g}`),
            ...strings(rule.prefixListIds).map((p) => `prefix list ${p}`),
            ...(known(() => asBoolean(rule.self)) ? ["self"] : []),
        ];
        rules.push({
            protocol: protocolName(known(() => rule.protocol)),
            fromPort: known(() => asNumber(rule.fromPort)),
            toPort: known(() => asNumber(rule.toPort)),
            cidrs: [...strings(rule.cidrBlocks), ...strings(rule.ipv6CidrBlocks)],
            otherSources: other,
            where: `${direction}[${i}]`,
        });
    }
    return rules;
}

/** The ingress rules a resource declares, whatever its type. */
export function ingressRulesOf(type: string, props: Props): NormalizedRule[] {
    switch (type) {
        case TYPES.securityGroup:
            return inlineRules(props, "ingress");
        case TYPES.ingressRule:
            return [{
                protocol: protocolName(known(() => props.ipProtocol)),
                fromPort: known(() => asNumber(props.fromPort)),
                toPort: known(() => asNumber(props.toPort)),
                cidrs: [...single(() => props.cidrIpv4), ...single(() => props.cidrIpv6)],
                otherSources: [
                    ...single(() => props.referencedSecurityGroupId).map((g) => `security group ${g}`),
                    ...single(() => props.prefixListId).map((p) => `prefix list ${p}`),
                ],
                where: "rule",
            }];
        case TYPES.legacyRule: {
            if (known(() => asString(props.type)) !== "ingress") {
                return [];
            }
            return [{
                protocol: protocolName(known(() => props.protocol)),
                fromPort: known(() => asNumber(props.fromPort)),
                toPort: known(() => asNumber(props.toPort)),
                cidrs: [...strings(props.cidrBlocks), ...strings(props.ipv6CidrBlocks)],
                otherSources: [
                    ...single(() => props.sourceSecurityGroupId).map((g) => `security group ${g}`),
                    ...strings(props.prefixListIds).map((p) => `prefix list ${p}`),
                    ...(known(() => asBoolean(props.self)) ? ["self"] : []),
                ],
                where: "rule",
            }];
        }
        default:
            return [];
    }
}

export const INGRESS_CARRIER_TYPES: readonly string[] = [TYPES.securityGroup, TYPES.ingressRule, TYPES.legacyRule];

/** True when the rule lets `port` through (all-protocol rules cover every port). */
export function coversPort(rule: NormalizedRule, port: number): boolean {
    if (rule.protocol === "all") {
        return true;
    }
    if (rule.protocol !== "tcp" && rule.protocol !== "udp") {
        return false;
    }
    const from = rule.fromPort ?? 0;
    const to = rule.toPort ?? 65535;
    // fromPort/toPort 0 on tcp means "every port" in the legacy APIs.
    if (from === 0 && to === 0) {
        return true;
    }
    return from <= port && port <= to;
}

export function portText(rule: NormalizedRule): string {
    if (rule.protocol === "all") {
        return "all protocols and ports";
    }
    if (rule.fromPort === rule.toPort) {
        return `${rule.protocol}/${rule.fromPort ?? "?"}`;
    }
    return `${rule.protocol}/${rule.fromPort ?? "?"}-${rule.toPort ?? "?"}`;
}
