/** Builds the nginx renderer's input from the validated tier configuration. */
import type { NginxSpec, RouteSpec, UpstreamPoolSpec } from "../../components/nginx/types";
import * as nginx from "../../components/nginx/constants";
import type { TierConfig } from "../config/load";
import { backlogFor } from "../../components/host/sysctl";
import { CERTIFICATE_PATHS, LOG_DIRECTORY, PID_FILE } from "./host-paths";

export interface NginxSpecOptions {
    /** Unprivileged worker account of the host OS ("www-data" or "nginx"). */
    readonly runUser: string;
    readonly runGroup: string;
    /** The nginx the host OS ships (osProfile(os).nginxVersion). */
    readonly nginxVersion: string;
}

/** The hardened systemd unit (components/host/systemd-unit.ts) starts nginx as the proxy user
 *  with CAP_NET_BIND_SERVICE only, and the host's somaxconn is backlogFor(concurrency). */
function hardenedHostSettings(tier: TierConfig): Pick<NginxSpec, "masterUnprivileged" | "listenBacklog"> {
    return { masterUnprivileged: true, listenBacklog: backlogFor(tier.concurrencyTarget) };
}

export function buildRoutes(tier: TierConfig): RouteSpec[] {
    return tier.routes.map((route) => ({
        name: route.name,
        pathPrefix: route.path,
        exact: route.exact,
        methods: route.methods,
        upstream: route.upstream,
        protocol: route.protocol,
        requireApiKey: route.apiKey,
        listeners: route.listeners,
        timeouts: { connectSeconds: route.timeouts.connect, sendSeconds: route.timeouts.send, readSeconds: route.timeouts.read },
        maxBodyBytes: route.maxBodySize ?? tier.limits.maxBodySize,
        rateLimitPerIp: route.rateLimitPerIp ?? tier.limits.rateLimitPerIp,
        ...(route.clients ? { allowedClientCommonNames: route.clients.map((name) => tier.pki.clients.find((c) => c.name === name)!.commonName) } : {}),
        ...(route.public ? { publicReason: route.public.reason } : {}),
        ...(route.template ? { template: route.template } : {}),
        ...(route.validation ? { validation: route.validation } : {}),
        ...(route.signature || route.jwt ? { requestAuth: { signature: route.signature !== undefined, jwt: route.jwt !== undefined } } : {}),
    }));
}

export function buildUpstreams(tier: TierConfig): UpstreamPoolSpec[] {
    return tier.upstreams.map((pool) => ({
        name: pool.name,
        algorithm: pool.algorithm,
        servers: pool.servers.map((s) => ({ address: s.address, weight: s.weight })),
        keepalive: pool.keepalive,
        maxFails: pool.maxFails,
        failTimeoutSeconds: pool.failTimeoutSeconds,
        tls: pool.tls,
        ...(pool.tlsServerName ? { tlsServerName: pool.tlsServerName } : {}),
    }));
}

export function buildNginxSpec(tier: TierConfig, options: NginxSpecOptions): NginxSpec {
    const anyUpstreamTls = tier.upstreams.some((u) => u.tls);
    return {
        runUser: options.runUser,
        runGroup: options.runGroup,
        nginxVersion: options.nginxVersion,
        ...hardenedHostSettings(tier),
        pidFile: PID_FILE,
        serverName: tier.serverName,
        httpsPort: tier.ports.https,
        mtlsPort: tier.ports.mtls,
        health: { port: tier.ports.health, path: tier.healthPath },
        tls: {
            protocols: tier.tls.protocols as NginxSpec["tls"]["protocols"],
            tls12Ciphers: tier.tls.tls12Ciphers ?? [...nginx.APPROVED_TLS12_CIPHERS],
            tls13Ciphersuites: tier.tls.tls13Ciphersuites ?? [...nginx.APPROVED_TLS13_CIPHERSUITES],
            groups: tier.tls.groups ?? [...nginx.DEFAULT_TLS_GROUPS],
            sessionCacheMegabytes: nginx.DEFAULT_SESSION_CACHE_MEGABYTES,
            sessionTimeoutMinutes: nginx.DEFAULT_SESSION_TIMEOUT_MINUTES,
            sessionTickets: tier.tls.sessionTickets,
            hstsMaxAgeSeconds: tier.tls.hstsMaxAgeSeconds,
        },
        certificates: anyUpstreamTls ? CERTIFICATE_PATHS : { ...CERTIFICATE_PATHS, upstreamCa: undefined },
        mtlsVerifyDepth: nginx.DEFAULT_MTLS_VERIFY_DEPTH,
        concurrencyTarget: tier.concurrencyTarget,
        rateLimits: {
            perIp: { ...tier.limits.rateLimitPerIp, zoneMegabytes: nginx.DEFAULT_RATE_ZONE_MEGABYTES },
            perApiKey: { ...tier.limits.rateLimitPerApiKey },
            connectionsPerIp: nginx.DEFAULT_CONNECTIONS_PER_IP,
        },
        maxBodyBytes: tier.limits.maxBodySize,
        headerLimits: {
            clientHeaderBufferKb: nginx.DEFAULT_CLIENT_HEADER_BUFFER_KB,
            largeHeaderBuffers: nginx.DEFAULT_LARGE_HEADER_BUFFERS,
            largeHeaderBufferKb: tier.limits.largeHeaderBufferKb,
        },
        apiKeyService: { address: tier.apiKeyService },
        contentSecurityPolicy: tier.contentSecurityPolicy,
        upstreams: buildUpstreams(tier),
        routes: buildRoutes(tier),
        logDirectory: LOG_DIRECTORY,
    };
}
