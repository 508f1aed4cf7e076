/**
 * Rules that span fields (references, uniqueness, ceilings relative to other fields) and
 * rules that consult the component catalogues. Run only after the schema passed.
 */
import type { ConfigProblem, TierConfig } from "./load";
import { isIpv4, parseHostPort, parseIpv4Cidr } from "./units";
import { subnetTiers } from "../../components/network/cidr";
import { packageMirrorProblems } from "../../components/network/package-mirror";
import { MANAGEMENT_CIDR, PRIVATE_CIDR } from "../../components/targets/local/address-plan";
import { NJS_OS } from "../../components/targets/inventory/roles";

/** True when the IPv4 address lies inside the CIDR. */
function inside(address: string, cidr: string): boolean {
    const host = parseIpv4Cidr(`${address}/32`);
    const net = parseIpv4Cidr(cidr);
    if (!host || !net) return false;
    const mask = net.prefix === 0 ? 0 : (0xffffffff << (32 - net.prefix)) >>> 0;
    return ((host.network & mask) >>> 0) === ((net.network & mask) >>> 0);
}

/** Destinations no request may be proxied to (SSRF into the host or its cloud). */
const FORBIDDEN_DESTINATIONS: readonly { cidr: string; what: string }[] = [
    { cidr: "0.0.0.0/8", what: "\"this network\" (unspecified)" },
    { cidr: "127.0.0.0/8", what: "loopback" },
    { cidr: "169.254.0.0/16", what: "link-local, where cloud instance metadata lives" },
    { cidr: "224.0.0.0/4", what: "multicast" },
    { cidr: "240.0.0.0/4", what: "reserved (and broadcast)" },
];

/** Environments in which accidental deletion must be impossible. */
export const PRODUCTION_ENVIRONMENTS: readonly string[] = ["prod"];

function duplicates<T>(items: readonly T[], key: (t: T) => string, report: (index: number, value: string) => void): void {
    const seen = new Set<string>();
    items.forEach((item, index) => {
        const value = key(item);
        if (seen.has(value)) {
            report(index, value);
        }
        seen.add(value);
    });
}

export function crossFieldProblems(tier: TierConfig): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const add = (path: string, message: string) => problems.push({ path: `tier.${path}`, message });
    // A generated route is named by its source: the user wrote no routes[i] for it.
    const routeAt = (i: number): string => {
        const route = tier.routes[i];
        if (route.source === undefined) return `routes[${i}]`;
        return `upstreams[${tier.upstreams.findIndex((u) => u.name === route.upstream)}].openapi(route ${route.name}: ${route.template ?? route.path})`;
    };

    const aws = tier.aws;
    if (aws) {
        // Availability zones must belong to the region.
        aws.availabilityZones.forEach((az, i) => {
            if (!new RegExp(`^${aws.region}[a-z]$`).test(az)) {
                add(`aws.availabilityZones[${i}]`, `"${az}" is not a zone of region ${aws.region}`);
            }
        });
        if (PRODUCTION_ENVIRONMENTS.includes(tier.environment) && !aws.deletionProtection) {
            add("aws.deletionProtection", `must be true in environment "${tier.environment}" (NLB and instances must not be deletable by accident)`);
        }
        if (PRODUCTION_ENVIRONMENTS.includes(tier.environment) && aws.image !== "golden") {
            add("aws.image", `must be "golden" in environment "${tier.environment}" (hosts come from the baked, reviewed image)`);
        }
        // Stock hosts install packages at first boot; their security group reaches a declared mirror only.
        if (aws.image === "stock" && aws.packageMirror === undefined) {
            add("aws.packageMirror", 'is required when aws.image is "stock": first boot installs nginx, nftables and the AWS CLI with apt, and the proxies\' security group opens egress only to a declared mirror ({url: http://<mirror>[:port]/<archive path>, securityUrl?, cidrs?: where it is when url names it by DNS})');
        }
        if (aws.image === "golden" && aws.packageMirror !== undefined) {
            add("aws.packageMirror", 'only applies to aws.image "stock": golden hosts install nothing at boot (the image build reaches the mirrors through NAT)');
        }
        if (aws.packageMirror !== undefined) {
            packageMirrorProblems(aws.packageMirror).forEach(({ field, message }) => add(`aws.packageMirror.${field}`, message));
        }
        if (aws.flowLogRetentionDays !== undefined && aws.flowLogRetentionDays < 90 && PRODUCTION_ENVIRONMENTS.includes(tier.environment)) {
            add("aws.flowLogRetentionDays", "must be at least 90 days in production (incident response needs flow history)");
        }
    }
    if (tier.target === "local") {
        if (PRODUCTION_ENVIRONMENTS.includes(tier.environment)) {
            add("target", `"local" runs the tier on this machine's containers: not for environment "${tier.environment}"`);
        }
        // The local target creates a container at every upstream and key-store address: they
        // must be literal addresses in its private segment, one role per address.
        const upstreamHosts = new Set<string>();
        tier.upstreams.forEach((u, i) => u.servers.forEach((s, j) => {
            const host = parseHostPort(s.address)?.host ?? "";
            upstreamHosts.add(host);
            if (!inside(host, PRIVATE_CIDR) || host.endsWith(".1")) {
                add(`upstreams[${i}].servers[${j}].address`, `must be an address in the local private segment ${PRIVATE_CIDR} (not its gateway .1), got "${s.address}"`);
            }
        }));
        const key = parseHostPort(tier.apiKeyService)?.host ?? "";
        if (!inside(key, PRIVATE_CIDR) || key.endsWith(".1")) {
            add("apiKeyService", `must be an address in the local private segment ${PRIVATE_CIDR} (not its gateway .1), got "${tier.apiKeyService}"`);
        } else if (upstreamHosts.has(key)) {
            add("apiKeyService", `${key} is an upstream's address: the key store gets a host of its own`);
        }
        if (!tier.managementCidrs.includes(MANAGEMENT_CIDR)) {
            add("managementCidrs", `must include the local management segment ${MANAGEMENT_CIDR} (delivery reaches the hosts over SSH from there)`);
        }
    }

    if (tier.inventory) {
        inventoryProblems(tier, tier.inventory, add);
    }
    // Request validation (and the signed body digest) runs in nginx's njs, packaged and tested for Debian 12 only.
    const validating = tier.routes.map((r, i) => ({ r, i })).filter(({ r }) => r.validation !== undefined || r.signature !== undefined);
    if (validating.length > 0) {
        const proxyOs = tier.target === "aws" ? ["ubuntu-22.04"] : tier.target === "inventory"
            ? (tier.inventory?.hosts ?? []).filter((h) => h.role === "proxy").map((h) => h.os) : ["debian-12"];
        const unsupported = [...new Set(proxyOs.filter((os) => !NJS_OS.includes(os as never)))];
        if (unsupported.length > 0) {
            const pools = [...new Set(validating.filter(({ r }) => r.validation !== undefined).map(({ r }) => r.upstream))];
            pools.forEach((pool) => add(`upstreams[${tier.upstreams.findIndex((u) => u.name === pool)}].openapi`,
                `validates requests in nginx (njs), which this product supports on ${NJS_OS.join(", ")} only; the proxies here run ${unsupported.join(", ")}`));
            validating.filter(({ r }) => r.signature !== undefined && r.source === undefined).forEach(({ i }) => add(`${routeAt(i)}.signature`,
                `checks the signed body digest in nginx (njs), which this product supports on ${NJS_OS.join(", ")} only; the proxies here run ${unsupported.join(", ")}`));
        }
    }

    // Signing clients and JWT issuers: unique names and key ids (a key id selects one secret or key).
    if (tier.signatures) {
        duplicates(tier.signatures.clients, (c) => c.name, (i, v) => add(`signatures.clients[${i}].name`, `"${v}" is declared twice`));
        const keys = tier.signatures.clients.flatMap((c, i) => c.keys.map((k, j) => ({ id: k.id, at: `signatures.clients[${i}].keys[${j}].id` })));
        duplicates(keys, (k) => k.id, (n, v) => add(keys[n].at, `"${v}" is another key's id (clients name their key by it)`));
    }
    if (tier.jwt) {
        duplicates(tier.jwt.issuers, (x) => x.name, (i, v) => add(`jwt.issuers[${i}].name`, `"${v}" is declared twice`));
        tier.jwt.issuers.forEach((issuer, i) => duplicates(issuer.keys ?? [], (k) => k.kid, (j, v) => add(`jwt.issuers[${i}].keys[${j}].kid`, `"${v}" is declared twice`)));
    }

    if (tier.tls.tls12Ciphers && !tier.tls.protocols.includes("TLSv1.2")) {
        add("tls.tls12Ciphers", "is set but TLSv1.2 is not enabled");
    }

    // Upstream pools and routes reference each other by name.
    duplicates(tier.upstreams, (u) => u.name, (i, v) => add(`upstreams[${i}].name`, `"${v}" is declared twice`));
    duplicates(tier.routes, (r) => r.name, (i, v) => add(`${routeAt(i)}.name`, `"${v}" is declared twice`));
    tier.upstreams.forEach((u, i) => {
        duplicates(u.servers, (s) => s.address, (j, v) => add(`upstreams[${i}].servers[${j}].address`, `"${v}" is listed twice`));
    });
    const poolNames = new Set(tier.upstreams.map((u) => u.name));
    const used = new Set<string>();
    tier.routes.forEach((route, i) => {
        if (!poolNames.has(route.upstream)) {
            add(`${routeAt(i)}.upstream`, `"${route.upstream}" is not a declared upstream pool (declared: ${[...poolNames].join(", ")})`);
        }
        used.add(route.upstream);
        if (route.rateLimitPerIp && route.rateLimitPerIp.ratePerSecond > tier.limits.rateLimitPerIp.ratePerSecond) {
            add(`${routeAt(i)}.rateLimitPerIp.ratePerSecond`,
                `${route.rateLimitPerIp.ratePerSecond} r/s exceeds the tier's per-IP limit of ${tier.limits.rateLimitPerIp.ratePerSecond} r/s (routes may only tighten it)`);
        }
        if (route.maxBodySize !== undefined && route.maxBodySize > tier.limits.maxBodySize) {
            add(`${routeAt(i)}.maxBodySize`, `${route.maxBodySize} bytes exceeds the tier's maxBodySize of ${tier.limits.maxBodySize} bytes (routes may only tighten it)`);
        }
        if (route.protocol === "websocket" && route.methods.some((m) => m !== "GET")) {
            add(`${routeAt(i)}.methods`, "a websocket route is opened with GET only");
        }
        if (route.protocol === "grpc" && route.methods.some((m) => m !== "POST")) {
            add(`${routeAt(i)}.methods`, "gRPC calls are HTTP/2 POSTs: use [POST]");
        }
        if (route.clients !== undefined) {
            if (route.listeners.length !== 1 || route.listeners[0] !== "mtls") {
                add(`${routeAt(i)}.clients`, "restricts client certificates, so the route must be on the mtls listener only (the public listener asks for none)");
            }
            route.clients.forEach((name, j) => {
                if (!tier.pki.clients.some((c) => c.name === name)) {
                    add(`${routeAt(i)}.clients[${j}]`, `"${name}" is not an issued client (pki.clients: ${tier.pki.clients.map((c) => c.name).join(", ") || "none"})`);
                }
            });
        }
        const checked = route.apiKey || route.signature !== undefined || route.jwt !== undefined;
        if (route.public !== undefined && (checked || !route.listeners.includes("public"))) {
            add(`${routeAt(i)}.public`, "only a route on the public listener without an API key, signature or JWT is declared public");
        }
        if (route.listeners.includes("public") && !checked && route.public === undefined && route.validation === undefined) {
            add(`${routeAt(i)}.apiKey`, "is false on the public listener, so nothing checks this route's requests: keep the API key, add a signature or jwt check, or declare public: {reason: ...}");
        }
        if (route.signature !== undefined) {
            if (route.protocol !== "http") add(`${routeAt(i)}.signature`, "only http routes are signed (the body digest is checked on the whole buffered body)");
            const declared = tier.signatures?.clients.map((c) => c.name) ?? [];
            route.signature.clients.forEach((name, j) => {
                if (!declared.includes(name)) {
                    add(`${routeAt(i)}.signature.clients[${j}]`, `"${name}" is not a signing client (signatures.clients: ${declared.join(", ") || "none"})`);
                }
            });
        }
        if ((route.signature !== undefined || route.jwt !== undefined) && tier.target === "aws") {
            add(`${routeAt(i)}.${route.signature !== undefined ? "signature" : "jwt"}`,
                "signatures and JWTs are checked by the key service this product runs (local and inventory targets); the aws target's apiKeyService is your own, so it cannot be given the policy");
        }
        if (route.jwt !== undefined) {
            const issuers = tier.jwt?.issuers.map((x) => x.name) ?? [];
            if (!issuers.includes(route.jwt.issuer)) {
                add(`${routeAt(i)}.jwt.issuer`, `"${route.jwt.issuer}" is not a declared issuer (jwt.issuers: ${issuers.join(", ") || "none"})`);
            }
        }
        if (route.path === tier.healthPath) {
            add(`${routeAt(i)}.path`, `collides with the health endpoint ${tier.healthPath}`);
        }
    });
    duplicates(tier.pki.clients, (c) => c.commonName, (i, v) => add(`pki.clients[${i}].commonName`, `"${v}" is another client's common name (routes authorise by it)`));
    tier.upstreams.forEach((u, i) => {
        if (!used.has(u.name)) {
            add(`upstreams[${i}].name`, `"${u.name}" is not used by any route (remove it: an unused pool is unreviewed egress)`);
        }
    });
    // Two routes may not claim the same path on the same listener (nginx would refuse, or one would shadow the other).
    const claimed = new Map<string, number>();
    tier.routes.forEach((route, i) => {
        for (const listener of route.listeners) {
            const key = `${listener} ${route.template ?? `${route.exact ? "=" : ""}${route.path}`}`;
            const previous = claimed.get(key);
            if (previous !== undefined) {
                add(`${routeAt(i)}.path`, `"${route.path}" on listener ${listener} is already claimed by ${routeAt(previous)} (${tier.routes[previous].name})`);
            }
            claimed.set(key, i);
        }
    });

    // Where the proxies may send requests: never loopback, link-local (the instance metadata
    // service 169.254.169.254 among them), "this network" or multicast; on AWS, inside the VPC.
    const destinations: { field: string; address: string }[] = [
        { field: "apiKeyService", address: tier.apiKeyService },
        ...tier.upstreams.flatMap((u, i) => u.servers.map((s, j) => ({ field: `upstreams[${i}].servers[${j}].address`, address: s.address }))),
    ];
    for (const { field, address } of destinations) {
        const host = parseHostPort(address)?.host ?? "";
        if (host === "localhost" || host.endsWith(".localhost")) {
            add(field, `"${address}" is this host itself: the proxies forward to other hosts only`);
            continue;
        }
        if (!isIpv4(host)) continue;
        const forbidden = FORBIDDEN_DESTINATIONS.find((d) => inside(host, d.cidr));
        if (forbidden) {
            add(field, `${host} is ${forbidden.what} (${forbidden.cidr}): never a destination of the proxies`);
        } else if (tier.aws) {
            const privateSubnets = subnetTiers(tier.aws.vpcCidr, tier.aws.availabilityZones.length).private;
            if (!privateSubnets.some((cidr) => inside(host, cidr))) {
                add(field, `${host} is outside the private subnets ${privateSubnets.join(", ")}: the proxies reach upstreams and the key service there only`);
            }
        }
    }
    return problems;
}

/** The inventory: one role per host entry, roles that fit together, and addresses the tier uses. */
function inventoryProblems(tier: TierConfig, inventory: NonNullable<TierConfig["inventory"]>, add: (path: string, message: string) => void): void {
    const hosts = inventory.hosts;
    duplicates(hosts, (h) => h.name, (i, v) => add(`inventory.hosts[${i}].name`, `"${v}" is listed twice`));
    duplicates(hosts, (h) => h.address, (i, v) => add(`inventory.hosts[${i}].address`, `${v} is listed twice (one role per host entry)`));
    const byRole = (role: string) => hosts.map((h, i) => ({ h, i })).filter((e) => e.h.role === role);
    const proxies = byRole("proxy");
    if (proxies.length === 0) {
        add("inventory.hosts", "has no host with role proxy");
    } else if (proxies.length < 2 && PRODUCTION_ENVIRONMENTS.includes(tier.environment)) {
        add("inventory.hosts", `has one proxy: environment "${tier.environment}" needs an HA pair (two or more)`);
    }
    for (const role of ["lb", "keystore"]) {
        byRole(role).slice(1).forEach(({ i }) => add(`inventory.hosts[${i}].role`, `a second ${role}: the inventory target provisions at most one`));
    }
    const key = parseHostPort(tier.apiKeyService);
    byRole("keystore").slice(0, 1).forEach(({ h, i }) => {
        if (key?.host !== h.address) {
            add(`inventory.hosts[${i}].address`, `the keystore serves the key check at apiKeyService (${tier.apiKeyService}): its address must be ${key?.host ?? "that host"}`);
        }
    });
    const servers = tier.upstreams.flatMap((u) => u.servers.map((s) => parseHostPort(s.address)?.host ?? ""));
    byRole("upstream").forEach(({ h, i }) => {
        if (!servers.includes(h.address)) {
            add(`inventory.hosts[${i}].address`, `no upstream pool has a server at ${h.address}: an upstream host serves the pool servers at its address`);
        }
    });
    // Proxies open egress to upstreams by address; those named by DNS need their networks.
    const named = [...servers, key?.host ?? ""].filter((host) => host !== "" && !isIpv4(host));
    if (named.length > 0 && inventory.upstreamNetworkCidrs.length === 0) {
        add("inventory.upstreamNetworkCidrs", `is required: ${[...new Set(named)].join(", ")} ${named.length === 1 ? "is" : "are"} named by DNS, so the proxies' egress needs the networks they live in`);
    }
    if (named.length > 0 && inventory.dnsResolvers.length === 0) {
        add("inventory.dnsResolvers", `is required: ${[...new Set(named)].join(", ")} ${named.length === 1 ? "is" : "are"} named by DNS, and the proxies' firewall opens port 53 to the declared resolvers only`);
    }
}
