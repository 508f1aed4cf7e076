/**
 * The program: picks the stack's target and hands it the validated configuration. Each target
 * wires components in a file of its own (infra/targets/<target>.ts): three doors, not one
 * program with branches. Used by infra/index.ts (the engine) and by the offline review (mock
 * runtime), so both see exactly the same resources and host files.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { HostFile } from "../components/core/host-file";
import type { AwsTierConfig, InventoryTierConfig, LocalTierConfig, TierConfig } from "./config/load";
import type { TierOutputs } from "./outputs";
import type { DeliveryReport } from "../components/targets/inventory/host-delivery";
import type { ApiKeys } from "./config/api-keys";
import type { SignatureSecrets } from "./config/signature-secrets";
import type { PublicJwk } from "../components/services/render-auth-policy";
import { deployAwsTier } from "./targets/aws";
import { deployInventoryTier } from "./targets/inventory";
import { deployLocalTier } from "./targets/local";

export { proxyHostNames } from "./targets/aws";

export interface TierDeployment {
    readonly outputs: TierOutputs;
    /** The exact files each host receives, by host name (for the review and tests). */
    readonly hostFiles: pulumi.Output<Record<string, HostFile[]>>;
    /** Targets that deliver over SSH: what each host's delivery applied and could not apply. */
    readonly deliveries?: pulumi.Output<Record<string, DeliveryReport>>;
    /** The AWS target's extras for app teams: the security group their upstream instances join
     *  (its only ingress is from the proxies, on the upstream ports). */
    readonly aws?: { readonly upstreamSecurityGroupId: pulumi.Output<string> };
    /** JWT issuers: their public keys (JWKS, by issuer) and the keys the stack made for its own
     *  issuers (PKCS#8 PEM by issuer and kid, secret), for the token issuer. */
    readonly tokenKeys?: {
        readonly jwks: pulumi.Output<Record<string, PublicJwk[]>>;
        readonly privateKeysPem: pulumi.Output<Record<string, Record<string, string>>>;
    };
    /** The local target's extras: the client namespace, a key, a request that works. */
    readonly local?: {
        readonly clientNamespace: string;
        /** A key the key store accepts (secret): the generated one when none are configured. */
        readonly testApiKey: pulumi.Output<string>;
        /** The signing keys' secrets (secret): configured, or generated when none are. */
        readonly signatureSecrets?: pulumi.Output<SignatureSecrets>;
        /** A request through the whole tier that works as printed, from the repository root. */
        readonly curl: string;
    };
}

/** Secret configuration some targets need besides the tier object. */
export interface TierSecrets {
    /** API keys for the key-check service the local and inventory targets run (infra/config/api-keys.ts). */
    readonly apiKeys?: pulumi.Output<ApiKeys>;
    /** The inventory's delivery account key (api-proxy-security:sshPrivateKey). */
    readonly sshPrivateKey?: pulumi.Output<string>;
    /** HMAC secrets of the signing keys (api-proxy-security:signatureSecrets). */
    readonly signatureSecrets?: pulumi.Output<SignatureSecrets>;
}

export function deployTier(tier: TierConfig, secrets: TierSecrets = {}): TierDeployment {
    switch (tier.target) {
        case "aws":
            // The schema requires the aws section for this target.
            return deployAwsTier(tier as AwsTierConfig);
        case "local":
            return deployLocalTier(tier as LocalTierConfig, secrets);
        case "inventory":
            return deployInventoryTier(tier as InventoryTierConfig, secrets);
        default: {
            const unknown: never = tier.target;
            throw new Error(`unknown target ${String(unknown)}`);
        }
    }
}
