/**
 * Typed input of the host-hardening renderers. Plain data built by infra/.
 */

/** The operating systems the tier supports (seed: RHEL 8 or Ubuntu 22.04 minimal). Debian
 *  12 is the local stack's host OS and uses the Ubuntu (nftables + AppArmor) path. */
export type HostOs = "ubuntu-22.04" | "rhel-8" | "debian-12";

export type FirewallBackend = "nftables" | "firewalld";
export type MacSystem = "apparmor" | "selinux";

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
}
