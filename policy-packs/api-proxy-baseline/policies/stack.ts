/**
 * Properties of the tier as a whole, visible only across resources: every proxy is behind the
 * NLB, the proxies span availability zones, upstreams are reachable only through the proxy
 * tier, and the stack carries its PKI with a rotation window. Proxies are plain instances or
 * Auto Scaling groups (judged by their launch template's role and their subnets).
 *
 * Links between resources are found through the engine's property dependencies (which work
 * during preview, when ids are still unknown) or by comparing known ids/ARNs (the offline
 * review); see lib/resource.ts `refersTo`.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { groupAttachedTo, groupSubnets, proxyGroups } from "../lib/auto-scaling";
import { ingressRulesOf } from "../lib/sg-rules";
import {
    CERTIFICATE_TYPES, TYPES, asArray, asBoolean, asNumber, asRecord, asString, identifiersOf, known, ofType, referencedBy, refersTo, roleOf,
} from "../lib/resource";
import { configSchemaFor, readConfig } from "./config";

function proxyInstances(resources: readonly PolicyResource[]): PolicyResource[] {
    return ofType(resources, TYPES.instance).filter((i) => roleOf(i.props) === "proxy");
}

/** Every known string nested in a value (listener actions hold ARNs a few levels down). */
function nestedStrings(value: unknown, depth = 0): string[] {
    if (typeof value === "string") {
        return [value];
    }
    if (depth > 6 || value === null || typeof value !== "object") {
        return [];
    }
    const out: string[] = [];
    const keys = known(() => Object.keys(value as object)) ?? [];
    for (const key of keys) {
        const child = known(() => (value as Record<string, unknown>)[key]);
        out.push(...nestedStrings(child, depth + 1));
    }
    return out;
}

/** Target groups a listener forwards to (default action or weighted forward). */
function targetGroupsOf(listener: PolicyResource, groups: readonly PolicyResource[]): PolicyResource[] {
    const deps = listener.propertyDependencies?.defaultActions ?? [];
    const arns = nestedStrings(known(() => listener.props.defaultActions));
    return groups.filter((g) => deps.some((d) => d.urn === g.urn) || identifiersOf(g).some((id) => arns.includes(id)));
}

export const proxyBehindNlb: StackValidationPolicy = {
    name: "proxy-behind-nlb",
    description: "Checks that every proxy instance (TargetGroupAttachment) and every proxy Auto Scaling group (targetGroupArns or an autoscaling Attachment) is attached to the target group of every NLB listener.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const proxies = proxyInstances(args.resources);
        const groups = proxyGroups(args.resources);
        if (proxies.length === 0 && groups.length === 0) {
            return;
        }
        const listeners = ofType(args.resources, TYPES.listener);
        const targetGroups = ofType(args.resources, TYPES.targetGroup);
        const attachments = ofType(args.resources, TYPES.targetGroupAttachment);
        if (listeners.length === 0) {
            const what = [proxies.length > 0 ? `${proxies.length} proxy instance(s)` : "", groups.length > 0 ? `${groups.length} proxy Auto Scaling group(s)` : ""]
                .filter((w) => w !== "").join(" and ");
            reportViolation(`The stack has ${what} but no load balancer listener; proxies must only be reached through the NLB.`);
            return;
        }
        for (const listener of listeners) {
            const forwarded = targetGroupsOf(listener, targetGroups);
            if (forwarded.length === 0) {
                reportViolation(`Listener ${listener.name} forwards to no target group of this stack.`, listener.urn);
                continue;
            }
            for (const target of forwarded) {
                for (const proxy of proxies) {
                    const attached = attachments.some((a) => refersTo(a, "targetGroupArn", target) && refersTo(a, "targetId", proxy));
                    if (!attached) {
                        reportViolation(
                            `Proxy instance ${proxy.name} is not attached to target group ${target.name} of listener ${listener.name}.`,
                            proxy.urn,
                        );
                    }
                }
                for (const group of groups) {
                    if (known(() => group.props.targetGroupArns) === undefined && known(() => "targetGroupArns" in group.props)) {
                        continue; // computed during preview
                    }
                    if (!groupAttachedTo(group, target, args.resources)) {
                        reportViolation(
                            `Proxy Auto Scaling group ${group.name} does not register its instances with target group ${target.name} of listener ${listener.name}.`,
                            group.urn,
                        );
                    }
                }
            }
        }
    },
};

/** A proxy's AZ: its own availabilityZone, else its subnet's; undefined when not known. */
function availabilityZoneOf(instance: PolicyResource, subnets: readonly PolicyResource[]): string | undefined {
    const own = known(() => asString(instance.props.availabilityZone));
    if (own) {
        return own;
    }
    for (const subnet of referencedBy(instance, "subnetId", subnets)) {
        const az = known(() => asString(subnet.props.availabilityZone) ?? asString(subnet.props.availabilityZoneId));
        if (az) {
            return az;
        }
    }
    return undefined;
}

/** The AZs of a list of subnets (undefined entries: not in the stack, or AZ unknown). */
function subnetZones(subnets: readonly PolicyResource[]): (string | undefined)[] {
    return subnets.map((s) => known(() => asString(s.props.availabilityZone) ?? asString(s.props.availabilityZoneId)));
}

/** A proxy group's verdict: it must launch into >= `min` AZs and keep at least `min` instances. */
function checkProxyGroup(group: PolicyResource, subnets: readonly PolicyResource[], min: number, reportViolation: (message: string, urn?: string) => void): void {
    const minSize = known(() => asNumber(group.props.minSize));
    if (minSize !== undefined && minSize < min) {
        reportViolation(`Proxy Auto Scaling group ${group.name} keeps minSize ${minSize}: fewer instances than the ${min} availability zones a pair must span.`, group.urn);
    }
    const ownList = known(() => asArray(group.props.availabilityZones)) ?? [];
    const own = Array.from({ length: ownList.length }, (_, i) => known(() => asString(ownList[i])));
    const identifiers = known(() => group.props.vpcZoneIdentifiers);
    if (identifiers === undefined && known(() => "vpcZoneIdentifiers" in group.props)) {
        return; // computed during preview
    }
    const listed = known(() => asArray(identifiers)) ?? [];
    const linked = groupSubnets(group, subnets);
    const zones = [...own, ...subnetZones(linked)];
    // A listed subnet the stack does not declare (or a still-unknown id) has an AZ we cannot see.
    const unresolved = Math.max(0, listed.length - linked.length) + zones.filter((z) => z === undefined).length;
    const distinct = new Set(zones.filter((z): z is string => z !== undefined));
    if (distinct.size >= min || distinct.size + unresolved >= min) {
        return;
    }
    reportViolation(
        `Proxy Auto Scaling group ${group.name} launches into ${distinct.size} availability zone(s) (${[...distinct].join(", ") || "none known"}); a pair needs at least ${min} so one AZ can fail.`,
        group.urn,
    );
}

export const proxyPairsSpanAzs: StackValidationPolicy = {
    name: "proxy-pairs-span-azs",
    description: "Checks that the proxy instances span at least two distinct availability zones (their own or their subnets' AZ), and that each proxy Auto Scaling group launches into at least two AZs (vpcZoneIdentifiers' subnets) with at least as many instances (minSize).",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("minProxyAvailabilityZones"),
    validateStack: (args, reportViolation) => {
        const { minProxyAvailabilityZones } = readConfig(args);
        const subnets = ofType(args.resources, TYPES.subnet);
        for (const group of proxyGroups(args.resources)) {
            checkProxyGroup(group, subnets, minProxyAvailabilityZones, reportViolation);
        }
        const proxies = proxyInstances(args.resources);
        if (proxies.length === 0) {
            return;
        }
        const zones = proxies.map((p) => availabilityZoneOf(p, subnets));
        const distinct = new Set(zones.filter((z): z is string => z !== undefined));
        if (distinct.size >= minProxyAvailabilityZones) {
            return;
        }
        const unresolved = proxies.filter((_, i) => zones[i] === undefined).map((p) => p.name);
        if (unresolved.length > 0 && distinct.size + unresolved.length >= minProxyAvailabilityZones) {
            return; // the unknown AZs (preview) could still satisfy it: no verdict
        }
        reportViolation(
            `The ${proxies.length} proxy instance(s) span ${distinct.size} availability zone(s) (${[...distinct].join(", ") || "none known"}); at least ${minProxyAvailabilityZones} are required so one AZ can fail.`,
        );
    },
};

export const upstreamOnlyViaProxySg: StackValidationPolicy = {
    name: "upstream-only-via-proxy-sg",
    description: "Checks that security groups of the upstream role admit ingress only from the proxy tier's security group (no CIDRs, prefix lists or other groups).",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const groups = ofType(args.resources, TYPES.securityGroup);
        const upstreamGroups = groups.filter((g) => roleOf(g.props) === "upstream");
        const proxyGroups = groups.filter((g) => roleOf(g.props) === "proxy");
        const proxyIds = new Set(proxyGroups.flatMap(identifiersOf));
        const isProxyGroupRef = (from: PolicyResource, prop: string): boolean => proxyGroups.some((g) => refersTo(from, prop, g));

        for (const upstream of upstreamGroups) {
            // Inline rules: each rule's sources must all be proxy groups.
            const inline = known(() => asArray(upstream.props.ingress)) ?? [];
            // Without known ids (engine outputs lacking them), the ingress property's dependencies decide.
            const inlineDeps = (upstream.propertyDependencies?.ingress ?? []).filter((d) => d.type === TYPES.securityGroup);
            const depsOnlyProxyGroups = proxyIds.size === 0 && inlineDeps.length > 0
                && inlineDeps.every((d) => proxyGroups.some((g) => g.urn === d.urn));
            for (let i = 0; i < inline.length; i++) {
                const rule = known(() => asRecord(inline[i]));
                if (!rule) {
                    continue;
                }
                const normalized = ingressRulesOf(TYPES.securityGroup, { ingress: [rule] })[0];
                const sgRefs = nestedStrings(known(() => rule.securityGroups));
                const foreign = sgRefs.filter((id) => !proxyIds.has(id) && !depsOnlyProxyGroups);
                const bad = [
                    ...normalized.cidrs,
                    ...normalized.otherSources.filter((s) => !s.startsWith("security group ")),
                    ...foreign.map((id) => `security group ${id}`),
                ];
                if (known(() => asBoolean(rule.self)) === true && !bad.includes("self")) {
                    bad.push("self");
                }
                for (const source of bad) {
                    reportViolation(`Upstream security group ${upstream.name} ingress[${i}] admits ${source}; upstreams may only be reached from the proxy tier's security group.`, upstream.urn);
                }
            }
            // Standalone and legacy rules attached to the upstream group.
            for (const rule of ofType(args.resources, TYPES.ingressRule, TYPES.legacyRule)) {
                if (!refersTo(rule, "securityGroupId", upstream)) {
                    continue;
                }
                if (rule.type === TYPES.legacyRule && known(() => asString(rule.props.type)) !== "ingress") {
                    continue;
                }
                const sourceProp = rule.type === TYPES.ingressRule ? "referencedSecurityGroupId" : "sourceSecurityGroupId";
                const normalized = ingressRulesOf(rule.type, rule.props)[0];
                const hasSource = known(() => rule.props[sourceProp]) !== undefined || (rule.propertyDependencies?.[sourceProp]?.length ?? 0) > 0;
                if (normalized.cidrs.length > 0 || !hasSource || !isProxyGroupRef(rule, sourceProp)) {
                    const source = normalized.cidrs.join(", ") || normalized.otherSources.join(", ") || "an unknown source";
                    reportViolation(`Rule ${rule.name} admits ${source} into upstream security group ${upstream.name}; upstreams may only be reached from the proxy tier's security group.`, rule.urn);
                }
            }
        }
    },
};

export const pkiPresentWithRotation: StackValidationPolicy = {
    name: "pki-present-with-rotation",
    description: "Checks that the stack declares its PKI (a CA certificate and a server certificate) and that every leaf certificate has a rotation window (earlyRenewalHours > 0).",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const certificates = ofType(args.resources, ...CERTIFICATE_TYPES);
        const isCa = (c: PolicyResource): boolean | undefined => known(() => asBoolean(c.props.isCaCertificate));
        const uses = (c: PolicyResource): string[] => nestedStrings(known(() => c.props.allowedUses));
        if (!certificates.some((c) => isCa(c) === true)) {
            reportViolation("The stack declares no CA certificate (a tls SelfSignedCert/LocallySignedCert with isCaCertificate = true).");
        }
        const leaves = certificates.filter((c) => isCa(c) === false || (isCa(c) === undefined && known(() => "isCaCertificate" in c.props) === false));
        if (!leaves.some((c) => uses(c).includes("server_auth"))) {
            reportViolation("The stack declares no server certificate (a non-CA certificate with server_auth in allowedUses).");
        }
        for (const leaf of leaves) {
            const early = known(() => leaf.props.earlyRenewalHours);
            if (early === undefined && known(() => "earlyRenewalHours" in leaf.props)) {
                continue;
            }
            const hours = asNumber(early);
            if (hours === undefined || hours <= 0) {
                reportViolation(`Certificate ${leaf.name} has no rotation window (earlyRenewalHours must be > 0).`, leaf.urn);
            }
        }
    },
};

export const stackPolicies = [proxyBehindNlb, proxyPairsSpanAzs, upstreamOnlyViaProxySg, pkiPresentWithRotation];
