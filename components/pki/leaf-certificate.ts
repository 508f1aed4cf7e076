import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { IssuingCa } from "./certificate-authority";
import { MAX_LEAF_VALIDITY_CITATION, MAX_LEAF_VALIDITY_HOURS } from "./defaults";
import { privateKeyArgs, validateKeyAlgorithm, type KeyAlgorithm } from "./key-algorithm";
import { validateValidity, type ResolvedValidity } from "./validity";

/** Which side of a TLS handshake the certificate authenticates. */
export type LeafPurpose = "server" | "client";

/**
 * Key usages of an end-entity certificate (RFC 5280 §4.2.1.3, §4.2.1.12), exactly one EKU each:
 * - server, ECDSA: digital_signature only; RFC 8813 §3 forbids key_encipherment on EC keys.
 * - server, RSA: digital_signature + key_encipherment (RSA key transport, NIST SP 800-52r2 §3.2.1).
 * - client: digital_signature only, whatever the key: the client only signs CertificateVerify.
 */
export function leafAllowedUses(purpose: LeafPurpose, key: KeyAlgorithm): string[] {
    switch (purpose) {
        case "server":
            return key.algorithm === "RSA"
                ? ["digital_signature", "key_encipherment", "server_auth"]
                : ["digital_signature", "server_auth"];
        case "client":
            return ["digital_signature", "client_auth"];
        default: {
            const unknown: never = purpose;
            throw new Error(`unknown leaf purpose ${String(unknown)}`);
        }
    }
}

export interface LeafCertificateArgs {
    readonly purpose: LeafPurpose;
    readonly keyAlgorithm: KeyAlgorithm;
    /** The CA that signs this certificate. */
    readonly issuer: IssuingCa;
    /** Subject CN=. Informational for servers (clients match SANs, RFC 6125); the identity for mTLS clients. */
    readonly commonName: string;
    /** Subject O=. */
    readonly organization: string;
    /** subjectAltName DNS entries. Default: none. */
    readonly dnsNames?: readonly string[];
    /** subjectAltName IP entries. Default: none. */
    readonly ipAddresses?: readonly string[];
    /** Lifetime and renewal window, already defaulted by the caller. */
    readonly validity: ResolvedValidity;
}

/**
 * `apiproxy:pki:LeafCertificate` — an end-entity key, CSR and certificate signed by `issuer`.
 * Not a CA (isCaCertificate false). Rotation: tls.LocallySignedCert marks itself for
 * replacement once `pulumi up` runs within `earlyRenewalHours` of expiry; the key is kept.
 */
export class LeafCertificate extends pulumi.ComponentResource {
    /** The certificate alone, PEM. Public. */
    public readonly certPem: pulumi.Output<string>;
    /** The certificate's private key, PEM, as a Pulumi secret. */
    public readonly privateKeyPem: pulumi.Output<string>;

    constructor(name: string, args: LeafCertificateArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("apiproxy:pki:LeafCertificate", name, {}, opts);
        validateKeyAlgorithm(args.keyAlgorithm, "keyAlgorithm", this);
        validateValidity(args.validity, "validity", MAX_LEAF_VALIDITY_HOURS, MAX_LEAF_VALIDITY_CITATION, this);

        const key = new tls.PrivateKey(`${name}-key`, privateKeyArgs(args.keyAlgorithm), { parent: this });
        // additionalSecretOutputs on tls.PrivateKey is applied by the engine only; the explicit
        // secret keeps the flag under mocks, previews and every consumer of this output.
        this.privateKeyPem = pulumi.secret(key.privateKeyPem);

        const csr = new tls.CertRequest(`${name}-csr`, {
            privateKeyPem: this.privateKeyPem,
            subject: { commonName: args.commonName, organization: args.organization },
            dnsNames: args.dnsNames ? [...args.dnsNames] : undefined,
            ipAddresses: args.ipAddresses ? [...args.ipAddresses] : undefined,
        }, { parent: this });

        const cert = new tls.LocallySignedCert(`${name}-cert`, {
            certRequestPem: csr.certRequestPem,
            caCertPem: args.issuer.certPem,
            caPrivateKeyPem: args.issuer.privateKeyPem,
            isCaCertificate: false,
            allowedUses: leafAllowedUses(args.purpose, args.keyAlgorithm),
            validityPeriodHours: args.validity.validityHours,
            earlyRenewalHours: args.validity.earlyRenewalHours,
            setSubjectKeyId: true,
        }, { parent: this });
        this.certPem = cert.certPem;

        // The key stays out of the component's registered outputs: one less copy in state.
        this.registerOutputs({ certPem: this.certPem });
    }
}
