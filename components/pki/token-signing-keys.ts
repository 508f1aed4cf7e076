/**
 * TokenSigningKeys: the JWT signing keys a stack makes for its own issuers (@pulumi/tls), and
 * the JWKS the key service verifies tokens against. RS256 keys get MIN_RSA_BITS (3072: NIST SP
 * 800-57 Part 1 r5), ES256 P-256, EdDSA Ed25519. The private halves leave the stack only as a
 * secret output for the token issuer; the proxies and the key service get public keys only.
 * Rotation is by overlap: add a key (tokens may be signed with it at once, the JWKS carries both),
 * then set the old key's notAfter and remove it once its tokens have expired.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { jwkFromPublicKeyPem, type JwtAlgorithm, type PublicJwk } from "../services/render-auth-policy";
import { MIN_RSA_BITS } from "./key-algorithm";

export interface TokenSigningKeysArgs {
    readonly issuers: readonly { readonly name: string; readonly keys: readonly { readonly kid: string; readonly algorithm: JwtAlgorithm }[] }[];
}

function keyArgs(algorithm: JwtAlgorithm): tls.PrivateKeyArgs {
    switch (algorithm) {
        case "ES256":
            return { algorithm: "ECDSA", ecdsaCurve: "P256" };
        case "RS256":
            return { algorithm: "RSA", rsaBits: MIN_RSA_BITS };
        case "EdDSA":
            return { algorithm: "ED25519" };
        default: {
            const unknown: never = algorithm;
            throw new Error(`unknown JWT algorithm ${String(unknown)}`);
        }
    }
}

export class TokenSigningKeys extends pulumi.ComponentResource {
    /** Per issuer, the public JWKs (what app teams and the key service verify with). */
    public readonly jwks: pulumi.Output<Record<string, PublicJwk[]>>;
    /** Per issuer and kid, the PKCS#8 PEM private key the token issuer signs with (secret). */
    public readonly privateKeysPem: pulumi.Output<Record<string, Record<string, string>>>;

    constructor(name: string, args: TokenSigningKeysArgs, opts?: pulumi.ComponentResourceOptions) {
        super("apiproxy:pki:TokenSigningKeys", name, {}, opts);
        const made = args.issuers.flatMap((issuer) => issuer.keys.map((key) => ({
            issuer: issuer.name, kid: key.kid, algorithm: key.algorithm,
            key: new tls.PrivateKey(`${name}-${issuer.name}-${key.kid}`, keyArgs(key.algorithm), { parent: this }),
        })));
        const issuerNames = args.issuers.map((issuer) => issuer.name);
        this.jwks = pulumi.all(made.map((m) => m.key.publicKeyPem)).apply((pems) => {
            const out: Record<string, PublicJwk[]> = Object.fromEntries(issuerNames.map((n) => [n, []]));
            made.forEach((m, i) => out[m.issuer].push(jwkFromPublicKeyPem(pems[i], m.kid, m.algorithm)));
            return out;
        });
        this.privateKeysPem = pulumi.secret(pulumi.all(made.map((m) => m.key.privateKeyPemPkcs8)).apply((pems) => {
            const out: Record<string, Record<string, string>> = Object.fromEntries(issuerNames.map((n) => [n, {}]));
            made.forEach((m, i) => { out[m.issuer][m.kid] = pems[i]; });
            return out;
        }));
        this.registerOutputs({ jwks: this.jwks });
    }
}
