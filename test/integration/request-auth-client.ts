/**
 * The client side of signed and JWT requests, as docs/request-auth.md specifies them, for the
 * tests and the benchmark: HMAC-SHA256 request signatures (services/keycheck signature.go) and
 * compact JWS tokens (ES256 in the raw r||s form of RFC 7518 3.4, RS256, EdDSA).
 */
import { createHash, createHmac, randomBytes, sign } from "node:crypto";

export type JwtAlg = "ES256" | "RS256" | "EdDSA";

export interface SignedRequest {
    readonly method: string;
    /** Path and query exactly as sent. */
    readonly uri: string;
    readonly body?: string | Buffer;
    readonly keyId: string;
    readonly secret: string;
    /** Unix seconds; default now. */
    readonly timestamp?: number;
    /** Default: 24 random bytes, base64url. */
    readonly nonce?: string;
}

/** The five request headers of a signed request. */
export function signatureHeaders(request: SignedRequest): Record<string, string> {
    const timestamp = String(request.timestamp ?? Math.floor(Date.now() / 1000));
    const nonce = request.nonce ?? randomBytes(24).toString("base64url");
    const digest = createHash("sha256").update(request.body ?? "").digest("hex");
    const canonical = ["APIPROXY-HMAC-SHA256", request.method, request.uri, timestamp, nonce, digest].join("\n");
    return {
        "X-Apiproxy-Key-Id": request.keyId,
        "X-Apiproxy-Timestamp": timestamp,
        "X-Apiproxy-Nonce": nonce,
        "X-Apiproxy-Content-SHA256": digest,
        "X-Apiproxy-Signature": createHmac("sha256", request.secret).update(canonical).digest("base64"),
    };
}

const b64url = (value: string | Buffer): string => Buffer.from(value).toString("base64url");

/** A compact JWS (RFC 7515) over the claims, signed with the PEM private key. */
export function mintJwt(options: { alg: JwtAlg; kid: string; privateKeyPem: string; claims: Record<string, unknown>; header?: Record<string, unknown> }): string {
    const header = { alg: options.alg, typ: "JWT", kid: options.kid, ...options.header };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(options.claims))}`;
    const signature = options.alg === "EdDSA"
        ? sign(null, Buffer.from(input), options.privateKeyPem)
        : options.alg === "ES256"
            ? sign("sha256", Buffer.from(input), { key: options.privateKeyPem, dsaEncoding: "ieee-p1363" })
            : sign("sha256", Buffer.from(input), options.privateKeyPem);
    return `${input}.${b64url(signature)}`;
}

/** Standard claims valid now for `lifetimeSeconds`. */
export function claimsNow(issuer: string, audience: string | string[], subject: string, lifetimeSeconds = 300): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return { iss: issuer, aud: audience, sub: subject, iat: now, nbf: now, exp: now + lifetimeSeconds };
}

/** Headers as curl arguments. */
export function curlHeaders(headers: Record<string, string>): string[] {
    return Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]);
}
