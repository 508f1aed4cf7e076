/**
 * What the tier may send, and what its subnets let through: security-group egress of the
 * groups tier instances run in, and the subnets' network ACL rules.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { isAnywhere } from "../lib/cidr";
import { TYPES, asArray, asNumber, asRecord, asString, forTypes, identifiersOf, known, ofType, refersTo, roleOf } from "../lib/resource";

const EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule";
const TIER_ROLES = ["proxy", "upstream"];

function protocolOf(value: unknown): string {
    const text = String(value ?? "").toLowerCase();
    return text === "-1" || text === "all" ? "all" : text === "6" ? "tcp" : text === "17" ? "udp" : text;
}

/** True when a launch template's network interfaces (`networkInterfaces[].securityGroups`) name the group. */
function interfacesReferTo(template: PolicyResource, group: PolicyResource): boolean {
    if (template.propertyDependencies?.networkInterfaces?.some((d) => d.urn === group.urn)) {
        return true;
    }
    const ids = identifiersOf(group);
    const interfaces = known(() => asArray(template.props.networkInterfaces)) ?? [];
    // A group id still unknown (preview) gives no match here; the dependency above covers it.
    return interfaces.some((ni) => known(() => asArray(asRecord(ni)?.securityGroups).some((id) => typeof id === "string" && ids.includes(id))) === true);
}

/** The security groups tier instances (proxy, upstream) run in: an instance's or launch
 *  template's own list, or a template's network interfaces (a template that sets interfaces
 *  must name its groups there). */
function tierInstanceGroups(resources: readonly PolicyResource[]): PolicyResource[] {
    const instances = ofType(resources, TYPES.instance, TYPES.launchTemplate).filter((i) => TIER_ROLES.includes(roleOf(i.props) ?? ""));
    return ofType(resources, TYPES.securityGroup).filter((group) =>
        instances.some((i) => refersTo(i, "vpcSecurityGroupIds", group) || refersTo(i, "securityGroupIds", group) || interfacesReferTo(i, group)));
}

export const sgEgressLeastPrivilege: StackValidationPolicy = {
    name: "sg-egress-least-privilege",
    description: "Checks that the security groups proxy and upstream instances run in send only what the tier needs: no egress rule for all protocols, and none to 0.0.0.0/0 or ::/0 (upstreams, the key service, DNS, VPC endpoints are named destinations).",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const group of tierInstanceGroups(args.resources)) {
            const inline = known(() => asArray(group.props.egress)) ?? [];
            inline.forEach((rule, i) => {
                const r = rule as Record<string, unknown>;
                const cidrs = [...(known(() => asArray(r.cidrBlocks)) ?? []), ...(known(() => asArray(r.ipv6CidrBlocks)) ?? [])].map(String);
                if (protocolOf(r.protocol) === "all") reportViolation(`Security group ${group.name} egress[${i}] allows all protocols; name the protocol and ports.`, group.urn);
                for (const cidr of cidrs.filter(isAnywhere)) reportViolation(`Security group ${group.name} egress[${i}] sends to ${cidr}; tier instances send only to named destinations.`, group.urn);
            });
            for (const rule of ofType(args.resources, EGRESS_RULE).filter((r) => refersTo(r, "securityGroupId", group))) {
                const destination = known(() => asString(rule.props.cidrIpv4) ?? asString(rule.props.cidrIpv6));
                if (protocolOf(known(() => rule.props.ipProtocol)) === "all") {
                    reportViolation(`Egress rule ${rule.name} of ${group.name} allows all protocols; name the protocol and ports.`, rule.urn);
                }
                if (destination !== undefined && isAnywhere(destination)) {
                    reportViolation(`Egress rule ${rule.name} of ${group.name} sends to ${destination}; tier instances send only to named destinations.`, rule.urn);
                }
            }
        }
    },
};

export const naclLeastPrivilege: ResourceValidationPolicy = {
    name: "nacl-least-privilege",
    description: "Checks that network ACL allow rules name their protocol (tcp or udp, never all) and that none lets 0.0.0.0/0 or ::/0 in on SSH (22), so the subnet boundary backs the security groups up.",
    enforcementLevel: "mandatory",
    validateResource: forTypes([NACL_RULE], (props, _args, reportViolation) => {
        if (known(() => asString(props.ruleAction)) !== "allow") return;
        const protocol = protocolOf(known(() => props.protocol));
        const number = known(() => asNumber(props.ruleNumber));
        if (protocol !== "tcp" && protocol !== "udp") {
            reportViolation(`NACL rule ${number ?? "?"} allows protocol ${protocol}; allow rules name tcp or udp with ports.`);
            return;
        }
        const cidr = known(() => asString(props.cidrBlock) ?? asString(props.ipv6CidrBlock));
        const from = known(() => asNumber(props.fromPort)) ?? 0;
        const to = known(() => asNumber(props.toPort)) ?? 65535;
        if (known(() => props.egress) !== true && cidr !== undefined && isAnywhere(cidr) && protocol === "tcp" && from <= 22 && 22 <= to) {
            reportViolation(`NACL rule ${number ?? "?"} lets ${cidr} in on tcp ${from}-${to}, which includes SSH (22).`);
        }
    }),
};

export const egressPolicies = [sgEgressLeastPrivilege, naclLeastPrivilege];
