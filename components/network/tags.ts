/**
 * Tags every taggable AWS resource of the tier carries. The policy pack selects resources by
 * these exact keys, so they are constants here and nowhere else.
 */

/** Tag key naming the stack's environment (e.g. "prod"). */
export const ENVIRONMENT_TAG = "apiproxy:environment";
/** Tag key naming what the resource is for in the tier. */
export const ROLE_TAG = "apiproxy:role";

/** What a resource is for: the policy pack applies different rules per role. */
export type TierRole = "proxy" | "upstream" | "nlb" | "network";

/**
 * User tags plus the tier's two tags. The tier's tags win: a user tag cannot relabel a
 * proxy as something the policy pack checks less strictly.
 */
export function tierTags(
    environment: string,
    role: TierRole,
    userTags: Readonly<Record<string, string>> = {},
    extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
    return { ...userTags, ...extra, [ENVIRONMENT_TAG]: environment, [ROLE_TAG]: role };
}
