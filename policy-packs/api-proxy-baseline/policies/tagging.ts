/**
 * The tier's tags are load-bearing: role tags decide which controls apply (a proxy without its
 * role tag would escape the proxy checks), the environment tag decides production rules.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TAG_ENVIRONMENT, TAG_ROLE, TYPES, forTypes, known, tagsOf } from "../lib/resource";

export const TIER_ROLES: readonly string[] = ["proxy", "upstream", "nlb", "network"];

const TAGGED_TYPES: readonly string[] = [
    TYPES.vpc, TYPES.subnet, TYPES.securityGroup, TYPES.instance, TYPES.launchTemplate, TYPES.autoScalingGroup, TYPES.loadBalancer, TYPES.targetGroup,
];

export const tierTagsPresent: ResourceValidationPolicy = {
    name: "tier-tags-present",
    description: "Checks that the tier's taggable resources carry apiproxy:environment and an apiproxy:role of proxy, upstream, nlb or network.",
    enforcementLevel: "mandatory",
    validateResource: forTypes(TAGGED_TYPES, (props, _args, reportViolation) => {
        if (known(() => props.tags) === undefined && known(() => "tags" in props)) {
            return; // computed during preview
        }
        const tags = tagsOf(props);
        const environment = tags[TAG_ENVIRONMENT];
        if (!environment || !/^[a-z][a-z0-9-]{0,31}$/.test(environment)) {
            reportViolation(`Tag ${TAG_ENVIRONMENT} is ${environment === undefined ? "missing" : `"${environment}", not an environment name`}; production controls key on it.`);
        }
        const role = tags[TAG_ROLE];
        if (!role || !TIER_ROLES.includes(role)) {
            reportViolation(`Tag ${TAG_ROLE} is ${role === undefined ? "missing" : `"${role}"`}; it must be one of ${TIER_ROLES.join(", ")} (role-specific controls key on it).`);
        }
    }),
};

export const taggingPolicies = [tierTagsPresent];
