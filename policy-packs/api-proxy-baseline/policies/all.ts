/**
 * Every policy of the pack, in report order. index.ts hands this list to the PolicyPack;
 * evaluate.ts runs the very same objects offline. Importing it starts no server.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { computePolicies } from "./compute";
import { hostConfigPolicies } from "./host-config";
import { egressPolicies } from "./egress";
import { hostHardeningPolicies } from "./host-hardening";
import { requestHardeningPolicies } from "./request-hardening";
import { loadBalancingPolicies } from "./load-balancing";
import { networkPolicies } from "./network";
import { pkiPolicies } from "./pki";
import { stackPolicies } from "./stack";
import { taggingPolicies } from "./tagging";

export type BaselinePolicy = ResourceValidationPolicy | StackValidationPolicy;

export const allPolicies: readonly BaselinePolicy[] = [
    ...networkPolicies,
    ...egressPolicies,
    ...computePolicies,
    ...loadBalancingPolicies,
    ...pkiPolicies,
    ...hostConfigPolicies,
    ...hostHardeningPolicies,
    ...requestHardeningPolicies,
    ...stackPolicies,
    ...taggingPolicies,
];
