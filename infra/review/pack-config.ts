/**
 * The policy pack's configuration for one stack: the pack's defaults (policy-packs/api-proxy-
 * baseline/policies/config.ts) overlaid with what the stack itself declares - its management
 * networks, its ports, its health path, its body limit - so the review and `--policy-pack` runs
 * judge the stack by its own promises (SSH from a network that is private but not the stack's
 * management network fails). `npm run policy-config -- <stack>` writes it in the engine's
 * `--policy-pack-config` form (one object per policy).
 */
import { allPolicies, type BaselineConfig } from "../../policy-packs/api-proxy-baseline/evaluate";
import type { TierConfig } from "../config/load";

export function packConfigFor(tier: TierConfig): Partial<BaselineConfig> {
    return {
        managementCidrs: [...tier.managementCidrs],
        publicIngressPorts: [tier.ports.https, tier.ports.mtls],
        mtlsPort: tier.ports.mtls,
        healthCheckPath: tier.healthPath,
        maxBodyBytesCeiling: tier.limits.maxBodySize,
    };
}

/** `--policy-pack-config` JSON: each policy gets the keys its configSchema declares. */
export function enginePolicyConfig(tier: TierConfig): Record<string, Record<string, unknown>> {
    const config = packConfigFor(tier) as Record<string, unknown>;
    const out: Record<string, Record<string, unknown>> = {};
    for (const policy of allPolicies) {
        const keys = Object.keys(policy.configSchema?.properties ?? {}).filter((key) => key in config);
        if (keys.length > 0) out[policy.name] = Object.fromEntries(keys.map((key) => [key, config[key]]));
    }
    return out;
}
