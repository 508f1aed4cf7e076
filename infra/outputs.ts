/**
 * The outputs contract for app teams (README "Outputs"): stable names, typed, no secret in a
 * plain output. Consume with a StackReference, e.g.
 * `new pulumi.StackReference("org/api-proxy-security/prod").getOutput("endpoints")`.
 */
import * as pulumi from "@pulumi/pulumi";

export interface RouteOutput {
    readonly name: string;
    readonly path: string;
    readonly exact: boolean;
    readonly methods: readonly string[];
    readonly protocol: string;
    readonly listeners: readonly string[];
    readonly apiKeyRequired: boolean;
    /** The signing clients a signed route admits (docs/request-auth.md). */
    readonly signatureClients?: readonly string[];
    /** The issuer (its iss claim) and audiences a JWT route requires. */
    readonly jwt?: { readonly issuer: string; readonly audiences: readonly string[] };
    readonly maxBodyBytes: number;
    readonly rateLimitPerIp: { readonly ratePerSecond: number; readonly burst: number };
    readonly timeoutsSeconds: { readonly connect: number; readonly send: number; readonly read: number };
}

export interface TierOutputs {
    readonly environment: string;
    /** Public endpoints through the NLB: https (443) for API keys, mtls (8443) for client certificates. */
    readonly endpoints: pulumi.Output<{ https: string; mtls: string; dnsName: string; httpsPort: number; mtlsPort: number }>;
    /** Root + intermediate PEM: what clients trust for the server certificate. */
    readonly caBundlePem: pulumi.Output<string>;
    /** PEM of the CA that signs mTLS client certificates (app teams present certs from it on 8443). */
    readonly mtlsClientCaPem: pulumi.Output<string>;
    /** Client certificates issued to app teams, by name (certificate public; the key a secret output). */
    readonly clientCertificates: pulumi.Output<Record<string, { certificatePem: string }>>;
    readonly clientPrivateKeys: pulumi.Output<Record<string, string>>;
    /** TLS upstream pools: the certificate chain their servers present (for tlsServerName), issued by the tier's PKI. */
    readonly upstreamCertificates: pulumi.Output<Record<string, { certificateChainPem: string }>>;
    /** Their private keys (secret). */
    readonly upstreamPrivateKeys: pulumi.Output<Record<string, string>>;
    readonly routes: readonly RouteOutput[];
    readonly rateLimits: {
        readonly perIp: { readonly ratePerSecond: number; readonly burst: number };
        readonly perApiKey: { readonly ratePerSecond: number; readonly burst: number };
    };
    readonly limits: { readonly maxBodyBytes: number; readonly largeHeaderBufferKb: number };
    /** What the load balancer probes (plain HTTP inside the VPC), and each proxy's probe URL. */
    readonly health: pulumi.Output<{ port: number; path: string; protocol: "HTTP"; urls: string[] }>;
    /** How often `pulumi up` must run at the latest so certificates rotate inside their window. */
    readonly certificateRotation: { readonly serverValidityDays: number; readonly earlyRenewalDays: number };
}
