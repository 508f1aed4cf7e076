/**
 * The api-proxy-baseline CrossGuard pack. Constructing a PolicyPack starts the analyzer
 * server, so this is the only file that does it: tests and the offline review import
 * policies/all.ts (or evaluate.ts) instead.
 */
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./policies/all";

new PolicyPack("api-proxy-baseline", {
    description: "Baseline for the hardened nginx API-proxy DMZ tier: network exposure, compute hardening, NLB, PKI, and the rendered nginx/sysctl host configuration.",
    enforcementLevel: "mandatory",
    policies: [...allPolicies],
});
