/** Builds the host-hardening renderers' input from the validated tier configuration. */
import type { AwsHostSpec, HostOs, HostSpec } from "../../components/host/types";
import { osProfile } from "../../components/host/os";
import { hasSslConfCommand } from "../../components/nginx/render-tls";
import { nginxLayout } from "../../components/nginx/layout";
import type { TierConfig } from "../config/load";
import { isIpv4, parseHostPort } from "../config/units";
import { CERTIFICATE_PATHS, LOG_VOLUME_DEVICE, LOG_VOLUME_MOUNT, SSH_ADMIN_USERS } from "./host-paths";

export interface HostPlacement {
    readonly hostname: string;
    readonly os: HostOs;
    /** Where load-balancer health checks come from (the NLB's subnets). */
    readonly healthCheckCidrs: readonly string[];
    /** Where upstreams named by DNS may live (their addresses are resolved at run time). */
    readonly upstreamNetworkCidrs: readonly string[];
    /** 443 egress for AWS APIs through VPC interface endpoints. */
    readonly endpointCidrs: readonly string[];
    /** Who reaches 443/8443 at the host itself. Default: the tier's trafficCidrs (the NLB
     *  preserves client addresses); behind a PROXY-protocol load balancer, its address. */
    readonly trafficCidrs?: readonly string[];
    /** The NVMe instance store for logs (AWS). Default: true. */
    readonly logVolume?: boolean;
    /** DNS resolvers the host queries (its firewall opens 53 to these only). */
    readonly dnsResolvers?: readonly string[];
    /** Accounts sshd admits (AllowUsers). Default: SSH_ADMIN_USERS; an inventory host adds its delivery account. */
    readonly sshAllowUsers?: readonly string[];
    readonly aws?: AwsHostSpec;
}

/** host:port -> allow-list entries: an IPv4 literal is pinned to /32, a DNS name to the upstream networks. */
function egressFor(address: string, networks: readonly string[]): { cidr: string; port: number }[] {
    const parsed = parseHostPort(address);
    if (!parsed) {
        throw new Error(`not host:port: ${address}`);
    }
    if (isIpv4(parsed.host)) {
        return [{ cidr: `${parsed.host}/32`, port: parsed.port }];
    }
    return networks.map((cidr) => ({ cidr, port: parsed.port }));
}

function unique<T>(items: readonly T[]): T[] {
    const seen = new Set<string>();
    return items.filter((item) => {
        const key = JSON.stringify(item);
        return seen.has(key) ? false : (seen.add(key), true);
    });
}

export function buildHostSpec(tier: TierConfig, placement: HostPlacement): HostSpec {
    const upstreamEndpoints = unique(tier.upstreams.flatMap((pool) =>
        pool.servers.flatMap((server) => egressFor(server.address, placement.upstreamNetworkCidrs))));
    const keyService = egressFor(tier.apiKeyService, placement.upstreamNetworkCidrs)
        .map((e) => ({ ...e, protocol: "tcp" as const }));
    const endpoints = placement.endpointCidrs.map((cidr) => ({ cidr, port: 443, protocol: "tcp" as const }));
    return {
        hostname: placement.hostname,
        os: placement.os,
        concurrencyTarget: tier.concurrencyTarget,
        ports: { https: tier.ports.https, mtls: tier.ports.mtls, health: tier.ports.health, ssh: 22 },
        managementCidrs: tier.managementCidrs,
        healthCheckCidrs: placement.healthCheckCidrs,
        trafficCidrs: placement.trafficCidrs ?? tier.trafficCidrs,
        upstreamEndpoints,
        extraEgress: unique([...keyService, ...endpoints]),
        logVolume: placement.logVolume === false ? undefined : { device: LOG_VOLUME_DEVICE, mountPoint: LOG_VOLUME_MOUNT, filesystem: "xfs" },
        logRetentionDays: tier.logRetentionDays,
        sshAllowUsers: placement.sshAllowUsers ?? SSH_ADMIN_USERS,
        ...(placement.dnsResolvers ? { dnsResolvers: placement.dnsResolvers } : {}),
        // Where the OS's nginx has no ssl_conf_command, its unit loads the rendered openssl.cnf.
        ...(hasSslConfCommand({ nginxVersion: osProfile(placement.os).nginxVersion }) ? {}
            : { nginxOpensslConf: nginxLayout({}).opensslConf }),
        tlsReadPaths: [CERTIFICATE_PATHS.serverCertificate, CERTIFICATE_PATHS.serverKey, CERTIFICATE_PATHS.clientCa,
            ...(tier.upstreams.some((u) => u.tls) && CERTIFICATE_PATHS.upstreamCa ? [CERTIFICATE_PATHS.upstreamCa] : [])],
        aws: placement.aws,
    };
}
