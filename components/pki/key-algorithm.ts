import * as pulumi from "@pulumi/pulumi";
import type * as tls from "@pulumi/tls";

/**
 * The key every certificate of the PKI is generated with.
 * ECDSA curves are limited to the two that nginx/OpenSSL and every mainstream client
 * negotiate (NIST SP 800-52r2 §3.3.1.1 lists P-256 and P-384 for TLS certificates).
 */
export type KeyAlgorithm =
    | { readonly algorithm: "ECDSA"; readonly curve: "P256" | "P384" }
    | { readonly algorithm: "RSA"; readonly rsaBits: number };

/**
 * NIST SP 800-57 Part 1 r5 §5.6.3 / SP 800-52r2 §3.1: RSA-2048 (112-bit security) is
 * disallowed for protecting data beyond 2030; 3072 bits (128-bit security) is the floor.
 */
export const MIN_RSA_BITS = 3072;

/** Above this key generation takes minutes and handshakes slow down for no security gain that P-384 doesn't give cheaper. */
export const MAX_RSA_BITS = 8192;

const ECDSA_CURVES: readonly string[] = ["P256", "P384"];

/**
 * Throws a ResourceError naming `argName` unless `key` is an allowed algorithm.
 * The type already says so, but stack config arrives as data, so check the values too.
 */
export function validateKeyAlgorithm(key: KeyAlgorithm, argName: string, resource: pulumi.Resource): void {
    switch (key.algorithm) {
        case "ECDSA":
            if (!ECDSA_CURVES.includes(key.curve)) {
                throw new pulumi.ResourceError(
                    `${argName}.curve must be one of ${ECDSA_CURVES.join(", ")}, got "${String(key.curve)}"`, resource);
            }
            return;
        case "RSA":
            if (!Number.isInteger(key.rsaBits) || key.rsaBits < MIN_RSA_BITS || key.rsaBits > MAX_RSA_BITS) {
                throw new pulumi.ResourceError(
                    `${argName}.rsaBits must be an integer from ${MIN_RSA_BITS} to ${MAX_RSA_BITS} ` +
                    `(NIST SP 800-57 Part 1 r5: RSA-2048 is not acceptable beyond 2030), got ${String(key.rsaBits)}`, resource);
            }
            return;
        default: {
            const unknown: never = key;
            throw new pulumi.ResourceError(
                `${argName}.algorithm must be "ECDSA" or "RSA", got "${String((unknown as { algorithm?: unknown }).algorithm)}"`, resource);
        }
    }
}

/** The tls.PrivateKey arguments for `key`. */
export function privateKeyArgs(key: KeyAlgorithm): tls.PrivateKeyArgs {
    switch (key.algorithm) {
        case "ECDSA":
            return { algorithm: "ECDSA", ecdsaCurve: key.curve };
        case "RSA":
            return { algorithm: "RSA", rsaBits: key.rsaBits };
        default: {
            const unknown: never = key;
            return unknown;
        }
    }
}
