/**
 * The local target: the whole tier on this machine as real Debian hosts (components/targets/
 * local LocalHosts: systemd-nspawn containers, one network namespace each, on 198.18.0.0/15),
 * provisioned exactly as the inventory target provisions existing servers: over SSH with
 * @pulumi/command (HostDelivery, CopyToRemote). HAProxy stands in for the NLB, the demo upstream
 * for the app teams' services, and the key-check service with Redis for the API-key store.
 * Pure wiring; every decision lives in a component or renderer.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { HostFile } from "../../components/core/host-file";
import { maxConnectionsWithin, renderHaproxy } from "../../components/haproxy/render-haproxy";
import { osProfile, renderHost, type HostOs } from "../../components/host";
import { renderNginx } from "../../components/nginx";
import {
    DEMO_UPSTREAM_BINARY, KEYCHECK_BINARY, KEYCHECK_PEPPER_FILE, renderDemoUpstreamUnit, renderKeycheckUnit,
} from "../../components/services/render-units";
import { HostDelivery, type DeliveryReport } from "../../components/targets/inventory/host-delivery";
import {
    CLIENT_ADDRESS, LOAD_BALANCER_ADDRESS, LOCAL_ROLE_PACKAGES, LOCAL_SEGMENTS, managementAddress, PRIVATE_CIDR, proxyAddress,
    THIS_MACHINE_MANAGEMENT,
} from "../../components/targets/local/address-plan";
import { LocalHosts, type LocalHost, type LocalHostSpec } from "../../components/targets/local/local-hosts";
import { shellQuote } from "../../components/core/shell";
import type { ApiKeys } from "../config/api-keys";
import type { LocalTierConfig } from "../config/load";
import { parseHostPort } from "../config/units";
import { buildHostSpec } from "../spec/host-spec";
import { CERTIFICATE_PATHS } from "../spec/host-paths";
import { buildNginxSpec } from "../spec/nginx-spec";
import { SERVER_ENDPOINT, tierOutputs, tierPki } from "../tier-outputs";
import type { TierDeployment } from "../program";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
/** The containers' OS: Debian 12, the rootfs LocalHosts builds. */
const LOCAL_HOST_OS: HostOs = "debian-12";
const PROXY_NAMES = ["proxy-a", "proxy-b"];
/** Redis on the key-store host, loopback only (Debian's default bind). */
const KEYSTORE_REDIS = "127.0.0.1:6379";
/** The service binaries scripts/build-services.sh builds. */
const SERVICE_BINARIES = path.join(REPO_ROOT, ".tools", "services");

/** Containers and their roles, derived from the stack config's addresses. */
export interface LocalPlan {
    readonly hosts: LocalHostSpec[];
    /** Upstream containers by private address: the pools' servers each serves. */
    readonly upstreams: { name: string; address: string; http: { pool: string; port: number }[]; grpc: { pool: string; port: number }[] }[];
    readonly keystore: { address: string; port: number };
}

export function localPlan(tier: LocalTierConfig): LocalPlan {
    const grpcPools = new Set(tier.routes.filter((r) => r.protocol === "grpc").map((r) => r.upstream));
    const byAddress = new Map<string, LocalPlan["upstreams"][number]>();
    for (const pool of tier.upstreams) {
        for (const server of pool.servers) {
            const hp = parseHostPort(server.address)!;
            const entry = byAddress.get(hp.host) ?? { name: `upstream-${byAddress.size + 1}`, address: hp.host, http: [], grpc: [] };
            (grpcPools.has(pool.name) ? entry.grpc : entry.http).push({ pool: pool.name, port: hp.port });
            byAddress.set(hp.host, entry);
        }
    }
    const key = parseHostPort(tier.apiKeyService)!;
    const upstreams = [...byAddress.values()];
    let m = 0;
    const mgmt = (): string => `${managementAddress(m++)}/24`;
    const hosts: LocalHostSpec[] = [
        { name: "lb", interfaces: { public: `${LOAD_BALANCER_ADDRESS}/24`, management: mgmt() } },
        ...PROXY_NAMES.map((name, i) => ({ name, interfaces: { dmz: `${proxyAddress(i)}/24`, management: mgmt() } })),
        ...upstreams.map((u) => ({ name: u.name, interfaces: { private: `${u.address}/24`, management: mgmt() } })),
        { name: "keystore", interfaces: { private: `${key.host}/24`, management: mgmt() } },
    ];
    return { hosts, upstreams, keystore: { address: key.host, port: key.port } };
}

function sha256File(file: string): string {
    if (!fs.existsSync(file)) {
        throw new pulumi.RunError(`${path.relative(REPO_ROOT, file)} is missing: run scripts/build-services.sh (npm run up and npm test run it)`);
    }
    return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Copies a service binary to a host and installs it root-owned; re-runs when the binary changes. */
function installBinary(name: string, local: string, remote: string, adminUser: string, connection: command.types.input.remote.ConnectionArgs,
    sha: string, parent: pulumi.Resource): command.remote.Command {
    const staged = `/home/${adminUser}/.apiproxy-staging/${path.basename(remote)}`;
    const copy = new command.remote.CopyToRemote(`${name}-copy`, {
        connection, source: new pulumi.asset.FileAsset(local), remotePath: staged, triggers: [sha],
    }, { parent });
    // The staged copy stays: a re-run of this step (any input change) installs it again.
    const install = `sudo -n install -D -m 0755 -o root -g root ${shellQuote(staged)} ${shellQuote(remote)}`;
    return new command.remote.Command(`${name}-install`, {
        connection, create: install, update: install, triggers: [sha], logging: "stderr", addPreviousOutputInEnv: false,
    }, { parent, dependsOn: [copy] });
}

/** Where npm run up writes the CA bundle clients of the local stack trust. */
export function caBundleFile(fabric: string): string {
    return path.join(REPO_ROOT, ".tools", "local-stacks", `${fabric}-ca.pem`);
}

/** A path of the first plain-HTTP route on the public listener (a prefix gets "42" appended). */
function firstPublicPath(tier: LocalTierConfig): string {
    const route = tier.routes.find((r) => r.listeners.includes("public") && r.protocol === "http" && r.methods.includes("GET"));
    if (!route) return "/";
    return route.exact ? route.path : `${route.path}42`;
}

/** The key id of the generated demo key (when the stack configures no apiKeys). */
export const GENERATED_KEY_ID = "local-demo";

export function deployLocalTier(tier: LocalTierConfig, configuredKeys?: pulumi.Output<ApiKeys>): TierDeployment {
    const plan = localPlan(tier);
    // Without configured keys, one random key is generated and kept (secret) in state: an
    // ED25519 key is the stateful randomness @pulumi/tls offers; its digest is the API key.
    const apiKeys = configuredKeys ?? pulumi.secret(new tls.PrivateKey("local-demo-api-key", { algorithm: "ED25519" }).privateKeyPem
        .apply((pem): ApiKeys => ({ keys: [{ id: GENERATED_KEY_ID, key: createHash("sha256").update(pem).digest("base64url") }] })));
    const stackState = path.join(REPO_ROOT, ".tools", "local-stacks", tier.local.fabric);
    const local = new LocalHosts("local", {
        fabric: tier.local.fabric,
        segments: LOCAL_SEGMENTS,
        managementHostAddress: THIS_MACHINE_MANAGEMENT,
        packages: LOCAL_ROLE_PACKAGES,
        rootfsCacheDir: path.join(REPO_ROOT, ".tools", "local-hosts"),
        stateDir: stackState,
        hosts: plan.hosts,
        namespaces: [{ name: "client", interfaces: { internet: `${CLIENT_ADDRESS}/24` } }],
        // As the AWS security groups: clients reach the load balancer, the load balancer the
        // proxies, the proxies their upstreams and the key store; nothing else crosses segments.
        allow: [
            { from: "internet", to: LOAD_BALANCER_ADDRESS, ports: [tier.ports.https, tier.ports.mtls] },
            ...PROXY_NAMES.map((_, i) => ({ from: "public", to: proxyAddress(i), ports: [tier.ports.https, tier.ports.mtls, tier.ports.health] })),
            ...plan.upstreams.map((u) => ({ from: "dmz", to: u.address, ports: [...u.http, ...u.grpc].map((p) => p.port) })),
            { from: "dmz", to: plan.keystore.address, ports: [plan.keystore.port] },
        ],
    });
    const connection = (host: LocalHost): command.types.input.remote.ConnectionArgs => ({
        host: host.sshAddress, user: local.adminUser, privateKey: local.managementPrivateKey, hostKey: host.hostKey, dialErrorLimit: 5,
    });
    const deliver = (host: LocalHost, files: pulumi.Input<readonly HostFile[]>, dependsOn: pulumi.Resource[] = []): HostDelivery =>
        new HostDelivery(host.name, {
            host: { name: host.name, address: host.sshAddress, hostKey: host.hostKey, user: local.adminUser },
            privateKey: local.managementPrivateKey, files,
        }, { dependsOn });

    // PKI: the same component as every target.
    const pki = tierPki(tier);
    const server = pki.serverCertificates[SERVER_ENDPOINT];

    // Key store: Redis, the key-check service, and the keys (as digests) from secret config.
    const keystore = local.hosts.keystore;
    const keycheckLocal = path.join(SERVICE_BINARIES, path.basename(KEYCHECK_BINARY));
    const keycheckSha = sha256File(keycheckLocal);
    const keycheckBinary = installBinary("keystore-keycheck", keycheckLocal,
        KEYCHECK_BINARY, local.adminUser, connection(keystore), keycheckSha, local);
    const provision = [
        "set -e",
        "sudo -n systemctl enable --quiet --now redis-server",
        // The pepper is made on the host and never leaves it (services/keycheck).
        `sudo -n sh -c ${shellQuote(`test -s ${KEYCHECK_PEPPER_FILE} || (umask 077; mkdir -p ${path.dirname(KEYCHECK_PEPPER_FILE)}; head -c 48 /dev/urandom | base64 -w0 > ${KEYCHECK_PEPPER_FILE})`)}`,
        `sudo -n ${KEYCHECK_BINARY} provision --redis ${KEYSTORE_REDIS} --pepper-file ${KEYCHECK_PEPPER_FILE}`,
    ].join("\n");
    const keys = new command.remote.Command("keystore-keys", {
        connection: connection(keystore), create: provision, update: provision,
        stdin: pulumi.secret(apiKeys.apply((k) => JSON.stringify(k))), logging: "stderr", addPreviousOutputInEnv: false,
    }, { dependsOn: [keycheckBinary] });
    const keystoreDelivery = deliver(keystore, renderKeycheckUnit({
        listen: `${plan.keystore.address}:${plan.keystore.port}`, redis: KEYSTORE_REDIS, binarySha256: keycheckSha,
    }), [keys]);

    // Upstreams: the demo service on every configured address and port.
    const upstreamLocal = path.join(SERVICE_BINARIES, path.basename(DEMO_UPSTREAM_BINARY));
    const upstreamSha = sha256File(upstreamLocal);
    const upstreamDeliveries = plan.upstreams.map((u) => {
        const host = local.hosts[u.name];
        const binary = installBinary(`${u.name}-demo`, upstreamLocal,
            DEMO_UPSTREAM_BINARY, local.adminUser, connection(host), upstreamSha, local);
        const ports = [...u.http.map((h) => ({ ...h, kind: "http" as const })), ...u.grpc.map((g) => ({ ...g, kind: "grpc" as const }))];
        const files = ports.flatMap((p) => renderDemoUpstreamUnit({
            name: `${p.pool}-${p.port}`, binarySha256: upstreamSha, [p.kind]: `${u.address}:${p.port}`,
        }));
        return deliver(host, files, [binary]);
    });

    // Proxies: the hardened host, nginx behind the load balancer's PROXY protocol, the PKI.
    const profile = osProfile(LOCAL_HOST_OS);
    const nginxFiles = renderNginx({
        ...buildNginxSpec(tier, { runUser: profile.proxyUser, runGroup: profile.proxyGroup }),
        proxyProtocol: { trustedAddresses: [LOAD_BALANCER_ADDRESS] },
    });
    const certificateFiles = pulumi.all([server.certificateChainPem, server.privateKeyPem, pki.clientCaPem]).apply(([chain, key, clientCa]): HostFile[] => [
        { path: CERTIFICATE_PATHS.serverCertificate, content: chain, mode: "0644", owner: "root", group: "root", action: "nginx-reload" },
        { path: CERTIFICATE_PATHS.serverKey, content: key, mode: "0640", owner: "root", group: profile.proxyGroup, action: "nginx-reload", secret: true },
        { path: CERTIFICATE_PATHS.clientCa, content: clientCa, mode: "0644", owner: "root", group: "root", action: "nginx-reload" },
    ]);
    const hostFiles: Record<string, pulumi.Output<HostFile[]>> = {};
    const reports: Record<string, pulumi.Output<DeliveryReport>> = {};
    const proxyDeliveries: HostDelivery[] = [];
    for (const name of PROXY_NAMES) {
        const hardening = renderHost(buildHostSpec(tier, {
            hostname: name, os: LOCAL_HOST_OS, logVolume: false,
            healthCheckCidrs: [`${LOAD_BALANCER_ADDRESS}/32`],
            trafficCidrs: [`${LOAD_BALANCER_ADDRESS}/32`],
            upstreamNetworkCidrs: [PRIVATE_CIDR],
            endpointCidrs: [],
        }));
        hostFiles[name] = certificateFiles.apply((certs) => [...hardening, ...nginxFiles, ...certs]);
        const delivery = deliver(local.hosts[name], hostFiles[name], [keystoreDelivery, ...upstreamDeliveries]);
        proxyDeliveries.push(delivery);
        reports[name] = delivery.report;
    }

    // The load balancer, once the proxies answer.
    // Both proxies' sessions pass the load balancer; on this machine its open-file ceiling may
    // hold fewer (two descriptors per connection): then it takes what fits, and the delivery
    // report says so.
    const wanted = 2 * tier.concurrencyTarget;
    const lbFiles = local.hosts.lb.nofileCeiling.apply((ceiling) => renderHaproxy({
        bindAddress: LOAD_BALANCER_ADDRESS,
        listeners: [{ name: "https", port: tier.ports.https }, { name: "mtls", port: tier.ports.mtls }],
        proxies: PROXY_NAMES.map((name, i) => ({ name, address: proxyAddress(i) })),
        health: { port: tier.ports.health, path: tier.healthPath },
        maxConnections: Math.min(wanted, maxConnectionsWithin(ceiling)),
    }));
    hostFiles.lb = lbFiles;
    reports.lb = deliver(local.hosts.lb, lbFiles, proxyDeliveries).report;

    const outputs = tierOutputs(tier, pki, {
        dnsName: LOAD_BALANCER_ADDRESS,
        https: `https://${tier.serverName}:${tier.ports.https}`,
        mtls: `https://${tier.serverName}:${tier.ports.mtls}`,
        proxyAddresses: PROXY_NAMES.map((_, i) => proxyAddress(i)),
    });
    const hostFilesOut = pulumi.all(hostFiles) as pulumi.Output<Record<string, HostFile[]>>;
    return {
        outputs, hostFiles: hostFilesOut,
        local: {
            clientNamespace: local.namespaces.client,
            reports: pulumi.all(reports),
            testApiKey: pulumi.secret(apiKeys.apply((k) => k.keys[0]?.key ?? "")),
            curl: [
                `sudo ip netns exec ${local.namespaces.client} curl --cacert ${path.relative(REPO_ROOT, caBundleFile(tier.local.fabric))}`,
                `--resolve ${tier.serverName}:${tier.ports.https}:${LOAD_BALANCER_ADDRESS}`,
                `-H "X-API-Key: $(bin/pulumi stack output testApiKey --show-secrets -s ${pulumi.getStack()})"`,
                `https://${tier.serverName}:${tier.ports.https}${firstPublicPath(tier)}`,
            ].join(" "),
        },
    };
}
