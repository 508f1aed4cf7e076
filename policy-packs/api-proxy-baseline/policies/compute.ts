/**
 * Compute hardening of the proxy hosts: hardware (AES-NI + NVMe, seed sizing), the instance
 * metadata service, disk encryption, no secrets in user data, and rolling replacement of the
 * proxies one part of a pair at a time.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { groupAttachedTo, launchTemplateVersionOf, proxyGroups } from "../lib/auto-scaling";
import { carriedFiles } from "../lib/carriers";
import { IMAGE_TYPE, amisOf } from "../lib/file-sets";
import { TYPES, asArray, asBoolean, asNumber, asRecord, asString, environmentOf, forTypes, known, ofType, refersTo, roleOf, type Props } from "../lib/resource";
import { findSecrets } from "../lib/secrets";
import { INSTANCE_CATALOGUE, configSchemaFor, readConfig } from "./config";

const COMPUTE_TYPES: readonly string[] = [TYPES.instance, TYPES.launchTemplate];

function what(type: string): string {
    return type === TYPES.launchTemplate ? "launch template" : "instance";
}

export const instanceTypeApproved: ResourceValidationPolicy = {
    name: "instance-type-approved",
    description: "Checks that proxy instances and launch templates use an x86 AES-NI + NVMe instance type from the pack's catalogue with at least the configured vCPUs, memory and NVMe storage.",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("allowedInstanceFamilies", "minInstanceVcpus", "minInstanceMemoryGib", "minInstanceNvmeGb"),
    validateResource: forTypes(COMPUTE_TYPES, (props, args, reportViolation) => {
        const role = roleOf(props);
        // Untagged compute is treated as proxy: failing safe beats skipping the check.
        if (role !== undefined && role !== "proxy") {
            return;
        }
        const instanceType = known(() => asString(props.instanceType));
        if (instanceType === undefined) {
            // A launch template may leave the type to the instance or group that uses it.
            if (args.type === TYPES.instance && known(() => "instanceType" in props) === false) {
                reportViolation("The proxy instance sets no instanceType; it must name a catalogued AES-NI + NVMe type.");
            }
            return;
        }
        const cfg = readConfig(args);
        const family = instanceType.split(".")[0];
        const size = INSTANCE_CATALOGUE[instanceType];
        if (!cfg.allowedInstanceFamilies.includes(family)) {
            reportViolation(`Instance type ${instanceType} is not in an allowed family (${cfg.allowedInstanceFamilies.join(", ")}): the proxy needs x86 AES-NI and local NVMe.`);
            return;
        }
        if (!size) {
            reportViolation(`Instance type ${instanceType} is not in the pack's AES-NI + NVMe catalogue.`);
            return;
        }
        if (size.vcpus < cfg.minInstanceVcpus) {
            reportViolation(`Instance type ${instanceType} has ${size.vcpus} vCPUs; at least ${cfg.minInstanceVcpus} are required.`);
        }
        if (size.memoryGib < cfg.minInstanceMemoryGib) {
            reportViolation(`Instance type ${instanceType} has ${size.memoryGib} GiB of memory; at least ${cfg.minInstanceMemoryGib} GiB are required.`);
        }
        if (size.nvmeGb < cfg.minInstanceNvmeGb) {
            reportViolation(`Instance type ${instanceType} has ${size.nvmeGb} GB of NVMe instance store; at least ${cfg.minInstanceNvmeGb} GB are required for logs.`);
        }
    }),
};

export const imdsv2Required: ResourceValidationPolicy = {
    name: "imdsv2-required",
    description: "Checks that instances and launch templates require IMDSv2 session tokens with a PUT response hop limit of 1 (or disable the metadata endpoint).",
    enforcementLevel: "mandatory",
    validateResource: forTypes(COMPUTE_TYPES, (props, args, reportViolation) => {
        const options = known(() => props.metadataOptions);
        if (options === undefined && known(() => "metadataOptions" in props) === false) {
            reportViolation(`The ${what(args.type)} sets no metadataOptions; IMDSv1 stays reachable. Set httpTokens = "required" and httpPutResponseHopLimit = 1.`);
            return;
        }
        const metadata = asRecord(options);
        if (!metadata) {
            return;
        }
        if (known(() => asString(metadata.httpEndpoint)) === "disabled") {
            return;
        }
        const tokens = known(() => metadata.httpTokens);
        if (tokens !== undefined || known(() => "httpTokens" in metadata) === false) {
            if (tokens !== "required") {
                reportViolation(`The ${what(args.type)}'s metadataOptions.httpTokens is ${JSON.stringify(tokens ?? null)}; it must be "required" (IMDSv2 only).`);
            }
        }
        const hops = known(() => metadata.httpPutResponseHopLimit);
        if (hops !== undefined || known(() => "httpPutResponseHopLimit" in metadata) === false) {
            if (asNumber(hops) !== 1) {
                reportViolation(`The ${what(args.type)}'s metadataOptions.httpPutResponseHopLimit is ${JSON.stringify(hops ?? null)}; it must be 1 so containers and forwarded requests cannot reach IMDS.`);
            }
        }
    }),
};

function encryptedFlag(device: Props | undefined): boolean | undefined {
    return device ? known(() => asBoolean(device.encrypted)) : undefined;
}

export const ebsEncrypted: ResourceValidationPolicy = {
    name: "ebs-encrypted",
    description: "Checks that the root volume and every EBS volume of instances and launch templates is declared encrypted.",
    enforcementLevel: "mandatory",
    validateResource: forTypes(COMPUTE_TYPES, (props, args, reportViolation) => {
        if (args.type === TYPES.instance) {
            const root = known(() => asRecord(props.rootBlockDevice));
            const rootKnown = known(() => props.rootBlockDevice) !== undefined || known(() => "rootBlockDevice" in props) === false;
            if (rootKnown && encryptedFlag(root) !== true) {
                reportViolation("The instance's rootBlockDevice.encrypted must be true (encryption must not depend on the account default).");
            }
            const volumes = known(() => asArray(props.ebsBlockDevices)) ?? [];
            for (let i = 0; i < volumes.length; i++) {
                const volume = known(() => asRecord(volumes[i]));
                if (volume && encryptedFlag(volume) !== true) {
                    reportViolation(`The instance's ebsBlockDevices[${i}] (${known(() => asString(volume.deviceName)) ?? "?"}) must set encrypted = true.`);
                }
            }
            return;
        }
        const mappings = known(() => asArray(props.blockDeviceMappings));
        if (mappings === undefined && known(() => "blockDeviceMappings" in props) === false) {
            reportViolation("The launch template declares no blockDeviceMappings; declare the root volume with ebs.encrypted = true.");
            return;
        }
        const list = mappings ?? [];
        if (mappings !== undefined && list.length === 0) {
            reportViolation("The launch template declares no blockDeviceMappings; declare the root volume with ebs.encrypted = true.");
        }
        for (let i = 0; i < list.length; i++) {
            const mapping = known(() => asRecord(list[i]));
            const ebs = mapping ? known(() => asRecord(mapping.ebs)) : undefined;
            if (mapping && known(() => mapping.virtualName) !== undefined && !ebs) {
                continue; // an instance-store (ephemeral) mapping has no EBS volume
            }
            if (mapping && encryptedFlag(ebs) !== true) {
                reportViolation(`The launch template's blockDeviceMappings[${i}] (${known(() => asString(mapping.deviceName)) ?? "?"}) must set ebs.encrypted = true.`);
            }
        }
    }),
};

export const noSecretsInUserData: ResourceValidationPolicy = {
    name: "no-secrets-in-user-data",
    description: "Checks that user data and Image Builder component documents (decoded, including base64 write_files) carry no private keys or AWS secret keys.",
    enforcementLevel: "mandatory",
    validateResource: forTypes([TYPES.instance, TYPES.launchTemplate, TYPES.imageComponent], async (props, args, reportViolation) => {
        const carried = await carriedFiles(args.type, props);
        if (!carried) {
            return;
        }
        const kinds = new Set<string>();
        for (const text of carried.texts) {
            for (const finding of findSecrets(text)) {
                kinds.add(finding.kind);
            }
        }
        const carrier = args.type === TYPES.imageComponent ? "component document" : "user data";
        for (const kind of kinds) {
            reportViolation(`The ${carrier} contains ${kind}; deliver secrets through Secrets Manager, not in clear text on the resource.`);
        }
    }),
};

/** At most half of a group out during a refresh: with a pair (2 instances) one proxy at a time. */
const MIN_ROLLING_HEALTHY_PERCENTAGE = 50;
/** What Auto Scaling keeps healthy when neither the refresh nor an instance maintenance policy says (API RefreshPreferences). */
const AWS_DEFAULT_MIN_HEALTHY_PERCENTAGE = 90;

/** The refresh's effective MinHealthyPercentage: its own, else the group's maintenance policy's, else AWS's default. */
function minHealthyOf(group: PolicyResource, preferences: Props | undefined): number | undefined {
    const own = preferences ? known(() => preferences.minHealthyPercentage) : undefined;
    if (own !== undefined) {
        return asNumber(own);
    }
    if (preferences && known(() => "minHealthyPercentage" in preferences) === true) {
        return undefined; // computed during preview
    }
    const maintenance = known(() => asRecord(group.props.instanceMaintenancePolicy));
    const policy = maintenance ? known(() => asNumber(maintenance.minHealthyPercentage)) : undefined;
    return policy !== undefined && policy >= 0 ? policy : AWS_DEFAULT_MIN_HEALTHY_PERCENTAGE;
}

function checkRollingGroup(group: PolicyResource, reportViolation: (message: string, urn?: string) => void): void {
    const report = (message: string): void => reportViolation(`Proxy Auto Scaling group ${group.name} ${message}`, group.urn);
    const raw = known(() => group.props.instanceRefresh);
    if (raw === undefined && known(() => "instanceRefresh" in group.props)) {
        return; // computed during preview
    }
    const refresh = asRecord(raw);
    if (!refresh) {
        report("has no instanceRefresh: a new launch template version (a new AMI) would replace no running proxy.");
    } else {
        const strategy = known(() => refresh.strategy);
        if (strategy !== undefined && asString(strategy) !== "Rolling") {
            report(`refreshes with strategy ${JSON.stringify(strategy)}; it must be "Rolling" (replace part of the group, the rest keeps serving).`);
        }
        const preferences = known(() => asRecord(refresh.preferences));
        const min = minHealthyOf(group, preferences);
        if (min !== undefined && min < MIN_ROLLING_HEALTHY_PERCENTAGE) {
            report(`keeps ${min} % healthy during a refresh; at least ${MIN_ROLLING_HEALTHY_PERCENTAGE} % must stay in service (one proxy of a pair at a time).`);
        }
        if (known(() => asBoolean(group.props.protectFromScaleIn)) === true) {
            const value = preferences ? known(() => preferences.scaleInProtectedInstances) : undefined;
            const computed = preferences !== undefined && value === undefined && known(() => "scaleInProtectedInstances" in preferences) === true;
            if (!computed && asString(value) !== "Refresh") {
                report(`protects its instances from scale-in, and its refresh handles them with ${asString(value) ?? "the default (Wait: an hour, then the refresh fails)"}: the protected proxies would not roll; set scaleInProtectedInstances = "Refresh".`);
            }
        }
    }
    const version = launchTemplateVersionOf(group);
    if (version === "$Latest" || version === "$Default") {
        report(`launches launch template version ${version}: the group's configuration never changes with the template, so no refresh starts; name the template's latest version number.`);
    }
    const healthCheckType = known(() => group.props.healthCheckType);
    if (healthCheckType === undefined ? known(() => "healthCheckType" in group.props) === false : asString(healthCheckType) !== "ELB") {
        report(`uses health check type ${asString(healthCheckType) ?? "EC2 (the default)"}; it must be "ELB", so a replacement counts as healthy only once the NLB sees nginx answer (AWS Security Hub AutoScaling.1).`);
    }
}

export const proxyRollingUpdates: StackValidationPolicy = {
    name: "proxy-rolling-updates",
    description: "Checks that proxy Auto Scaling groups roll a new image one part at a time behind the NLB: an instanceRefresh with strategy Rolling and minHealthyPercentage >= 50, scale-in-protected instances refreshed, a launch template version number (not $Latest/$Default), ELB health checks; and that the proxies' target groups drain connections (deregistration delay > 0).",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const groups = proxyGroups(args.resources);
        for (const group of groups) {
            checkRollingGroup(group, reportViolation);
        }
        const proxies = ofType(args.resources, TYPES.instance).filter((i) => roleOf(i.props) === "proxy");
        const attachments = ofType(args.resources, TYPES.targetGroupAttachment);
        const proxyTargetGroups = ofType(args.resources, TYPES.targetGroup).filter((target) =>
            groups.some((g) => groupAttachedTo(g, target, args.resources))
            || attachments.some((a) => refersTo(a, "targetGroupArn", target) && proxies.some((p) => refersTo(a, "targetId", p))));
        for (const target of proxyTargetGroups) {
            // Unset is the AWS default, 300 s: draining, if slow.
            if (known(() => asNumber(target.props.deregistrationDelay)) === 0) {
                reportViolation(`Target group ${target.name} has deregistrationDelay 0: a proxy leaving for a refresh cuts its open connections instead of draining them.`, target.urn);
            }
        }
    },
};

export const goldenImageInProd: StackValidationPolicy = {
    name: "golden-image-in-prod",
    description: "Checks that production proxies (instances and launch templates with a production apiproxy:environment) boot an image the stack built with Image Builder (the hardened golden image), never a stock AMI configured at first boot.",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("prodEnvironments"),
    validateStack: (args, reportViolation) => {
        const { prodEnvironments } = readConfig(args);
        const images = ofType(args.resources, IMAGE_TYPE);
        const built = new Set(images.flatMap(amisOf));
        for (const proxy of ofType(args.resources, TYPES.instance, TYPES.launchTemplate)) {
            if (roleOf(proxy.props) !== "proxy" || !prodEnvironments.includes(environmentOf(proxy.props) ?? "")) continue;
            const property = proxy.type === TYPES.instance ? "ami" : "imageId";
            const ami = known(() => asString(proxy.props[property]));
            // During preview the AMI may be unknown: then the property's dependency on a stack image decides.
            const fromImage = (proxy.propertyDependencies?.[property] ?? []).some((d) => images.some((i) => i.urn === d.urn));
            if (fromImage || (ami !== undefined && built.has(ami))) continue;
            if (ami === undefined && !known(() => property in proxy.props)) continue;
            reportViolation(`Production proxy ${proxy.name} boots ${ami ?? "an AMI"}, which no Image Builder image of the stack built: production runs the hardened golden image (aws.image: golden).`, proxy.urn);
        }
    },
};

export const computePolicies = [instanceTypeApproved, imdsv2Required, ebsEncrypted, noSecretsInUserData, proxyRollingUpdates, goldenImageInProd];
