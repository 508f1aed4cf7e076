/** The tier's PKI and the outputs contract (infra/outputs.ts), the same for every target. */
import * as pulumi from "@pulumi/pulumi";
import { Pki } from "../components/pki/pki";
import type { TierConfig } from "./config/load";
import type { TierOutputs } from "./outputs";

/** The single server endpoint the PKI issues for (the public API name). */
export const SERVER_ENDPOINT = "api";

/** The PKI endpoint of a TLS upstream pool's certificate. */
export function upstreamEndpoint(pool: string): string {
    return `upstream-${pool}`.slice(0, 32);
}

/** The tier's PKI: the configured key, one server endpoint for serverName, the app teams' clients. */
export function tierPki(tier: TierConfig): Pki {
    return new Pki("pki", {
        keyAlgorithm: tier.pki.key.algorithm === "ECDSA"
            ? { algorithm: "ECDSA", curve: tier.pki.key.curve }
            : { algorithm: "RSA", rsaBits: tier.pki.key.rsaBits },
        endpoints: [
            { name: SERVER_ENDPOINT, dnsNames: [tier.serverName] },
            // TLS upstreams: the certificate their servers present, for the name nginx verifies.
            ...tier.upstreams.filter((u) => u.tls && u.tlsServerName).map((u) => ({ name: upstreamEndpoint(u.name), dnsNames: [u.tlsServerName!] })),
        ],
        clients: tier.pki.clients,
        serverCertificateValidity: { validityHours: tier.pki.serverValidityDays * 24, earlyRenewalHours: tier.pki.earlyRenewalDays * 24 },
        clientCertificateValidity: { validityHours: tier.pki.serverValidityDays * 24, earlyRenewalHours: tier.pki.earlyRenewalDays * 24 },
    });
}

/** What differs per target: where clients connect, and each proxy's probe URL. */
export interface TargetEndpoints {
    /** The load balancer's name or address. */
    readonly dnsName: pulumi.Input<string>;
    readonly https: pulumi.Input<string>;
    readonly mtls: pulumi.Input<string>;
    /** Each proxy's address on the segment its health is probed from. */
    readonly proxyAddresses: pulumi.Input<string[]>;
}

export function tierOutputs(tier: TierConfig, pki: Pki, target: TargetEndpoints): TierOutputs {
    const clientNames = Object.keys(pki.clientCertificates);
    const tlsPools = tier.upstreams.filter((u) => u.tls).map((u) => u.name);
    return {
        environment: tier.environment,
        endpoints: pulumi.all([target.dnsName, target.https, target.mtls]).apply(([dnsName, https, mtls]) => ({
            https, mtls, dnsName, httpsPort: tier.ports.https, mtlsPort: tier.ports.mtls,
        })),
        caBundlePem: pki.caBundlePem,
        mtlsClientCaPem: pki.clientCaPem,
        clientCertificates: pulumi.all(clientNames.map((n) => pki.clientCertificates[n].certificatePem)).apply((pems) =>
            Object.fromEntries(clientNames.map((n, i) => [n, { certificatePem: pems[i] }]))),
        // A secret output: encrypted in state, shown only with --show-secrets.
        clientPrivateKeys: pulumi.secret(pulumi.all(clientNames.map((n) => pki.clientCertificates[n].privateKeyPem)).apply((keys) =>
            Object.fromEntries(clientNames.map((n, i) => [n, keys[i]])))),
        upstreamCertificates: pulumi.all(tlsPools.map((n) => pki.serverCertificates[upstreamEndpoint(n)].certificateChainPem)).apply((pems) =>
            Object.fromEntries(tlsPools.map((n, i) => [n, { certificateChainPem: pems[i] }]))),
        upstreamPrivateKeys: pulumi.secret(pulumi.all(tlsPools.map((n) => pki.serverCertificates[upstreamEndpoint(n)].privateKeyPem)).apply((keys) =>
            Object.fromEntries(tlsPools.map((n, i) => [n, keys[i]])))),
        routes: tier.routes.map((r) => ({
            name: r.name,
            path: r.path,
            exact: r.exact,
            methods: r.methods,
            protocol: r.protocol,
            listeners: r.listeners,
            apiKeyRequired: r.apiKey,
            ...(r.signature ? { signatureClients: r.signature.clients } : {}),
            ...(r.jwt ? { jwt: { issuer: tier.jwt!.issuers.find((i) => i.name === r.jwt!.issuer)!.issuer, audiences: r.jwt.audiences } } : {}),
            maxBodyBytes: r.maxBodySize ?? tier.limits.maxBodySize,
            rateLimitPerIp: r.rateLimitPerIp ?? tier.limits.rateLimitPerIp,
            timeoutsSeconds: r.timeouts,
        })),
        rateLimits: { perIp: tier.limits.rateLimitPerIp, perApiKey: tier.limits.rateLimitPerApiKey },
        limits: { maxBodyBytes: tier.limits.maxBodySize, largeHeaderBufferKb: tier.limits.largeHeaderBufferKb },
        health: pulumi.output(target.proxyAddresses).apply((ips) => ({
            port: tier.ports.health,
            path: tier.healthPath,
            protocol: "HTTP" as const,
            urls: ips.map((ip) => `http://${ip}:${tier.ports.health}${tier.healthPath}`),
        })),
        certificateRotation: { serverValidityDays: tier.pki.serverValidityDays, earlyRenewalDays: tier.pki.earlyRenewalDays },
    };
}
