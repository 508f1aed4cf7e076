/** Builds the key service's request-authentication policy (components/services/render-auth-policy.ts) from the validated tier. */
import type { AuthPolicySpec, PublicJwk } from "../../components/services/render-auth-policy";
import type { TierConfig } from "../config/load";
import type { SignatureSecrets } from "../config/signature-secrets";

/** True when some route needs the key service's per-route policy (a signature or a JWT). */
export function needsAuthPolicy(tier: TierConfig): boolean {
    return tier.routes.some((route) => route.signature !== undefined || route.jwt !== undefined);
}

/**
 * The policy: every signature/JWT route (with its API-key requirement), the signing keys with
 * their secrets, and each issuer's public keys - the stack's own (stackJwks, by issuer) or its
 * delivered JWKS file (tier.jwksFiles) - with the rotation windows from the tier.
 */
export function buildAuthPolicy(tier: TierConfig, secrets: SignatureSecrets, stackJwks: Readonly<Record<string, readonly PublicJwk[]>>): AuthPolicySpec {
    const routes: Record<string, AuthPolicySpec["routes"][string]> = {};
    for (const route of tier.routes) {
        if (route.signature === undefined && route.jwt === undefined) continue;
        routes[route.name] = {
            apiKey: route.apiKey,
            ...(route.signature ? { signature: { clients: route.signature.clients } } : {}),
            ...(route.jwt ? { jwt: { issuer: route.jwt.issuer, audiences: route.jwt.audiences } } : {}),
        };
    }
    const window = (k: { notBefore?: string; notAfter?: string }) => ({
        ...(k.notBefore ? { notBefore: k.notBefore } : {}), ...(k.notAfter ? { notAfter: k.notAfter } : {}),
    });
    return {
        ...(tier.signatures ? {
            signatures: {
                maxSkewSeconds: tier.signatures.maxClockSkewSeconds,
                keys: tier.signatures.clients.flatMap((client) => client.keys.map((key) => {
                    const secret = secrets[key.id];
                    if (secret === undefined) throw new Error(`signing key ${key.id} has no secret (signatureSecrets)`);
                    return { id: key.id, client: client.name, secret, ...window(key) };
                })),
            },
        } : {}),
        issuers: (tier.jwt?.issuers ?? []).map((issuer) => ({
            name: issuer.name,
            issuer: issuer.issuer,
            leewaySeconds: issuer.leewaySeconds,
            ...(issuer.maxLifetimeSeconds !== undefined ? { maxLifetimeSeconds: issuer.maxLifetimeSeconds } : {}),
            keys: issuer.keys
                ? issuer.keys.map((key) => {
                    const jwk = stackJwks[issuer.name]?.find((k) => k.kid === key.kid);
                    if (jwk === undefined) throw new Error(`issuer ${issuer.name}: no generated key ${key.kid}`);
                    return { jwk, ...window(key) };
                })
                : (tier.jwksFiles?.[issuer.name] ?? []).map((jwk) => ({ jwk })),
        })),
        routes,
    };
}
