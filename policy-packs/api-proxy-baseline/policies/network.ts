/**
 * Network exposure of the DMZ tier: what the internet can reach, where SSH may come from,
 * public addresses on private-tier instances, and VPC flow logs.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { containedInAny, isAnywhere } from "../lib/cidr";
import { INGRESS_CARRIER_TYPES, coversPort, ingressRulesOf, portText } from "../lib/sg-rules";
import {
    TYPES, asArray, asBoolean, asRecord, forTypes, known, ofType, referencedBy, refersTo, roleOf,
} from "../lib/resource";
import { groupRole, groupSubnets } from "../lib/auto-scaling";
import { configSchemaFor, readConfig } from "./config";

/** Tier roles that must never be directly addressable from the internet. */
const PRIVATE_ROLES: readonly string[] = ["proxy", "upstream"];

export const sgNoPublicIngressExceptTls: ResourceValidationPolicy = {
    name: "sg-no-public-ingress-except-tls",
    description: "Checks that security group ingress from 0.0.0.0/0 or ::/0 (inline, standalone and legacy rules) opens only the TLS ports (443, 8443).",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("publicIngressPorts"),
    validateResource: forTypes(INGRESS_CARRIER_TYPES, (props, args, reportViolation) => {
        const { publicIngressPorts } = readConfig(args);
        for (const rule of ingressRulesOf(args.type, props)) {
            for (const cidr of rule.cidrs.filter(isAnywhere)) {
                const singleTcpPort = rule.protocol === "tcp" && rule.fromPort !== undefined && rule.fromPort === rule.toPort;
                if (singleTcpPort && publicIngressPorts.includes(rule.fromPort as number)) {
                    continue;
                }
                reportViolation(
                    `Ingress ${rule.where} opens ${portText(rule)} to ${cidr}; only tcp ports ${publicIngressPorts.join(", ")} may be open to the internet, one port per rule.`,
                );
            }
        }
    }),
};

export const sgSshOnlyFromManagement: ResourceValidationPolicy = {
    name: "sg-ssh-only-from-management",
    description: "Checks that ingress reaching port 22 comes only from CIDRs inside the stack's management networks, and inside private address space whatever the stack names (a subnet containment check).",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("managementCidrs", "managementAddressSpace"),
    validateResource: forTypes(INGRESS_CARRIER_TYPES, (props, args, reportViolation) => {
        const { managementCidrs, managementAddressSpace } = readConfig(args);
        for (const rule of ingressRulesOf(args.type, props)) {
            if (!coversPort(rule, 22)) {
                continue;
            }
            for (const cidr of rule.cidrs) {
                if (!containedInAny(cidr, managementCidrs)) {
                    reportViolation(
                        `Ingress ${rule.where} lets ${cidr} reach SSH (${portText(rule)}); ${cidr} is not inside the management CIDRs ${managementCidrs.join(", ")}.`,
                    );
                } else if (!containedInAny(cidr, managementAddressSpace)) {
                    reportViolation(
                        `Ingress ${rule.where} lets ${cidr} reach SSH (${portText(rule)}); ${cidr} is public address space (SSH management only from private networks: ${managementAddressSpace.join(", ")}).`,
                    );
                }
            }
            for (const source of rule.otherSources) {
                reportViolation(
                    `Ingress ${rule.where} lets ${source} reach SSH (${portText(rule)}); SSH may only come from the management CIDRs ${managementCidrs.join(", ")}.`,
                );
            }
        }
    }),
};

export const noPublicIpOnTierInstances: ResourceValidationPolicy = {
    name: "no-public-ip-on-tier-instances",
    description: "Checks that proxy and upstream instances (and their launch templates) do not request a public IP address; the NLB is the only public entry.",
    enforcementLevel: "mandatory",
    validateResource: forTypes([TYPES.instance, TYPES.launchTemplate], (props, args, reportViolation) => {
        const role = roleOf(props);
        if (!role || !PRIVATE_ROLES.includes(role)) {
            return;
        }
        if (args.type === TYPES.instance) {
            if (known(() => asBoolean(props.associatePublicIpAddress)) === true) {
                reportViolation(`A ${role} instance must not have associatePublicIpAddress = true; it sits behind the NLB in a private subnet.`);
            }
            return;
        }
        const interfaces = known(() => asArray(props.networkInterfaces)) ?? [];
        for (let i = 0; i < interfaces.length; i++) {
            const ni = known(() => asRecord(interfaces[i]));
            if (ni && known(() => asBoolean(ni.associatePublicIpAddress)) === true) {
                reportViolation(`The ${role} launch template's networkInterfaces[${i}] sets associatePublicIpAddress = true; it sits behind the NLB in a private subnet.`);
            }
        }
    }),
};

export const tierInstancesInPrivateSubnets: StackValidationPolicy = {
    name: "tier-instances-in-private-subnets",
    description: "Checks that proxy and upstream instances, and the Auto Scaling groups that launch them, are not placed in subnets that map public IPs on launch.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const subnets = ofType(args.resources, TYPES.subnet);
        for (const instance of ofType(args.resources, TYPES.instance)) {
            const role = roleOf(instance.props);
            if (!role || !PRIVATE_ROLES.includes(role)) {
                continue;
            }
            for (const subnet of referencedBy(instance, "subnetId", subnets)) {
                if (known(() => asBoolean(subnet.props.mapPublicIpOnLaunch)) === true) {
                    reportViolation(
                        `The ${role} instance ${instance.name} is in subnet ${subnet.name}, which has mapPublicIpOnLaunch = true; tier instances belong in private subnets.`,
                        instance.urn,
                    );
                }
            }
        }
        const templates = ofType(args.resources, TYPES.launchTemplate);
        for (const group of ofType(args.resources, TYPES.autoScalingGroup)) {
            const role = groupRole(group, templates);
            if (!role || !PRIVATE_ROLES.includes(role)) {
                continue;
            }
            for (const subnet of groupSubnets(group, subnets)) {
                if (known(() => asBoolean(subnet.props.mapPublicIpOnLaunch)) === true) {
                    reportViolation(
                        `The ${role} Auto Scaling group ${group.name} launches into subnet ${subnet.name}, which has mapPublicIpOnLaunch = true; tier instances belong in private subnets.`,
                        group.urn,
                    );
                }
            }
        }
    },
};

export const vpcFlowLogs: StackValidationPolicy = {
    name: "vpc-flow-logs",
    description: "Checks that every VPC has a flow log whose vpcId refers to it.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const flowLogs = ofType(args.resources, TYPES.flowLog);
        for (const vpc of ofType(args.resources, TYPES.vpc)) {
            if (!flowLogs.some((f) => refersTo(f, "vpcId", vpc))) {
                reportViolation(`VPC ${vpc.name} has no flow log (an aws:ec2/flowLog:FlowLog whose vpcId is this VPC).`, vpc.urn);
            }
        }
    },
};

export const networkPolicies = [
    sgNoPublicIngressExceptTls,
    sgSshOnlyFromManagement,
    noPublicIpOnTierInstances,
    tierInstancesInPrivateSubnets,
    vpcFlowLogs,
];
