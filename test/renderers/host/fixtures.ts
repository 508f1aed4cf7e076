/**
 * Valid HostSpecs for each supported OS; other test suites may import and spread them.
 * Addresses are documentation/private ranges.
 */
import type { HostSpec } from "../../../components/host/types";

const common = {
    concurrencyTarget: 20_000,
    ports: { https: 443, mtls: 8443, health: 8081, ssh: 22 },
    managementCidrs: ["10.0.100.0/24", "fd00:100::/64"],
    healthCheckCidrs: ["10.0.1.0/24"],
    trafficCidrs: ["0.0.0.0/0", "::/0"],
    upstreamEndpoints: [
        { cidr: "10.0.2.10/32", port: 8080 },
        { cidr: "10.0.2.11/32", port: 8080 },
        { cidr: "fd00:2::10/128", port: 9090 },
    ],
    extraEgress: [
        { cidr: "10.0.3.5/32", port: 6379, protocol: "tcp" as const },
        { cidr: "10.0.4.0/24", port: 443, protocol: "tcp" as const },
    ],
    logRetentionDays: 14,
    sshAllowUsers: ["opsadmin", "deploy"],
    dnsResolvers: ["10.0.0.2"],
} satisfies Omit<HostSpec, "hostname" | "os">;

/** Ubuntu 22.04 on AWS: NVMe log volume, certificates from Secrets Manager. */
export const ubuntuHost: HostSpec = {
    ...common,
    hostname: "proxy-a.dmz.example.internal",
    os: "ubuntu-22.04",
    logVolume: { device: "/dev/nvme1n1", mountPoint: "/srv/apiproxy-logs", filesystem: "xfs" },
    aws: {
        region: "eu-west-1",
        certificateSecrets: [
            { secretId: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:apiproxy/server-key-AbCdEf", path: "/etc/nginx/tls/server.key", kind: "private-key" },
            { secretId: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:apiproxy/server-chain-AbCdEf", path: "/etc/nginx/tls/server.crt", kind: "certificate" },
            { secretId: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:apiproxy/client-ca-AbCdEf", path: "/etc/nginx/tls/client-ca.pem", kind: "certificate" },
        ],
    },
};

/** Debian 12 (the local stack's OS): no log volume, no AWS. */
export const debianHost: HostSpec = {
    ...common,
    hostname: "proxy-local-1",
    os: "debian-12",
    concurrencyTarget: 10_000,
    trafficCidrs: ["10.200.0.0/16"],
};

/** RHEL 8 on AWS at the top of the seed's concurrency range. */
export const rhelHost: HostSpec = {
    ...common,
    hostname: "proxy-b.dmz.example.internal",
    os: "rhel-8",
    concurrencyTarget: 100_000,
    logVolume: { device: "/dev/nvme1n1", mountPoint: "/srv/apiproxy-logs", filesystem: "xfs" },
    aws: ubuntuHost.aws!,
};

export const allHosts: readonly HostSpec[] = [ubuntuHost, debianHost, rhelHost];
