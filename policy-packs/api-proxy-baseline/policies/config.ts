/**
 * Every tunable of the pack, its default (with why), and its JSON schema. Each policy declares
 * only the keys it reads (`configSchemaFor`), and reads them through `readConfig`, which lays
 * the engine's per-policy config over these defaults — so a policy behaves the same under the
 * engine, the offline review (`evaluate.ts`) and the tests.
 */
import type { PolicyConfigSchema } from "@pulumi/policy";
// The data the stack schema and renderers judge by, read from where it lives (pure modules, no
// imports of their own); the pack keeps its own parsers of what was rendered.
import {
    CATALOGUED_INSTANCE_TYPES, INSTANCE_FAMILIES, MIN_INSTANCE_STORE_GB, MIN_MEMORY_GIB, MIN_VCPUS,
} from "../../../components/compute/instance-catalogue";
import { LIMITS } from "../../../components/core/ceilings";

export interface InstanceSize {
    readonly vcpus: number;
    readonly memoryGib: number;
    /** Local NVMe instance-store capacity (GB); the seed wants 50 GB NVMe for logs. */
    readonly nvmeGb: number;
}

/**
 * x86-64 Nitro instance types with AES-NI and local NVMe instance store (AWS EC2 instance type
 * specifications). Graviton (c6gd, m6gd...) is left out: the seed asks for AES-NI by name, and
 * burstable t3/t4g would throttle TLS under sustained load. Smaller sizes are listed so the
 * vCPU/memory minimums, not the catalogue's absence, explain why they fail.
 */
/**
 * The instance catalogue the stack schema uses (components/compute/instance-catalogue.ts): one
 * table, so the schema and the pack cannot disagree on what a type is.
 */
export const INSTANCE_CATALOGUE: Readonly<Record<string, InstanceSize>> = Object.fromEntries(
    CATALOGUED_INSTANCE_TYPES.map((t) => [t.instanceType, { vcpus: t.vcpus, memoryGib: t.memoryGib, nvmeGb: t.instanceStoreGb }]));

export interface BaselineConfig {
    /** CIDRs SSH (22) may come from: the stack's management networks. */
    managementCidrs: string[];
    /** Address space any SSH source must also lie in, whatever a stack names as management:
     *  private networks only, so a stack cannot declare the internet its management network. */
    managementAddressSpace: string[];
    /** The only ports open to 0.0.0.0/0 or ::/0. */
    publicIngressPorts: number[];
    /** Instance families (the part before the dot) allowed for the tier. */
    allowedInstanceFamilies: string[];
    minInstanceVcpus: number;
    minInstanceMemoryGib: number;
    minInstanceNvmeGb: number;
    /** Longest leaf (non-CA) certificate validity. */
    maxCertificateValidityDays: number;
    /** Longest CA certificate validity. */
    maxCaCertificateValidityDays: number;
    minRsaBits: number;
    /** tls provider curve names. */
    allowedEcdsaCurves: string[];
    /** Highest per-IP limit_req rate (requests/second) any zone may declare. */
    rateLimitCeilingPerSecond: number;
    /** Longest client_header/client_body/send/keepalive timeout (seconds). */
    maxClientTimeoutSeconds: number;
    /** Largest large_client_header_buffers buffer (KiB). */
    maxLargeHeaderBufferKb: number;
    /** Highest client_max_body_size anywhere in nginx. */
    maxBodyBytesCeiling: number;
    /** Environment tag values that count as production. */
    prodEnvironments: string[];
    /** The status endpoint target groups must health-check. */
    healthCheckPath: string;
    /** ELB security policies a TLS/HTTPS listener may use. */
    allowedSslPolicies: string[];
    /** Port of the mutual-TLS nginx server. */
    mtlsPort: number;
    minHstsMaxAgeSeconds: number;
    /** Distinct availability zones the proxy instances must span. */
    minProxyAvailabilityZones: number;
    minTcpMaxSynBacklog: number;
    minSomaxconn: number;
    maxTcpFinTimeoutSeconds: number;
}

export const DEFAULT_CONFIG: Readonly<BaselineConfig> = Object.freeze({
    /** RFC 1918 space only: SSH never comes from the internet unless a stack names its networks. */
    managementCidrs: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
    /** IPv4: RFC 1918, RFC 6598 shared space, RFC 2544 benchmarking space (the local target).
     *  IPv6 management networks are global unicast as often as not (no NAT), so IPv6 sources are
     *  judged by managementCidrs alone (::/0 here); the stack schema takes IPv4 management CIDRs only. */
    managementAddressSpace: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "198.18.0.0/15", "::/0"],
    /** Seed: 443 (HTTPS) and 8443 (mTLS) are the tier's only public ports. */
    publicIngressPorts: [443, 8443],
    allowedInstanceFamilies: [...INSTANCE_FAMILIES],
    /** Seed: 4 cores with AES-NI, 8 GB RAM, 50 GB NVMe (the schema's minimums). */
    minInstanceVcpus: MIN_VCPUS,
    minInstanceMemoryGib: MIN_MEMORY_GIB,
    minInstanceNvmeGb: MIN_INSTANCE_STORE_GB,
    /** CA/Browser Forum ballot SC-081: 200 days for leaves issued from 2026-03-15 (the PKI component caps at the same). */
    maxCertificateValidityDays: LIMITS.leafValidityCeilingDays,
    /** Ten years: a private root rotated on a planned schedule, not by surprise. */
    maxCaCertificateValidityDays: 3650,
    /** NIST SP 800-57 Part 1 r5: 128-bit security beyond 2030 needs RSA-3072. */
    minRsaBits: 3072,
    /** NIST SP 800-52r2 3.3.2 curves the tls provider offers (P521 is not usable for ECDSA certs there). */
    allowedEcdsaCurves: ["P256", "P384"],
    /** The ceilings the stack config schema enforces (components/core/ceilings.ts). */
    rateLimitCeilingPerSecond: LIMITS.rateLimitCeilingPerSecond,
    maxClientTimeoutSeconds: LIMITS.clientTimeoutCeilingSeconds,
    maxLargeHeaderBufferKb: LIMITS.largeHeaderBufferCeilingKb,
    maxBodyBytesCeiling: LIMITS.maxBodyCeilingBytes,
    prodEnvironments: ["prod"],
    healthCheckPath: "/healthz",
    /**
     * AWS's TLS13 policy family: TLS 1.2/1.3 only, no SHA-1 or 3DES suites (ELB security policy
     * table). The -Res- (GCM-only) variants are the strictest; the "Ext" and pre-2021 policies
     * re-admit CBC-SHA1 and are left out.
     */
    allowedSslPolicies: [
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    ],
    mtlsPort: 8443,
    /** One year: the OWASP HSTS guidance floor. */
    minHstsMaxAgeSeconds: LIMITS.hstsMinSeconds,
    /** An HA pair must survive the loss of one AZ. */
    minProxyAvailabilityZones: 2,
    /** Seed sysctl values (SYN-flood and listen-queue controls). */
    minTcpMaxSynBacklog: 4096,
    minSomaxconn: 4096,
    maxTcpFinTimeoutSeconds: 30,
});

type SchemaProperty = PolicyConfigSchema["properties"][string];

const stringList = (description: string, defaults: readonly string[]): SchemaProperty =>
    ({ type: "array", items: { type: "string" }, default: [...defaults], description });
const integer = (description: string, value: number, minimum = 0): SchemaProperty =>
    ({ type: "integer", minimum, default: value, description });

export const CONFIG_PROPERTIES: { readonly [K in keyof BaselineConfig]: SchemaProperty } = {
    managementCidrs: stringList("CIDRs (IPv4 or IPv6) allowed to reach port 22", DEFAULT_CONFIG.managementCidrs),
    managementAddressSpace: stringList("Private address space every SSH source must also lie in", DEFAULT_CONFIG.managementAddressSpace),
    publicIngressPorts: {
        type: "array", items: { type: "integer", minimum: 1, maximum: 65535 },
        default: [...DEFAULT_CONFIG.publicIngressPorts], description: "Ports that may be open to 0.0.0.0/0 or ::/0",
    },
    allowedInstanceFamilies: stringList("Instance families allowed (must also be in the pack's AES-NI + NVMe catalogue)", DEFAULT_CONFIG.allowedInstanceFamilies),
    minInstanceVcpus: integer("Minimum vCPUs of a proxy instance", DEFAULT_CONFIG.minInstanceVcpus, 1),
    minInstanceMemoryGib: integer("Minimum memory (GiB) of a proxy instance", DEFAULT_CONFIG.minInstanceMemoryGib, 1),
    minInstanceNvmeGb: integer("Minimum local NVMe instance store (GB)", DEFAULT_CONFIG.minInstanceNvmeGb),
    maxCertificateValidityDays: integer("Longest validity of a leaf certificate (days)", DEFAULT_CONFIG.maxCertificateValidityDays, 1),
    maxCaCertificateValidityDays: integer("Longest validity of a CA certificate (days)", DEFAULT_CONFIG.maxCaCertificateValidityDays, 1),
    minRsaBits: integer("Smallest RSA modulus (bits)", DEFAULT_CONFIG.minRsaBits, 2048),
    allowedEcdsaCurves: stringList("ECDSA curves allowed for private keys (tls provider names)", DEFAULT_CONFIG.allowedEcdsaCurves),
    rateLimitCeilingPerSecond: integer("Highest per-IP limit_req rate (requests/second)", DEFAULT_CONFIG.rateLimitCeilingPerSecond, 1),
    maxClientTimeoutSeconds: integer("Longest client_header/client_body/send/keepalive timeout (seconds)", DEFAULT_CONFIG.maxClientTimeoutSeconds, 1),
    maxLargeHeaderBufferKb: integer("Largest large_client_header_buffers buffer (KiB)", DEFAULT_CONFIG.maxLargeHeaderBufferKb, 1),
    maxBodyBytesCeiling: integer("Highest client_max_body_size (bytes)", DEFAULT_CONFIG.maxBodyBytesCeiling, 1),
    prodEnvironments: stringList("apiproxy:environment values that are production", DEFAULT_CONFIG.prodEnvironments),
    healthCheckPath: { type: "string", default: DEFAULT_CONFIG.healthCheckPath, description: "Path target groups must health-check" },
    allowedSslPolicies: stringList("ELB security policies allowed on TLS/HTTPS listeners", DEFAULT_CONFIG.allowedSslPolicies),
    mtlsPort: integer("Port of the mutual-TLS nginx server", DEFAULT_CONFIG.mtlsPort, 1),
    minHstsMaxAgeSeconds: integer("Smallest Strict-Transport-Security max-age (seconds)", DEFAULT_CONFIG.minHstsMaxAgeSeconds),
    minProxyAvailabilityZones: integer("Distinct AZs the proxy instances must span", DEFAULT_CONFIG.minProxyAvailabilityZones, 1),
    minTcpMaxSynBacklog: integer("Smallest net.ipv4.tcp_max_syn_backlog", DEFAULT_CONFIG.minTcpMaxSynBacklog),
    minSomaxconn: integer("Smallest net.core.somaxconn", DEFAULT_CONFIG.minSomaxconn),
    maxTcpFinTimeoutSeconds: integer("Largest net.ipv4.tcp_fin_timeout (seconds)", DEFAULT_CONFIG.maxTcpFinTimeoutSeconds, 1),
};

/** The configSchema of a policy that reads `keys`: each with its default. */
export function configSchemaFor(...keys: (keyof BaselineConfig)[]): PolicyConfigSchema {
    const properties: PolicyConfigSchema["properties"] = {};
    for (const key of keys) {
        properties[key] = CONFIG_PROPERTIES[key];
    }
    return { properties };
}

/** The policy's effective config: the engine's (or the review's) values over the defaults. */
export function readConfig(args: { getConfig<T extends object>(): T }): BaselineConfig {
    const given = args.getConfig<Partial<BaselineConfig>>() ?? {};
    const merged: BaselineConfig = { ...DEFAULT_CONFIG } as BaselineConfig;
    for (const key of Object.keys(given) as (keyof BaselineConfig)[]) {
        if (key in DEFAULT_CONFIG && given[key] !== undefined) {
            (merged as unknown as Record<string, unknown>)[key] = given[key];
        }
    }
    return merged;
}
