/**
 * Auto Scaling groups as the tier's compute: which groups run proxies, the launch template a
 * group launches from, the subnets it launches into and the target groups it registers with.
 * Stack policies judge a group wherever they judge an instance (the group's instances do not
 * exist at preview time; the group and its template are what the stack declares).
 *
 * Shapes are the AWS provider schema's: `launchTemplate: { id | name, version }` (or
 * `mixedInstancesPolicy.launchTemplate.launchTemplateSpecification`), `vpcZoneIdentifiers`,
 * `targetGroupArns`, tags as a `{ key, value, propagateAtLaunch }` list.
 */
import type { PolicyResource } from "@pulumi/policy";
import { TYPES, asRecord, asString, identifiersOf, known, ofType, referencedBy, refersTo, roleOf } from "./resource";

/** The launch template spec of a group: its own, or its mixed instances policy's. */
function templateSpec(group: PolicyResource): Record<string, unknown> | undefined {
    const own = known(() => asRecord(group.props.launchTemplate));
    if (own) {
        return own;
    }
    const mixed = known(() => asRecord(asRecord(asRecord(group.props.mixedInstancesPolicy)?.launchTemplate)?.launchTemplateSpecification));
    return mixed ?? undefined;
}

/** The launch template a group launches from (by property dependency, id or name). */
export function launchTemplateOf(group: PolicyResource, templates: readonly PolicyResource[]): PolicyResource | undefined {
    for (const prop of ["launchTemplate", "mixedInstancesPolicy"]) {
        const dep = group.propertyDependencies?.[prop]?.find((d) => templates.includes(d));
        if (dep) {
            return dep;
        }
    }
    const spec = templateSpec(group);
    const ref = spec ? known(() => asString(spec.id) ?? asString(spec.launchTemplateId) ?? asString(spec.name) ?? asString(spec.launchTemplateName)) : undefined;
    if (ref === undefined) {
        return undefined;
    }
    return templates.find((t) => identifiersOf(t).includes(ref) || known(() => asString(t.props.name)) === ref);
}

/** The version a group launches: a number, "$Latest" or "$Default" (undefined: unknown or unset). */
export function launchTemplateVersionOf(group: PolicyResource): string | undefined {
    const spec = templateSpec(group);
    const version = spec ? known(() => spec.version) : undefined;
    return typeof version === "number" ? String(version) : typeof version === "string" ? version : undefined;
}

/** A group's role: its own tag, else its launch template's (untagged groups of a proxy template run proxies). */
export function groupRole(group: PolicyResource, templates: readonly PolicyResource[]): string | undefined {
    const own = roleOf(group.props);
    if (own !== undefined) {
        return own;
    }
    const template = launchTemplateOf(group, templates);
    return template ? roleOf(template.props) : undefined;
}

/** The groups of the stack that run instances of `role`. */
export function groupsOfRole(resources: readonly PolicyResource[], role: string): PolicyResource[] {
    const templates = ofType(resources, TYPES.launchTemplate);
    return ofType(resources, TYPES.autoScalingGroup).filter((g) => groupRole(g, templates) === role);
}

/** The groups that run proxies. */
export function proxyGroups(resources: readonly PolicyResource[]): PolicyResource[] {
    return groupsOfRole(resources, "proxy");
}

/** The stack's subnets a group launches into (`vpcZoneIdentifiers`); none while an id is unknown (preview). */
export function groupSubnets(group: PolicyResource, subnets: readonly PolicyResource[]): PolicyResource[] {
    return known(() => referencedBy(group, "vpcZoneIdentifiers", subnets)) ?? [];
}

/** True when the group registers its instances with the target group: `targetGroupArns`, or an
 *  `aws:autoscaling/attachment:Attachment` naming both. */
export function groupAttachedTo(group: PolicyResource, targetGroup: PolicyResource, resources: readonly PolicyResource[]): boolean {
    if (known(() => refersTo(group, "targetGroupArns", targetGroup)) === true) {
        return true;
    }
    const groupName = known(() => asString(group.props.name));
    return ofType(resources, TYPES.autoScalingAttachment).some((a) =>
        refersTo(a, "lbTargetGroupArn", targetGroup)
        && (refersTo(a, "autoscalingGroupName", group)
            || (groupName !== undefined && known(() => asString(a.props.autoscalingGroupName)) === groupName)));
}
