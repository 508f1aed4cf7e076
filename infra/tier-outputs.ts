/** Builds the outputs contract (infra/outputs.ts) from the tier and its components. */
import * as pulumi from "@pulumi/pulumi";
import type { Pki } from "../components/pki/pki";
import type { ProxyPair } from "../components/compute/proxy-pair";
import type { TierConfig } from "./config/load";
import type { TierOutputs } from "./outputs";

export function tierOutputs(tier: TierConfig, pki: Pki, pair: ProxyPair): TierOutputs {
    const clientNames = Object.keys(pki.clientCertificates);
    return {
        environment: tier.environment,
        endpoints: pulumi.all([pair.nlbDnsName, pair.endpoints.https, pair.endpoints.mtls]).apply(([dnsName, https, mtls]) => ({
            https, mtls, dnsName, httpsPort: tier.ports.https, mtlsPort: tier.ports.mtls,
        })),
        caBundlePem: pki.caBundlePem,
        mtlsClientCaPem: pki.clientCaPem,
        clientCertificates: pulumi.all(clientNames.map((n) => pki.clientCertificates[n].certificatePem)).apply((pems) =>
            Object.fromEntries(clientNames.map((n, i) => [n, { certificatePem: pems[i] }]))),
        // A secret output: encrypted in state, shown only with --show-secrets.
        clientPrivateKeys: pulumi.secret(pulumi.all(clientNames.map((n) => pki.clientCertificates[n].privateKeyPem)).apply((keys) =>
            Object.fromEntries(clientNames.map((n, i) => [n, keys[i]])))),
        routes: tier.routes.map((r) => ({
            name: r.name,
            path: r.path,
            exact: r.exact,
            methods: r.methods,
            protocol: r.protocol,
            listeners: r.listeners,
            apiKeyRequired: r.apiKey,
            maxBodyBytes: r.maxBodySize ?? tier.limits.maxBodySize,
            rateLimitPerIp: r.rateLimitPerIp ?? tier.limits.rateLimitPerIp,
            timeoutsSeconds: r.timeouts,
        })),
        rateLimits: { perIp: tier.limits.rateLimitPerIp, perApiKey: tier.limits.rateLimitPerApiKey },
        limits: { maxBodyBytes: tier.limits.maxBodySize, largeHeaderBufferKb: tier.limits.largeHeaderBufferKb },
        health: pair.privateIps.apply((ips) => ({
            port: tier.ports.health,
            path: tier.healthPath,
            protocol: "HTTP" as const,
            urls: ips.map((ip) => `http://${ip}:${tier.ports.health}${tier.healthPath}`),
        })),
        certificateRotation: { serverValidityDays: tier.pki.serverValidityDays, earlyRenewalDays: tier.pki.earlyRenewalDays },
    };
}
