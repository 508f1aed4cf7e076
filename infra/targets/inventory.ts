/**
 * The inventory target: existing hosts (RHEL 8, Ubuntu 22.04, Debian 12) provisioned over SSH,
 * Ansible-style, with @pulumi/command. Each host has one role:
 *   proxy     hardened host (sysctl, firewall, MAC, limits, sshd) + nginx + the PKI
 *   lb        HAProxy in TCP mode in front of the proxies (PROXY protocol v2, health checks)
 *   keystore  Redis + the key-check service at apiKeyService, keys from secret config (as digests)
 *   upstream  the demo upstream on every pool server at its address (site acceptance)
 * Per host: a prepare step (OS check, missing packages, facts), then one HostDelivery of every
 * rendered file (validated by the daemon's own checker, reloaded, never restarted), and its
 * drift audit (`pulumi refresh`). The local target runs exactly this on its containers.
 * Pure wiring; every decision lives in a component or renderer.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { HostFile } from "../../components/core/host-file";
import { shellQuote } from "../../components/core/shell";
import { maxConnectionsWithin, renderHaproxy } from "../../components/haproxy/render-haproxy";
import { osProfile, renderHost, type HostOs } from "../../components/host";
import { renderNginx } from "../../components/nginx";
import type { Pki } from "../../components/pki/pki";
import {
    DEMO_UPSTREAM_BINARY, KEYCHECK_BINARY, KEYCHECK_PEPPER_FILE, renderDemoUpstreamUnit, renderKeycheckUnit,
} from "../../components/services/render-units";
import { HostDelivery, type DeliveryReport } from "../../components/targets/inventory/host-delivery";
import { redisUnit, rolePackages, type InventoryRole } from "../../components/targets/inventory/roles";
import type { ApiKeys } from "../config/api-keys";
import type { SignatureSecrets } from "../config/signature-secrets";
import { TokenSigningKeys } from "../../components/pki/token-signing-keys";
import { policyDigest, renderAuthPolicy, type PublicJwk } from "../../components/services/render-auth-policy";
import { buildAuthPolicy, needsAuthPolicy } from "../spec/auth-policy-spec";
import type { InventoryTierConfig, TierConfig } from "../config/load";
import { parseHostPort } from "../config/units";
import { buildHostSpec } from "../spec/host-spec";
import { CERTIFICATE_PATHS, SSH_ADMIN_USERS } from "../spec/host-paths";
import { buildNginxSpec } from "../spec/nginx-spec";
import { SERVER_ENDPOINT, tierOutputs, tierPki } from "../tier-outputs";
import type { TierDeployment } from "../program";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
/** The service binaries scripts/build-services.sh builds. */
const SERVICE_BINARIES = path.join(REPO_ROOT, ".tools", "services");
const PREPARE_SCRIPT = fs.readFileSync(path.join(REPO_ROOT, "components", "targets", "inventory", "prepare-host.sh"), "utf8");
/** Redis on the key-store host, loopback only (the packaged default bind). */
const KEYSTORE_REDIS = "127.0.0.1:6379";

/** One host as the inventory provisions it (from stack config, or a container the local target made). */
export interface InventoryHost {
    readonly name: string;
    readonly role: InventoryRole;
    readonly os: HostOs;
    /** The address the tier's traffic uses at this host. */
    readonly address: string;
    readonly ssh: {
        readonly address: pulumi.Input<string>;
        readonly port: number;
        /** A sudo account (never root: the hardened sshd refuses root). */
        readonly user: string;
        readonly hostKey: pulumi.Input<string>;
    };
}

export interface InventoryContext {
    /** OpenSSH private key of the hosts' delivery account (secret). */
    readonly privateKey: pulumi.Input<string>;
    /** Keys the keystore accepts (secret); required when a host has role keystore. */
    readonly apiKeys?: pulumi.Output<ApiKeys>;
    /** HMAC secrets of the tier's signing keys (secret); required when a route is signed. */
    readonly signatureSecrets?: pulumi.Output<SignatureSecrets>;
    /** Where upstreams named by DNS live (proxy egress). */
    readonly upstreamNetworkCidrs: readonly string[];
    /** DNS resolvers the proxies may query. Default: none (every upstream is an address). */
    readonly dnsResolvers?: readonly string[];
    /** Parent of the hosts' resources. */
    readonly parent?: pulumi.Resource;
}

/** What the prepare step found on a host. */
export interface HostFacts {
    readonly os: HostOs;
    /** The open-file ceiling systemd can grant a service there. */
    readonly nofileCeiling: number;
    /** Packages this run installed. */
    readonly installed: string[];
}

export interface InventoryDeployment {
    readonly pki: Pki;
    readonly hostFiles: pulumi.Output<Record<string, HostFile[]>>;
    readonly reports: pulumi.Output<Record<string, DeliveryReport>>;
    readonly facts: pulumi.Output<Record<string, HostFacts>>;
    /** Where clients enter: the load balancer's address, else the proxies'. */
    readonly entryAddresses: string[];
    /** The JWT issuers' public keys (by issuer) and the stack-made private keys (secret). */
    readonly tokenKeys?: { readonly jwks: pulumi.Output<Record<string, PublicJwk[]>>; readonly privateKeysPem: pulumi.Output<Record<string, Record<string, string>>> };
}

const binaryDigests = new Map<string, string>();

/** The binary's SHA-256, read once per program run however many hosts install it. */
function sha256File(file: string): string {
    const known = binaryDigests.get(file);
    if (known !== undefined) return known;
    if (!fs.existsSync(file)) {
        throw new pulumi.RunError(`${path.relative(REPO_ROOT, file)} is missing: run scripts/build-services.sh (npm run up and npm test run it)`);
    }
    const digest = createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    binaryDigests.set(file, digest);
    return digest;
}

/** A shell command as root through the delivery account's sudo. */
const asRoot = (script: string, env: Record<string, string> = {}): string =>
    `sudo -n env ${Object.entries(env).map(([k, v]) => shellQuote(`${k}=${v}`)).join(" ")} bash -c ${shellQuote(script)}`;

/** Provisions every inventory host for its role; returns what each received and reported. */
export function provisionInventory(tier: TierConfig, hosts: readonly InventoryHost[], ctx: InventoryContext): InventoryDeployment {
    const opts = (dependsOn: pulumi.Resource[] = []): pulumi.CustomResourceOptions => ({ parent: ctx.parent, dependsOn });
    const connection = (host: InventoryHost): command.types.input.remote.ConnectionArgs => ({
        host: host.ssh.address, port: host.ssh.port, user: host.ssh.user, privateKey: ctx.privateKey, hostKey: host.ssh.hostKey, dialErrorLimit: 5,
    });

    // Prepare: the declared OS, the role's packages, the facts.
    const prepared = new Map<string, { step: command.remote.Command; facts: pulumi.Output<HostFacts> }>();
    for (const host of hosts) {
        const packages = rolePackages(host.role, host.os).join(" ");
        const run = asRoot(PREPARE_SCRIPT, { EXPECT_OS: host.os, PACKAGES: packages });
        const step = new command.remote.Command(`${host.name}-prepare`, {
            connection: connection(host), create: run, update: run, logging: "stderr", addPreviousOutputInEnv: false,
        }, opts());
        prepared.set(host.name, { step, facts: step.stdout.apply((out) => JSON.parse(out) as HostFacts) });
    }
    const after = (host: InventoryHost, more: pulumi.Resource[] = []): pulumi.Resource[] => [prepared.get(host.name)!.step, ...more];

    const deliver = (host: InventoryHost, files: pulumi.Input<readonly HostFile[]>, dependsOn: pulumi.Resource[]): HostDelivery =>
        new HostDelivery(host.name, {
            host: { name: host.name, address: host.ssh.address, port: host.ssh.port, hostKey: host.ssh.hostKey, user: host.ssh.user },
            privateKey: ctx.privateKey, files,
        }, { parent: ctx.parent, dependsOn });

    /** Copies a service binary and installs it root-owned; re-runs when the binary changes. */
    const installBinary = (host: InventoryHost, binary: string, sha: string): command.remote.Command => {
        const staged = `/home/${host.ssh.user}/.apiproxy-staging/${path.basename(binary)}`;
        const copy = new command.remote.CopyToRemote(`${host.name}-${path.basename(binary)}-copy`, {
            connection: connection(host), source: new pulumi.asset.FileAsset(path.join(SERVICE_BINARIES, path.basename(binary))),
            remotePath: staged, triggers: [sha],
        }, opts(after(host)));
        // The staged copy stays: a re-run of this step (any input change) installs it again.
        const install = `sudo -n install -D -m 0755 -o root -g root ${shellQuote(staged)} ${shellQuote(binary)}`;
        return new command.remote.Command(`${host.name}-${path.basename(binary)}-install`, {
            connection: connection(host), create: install, update: install, triggers: [sha], logging: "stderr", addPreviousOutputInEnv: false,
        }, opts([copy]));
    };

    const byRole = (role: InventoryRole) => hosts.filter((h) => h.role === role);
    const hostFiles: Record<string, pulumi.Output<HostFile[]>> = {};
    const reports: Record<string, pulumi.Output<DeliveryReport>> = {};

    // Signature and JWT routes: the key service's per-route policy, with the signing secrets and
    // the issuers' public keys (the stack's own, made here, or the delivered JWKS files).
    const ownIssuers = (tier.jwt?.issuers ?? []).filter((issuer) => issuer.keys !== undefined)
        .map((issuer) => ({ name: issuer.name, keys: issuer.keys! }));
    const tokenKeys = ownIssuers.length > 0 ? new TokenSigningKeys("jwt-keys", { issuers: ownIssuers }, { parent: ctx.parent }) : undefined;
    const fileJwks = tier.jwksFiles ?? {};
    const jwks = tokenKeys ? tokenKeys.jwks.apply((own) => ({ ...fileJwks, ...own })) : pulumi.output({ ...fileJwks });
    let policyFile: pulumi.Output<HostFile> | undefined;
    if (needsAuthPolicy(tier)) {
        if (tier.signatures && !ctx.signatureSecrets) {
            throw new pulumi.RunError("signed routes need their keys' secrets: bin/pulumi config set --secret api-proxy-security:signatureSecrets '{\"<key id>\": \"<secret>\"}'");
        }
        const secrets = ctx.signatureSecrets ?? pulumi.output({} as SignatureSecrets);
        policyFile = pulumi.secret(pulumi.all([secrets, jwks]).apply(([s, k]) => renderAuthPolicy(buildAuthPolicy(tier, s, k))));
    }

    // Key store: Redis, the key-check service, and the keys (as digests) from secret config.
    const keyDeliveries: HostDelivery[] = [];
    for (const host of byRole("keystore")) {
        if (!ctx.apiKeys) throw new pulumi.RunError(`inventory host ${host.name} is a keystore, but no API keys are configured (api-proxy-security:apiKeys)`);
        const keyService = parseHostPort(tier.apiKeyService)!;
        const sha = sha256File(path.join(SERVICE_BINARIES, path.basename(KEYCHECK_BINARY)));
        const binary = installBinary(host, KEYCHECK_BINARY, sha);
        const provision = [
            "set -e",
            `systemctl enable --quiet --now ${redisUnit(host.os)}`,
            // The pepper is made on the host and never leaves it (services/keycheck).
            `test -s ${KEYCHECK_PEPPER_FILE} || (umask 077; mkdir -p ${path.dirname(KEYCHECK_PEPPER_FILE)}; head -c 48 /dev/urandom | base64 -w0 > ${KEYCHECK_PEPPER_FILE})`,
            `${KEYCHECK_BINARY} provision --redis ${KEYSTORE_REDIS} --pepper-file ${KEYCHECK_PEPPER_FILE}`,
        ].join("\n");
        const keys = new command.remote.Command(`${host.name}-keys`, {
            connection: connection(host), create: asRoot(provision), update: asRoot(provision),
            stdin: pulumi.secret(ctx.apiKeys.apply((k) => JSON.stringify(k))), logging: "stderr", addPreviousOutputInEnv: false,
        }, opts([binary]));
        const unitFiles = (policy: HostFile | undefined): HostFile[] => [
            ...renderKeycheckUnit({
                listen: `${host.address}:${keyService.port}`, redis: KEYSTORE_REDIS, redisUnit: redisUnit(host.os), binarySha256: sha,
                rateLimitPerApiKey: tier.limits.rateLimitPerApiKey,
                ...(policy ? { policySha256: policyDigest(policy) } : {}),
            }),
            ...(policy ? [policy] : []),
        ];
        hostFiles[host.name] = policyFile ? policyFile.apply((policy) => unitFiles(policy)) : pulumi.output(unitFiles(undefined));
        const delivery = deliver(host, hostFiles[host.name], [keys]);
        keyDeliveries.push(delivery);
        reports[host.name] = delivery.report;
    }

    // Upstreams: the demo service on every pool server at the host's address.
    const grpcPools = new Set(tier.routes.filter((r) => r.protocol === "grpc").map((r) => r.upstream));
    const upstreamDeliveries: HostDelivery[] = [];
    for (const host of byRole("upstream")) {
        const sha = sha256File(path.join(SERVICE_BINARIES, path.basename(DEMO_UPSTREAM_BINARY)));
        const binary = installBinary(host, DEMO_UPSTREAM_BINARY, sha);
        const files = tier.upstreams.flatMap((pool) => pool.servers
            .map((server) => parseHostPort(server.address)!)
            .filter((hp) => hp.host === host.address)
            .flatMap((hp) => renderDemoUpstreamUnit({
                name: `${pool.name}-${hp.port}`, binarySha256: sha, [grpcPools.has(pool.name) ? "grpc" : "http"]: `${hp.host}:${hp.port}`,
            })));
        hostFiles[host.name] = pulumi.output(files);
        const delivery = deliver(host, files, [binary]);
        upstreamDeliveries.push(delivery);
        reports[host.name] = delivery.report;
    }

    // Proxies: the hardened host, nginx (behind the load balancer's PROXY protocol when there is one), the PKI.
    const pki = tierPki(tier);
    const server = pki.serverCertificates[SERVER_ENDPOINT];
    const lb = byRole("lb")[0];
    const proxies = byRole("proxy");
    const proxyDeliveries: HostDelivery[] = [];
    for (const host of proxies) {
        const profile = osProfile(host.os);
        // Sized to the host's open-file ceiling where it is lower than the target needs (the delivery reports the unit's shortfall).
        const nginxFiles = prepared.get(host.name)!.facts.apply((facts) => renderNginx({
            ...buildNginxSpec(tier, { runUser: profile.proxyUser, runGroup: profile.proxyGroup, nginxVersion: profile.nginxVersion }),
            ...(lb ? { proxyProtocol: { trustedAddresses: [lb.address] } } : {}),
            nofileCeiling: facts.nofileCeiling,
        }));
        const hardening = renderHost(buildHostSpec(tier, {
            hostname: host.name, os: host.os, logVolume: false,
            // Behind the load balancer only it reaches the listeners; without one, the tier's
            // traffic sources do (an external load balancer among them checks health).
            healthCheckCidrs: lb ? [`${lb.address}/32`] : tier.trafficCidrs,
            trafficCidrs: lb ? [`${lb.address}/32`] : tier.trafficCidrs,
            upstreamNetworkCidrs: ctx.upstreamNetworkCidrs,
            endpointCidrs: [],
            sshAllowUsers: [...new Set([...SSH_ADMIN_USERS, host.ssh.user])],
            ...(ctx.dnsResolvers ? { dnsResolvers: ctx.dnsResolvers } : {}),
        }));
        const tlsUpstreams = tier.upstreams.some((u) => u.tls);
        const certificates = pulumi.all([server.certificateChainPem, server.privateKeyPem, pki.clientCaPem, pki.caBundlePem]).apply(([chain, key, clientCa, caBundle]): HostFile[] => [
            { path: CERTIFICATE_PATHS.serverCertificate, content: chain, mode: "0644", owner: "root", group: "root", action: "nginx-reload" },
            { path: CERTIFICATE_PATHS.serverKey, content: key, mode: "0640", owner: "root", group: profile.proxyGroup, action: "nginx-reload", secret: true },
            { path: CERTIFICATE_PATHS.clientCa, content: clientCa, mode: "0644", owner: "root", group: "root", action: "nginx-reload" },
            // TLS upstreams present certificates of the tier's PKI (output upstreamCertificates).
            ...(tlsUpstreams ? [{ path: CERTIFICATE_PATHS.upstreamCa, content: caBundle, mode: "0644", owner: "root", group: "root", action: "nginx-reload" } as HostFile] : []),
        ]);
        hostFiles[host.name] = pulumi.all([nginxFiles, certificates]).apply(([nginx, certs]) => [...hardening, ...nginx, ...certs]);
        const delivery = deliver(host, hostFiles[host.name], after(host, [...keyDeliveries, ...upstreamDeliveries]));
        proxyDeliveries.push(delivery);
        reports[host.name] = delivery.report;
    }

    // The load balancer, once the proxies answer. Both proxies' sessions pass it; where the
    // host's open-file ceiling holds fewer (two descriptors per connection) it takes what fits,
    // and its delivery report says so.
    if (lb) {
        const wanted = 2 * tier.concurrencyTarget;
        hostFiles[lb.name] = prepared.get(lb.name)!.facts.apply((facts) => renderHaproxy({
            bindAddress: lb.address,
            listeners: [{ name: "https", port: tier.ports.https }, { name: "mtls", port: tier.ports.mtls }],
            proxies: proxies.map((p) => ({ name: p.name, address: p.address })),
            health: { port: tier.ports.health, path: tier.healthPath },
            maxConnections: Math.min(wanted, maxConnectionsWithin(facts.nofileCeiling)),
        }));
        reports[lb.name] = deliver(lb, hostFiles[lb.name], after(lb, proxyDeliveries)).report;
    }

    const facts: Record<string, pulumi.Output<HostFacts>> = {};
    for (const [name, p] of prepared) facts[name] = p.facts;
    return {
        pki,
        hostFiles: pulumi.all(hostFiles) as pulumi.Output<Record<string, HostFile[]>>,
        reports: pulumi.all(reports) as pulumi.Output<Record<string, DeliveryReport>>,
        facts: pulumi.all(facts) as pulumi.Output<Record<string, HostFacts>>,
        entryAddresses: lb ? [lb.address] : proxies.map((p) => p.address),
        ...(tier.jwt ? { tokenKeys: { jwks, privateKeysPem: tokenKeys?.privateKeysPem ?? pulumi.secret({} as Record<string, Record<string, string>>) } } : {}),
    };
}

/** `target: inventory`: the stack's hosts, reached with the SSH key from secret config. */
export function deployInventoryTier(tier: InventoryTierConfig, secrets: {
    sshPrivateKey?: pulumi.Output<string>; apiKeys?: pulumi.Output<ApiKeys>; signatureSecrets?: pulumi.Output<SignatureSecrets>;
}): TierDeployment {
    if (!secrets.sshPrivateKey) {
        throw new pulumi.RunError("target inventory needs the delivery account's SSH private key: bin/pulumi config set --secret api-proxy-security:sshPrivateKey -- \"$(cat KEYFILE)\"");
    }
    const hosts: InventoryHost[] = tier.inventory.hosts.map((h) => ({
        name: h.name, role: h.role, os: h.os, address: h.address,
        ssh: { address: h.ssh.address ?? h.address, port: h.ssh.port, user: h.ssh.user, hostKey: h.ssh.hostKey },
    }));
    const deployment = provisionInventory(tier, hosts, {
        privateKey: secrets.sshPrivateKey, apiKeys: secrets.apiKeys, signatureSecrets: secrets.signatureSecrets,
        upstreamNetworkCidrs: tier.inventory.upstreamNetworkCidrs,
        dnsResolvers: tier.inventory.dnsResolvers,
    });
    const [entry] = deployment.entryAddresses;
    const outputs = tierOutputs(tier, deployment.pki, {
        dnsName: entry,
        https: `https://${tier.serverName}:${tier.ports.https}`,
        mtls: `https://${tier.serverName}:${tier.ports.mtls}`,
        proxyAddresses: hosts.filter((h) => h.role === "proxy").map((h) => h.address),
    });
    return { outputs, hostFiles: deployment.hostFiles, deliveries: deployment.reports, ...(deployment.tokenKeys ? { tokenKeys: deployment.tokenKeys } : {}) };
}
