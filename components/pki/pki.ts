import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority } from "./certificate-authority";
import { ROOT_CA_MAX_PATH_LENGTH } from "./defaults";
import type { KeyAlgorithm } from "./key-algorithm";
import { LeafCertificate } from "./leaf-certificate";
import { resolvePkiArgs } from "./pki-args";
import type { CertificateValidity, ResolvedValidity } from "./validity";

/** A TLS endpoint of the proxy tier that gets its own server certificate. */
export interface ServerEndpoint {
    /** Key of `serverCertificates` and part of resource names: [a-z][a-z0-9-]{0,31}, unique. */
    readonly name: string;
    /** subjectAltName DNS names (a leading "*." wildcard label is allowed). */
    readonly dnsNames: readonly string[];
    /** subjectAltName IP addresses. Default: none. */
    readonly ipAddresses?: readonly string[];
}

/** An app team that calls the mTLS listener (8443) with a client certificate. */
export interface ClientApp {
    /** Key of `clientCertificates` and part of resource names: [a-z][a-z0-9-]{0,31}, unique. */
    readonly name: string;
    /** Subject CN= of the client certificate, what nginx sees as the caller; unique. */
    readonly commonName: string;
}

export interface PkiArgs {
    /** Algorithm of every key in the PKI (CAs and leaves). RSA below 3072 bits is refused. Default: { algorithm: "ECDSA", curve: "P256" } */
    readonly keyAlgorithm?: KeyAlgorithm;
    /** Subject O= of every certificate. Default: "api-proxy-security" */
    readonly organization?: string;
    /** One server certificate per endpoint, signed by the intermediate CA. At least one. */
    readonly endpoints: readonly ServerEndpoint[];
    /** One client certificate per app, signed by the client CA. Default: [] */
    readonly clients?: readonly ClientApp[];
    /** Root CA (self-signed). Default: validityHours 87600 (10 years), earlyRenewalHours 26280 (3 years) */
    readonly rootCaValidity?: CertificateValidity;
    /** Intermediate CA (signed by the root); at most rootCaValidity.earlyRenewalHours. Default: validityHours 26280 (3 years), earlyRenewalHours 8760 (1 year) */
    readonly intermediateCaValidity?: CertificateValidity;
    /** Client CA (self-signed, trusted by the mTLS listener only). Default: validityHours 43800 (5 years), earlyRenewalHours 8760 (1 year) */
    readonly clientCaValidity?: CertificateValidity;
    /** Server certificates; at most 4800 h (200 days) and intermediateCaValidity.earlyRenewalHours. Default: validityHours 2160 (90 days), earlyRenewalHours 720 (30 days) */
    readonly serverCertificateValidity?: CertificateValidity;
    /** Client certificates; at most 4800 h (200 days) and clientCaValidity.earlyRenewalHours. Default: validityHours 2160 (90 days), earlyRenewalHours 720 (30 days) */
    readonly clientCertificateValidity?: CertificateValidity;
}

/** What nginx needs for one server endpoint. */
export interface ServerCertificateOutputs {
    /** Leaf then intermediate, PEM: nginx `ssl_certificate`. Public. */
    readonly certificateChainPem: pulumi.Output<string>;
    /** nginx `ssl_certificate_key`. Pulumi secret. */
    readonly privateKeyPem: pulumi.Output<string>;
}

/** What one app team receives. */
export interface ClientCertificateOutputs {
    /** The client certificate, PEM. Public. */
    readonly certificatePem: pulumi.Output<string>;
    /** Its private key, PEM. Pulumi secret. */
    readonly privateKeyPem: pulumi.Output<string>;
}

/** The lifetimes in force, so the stack can schedule `pulumi up` and alert on expiry. */
export interface PkiRotation {
    readonly rootCa: ResolvedValidity;
    readonly intermediateCa: ResolvedValidity;
    readonly clientCa: ResolvedValidity;
    readonly serverCertificates: ResolvedValidity;
    readonly clientCertificates: ResolvedValidity;
    /** The shortest renewal window: run `pulumi up` at least this often or a certificate expires un-rotated. */
    readonly maxHoursBetweenDeployments: number;
}

/** Concatenates PEM blocks, one per line group, whether or not each ends with a newline. */
function concatPem(...pems: pulumi.Input<string>[]): pulumi.Output<string> {
    return pulumi.all(pems).apply((blocks) => blocks.map((pem) => `${pem.trimEnd()}\n`).join(""));
}

/**
 * `apiproxy:pki:Pki` — the proxy tier's private PKI on @pulumi/tls:
 * root CA → intermediate CA → one server certificate per endpoint, and a separate
 * self-signed client CA → one client certificate per app team for mTLS on 8443.
 * Every private key leaves this component only as a Pulumi secret; CA keys not at all.
 *
 * Rotation: each certificate carries `earlyRenewalHours`. When a deployment runs inside that
 * window (or past expiry), the tls provider's plan marks the certificate for replacement
 * (`readyForRenewal`) from its recorded validity alone, so a plain `pulumi up` re-issues it (no
 * `--refresh` needed; test/integration/pki-stack.test.ts): a new serial and validity with the
 * same key. A replaced CA changes its children's `caCertPem`, so they are re-issued
 * in the same run. The delivery targets see the new PEM content (their triggers are content
 * hashes), write the files and reload nginx (`nginx -t && systemctl reload nginx`,
 * SIGHUP: workers drain, no connection is dropped) — never restart. Nothing renews
 * without a deployment, so schedule `pulumi up` at least every
 * `rotation.maxHoursBetweenDeployments` hours (weekly CI is ample with the defaults).
 */
export class Pki extends pulumi.ComponentResource {
    /** Root then intermediate CA certificates, PEM: what clients of the proxy trust. Public. */
    public readonly caBundlePem: pulumi.Output<string>;
    /** Client CA certificate, PEM: nginx `ssl_client_certificate` on the mTLS listener. Public. */
    public readonly clientCaPem: pulumi.Output<string>;
    /** Per endpoint name. */
    public readonly serverCertificates: Readonly<Record<string, ServerCertificateOutputs>>;
    /** Per client app name. */
    public readonly clientCertificates: Readonly<Record<string, ClientCertificateOutputs>>;
    /** Validity and renewal windows in force, in hours. */
    public readonly rotation: PkiRotation;

    constructor(name: string, args: PkiArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("apiproxy:pki:Pki", name, {}, opts);
        const spec = resolvePkiArgs(args, this);
        const { keyAlgorithm, organization } = spec;

        const rootCa = new CertificateAuthority(`${name}-root-ca`, {
            keyAlgorithm, organization, commonName: `${organization} Root CA`,
            validity: spec.rootCaValidity, maxPathLength: ROOT_CA_MAX_PATH_LENGTH,
        }, { parent: this });
        // No maxPathLength here: see CertificateAuthorityArgs.maxPathLength; the root's 1 bounds the chain.
        const intermediateCa = new CertificateAuthority(`${name}-intermediate-ca`, {
            keyAlgorithm, organization, commonName: `${organization} Intermediate CA`,
            validity: spec.intermediateCaValidity, issuer: rootCa.issuing,
        }, { parent: this });
        const clientCa = new CertificateAuthority(`${name}-client-ca`, {
            keyAlgorithm, organization, commonName: `${organization} Client CA`,
            validity: spec.clientCaValidity,
        }, { parent: this });

        const serverCertificates: Record<string, ServerCertificateOutputs> = {};
        for (const endpoint of spec.endpoints) {
            const leaf = new LeafCertificate(`${name}-server-${endpoint.name}`, {
                purpose: "server", keyAlgorithm, organization, issuer: intermediateCa.issuing,
                commonName: endpoint.dnsNames[0] ?? endpoint.ipAddresses[0] ?? endpoint.name,
                dnsNames: endpoint.dnsNames, ipAddresses: endpoint.ipAddresses,
                validity: spec.serverCertificateValidity,
            }, { parent: this });
            serverCertificates[endpoint.name] = {
                certificateChainPem: concatPem(leaf.certPem, intermediateCa.certPem),
                privateKeyPem: leaf.privateKeyPem,
            };
        }

        const clientCertificates: Record<string, ClientCertificateOutputs> = {};
        for (const client of spec.clients) {
            const leaf = new LeafCertificate(`${name}-client-${client.name}`, {
                purpose: "client", keyAlgorithm, organization, issuer: clientCa.issuing,
                commonName: client.commonName, validity: spec.clientCertificateValidity,
            }, { parent: this });
            clientCertificates[client.name] = { certificatePem: leaf.certPem, privateKeyPem: leaf.privateKeyPem };
        }

        this.caBundlePem = concatPem(rootCa.certPem, intermediateCa.certPem);
        this.clientCaPem = clientCa.certPem;
        this.serverCertificates = serverCertificates;
        this.clientCertificates = clientCertificates;
        this.rotation = {
            rootCa: spec.rootCaValidity,
            intermediateCa: spec.intermediateCaValidity,
            clientCa: spec.clientCaValidity,
            serverCertificates: spec.serverCertificateValidity,
            clientCertificates: spec.clientCertificateValidity,
            maxHoursBetweenDeployments: Math.min(
                spec.rootCaValidity.earlyRenewalHours, spec.intermediateCaValidity.earlyRenewalHours,
                spec.clientCaValidity.earlyRenewalHours, spec.serverCertificateValidity.earlyRenewalHours,
                spec.clientCertificateValidity.earlyRenewalHours),
        };

        this.registerOutputs({
            caBundlePem: this.caBundlePem,
            clientCaPem: this.clientCaPem,
            serverCertificates: this.serverCertificates,
            clientCertificates: this.clientCertificates,
            rotation: this.rotation,
        });
    }
}
