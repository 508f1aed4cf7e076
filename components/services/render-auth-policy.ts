/**
 * The key service's per-route request-authentication policy (services/keycheck, GET
 * /auth/<route>): which routes need an API key, an HMAC signature from which clients, a JWT from
 * which issuer for which audiences; the signing keys' secrets and the issuers' public keys
 * (JWKS), each with its rotation window. Pure: the policy in, one root-only HostFile out.
 *
 * The file carries the signature secrets, so it is 0600 root and a secret HostFile; the unit
 * loads it as a systemd credential (readable by the service alone) and carries its digest, so a
 * changed policy restarts the service (render-units.ts).
 */
import { createHash, createPublicKey } from "node:crypto";
import { hostFile, type HostFile } from "../core/host-file";

export const KEYCHECK_POLICY_FILE = "/etc/apiproxy-keycheck/policy.json";

export type JwtAlgorithm = "ES256" | "RS256" | "EdDSA";

/** A public JSON Web Key (RFC 7517) of a token issuer: P-256 (ES256), RSA (RS256) or Ed25519 (EdDSA). */
export interface PublicJwk {
    readonly kty: "EC" | "RSA" | "OKP";
    readonly kid: string;
    readonly alg: JwtAlgorithm;
    readonly use?: "sig";
    readonly crv?: string;
    readonly x?: string;
    readonly y?: string;
    readonly n?: string;
    readonly e?: string;
}

export interface KeyWindow {
    readonly notBefore?: string;
    readonly notAfter?: string;
}

export interface AuthPolicySpec {
    readonly signatures?: {
        readonly maxSkewSeconds: number;
        readonly keys: readonly ({ readonly id: string; readonly client: string; readonly secret: string } & KeyWindow)[];
    };
    readonly issuers: readonly {
        readonly name: string;
        readonly issuer: string;
        readonly leewaySeconds: number;
        readonly maxLifetimeSeconds?: number;
        readonly keys: readonly ({ readonly jwk: PublicJwk } & KeyWindow)[];
    }[];
    readonly routes: Readonly<Record<string, {
        readonly apiKey: boolean;
        readonly signature?: { readonly clients: readonly string[] };
        readonly jwt?: { readonly issuer: string; readonly audiences: readonly string[] };
    }>>;
}

/** A signing key's id or a JWT kid (the key service refuses any other: services/keycheck policy.go). */
export const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** 256 bits: an HMAC-SHA256 key should be at least the hash's output (RFC 2104 3; NIST SP 800-107r1 5.3.4). */
export const MIN_SIGNATURE_SECRET_BYTES = 32;
const ROUTE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
const MIN_RSA_BITS = 2048;

/** Why a JWK cannot verify tokens here, or undefined when it can. */
export function publicJwkProblem(jwk: unknown): string | undefined {
    if (jwk === null || typeof jwk !== "object" || Array.isArray(jwk)) return "is not a JSON object";
    const key = jwk as Record<string, unknown>;
    const secret = PRIVATE_MEMBERS.filter((m) => m in key);
    if (secret.length > 0) return `holds private key material (${secret.join(", ")}): a JWKS carries public keys only`;
    if (typeof key.kid !== "string" || !KEY_ID.test(key.kid)) return "needs a kid of 1-64 letters, digits and . _ -";
    if (key.use !== undefined && key.use !== "sig") return `use is "${String(key.use)}": only signature keys (sig) verify tokens`;
    const expected = key.kty === "EC" ? "ES256" : key.kty === "RSA" ? "RS256" : key.kty === "OKP" ? "EdDSA" : undefined;
    if (expected === undefined) return `kty "${String(key.kty)}" is not supported (EC P-256, RSA, OKP Ed25519)`;
    if (key.alg !== expected) return `alg must be ${expected} for kty ${String(key.kty)} (got ${String(key.alg)})`;
    if (key.kty === "EC" && key.crv !== "P-256") return `crv must be P-256 for ES256 (got ${String(key.crv)})`;
    if (key.kty === "OKP" && key.crv !== "Ed25519") return `crv must be Ed25519 for EdDSA (got ${String(key.crv)})`;
    try {
        const parsed = createPublicKey({ key: key as never, format: "jwk" });
        if (key.kty === "RSA" && (parsed.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
            return `the RSA modulus has ${parsed.asymmetricKeyDetails?.modulusLength} bits; at least ${MIN_RSA_BITS} are required (NIST SP 800-131A)`;
        }
    } catch (err) {
        return `is not a valid public key: ${(err as Error).message}`;
    }
    return undefined;
}

/** The public JWK of a PEM public key (SubjectPublicKeyInfo), with its kid and alg. */
export function jwkFromPublicKeyPem(pem: string, kid: string, alg: JwtAlgorithm): PublicJwk {
    const exported = createPublicKey(pem).export({ format: "jwk" }) as Record<string, string>;
    const members = alg === "RS256" ? { n: exported.n, e: exported.e } : alg === "ES256" ? { crv: exported.crv, x: exported.x, y: exported.y } : { crv: exported.crv, x: exported.x };
    return { kty: exported.kty as PublicJwk["kty"], kid, alg, use: "sig", ...members };
}

function check(ok: boolean, problems: string[], message: string): void {
    if (!ok) problems.push(message);
}

function checkWindow(window: KeyWindow, at: string, problems: string[]): void {
    for (const edge of ["notBefore", "notAfter"] as const) {
        const value = window[edge];
        check(value === undefined || !Number.isNaN(Date.parse(value)), problems, `${at}.${edge}: "${value}" is not a time`);
    }
}

/** Every problem of the policy, each with its path (the service refuses the same file at start). */
export function authPolicyProblems(spec: AuthPolicySpec): string[] {
    const problems: string[] = [];
    const clients = new Set<string>();
    const ids = new Set<string>();
    const sig = spec.signatures;
    if (sig) {
        check(Number.isInteger(sig.maxSkewSeconds) && sig.maxSkewSeconds >= 1 && sig.maxSkewSeconds <= 900, problems, "signatures.maxSkewSeconds: must be 1-900");
        sig.keys.forEach((k, i) => {
            const at = `signatures.keys[${i}]`;
            check(KEY_ID.test(k.id), problems, `${at}.id: must match ${KEY_ID}`);
            check(!ids.has(k.id), problems, `${at}.id: "${k.id}" appears twice`);
            check(Buffer.byteLength(k.secret, "utf8") >= MIN_SIGNATURE_SECRET_BYTES, problems, `${at}.secret: must be at least ${MIN_SIGNATURE_SECRET_BYTES} bytes`);
            checkWindow(k, at, problems);
            ids.add(k.id);
            clients.add(k.client);
        });
    }
    const issuers = new Set<string>();
    spec.issuers.forEach((issuer, i) => {
        const at = `issuers[${i}]`;
        check(!issuers.has(issuer.name), problems, `${at}.name: "${issuer.name}" appears twice`);
        issuers.add(issuer.name);
        check(issuer.keys.length > 0, problems, `${at}.keys: an issuer needs at least one key`);
        const kids = new Set<string>();
        issuer.keys.forEach((k, j) => {
            const problem = publicJwkProblem(k.jwk);
            check(problem === undefined, problems, `${at}.keys[${j}].jwk: ${problem}`);
            check(!kids.has(k.jwk.kid), problems, `${at}.keys[${j}].jwk.kid: "${k.jwk.kid}" appears twice`);
            kids.add(k.jwk.kid);
            checkWindow(k, `${at}.keys[${j}]`, problems);
        });
    });
    for (const [name, route] of Object.entries(spec.routes)) {
        const at = `routes["${name}"]`;
        check(ROUTE.test(name), problems, `${at}: the route name must match ${ROUTE}`);
        check(route.apiKey || route.signature !== undefined || route.jwt !== undefined, problems, `${at}: checks nothing (API key, signature or JWT)`);
        route.signature?.clients.forEach((c, j) => check(clients.has(c), problems, `${at}.signature.clients[${j}]: "${c}" has no signing key`));
        if (route.jwt) {
            check(issuers.has(route.jwt.issuer), problems, `${at}.jwt.issuer: unknown issuer "${route.jwt.issuer}"`);
            check(route.jwt.audiences.length > 0, problems, `${at}.jwt.audiences: at least one audience`);
        }
    }
    return problems;
}

/** policy.json: the service's whole policy (secret, root-only). */
export function renderAuthPolicy(spec: AuthPolicySpec): HostFile {
    const problems = authPolicyProblems(spec);
    if (problems.length > 0) throw new Error(`key service policy: ${problems.join("; ")}`);
    const document = {
        ...(spec.signatures ? { signatures: { maxSkewSeconds: spec.signatures.maxSkewSeconds, keys: spec.signatures.keys } } : {}),
        issuers: spec.issuers,
        routes: spec.routes,
    };
    return hostFile({
        path: KEYCHECK_POLICY_FILE, content: `${JSON.stringify(document, null, 2)}\n`,
        mode: "0600", owner: "root", group: "root", action: "none", secret: true,
    });
}

/** The digest the key service's unit carries, so a new policy restarts the service. */
export function policyDigest(file: HostFile): string {
    return createHash("sha256").update(file.content).digest("hex");
}
