/**
 * Typed input of the host-hardening renderers. Plain data built by infra/; the renderers
 * (components/host/*.ts) never read anything else. Optional fields document their default
 * as "Default: X"; the constant named beside it holds the value (a test ties the two).
 */

/** The operating systems the tier supports (seed: RHEL 8 or Ubuntu 22.04 minimal). Debian
 *  12 is the local stack's host OS and uses the Ubuntu (nftables + AppArmor) path. */
export type HostOs = "ubuntu-22.04" | "rhel-8" | "debian-12";

export type FirewallBackend = "nftables" | "firewalld";
export type MacSystem = "apparmor" | "selinux";

/** One piece of TLS material kept in AWS Secrets Manager and written to the host by
 *  apiproxy-fetch-certs (components/host/cert-fetch.ts). */
export interface CertificateSecretSpec {
    /** Secrets Manager ARN (or name) holding the PEM text as SecretString. */
    readonly secretId: string;
    /** Absolute destination path, e.g. the nginx CertificatePaths.serverKey. */
    readonly path: string;
    /** private-key: 0640 root:<proxy group>; certificate: 0644 root:root. */
    readonly kind: "private-key" | "certificate";
}

/** Present only on hosts delivered by the aws target. */
export interface AwsHostSpec {
    /** Region passed to the AWS CLI (the instance role supplies credentials). */
    readonly region: string;
    /** TLS material fetched at boot and on a timer; rotation is a reload, never a restart. */
    readonly certificateSecrets: readonly CertificateSecretSpec[];
}

export interface HostSpec {
    readonly hostname: string;
    readonly os: HostOs;
    /** Target concurrent sessions (10k-100k): sizes nofile and backlogs. */
    readonly concurrencyTarget: number;
    readonly ports: { readonly https: number; readonly mtls: number; readonly health: number; readonly ssh: number };
    /** CIDRs allowed to reach SSH (22). Never 0.0.0.0/0. */
    readonly managementCidrs: readonly string[];
    /** CIDRs allowed to reach the health port (load-balancer subnets). */
    readonly healthCheckCidrs: readonly string[];
    /** CIDRs allowed to reach 443/8443 (NLB path / allowed clients; 0.0.0.0/0 allowed on AWS with client-IP preservation). */
    readonly trafficCidrs: readonly string[];
    /** Upstream host:port pairs the proxy may connect to (egress allow-list). */
    readonly upstreamEndpoints: readonly { readonly cidr: string; readonly port: number }[];
    /** Extra egress (DNS resolvers, VPC endpoints, Redis for API keys) as cidr:port. */
    readonly extraEgress: readonly { readonly cidr: string; readonly port: number; readonly protocol: "tcp" | "udp" }[];
    /** Local NVMe instance store device for logs; undefined where the host has none. */
    readonly logVolume?: { readonly device: string; readonly mountPoint: string; readonly filesystem: "xfs" | "ext4" };
    readonly logRetentionDays: number;
    /** Admin users allowed to SSH (key-only). */
    readonly sshAllowUsers: readonly string[];
    /**
     * DNS resolvers the host may query (udp+tcp 53 egress). AWS hosts always get the VPC
     * resolver 169.254.169.253 in addition.
     * Default: [] (DEFAULT_DNS_RESOLVERS)
     */
    readonly dnsResolvers?: readonly string[];
    /**
     * Files nginx reads for TLS (server chain, key, client CA, upstream CA): the MAC profile
     * grants read access to exactly these. Paths of aws.certificateSecrets are added anyway.
     * Default: [] (DEFAULT_TLS_READ_PATHS)
     */
    readonly tlsReadPaths?: readonly string[];
    /** An OpenSSL configuration the nginx unit loads (OPENSSL_CONF): where the host's nginx has
     *  no ssl_conf_command (Ubuntu 22.04's 1.18), the TLS 1.3 suites live there. Default: none. */
    readonly nginxOpensslConf?: string;
    /** AWS-only settings (certificate fetch from Secrets Manager, IMDS/NTP egress). */
    readonly aws?: AwsHostSpec;
}
