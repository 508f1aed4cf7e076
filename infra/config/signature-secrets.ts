/**
 * `api-proxy-security:signatureSecrets` (secret config): the HMAC secret of every signing key
 * the tier declares (tier.signatures.clients[].keys[].id -> secret). Checked against the tier
 * before anything is changed: a declared key without a secret, a secret for no declared key, or
 * a weak secret is a problem naming the key id (never echoing a secret).
 */
import { z } from "zod";
import { ConfigError, type TierConfig } from "./load";
import { MIN_SIGNATURE_SECRET_BYTES } from "../../components/services/render-auth-policy";

export const SIGNATURE_SECRETS_CONFIG_KEY = "signatureSecrets";

const secretsSchema = z.record(z.string(), z.string());

export type SignatureSecrets = Readonly<Record<string, string>>;

export function validateSignatureSecrets(raw: unknown, tier: TierConfig, source = "config"): SignatureSecrets {
    const problems: { path: string; message: string }[] = [];
    const parsed = secretsSchema.safeParse(raw);
    if (!parsed.success) {
        throw new ConfigError(source, [{ path: SIGNATURE_SECRETS_CONFIG_KEY, message: "must be an object of key id -> secret (strings)" }]);
    }
    const declared = (tier.signatures?.clients ?? []).flatMap((c) => c.keys.map((k) => k.id));
    for (const id of declared) {
        const secret = parsed.data[id];
        if (secret === undefined) {
            problems.push({ path: `${SIGNATURE_SECRETS_CONFIG_KEY}.${id}`, message: "is missing: every key in tier.signatures needs its secret" });
        } else if (Buffer.byteLength(secret, "utf8") < MIN_SIGNATURE_SECRET_BYTES) {
            problems.push({ path: `${SIGNATURE_SECRETS_CONFIG_KEY}.${id}`, message: `must be at least ${MIN_SIGNATURE_SECRET_BYTES} bytes (e.g. openssl rand -base64 48)` });
        }
    }
    const ids = Object.keys(parsed.data);
    ids.forEach((id, i) => {
        if (ids.findIndex((other) => parsed.data[other] === parsed.data[id]) < i) {
            problems.push({ path: `${SIGNATURE_SECRETS_CONFIG_KEY}.${id}`, message: "is another key's secret: each key needs its own" });
        }
    });
    for (const id of ids) {
        if (!declared.includes(id)) {
            problems.push({ path: `${SIGNATURE_SECRETS_CONFIG_KEY}.${id}`, message: `is not a key of tier.signatures (declared: ${declared.join(", ") || "none"})` });
        }
    }
    if (problems.length > 0) throw new ConfigError(source, problems);
    return parsed.data;
}
