/**
 * `api-proxy-security:apiKeys` (secret config): the API keys the key-check service accepts.
 * The same rules as the service's own provisioning (services/keycheck): every problem reported
 * with its path, before anything is changed.
 */
import { z } from "zod";
import { ConfigError, formatPath } from "./load";

export const API_KEYS_CONFIG_KEY = "apiKeys";

export const apiKeysSchema = z.strictObject({
    keys: z.array(z.strictObject({
        id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: "must match [A-Za-z0-9._-]{1,64} (it names the caller in logs and limits)" }),
        key: z.string().min(32, { error: "must be at least 32 characters (a random key, e.g. openssl rand -base64 32)" }).max(512),
    })).superRefine((keys, ctx) => {
        keys.forEach((k, i) => {
            if (keys.findIndex((o) => o.id === k.id) !== i) ctx.addIssue({ code: "custom", path: [i, "id"], message: `"${k.id}" appears twice` });
            if (keys.findIndex((o) => o.key === k.key) !== i) ctx.addIssue({ code: "custom", path: [i, "key"], message: `the key of "${k.id}" is given twice` });
        });
    }),
});

export type ApiKeys = z.output<typeof apiKeysSchema>;

/** Validates the apiKeys object; throws ConfigError naming each problem (never echoing a key). */
export function validateApiKeys(raw: unknown, source = "config"): ApiKeys {
    const parsed = apiKeysSchema.safeParse(raw);
    if (!parsed.success) {
        throw new ConfigError(source, parsed.error.issues.map((issue) => ({
            path: formatPath(issue.path).replace(/^tier/, API_KEYS_CONFIG_KEY), message: issue.message,
        })));
    }
    return parsed.data;
}
