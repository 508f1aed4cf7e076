/**
 * systemd units of the services the local and inventory targets run beside the proxies: the
 * API-key check service (which also enforces the per-API-key rate limit) and the demo upstream. Pure. Each unit runs its binary as a transient
 * unprivileged user with the systemd sandbox (the same controls as the hardened nginx unit,
 * minus what a plain network service never needs), and carries the binary's SHA-256, so a new
 * binary changes the unit and the delivery restarts it (`service-restart`).
 */
import { hostFile, type HostFile } from "../core/host-file";
import { KEYCHECK_POLICY_FILE } from "./render-auth-policy";
import { citeControl } from "../core/controls";

export const KEYCHECK_BINARY = "/usr/local/bin/apiproxy-keycheck";
export const DEMO_UPSTREAM_BINARY = "/usr/local/bin/apiproxy-demo-upstream";
/** Root-only; created by the key provisioning step before the service first starts. */
export const KEYCHECK_PEPPER_FILE = "/etc/apiproxy-keycheck/pepper";
export const KEYCHECK_UNIT = "apiproxy-keycheck.service";

const SHA256 = /^[0-9a-f]{64}$/;
const HOST_PORT = /^(\d{1,3}\.){3}\d{1,3}:\d{1,5}$/;
const NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** The sandbox every service unit gets (systemd.exec(5)); `systemd-analyze security` scores it. */
const SANDBOX = [
    "# CIS / systemd.exec(5) sandbox: a transient unprivileged user, no privilege, read-only system",
    "DynamicUser=yes",
    "NoNewPrivileges=yes",
    "CapabilityBoundingSet=",
    "AmbientCapabilities=",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "ProtectProc=invisible",
    "ProcSubset=pid",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "MemoryDenyWriteExecute=yes",
    "SystemCallArchitectures=native",
    "SystemCallFilter=@system-service",
    "SystemCallFilter=~@privileged @resources",
    "SystemCallErrorNumber=EPERM  # a filtered call fails instead of killing the service (Go probes setrlimit)",
    "UMask=0077",
];

function unit(description: string, binarySha256: string, after: string[], exec: string, extra: string[] = [], unitExtra: string[] = [], execControl?: string): string {
    if (!SHA256.test(binarySha256)) throw new Error(`binarySha256 must be 64 hex digits, got ${binarySha256}`);
    return [
        "# Rendered by components/services (api-proxy-security). Do not edit on the host.",
        `# binary sha256: ${binarySha256} (a new binary changes this file: the delivery restarts the unit)`,
        "[Unit]",
        `Description=${description}`,
        `After=network-online.target ${after.join(" ")}`.trim(),
        "Wants=network-online.target",
        ...unitExtra,
        "",
        "[Service]",
        ...(execControl ? [`# ${execControl}`] : []),
        `ExecStart=${exec}`,
        "Restart=on-failure",
        "RestartSec=1s",
        ...extra,
        ...SANDBOX,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}

export interface KeycheckUnitSpec {
    /** Address nginx's auth_request reaches (the stack's apiKeyService). */
    readonly listen: string;
    /** Redis on the same host. */
    readonly redis: string;
    /** Redis's systemd unit as the host's OS packages it ("redis-server" on Debian/Ubuntu, "redis" on RHEL). */
    readonly redisUnit: string;
    readonly binarySha256: string;
    /** The per-API-key rate limit (the stack's limits.rateLimitPerApiKey, the NginxSpec's
     *  rateLimits.perApiKey): the service enforces it per key id, for every proxy of the tier. */
    readonly rateLimitPerApiKey: { readonly ratePerSecond: number; readonly burst: number };
    /** SHA-256 of the per-route request-authentication policy (render-auth-policy.ts), when the
     *  tier has signature or JWT routes: the service loads it as a credential, and a new policy
     *  changes this unit, so the delivery restarts the service. */
    readonly policySha256?: string;
}

export function renderKeycheckUnit(spec: KeycheckUnitSpec): HostFile[] {
    if (!HOST_PORT.test(spec.listen)) throw new Error(`keycheck listen must be ipv4:port, got ${spec.listen}`);
    if (!HOST_PORT.test(spec.redis)) throw new Error(`keycheck redis must be ipv4:port, got ${spec.redis}`);
    const { ratePerSecond, burst } = spec.rateLimitPerApiKey;
    if (!Number.isInteger(ratePerSecond) || ratePerSecond < 1) {
        throw new Error(`keycheck rateLimitPerApiKey.ratePerSecond must be a positive integer, got ${ratePerSecond}`);
    }
    if (!Number.isInteger(burst) || burst < 0) throw new Error(`keycheck rateLimitPerApiKey.burst must be an integer >= 0, got ${burst}`);
    if (!/^[a-z][a-z0-9-]*$/.test(spec.redisUnit)) throw new Error(`keycheck redisUnit must be a unit name, got ${spec.redisUnit}`);
    if (spec.policySha256 !== undefined && !SHA256.test(spec.policySha256)) throw new Error(`keycheck policySha256 must be 64 hex digits, got ${spec.policySha256}`);
    const policy = spec.policySha256 !== undefined;
    const content = unit("API-key, signature and JWT check service (nginx auth_request target)", spec.binarySha256, [`${spec.redisUnit}.service`],
        `${KEYCHECK_BINARY} serve --listen ${spec.listen} --redis ${spec.redis} --pepper-file \${CREDENTIALS_DIRECTORY}/pepper` +
            ` --rate-per-second ${ratePerSecond} --burst ${burst}` + (policy ? " --policy-file ${CREDENTIALS_DIRECTORY}/policy" : ""),
        [
            "# The pepper (and the policy with the signature secrets) reach the service as credentials:",
            "# readable by it alone, never in its environment.",
            `LoadCredential=pepper:${KEYCHECK_PEPPER_FILE}`,
            ...(policy ? [`LoadCredential=policy:${KEYCHECK_POLICY_FILE}`, `# policy sha256: ${spec.policySha256} (a new policy changes this file: the delivery restarts the unit)`] : []),
        ],
        ["Requires=redis-server.service"],
        citeControl("rate-limit-per-key", "seed: rate limiting per API key - every recognised key id limited tier-wide (GCRA in Redis)"));
    return [hostFile({ path: `/etc/systemd/system/${KEYCHECK_UNIT}`, content, mode: "0644", owner: "root", group: "root", action: "service-restart" })];
}

export interface DemoUpstreamUnitSpec {
    /** Pool name: the unit is apiproxy-upstream-<name>.service. */
    readonly name: string;
    readonly http?: string;
    readonly grpc?: string;
    readonly binarySha256: string;
}

export function renderDemoUpstreamUnit(spec: DemoUpstreamUnitSpec): HostFile[] {
    if (!NAME.test(spec.name)) throw new Error(`upstream name must match ${NAME}, got ${spec.name}`);
    if (!spec.http && !spec.grpc) throw new Error(`upstream ${spec.name}: give an http and/or a grpc address`);
    for (const a of [spec.http, spec.grpc]) if (a !== undefined && !HOST_PORT.test(a)) throw new Error(`upstream ${spec.name}: ${a} is not ipv4:port`);
    const flags = [`--name ${spec.name}`, spec.http ? `--http ${spec.http}` : "", spec.grpc ? `--grpc ${spec.grpc}` : ""].filter(Boolean).join(" ");
    const content = unit(`Demo upstream ${spec.name} (local stack)`, spec.binarySha256, [], `${DEMO_UPSTREAM_BINARY} ${flags}`);
    return [hostFile({ path: `/etc/systemd/system/apiproxy-upstream-${spec.name}.service`, content, mode: "0644", owner: "root", group: "root", action: "service-restart" })];
}
