/**
 * JWT issuers given as `jwksFile`: the issuer's own JWKS (public keys), read from the project
 * and checked key by key before anything is deployed (the key service verifies tokens against
 * exactly these keys; nothing is fetched at request time). Each problem names the field and
 * the key's index in the file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { publicJwkProblem, type PublicJwk } from "../../components/services/render-auth-policy";
import type { ConfigProblem } from "./load";
import { PROJECT_ROOT } from "./openapi";
import type { TierConfigParsed } from "./schema";

const VERIFYING_MEMBERS = ["kty", "kid", "alg", "use", "crv", "x", "y", "n", "e"] as const;

function publicMembers(key: PublicJwk): PublicJwk {
    return Object.fromEntries(VERIFYING_MEMBERS.filter((m) => key[m] !== undefined).map((m) => [m, key[m]])) as unknown as PublicJwk;
}

export function readJwksFiles(tier: TierConfigParsed, root = PROJECT_ROOT): { jwks: Record<string, PublicJwk[]>; problems: ConfigProblem[] } {
    const jwks: Record<string, PublicJwk[]> = {};
    const problems: ConfigProblem[] = [];
    (tier.jwt?.issuers ?? []).forEach((issuer, i) => {
        if (issuer.jwksFile === undefined) return;
        const field = `tier.jwt.issuers[${i}].jwksFile`;
        let document: unknown;
        try {
            document = JSON.parse(fs.readFileSync(path.join(root, issuer.jwksFile), "utf8"));
        } catch (err) {
            const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : `is not readable JSON: ${(err as Error).message.split("\n")[0]}`;
            problems.push({ path: field, message: `${issuer.jwksFile} ${reason}` });
            return;
        }
        const keys = (document as { keys?: unknown } | null)?.keys;
        if (!Array.isArray(keys) || keys.length === 0) {
            problems.push({ path: field, message: `${issuer.jwksFile} is not a JWKS: it needs a non-empty "keys" array (RFC 7517 5)` });
            return;
        }
        const kids = new Set<string>();
        keys.forEach((key: unknown, j) => {
            const problem = publicJwkProblem(key);
            if (problem !== undefined) {
                problems.push({ path: field, message: `${issuer.jwksFile}#/keys/${j} ${problem}` });
                return;
            }
            const kid = (key as PublicJwk).kid;
            if (kids.has(kid)) problems.push({ path: field, message: `${issuer.jwksFile}#/keys/${j} kid "${kid}" appears twice` });
            kids.add(kid);
        });
        // Only the members a verifier uses travel on (x5c, key_ops and the like are dropped).
        if (problems.length === 0) jwks[issuer.name] = (keys as PublicJwk[]).map(publicMembers);
    });
    return { jwks, problems };
}
