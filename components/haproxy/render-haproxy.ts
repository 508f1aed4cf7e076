/**
 * haproxy.cfg for the load balancer in front of the proxy pair where no cloud load balancer
 * exists (the local stack, inventory sites): the NLB's role, in TCP mode, so TLS ends on the
 * proxies, never here. Pure: plain data in, one HostFile out; every line that encodes a
 * decision cites why.
 *
 * - PROXY protocol v2 to the proxies (`send-proxy-v2`), so nginx rate-limits and logs the real
 *   client address; nginx accepts the header only from this load balancer's address.
 * - Source-address affinity (`balance source`): one client's connections land on one proxy
 *   while it is healthy, so a per-IP rate limit is the configured rate, not N times it.
 * - Health: an HTTP check of each proxy's status endpoint; a proxy that fails `fall` checks is
 *   taken out (and its sessions shut) within fall x interval, and returns after `rise`.
 */
import { hostFile, type HostFile } from "../core/host-file";

export const HAPROXY_CONFIG_PATH = "/etc/haproxy/haproxy.cfg";
export const HAPROXY_LIMITS_DROP_IN = "/etc/systemd/system/haproxy.service.d/apiproxy-limits.conf";

/** File descriptors HAProxy needs: two per proxied connection (client and server side) plus its own. */
export function haproxyNofile(maxConnections: number): number {
    return 2 * maxConnections + 1024;
}

/** The most connections an open-file limit of `nofile` holds (the inverse of haproxyNofile). */
export function maxConnectionsWithin(nofile: number): number {
    return Math.max(1, Math.floor((nofile - 1024) / 2));
}

export interface HaproxyProxy {
    /** Server name in the backend (the proxy host's name): [a-z][a-z0-9-]{0,31}. */
    readonly name: string;
    /** The proxy's address on the segment the load balancer reaches it on. */
    readonly address: string;
}

export interface HaproxySpec {
    /** The address clients connect to. */
    readonly bindAddress: string;
    /** TCP listeners passed through to the same port on every proxy (https 443, mtls 8443). */
    readonly listeners: readonly { readonly name: string; readonly port: number }[];
    readonly proxies: readonly HaproxyProxy[];
    /** The proxies' plain-HTTP status endpoint. */
    readonly health: { readonly port: number; readonly path: string };
    /** Concurrent client connections the load balancer accepts in total. */
    readonly maxConnections: number;
}

/** Check cadence: a stopped proxy is out within FALL x INTERVAL (6 s), back after RISE good checks. */
export const HEALTH_INTERVAL_SECONDS = 2;
export const HEALTH_FALL = 3;
export const HEALTH_RISE = 2;

const NAME = /^[a-z][a-z0-9-]{0,31}$/;
const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

function validate(spec: HaproxySpec): void {
    if (!IPV4.test(spec.bindAddress)) throw new Error(`haproxy: bindAddress must be an IPv4 address, got ${spec.bindAddress}`);
    if (spec.proxies.length === 0) throw new Error("haproxy: at least one proxy is required");
    for (const p of spec.proxies) {
        if (!NAME.test(p.name)) throw new Error(`haproxy: proxy name ${p.name} must match ${NAME}`);
        if (!IPV4.test(p.address)) throw new Error(`haproxy: proxy ${p.name} address must be IPv4, got ${p.address}`);
    }
    for (const l of spec.listeners) {
        if (!NAME.test(l.name) || !Number.isInteger(l.port) || l.port < 1 || l.port > 65535) throw new Error(`haproxy: bad listener ${JSON.stringify(l)}`);
    }
    if (!/^\/[A-Za-z0-9._/-]*$/.test(spec.health.path)) throw new Error(`haproxy: health path ${spec.health.path} must be a literal path`);
    if (!Number.isInteger(spec.maxConnections) || spec.maxConnections < 1) throw new Error("haproxy: maxConnections must be a positive integer");
}

export function renderHaproxy(spec: HaproxySpec): HostFile[] {
    validate(spec);
    const lines = [
        "# haproxy.cfg: TCP load balancer in front of the proxy pair",
        "# Rendered by components/haproxy (api-proxy-security). Do not edit on the host:",
        "# changes are overwritten on the next deployment.",
        "",
        "global",
        "    log /dev/log local0",
        "    chroot /var/lib/haproxy  # CIS: confine the daemon's filesystem view",
        "    user haproxy  # never root after binding",
        "    group haproxy",
        `    maxconn ${spec.maxConnections}  # seed: sized for the tier's concurrency target`,
        "    stats socket /run/haproxy/admin.sock mode 660 level admin  # local only: no stats page on the network",
        "",
        "defaults",
        "    mode tcp  # TLS ends on the proxies (mTLS needs the client's handshake), never here",
        "    log global",
        "    option tcplog",
        "    option dontlognull",
        "    timeout connect 5s",
        "    retries 3  # a refused connect (a proxy stopping, not yet marked down) is tried again",
        "    option redispatch 1  # ... on the other proxy: no client sees the failover window",
        "    timeout client 60s  # at least the proxies' own read timeouts",
        "    timeout server 60s",
        "    timeout client-fin 5s  # half-closed connections do not linger",
        "    timeout server-fin 5s",
        "",
    ];
    for (const listener of spec.listeners) {
        lines.push(
            `frontend ${listener.name}`,
            `    bind ${spec.bindAddress}:${listener.port}`,
            `    default_backend proxies-${listener.name}`,
            "",
            `backend proxies-${listener.name}`,
            "    balance source  # one client, one proxy: per-IP rate limits hold across the pair",
            "    hash-type consistent  # a proxy leaving moves only its own clients",
            `    option httpchk GET ${spec.health.path}`,
            "    http-check expect status 200",
            `    default-server check port ${spec.health.port} inter ${HEALTH_INTERVAL_SECONDS}s fall ${HEALTH_FALL} rise ${HEALTH_RISE} send-proxy-v2 on-marked-down shutdown-sessions  # PROXY v2: nginx sees the real client address`,
            ...spec.proxies.map((p) => `    server ${p.name} ${p.address}:${listener.port}`),
            "",
        );
    }
    const dropIn = [
        "# Rendered by components/haproxy (api-proxy-security): the file-descriptor limit maxconn needs",
        "# (haproxy refuses to start when it cannot raise its own limit to 2 x maxconn).",
        "[Service]",
        `LimitNOFILE=${haproxyNofile(spec.maxConnections)}`,
        "",
    ].join("\n");
    return [
        hostFile({ path: HAPROXY_LIMITS_DROP_IN, content: dropIn, mode: "0644", owner: "root", group: "root", action: "systemd-daemon-reload" }),
        hostFile({ path: HAPROXY_CONFIG_PATH, content: lines.join("\n"), mode: "0644", owner: "root", group: "root", action: "haproxy-reload" }),
    ];
}
