/**
 * The local target: the whole tier on this machine as real Debian hosts (components/targets/
 * local LocalHosts: systemd-nspawn containers, one network namespace each, on 198.18.0.0/15),
 * then provisioned by the inventory target's own code (infra/targets/inventory.ts
 * provisionInventory: over SSH with @pulumi/command). HAProxy stands in for the NLB, the demo upstream
 * for the app teams' services, and the key-check service with Redis for the API-key store.
 * Pure wiring; every decision lives in a component or renderer.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { InventoryRole } from "../../components/targets/inventory/roles";
import {
    CLIENT_ADDRESS, LOAD_BALANCER_ADDRESS, LOCAL_HOST_OS, LOCAL_ROLE_PACKAGES, LOCAL_SEGMENTS, managementAddress, PRIVATE_CIDR, proxyAddress,
    THIS_MACHINE_MANAGEMENT,
} from "../../components/targets/local/address-plan";
import { LocalHosts, type LocalHostSpec } from "../../components/targets/local/local-hosts";
import type { ApiKeys } from "../config/api-keys";
import type { SignatureSecrets } from "../config/signature-secrets";
import type { LocalTierConfig } from "../config/load";
import { parseHostPort } from "../config/units";
import { tierOutputs } from "../tier-outputs";
import type { TierDeployment } from "../program";
import { provisionInventory, type InventoryHost } from "./inventory";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const PROXY_NAMES = ["proxy-a", "proxy-b"];

/** Containers and their roles, derived from the stack config's addresses. */
export interface LocalPlan {
    /** Containers, each with the inventory role it is provisioned for and its traffic address. */
    readonly hosts: (LocalHostSpec & { readonly role: InventoryRole; readonly address: string })[];
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
    const host = (name: string, role: InventoryRole, segment: string, address: string): LocalPlan["hosts"][number] =>
        ({ name, role, address, interfaces: { [segment]: `${address}/24`, management: mgmt() } });
    const hosts = [
        host("lb", "lb", "public", LOAD_BALANCER_ADDRESS),
        ...PROXY_NAMES.map((name, i) => host(name, "proxy", "dmz", proxyAddress(i))),
        ...upstreams.map((u) => host(u.name, "upstream", "private", u.address)),
        host("keystore", "keystore", "private", key.host),
    ];
    return { hosts, upstreams, keystore: { address: key.host, port: key.port } };
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

/** Stateful randomness: an ED25519 key is what @pulumi/tls offers; the digest of its PEM (secret). */
function generatedSecret(name: string): pulumi.Output<string> {
    return pulumi.secret(new tls.PrivateKey(name, { algorithm: "ED25519" }).privateKeyPem
        .apply((pem) => createHash("sha256").update(pem).digest("base64url")));
}

export function deployLocalTier(tier: LocalTierConfig, secrets: { apiKeys?: pulumi.Output<ApiKeys>; signatureSecrets?: pulumi.Output<SignatureSecrets> } = {}): TierDeployment {
    const plan = localPlan(tier);
    // Without configured keys, one random key is generated and kept (secret) in state.
    const apiKeys = secrets.apiKeys ?? generatedSecret("local-demo-api-key").apply((key): ApiKeys => ({ keys: [{ id: GENERATED_KEY_ID, key }] }));
    // Likewise a secret per declared signing key, when the stack configures none.
    const signingKeyIds = (tier.signatures?.clients ?? []).flatMap((c) => c.keys.map((k) => k.id));
    const signatureSecrets = secrets.signatureSecrets ?? (signingKeyIds.length > 0
        ? pulumi.secret(pulumi.all(Object.fromEntries(signingKeyIds.map((id) => [id, generatedSecret(`local-signing-secret-${id}`)]))))
        : undefined);
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
    // From here on the containers are inventory hosts like any other: the same code path
    // provisions existing servers (infra/targets/inventory.ts).
    const hosts: InventoryHost[] = plan.hosts.map((h) => ({
        name: h.name, role: h.role, os: LOCAL_HOST_OS, address: h.address,
        ssh: { address: local.hosts[h.name].sshAddress, port: 22, user: local.adminUser, hostKey: local.hosts[h.name].hostKey },
    }));
    const deployment = provisionInventory(tier, hosts, {
        privateKey: local.managementPrivateKey, apiKeys, signatureSecrets, upstreamNetworkCidrs: [PRIVATE_CIDR],
    });

    const outputs = tierOutputs(tier, deployment.pki, {
        dnsName: LOAD_BALANCER_ADDRESS,
        https: `https://${tier.serverName}:${tier.ports.https}`,
        mtls: `https://${tier.serverName}:${tier.ports.mtls}`,
        proxyAddresses: PROXY_NAMES.map((_, i) => proxyAddress(i)),
    });
    return {
        outputs, hostFiles: deployment.hostFiles, deliveries: deployment.reports,
        ...(deployment.tokenKeys ? { tokenKeys: deployment.tokenKeys } : {}),
        local: {
            clientNamespace: local.namespaces.client,
            testApiKey: pulumi.secret(apiKeys.apply((k) => k.keys[0]?.key ?? "")),
            ...(signatureSecrets ? { signatureSecrets } : {}),
            curl: [
                `sudo ip netns exec ${local.namespaces.client} curl --cacert ${path.relative(REPO_ROOT, caBundleFile(tier.local.fabric))}`,
                `--resolve ${tier.serverName}:${tier.ports.https}:${LOAD_BALANCER_ADDRESS}`,
                `-H "X-API-Key: $(bin/pulumi stack output testApiKey --show-secrets -s ${pulumi.getStack()})"`,
                `https://${tier.serverName}:${tier.ports.https}${firstPublicPath(tier)}`,
            ].join(" "),
        },
    };
}
