import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { MAX_CA_VALIDITY_CITATION, MAX_CA_VALIDITY_HOURS } from "./defaults";
import { privateKeyArgs, validateKeyAlgorithm, type KeyAlgorithm } from "./key-algorithm";
import { validateValidity, type ResolvedValidity } from "./validity";

/** What a CA hands to the certificates it signs. `privateKeyPem` is a Pulumi secret. */
export interface IssuingCa {
    readonly certPem: pulumi.Output<string>;
    readonly privateKeyPem: pulumi.Output<string>;
}

/**
 * RFC 5280 §4.2.1.3: a CA key signs certificates and CRLs and nothing else; no
 * digital_signature / key_encipherment, no extended key usages, so the CA key cannot
 * stand in for a TLS endpoint.
 */
export const CA_ALLOWED_USES: readonly string[] = ["cert_signing", "crl_signing"];

export interface CertificateAuthorityArgs {
    /** Key of the CA itself. */
    readonly keyAlgorithm: KeyAlgorithm;
    /** Subject CN=. RFC 5280 §4.1.2.6: a CA subject must not be empty. */
    readonly commonName: string;
    /** Subject O=. */
    readonly organization: string;
    /** Lifetime and renewal window, already defaulted by the caller. */
    readonly validity: ResolvedValidity;
    /**
     * basicConstraints pathLenConstraint. Leave it out for a CA that issues only leaves:
     * @pulumi/tls 5.6.1 (terraform-provider-tls createCertificate) copies the value into Go's
     * x509 MaxPathLen without MaxPathLenZero, so 0 silently means "no limit". Default: unset.
     */
    readonly maxPathLength?: number;
    /** The CA that signs this one. Default: none, the CA is self-signed (a root). */
    readonly issuer?: IssuingCa;
}

/**
 * `apiproxy:pki:CertificateAuthority` — a CA key and certificate: self-signed when no
 * `issuer` is given (root, client CA), otherwise a CSR signed by the issuer (intermediate).
 * Both carry `earlyRenewalHours`, so the certificate is re-issued (same key) by a
 * `pulumi up` inside the window, and every certificate it signed is re-issued with it
 * because their `caCertPem` input changes.
 */
export class CertificateAuthority extends pulumi.ComponentResource {
    /** The CA certificate, PEM. Public. */
    public readonly certPem: pulumi.Output<string>;
    /** The CA private key, PEM, as a Pulumi secret. Only for signing; never export it from the stack. */
    public readonly privateKeyPem: pulumi.Output<string>;
    /** `certPem` + `privateKeyPem`, for the certificates this CA signs. */
    public readonly issuing: IssuingCa;

    constructor(name: string, args: CertificateAuthorityArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("apiproxy:pki:CertificateAuthority", name, {}, opts);
        validateKeyAlgorithm(args.keyAlgorithm, "keyAlgorithm", this);
        validateValidity(args.validity, "validity", MAX_CA_VALIDITY_HOURS, MAX_CA_VALIDITY_CITATION, this);
        if (args.maxPathLength !== undefined && (!Number.isInteger(args.maxPathLength) || args.maxPathLength < 1)) {
            throw new pulumi.ResourceError(
                `maxPathLength must be an integer >= 1 or omitted (0 is not expressible with @pulumi/tls), got ${args.maxPathLength}`, this);
        }

        const key = new tls.PrivateKey(`${name}-key`, privateKeyArgs(args.keyAlgorithm), { parent: this });
        // tls.PrivateKey lists privateKeyPem in additionalSecretOutputs, which only the engine
        // honours; wrap it here too so the secret flag holds under mocks and in every consumer.
        this.privateKeyPem = pulumi.secret(key.privateKeyPem);
        const subject = { commonName: args.commonName, organization: args.organization };
        const certificate = {
            isCaCertificate: true,
            allowedUses: [...CA_ALLOWED_USES],
            validityPeriodHours: args.validity.validityHours,
            earlyRenewalHours: args.validity.earlyRenewalHours,
            setSubjectKeyId: true,
            ...(args.maxPathLength !== undefined ? { maxPathLength: args.maxPathLength } : {}),
        };

        if (args.issuer === undefined) {
            const cert = new tls.SelfSignedCert(`${name}-cert`, {
                ...certificate,
                privateKeyPem: this.privateKeyPem,
                subject,
            }, { parent: this });
            this.certPem = cert.certPem;
        } else {
            const csr = new tls.CertRequest(`${name}-csr`, { privateKeyPem: this.privateKeyPem, subject }, { parent: this });
            const cert = new tls.LocallySignedCert(`${name}-cert`, {
                ...certificate,
                certRequestPem: csr.certRequestPem,
                caCertPem: args.issuer.certPem,
                caPrivateKeyPem: args.issuer.privateKeyPem,
            }, { parent: this });
            this.certPem = cert.certPem;
        }

        this.issuing = { certPem: this.certPem, privateKeyPem: this.privateKeyPem };
        // The key stays out of the component's registered outputs: one less copy in state.
        this.registerOutputs({ certPem: this.certPem });
    }
}
