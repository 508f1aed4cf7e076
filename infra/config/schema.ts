/**
 * The stack configuration schema: `api-proxy-security:tier` in stacks/Pulumi.<stack>.yaml.
 * One zod schema validates the whole object before any resource is registered; every
 * problem is reported at once with its field path (see load.ts).
 *
 * Defaults live in infra/config/defaults.ts, each with the reason it was chosen.
 */
import { z } from "zod";
import { DEFAULTS, LIMITS, CLOUDWATCH_RETENTION_DAYS } from "./defaults";
import { checkInstanceType } from "../../components/compute/instance-catalogue";
import { APPROVED_TLS } from "./approved-tls";
import { CLIENT_COMMON_NAME, PUBLIC_REASON } from "../../components/nginx/validate";
import { KEY_ID } from "../../components/services/render-auth-policy";
import { isCanonicalIpv4Cidr, isIpv4, parseHostPort, parseIpv4Cidr, parseSize } from "./units";

const NAME = /^[a-z][a-z0-9-]{0,31}$/;
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** Literal path prefixes only: nginx regex or variable syntax would defeat default deny. */
const ROUTE_PATH = /^\/[A-Za-z0-9._~\-/]*$/;

const cidr = z.string().refine((v) => parseIpv4Cidr(v) !== undefined, { error: "is not an IPv4 CIDR (a.b.c.d/n)" })
    .refine((v) => parseIpv4Cidr(v) === undefined || isCanonicalIpv4Cidr(v), {
        error: "has host bits set beyond its prefix (write the network address, e.g. 10.0.0.0/16)",
    });

const managementCidr = cidr.refine((v) => (parseIpv4Cidr(v)?.prefix ?? 32) >= LIMITS.managementCidrMinPrefix, {
    error: `is too broad for SSH management: a prefix of at least /${LIMITS.managementCidrMinPrefix} is required (never 0.0.0.0/0)`,
});

const size = (ceilingBytes: number) =>
    z.union([z.string(), z.number()]).transform((v, ctx) => {
        const bytes = parseSize(v);
        if (bytes === undefined) {
            ctx.addIssue({ code: "custom", message: `"${v}" is not a size (e.g. 512k, 2m, or bytes)` });
            return z.NEVER;
        }
        if (bytes < 1) {
            ctx.addIssue({ code: "custom", message: "must be at least 1 byte" });
            return z.NEVER;
        }
        if (bytes > ceilingBytes) {
            ctx.addIssue({ code: "custom", message: `${v} exceeds the ceiling of ${ceilingBytes} bytes (payload DoS control)` });
            return z.NEVER;
        }
        return bytes;
    });

/** A string from a NIST SP 800-52r2 allow-list. */
const approved = (allowed: readonly string[], what: string, section: string) =>
    z.string().refine((v) => allowed.includes(v), {
        error: (issue) => `"${String(issue.input)}" is not a NIST SP 800-52r2 approved ${what} (section ${section}); choose from ${allowed.join(", ")}`,
    });

const rateLimit = z.strictObject({
    ratePerSecond: z.number().int().min(1, { error: "must be at least 1 request/second" })
        .max(LIMITS.rateLimitCeilingPerSecond, { error: `must not exceed the ceiling of ${LIMITS.rateLimitCeilingPerSecond} r/s` }),
    burst: z.number().int().min(0, { error: "must not be negative" })
        .max(LIMITS.burstCeiling, { error: `must not exceed ${LIMITS.burstCeiling}` }),
});

const port = z.number().int().min(1, { error: "must be a TCP port (1-65535)" }).max(65535, { error: "must be a TCP port (1-65535)" });

const upstreamServer = z.strictObject({
    address: z.string().refine((v) => parseHostPort(v) !== undefined, { error: "must be host:port with a port in 1-65535" }),
    weight: z.number().int().min(1).max(100).default(1),
});

/** RFC 3339 instant with an explicit offset ("2026-12-15T00:00:00Z"): the edge of a key's overlap window. */
const instant = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, { error: "must be an RFC 3339 time with offset, quoted in YAML (an unquoted one becomes a YAML timestamp), e.g. '2026-12-15T00:00:00Z'" })
    .refine((v) => !Number.isNaN(Date.parse(v)), { error: "is not a real date" });
const keyWindow = {
    /** Accepted from then on (default: at once). */
    notBefore: instant.optional(),
    /** Refused from then on: the end of a rotation's overlap window (default: until removed). */
    notAfter: instant.optional(),
};
function checkWindow(key: { notBefore?: string; notAfter?: string }, ctx: z.RefinementCtx): void {
    if (key.notBefore !== undefined && key.notAfter !== undefined && Date.parse(key.notBefore) >= Date.parse(key.notAfter)) {
        ctx.addIssue({ code: "custom", path: ["notAfter"], message: `must be later than notBefore (${key.notBefore})` });
    }
}

/** A route's HMAC request signature: the signing clients (signatures.clients[].name) allowed. */
const routeSignature = z.strictObject({
    clients: z.array(z.string()).min(1, { error: "names at least one signing client (signatures.clients[].name)" }),
});
/** A route's JWT check: the issuer (jwt.issuers[].name) and the audiences a token must name one of. */
const routeJwt = z.strictObject({
    issuer: z.string(),
    audiences: z.array(z.string().regex(/^[\x21-\x7e]{1,256}$/, { error: "must be 1-256 printable characters without spaces" }))
        .min(1, { error: "names at least one audience (a token must carry one of them in aud)" }),
});

/** An OpenAPI 3.0/3.1 document as the pool's route source (infra/config/openapi.ts reads it). */
const openapiSource = z.strictObject({
    /** Path relative to the project root (the directory of Pulumi.yaml), e.g. stacks/openapi/orders.yaml. */
    document: z.string().regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\.(ya?ml|json)$/, { error: "must be a relative path to a .yaml, .yml or .json file" })
        .refine((v) => !v.split("/").includes(".."), { error: "must not leave the project (no .. segments)" }),
    /** Prepended to every path of the document ("" or "/api/v2"). */
    basePath: z.string().regex(/^(\/[A-Za-z0-9._~-]+)*$/, { error: "must be empty or literal segments like /api/v2" }).default(""),
    listeners: z.array(z.enum(["public", "mtls"])).min(1, { error: "the generated routes need at least one listener" }).default(["public"]),
    apiKey: z.boolean().default(true),
    /** Every generated route also requires this signature / this JWT. */
    signature: routeSignature.optional(),
    jwt: routeJwt.optional(),
});

const upstreamPool = z.strictObject({
    name: z.string().regex(NAME, { error: "must match [a-z][a-z0-9-]{0,31}" }),
    algorithm: z.enum(["round-robin", "least-conn"]).default(DEFAULTS.upstreamAlgorithm),
    servers: z.array(upstreamServer).min(1, { error: "an upstream pool needs at least one server" }),
    keepalive: z.number().int().min(0).max(1024).default(DEFAULTS.upstreamKeepalive),
    maxFails: z.number().int().min(1, { error: "must be at least 1 (0 disables the circuit breaker)" }).max(100).default(DEFAULTS.upstreamMaxFails),
    failTimeoutSeconds: z.number().int().min(1).max(3600).default(DEFAULTS.upstreamFailTimeoutSeconds),
    tls: z.boolean().default(false),
    /** With tls: the DNS name the pool's servers present; the tier's PKI issues their certificate for it. */
    tlsServerName: z.string().regex(DNS_NAME, { error: "must be a lower-case DNS name (the name the upstreams' certificate carries)" }).optional(),
    openapi: openapiSource.optional(),
}).superRefine((pool, ctx) => {
    if (pool.tls && pool.tlsServerName === undefined) {
        ctx.addIssue({ code: "custom", path: ["tlsServerName"], message: "is required with tls: true (the name nginx verifies on the upstreams' certificate, which the tier's PKI issues)" });
    }
    if (!pool.tls && pool.tlsServerName !== undefined) {
        ctx.addIssue({ code: "custom", path: ["tlsServerName"], message: "only applies with tls: true" });
    }
});

const httpMethod = z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

const timeoutSeconds = z.number().int().min(1, { error: "must be at least 1 second" })
    .max(LIMITS.timeoutCeilingSeconds, { error: `must not exceed ${LIMITS.timeoutCeilingSeconds} seconds` });

const route = z.strictObject({
    name: z.string().regex(NAME, { error: "must match [a-z][a-z0-9-]{0,31}" }),
    path: z.string()
        .regex(ROUTE_PATH, { error: "must be a literal path starting with / (letters, digits, . _ ~ - / only; no regex, no variables)" })
        .refine((v) => v !== "/", { error: "\"/\" is a catch-all: routes must name the API paths they expose (default deny)" }),
    exact: z.boolean().default(false),
    methods: z.array(httpMethod).min(1, { error: "a route needs at least one method" })
        .refine((m) => new Set(m).size === m.length, { error: "lists a method twice" }),
    upstream: z.string(),
    protocol: z.enum(["http", "grpc", "websocket"]).default("http"),
    apiKey: z.boolean().default(true),
    listeners: z.array(z.enum(["public", "mtls"])).min(1, { error: "a route needs at least one listener" }).default(["public"]),
    timeouts: z.strictObject({
        connect: timeoutSeconds.default(DEFAULTS.connectTimeoutSeconds),
        send: timeoutSeconds.default(DEFAULTS.sendTimeoutSeconds),
        read: timeoutSeconds.default(DEFAULTS.readTimeoutSeconds),
    }).default({ connect: DEFAULTS.connectTimeoutSeconds, send: DEFAULTS.sendTimeoutSeconds, read: DEFAULTS.readTimeoutSeconds }),
    maxBodySize: size(LIMITS.maxBodyCeilingBytes).optional(),
    rateLimitPerIp: rateLimit.optional(),
    /** mTLS-only routes: the issued client certificates (pki.clients[].name) allowed; others get 403. */
    clients: z.array(z.string()).min(1, { error: "names at least one client (or leave it out: any certificate of the client CA)" }).optional(),
    /** An HMAC-SHA256 request signature (method, URI, time, nonce, body digest), checked with replay protection. */
    signature: routeSignature.optional(),
    /** A bearer JWT (ES256/RS256/EdDSA) verified against the issuer's JWKS, with exp/nbf/iss/aud. */
    jwt: routeJwt.optional(),
    /** A public-listener route without an API key must say why nothing checks its requests. */
    public: z.strictObject({
        reason: z.string().regex(PUBLIC_REASON, { error: "must be a sentence of 10-200 characters (letters, digits, spaces and , . : ( ) ' / _ -)" }),
    }).optional(),
});

/** HMAC request signatures: the signing clients and their keys. The secrets are secret config
 *  (api-proxy-security:signatureSecrets, key id -> secret); rotation adds a key and ends the old
 *  one's notAfter once clients have moved (both accepted in between). */
const signatures = z.strictObject({
    maxClockSkewSeconds: z.number().int().min(1).max(900, { error: "must not exceed 900 seconds (the replay window is twice this)" })
        .default(DEFAULTS.signatureMaxClockSkewSeconds),
    clients: z.array(z.strictObject({
        name: z.string().regex(NAME, { error: "must match [a-z][a-z0-9-]{0,31}" }),
        keys: z.array(z.strictObject({
            id: z.string().regex(KEY_ID, { error: "must match [A-Za-z0-9._-]{1,64} (clients send it in X-Apiproxy-Key-Id)" }),
            ...keyWindow,
        }).superRefine(checkWindow)).min(1, { error: "a signing client needs at least one key" }),
    })).min(1, { error: "names at least one signing client" }),
});

/** JWT issuers: the stack makes the signing keys (keys) or delivers the issuer's JWKS (jwksFile). */
const jwtIssuer = z.strictObject({
    name: z.string().regex(NAME, { error: "must match [a-z][a-z0-9-]{0,31}" }),
    /** The iss claim tokens must carry. */
    issuer: z.string().regex(/^[\x21-\x7e]{1,256}$/, { error: "must be 1-256 printable characters without spaces (the iss claim)" }),
    leewaySeconds: z.number().int().min(0).max(300, { error: "must not exceed 300 seconds" }).default(DEFAULTS.jwtLeewaySeconds),
    /** Refuse tokens valid for longer than this (exp - iat). */
    maxLifetimeSeconds: z.number().int().min(60).max(86400 * 7).optional(),
    /** Keys the stack generates (@pulumi/tls); their private halves are the secret output jwtSigningKeys. */
    keys: z.array(z.strictObject({
        kid: z.string().regex(KEY_ID, { error: "must match [A-Za-z0-9._-]{1,64}" }),
        algorithm: z.enum(["ES256", "RS256", "EdDSA"], { error: "must be ES256, RS256 or EdDSA" }),
        ...keyWindow,
    }).superRefine(checkWindow)).min(1, { error: "needs at least one key" }).optional(),
    /** Or: the issuer's own JWKS (public keys), relative to the project root, delivered as is. */
    jwksFile: z.string().regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\.json$/, { error: "must be a relative path to a .json file" })
        .refine((v) => !v.split("/").includes(".."), { error: "must not leave the project (no .. segments)" }).optional(),
}).superRefine((issuer, ctx) => {
    if ((issuer.keys === undefined) === (issuer.jwksFile === undefined)) {
        ctx.addIssue({ code: "custom", path: ["keys"], message: "give exactly one of keys (the stack makes them) or jwksFile (the issuer's JWKS)" });
    }
});

const keySpec = z.discriminatedUnion("algorithm", [
    z.strictObject({ algorithm: z.literal("ECDSA"), curve: z.enum(["P256", "P384"]).default("P256") }),
    z.strictObject({
        algorithm: z.literal("RSA"),
        rsaBits: z.number().int().min(3072, { error: "RSA keys must be at least 3072 bits (NIST SP 800-57 Part 1 r5, beyond 2030)" })
            .max(8192),
    }),
], { error: "algorithm must be ECDSA or RSA" });

const pki = z.strictObject({
    key: keySpec.default({ algorithm: "ECDSA", curve: "P256" }),
    serverValidityDays: z.number().int().min(1).max(LIMITS.leafValidityCeilingDays, {
        error: `must not exceed ${LIMITS.leafValidityCeilingDays} days (CA/Browser Forum ballot SC-081)`,
    }).default(DEFAULTS.serverValidityDays),
    earlyRenewalDays: z.number().int().min(1, { error: "must be at least 1 day: without a renewal window nothing rotates" })
        .default(DEFAULTS.earlyRenewalDays),
    clients: z.array(z.strictObject({
        name: z.string().regex(NAME, { error: "must match [a-z][a-z0-9-]{0,31}" }),
        commonName: z.string().regex(CLIENT_COMMON_NAME, { error: "must be 1-64 letters, digits, spaces and . _ - (routes match it inside the certificate subject)" }),
    })).default([]),
}).superRefine((p, ctx) => {
    if (p.earlyRenewalDays >= p.serverValidityDays) {
        ctx.addIssue({ code: "custom", path: ["earlyRenewalDays"], message: `must be shorter than serverValidityDays (${p.serverValidityDays})` });
    }
    const names = p.clients.map((c) => c.name);
    names.forEach((n, i) => {
        if (names.indexOf(n) !== i) {
            ctx.addIssue({ code: "custom", path: ["clients", i, "name"], message: `"${n}" is declared twice` });
        }
    });
});

/** An SSH public key in authorized_keys form ("ssh-ed25519 AAAA... comment"): host keys delivery pins, admin keys. */
const SSH_PUBLIC_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;

const awsTarget = z.strictObject({
    region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { error: "is not an AWS region name (e.g. eu-west-1)" }),
    vpcCidr: cidr.refine((v) => {
        const p = parseIpv4Cidr(v)?.prefix ?? 16;
        return p >= 16 && p <= 20;
    }, { error: "must be a /16 to /20 (three /24-or-larger subnets per AZ are carved from it)" }),
    availabilityZones: z.array(z.string()).min(2, { error: "at least 2 availability zones are required for an HA pair" })
        .max(6).refine((a) => new Set(a).size === a.length, { error: "lists an availability zone twice" }),
    natGatewayPerAz: z.boolean().default(false),
    // x86 with AES-NI and local NVMe, >= 4 vCPU and >= 8 GiB (components/compute/instance-catalogue.ts).
    instanceType: z.string().superRefine((value, ctx) => {
        const verdict = checkInstanceType(value);
        if (verdict.ok === false) {
            ctx.addIssue({ code: "custom", message: verdict.reason });
        }
    }),
    pairCount: z.number().int().min(1, { error: "at least one proxy pair is required" }).max(LIMITS.maxPairs).default(1),
    image: z.enum(["golden", "stock"]).default("golden"),
    deletionProtection: z.boolean().default(false),
    /** Public keys of the admins: cloud-init creates the account sshd admits (apiproxy-admin) with them. */
    adminSshKeys: z.array(z.string().regex(SSH_PUBLIC_KEY, { error: "must be a public key in authorized_keys form (ssh-ed25519 AAAA... comment)" }))
        .min(1, { error: "names at least one admin public key: without one, the SSH account the hosts admit would not exist" }),
    /** Stock images only: the apt mirror first boot installs from (components/network/package-mirror.ts). */
    packageMirror: z.strictObject({
        url: z.string(),
        securityUrl: z.string().optional(),
        cidrs: z.array(cidr).min(1).optional(),
    }).optional(),
    /** A Route 53 hosted zone holding serverName: the stack then owns its alias record to the NLB. */
    hostedZoneId: z.string().regex(/^Z[A-Z0-9]{1,31}$/, { error: "must be a Route 53 hosted zone id (Z...)" }).optional(),
    flowLogRetentionDays: z.number().int().refine((d) => CLOUDWATCH_RETENTION_DAYS.includes(d), {
        error: `must be one of the CloudWatch retention values: ${CLOUDWATCH_RETENTION_DAYS.join(", ")}`,
    }).optional(),
});

/** The `local` target: the whole tier as Debian containers on this machine (components/targets/local). */
const localTarget = z.strictObject({
    // Prefixes every network namespace and cgroup the stack creates on this machine.
    fabric: z.string().regex(/^[a-z][a-z0-9-]{0,11}$/, { error: "must match [a-z][a-z0-9-]{0,11} (it prefixes namespace names)" })
        .default(DEFAULTS.localFabric),
});

const ipv4 = z.string().refine(isIpv4, { error: "must be an IPv4 address" });

export const INVENTORY_ROLES = ["proxy", "lb", "upstream", "keystore"] as const;
export const INVENTORY_OS = ["debian-12", "ubuntu-22.04", "rhel-8"] as const;

/** The `inventory` target: existing hosts, provisioned over SSH (infra/targets/inventory.ts). */
const inventoryHost = z.strictObject({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, { error: "must match [a-z][a-z0-9-]{0,31} (it names the host's resources)" }),
    // proxy: hardened host + nginx + PKI; lb: HAProxy (PROXY protocol v2) in front of the
    // proxies; keystore: Redis + the key-check service at apiKeyService; upstream: the demo
    // upstream on every pool server at this address (site acceptance before the apps arrive).
    role: z.enum(INVENTORY_ROLES, { error: `must be one of ${INVENTORY_ROLES.join(", ")}` }),
    os: z.enum(INVENTORY_OS, { error: `must be one of ${INVENTORY_OS.join(", ")} (the OS profiles the renderers support)` }),
    /** The address the tier's traffic uses (the proxies' listeners, the pool servers, the key service). */
    address: ipv4,
    ssh: z.strictObject({
        /** Where sshd answers (management network). Default: address. */
        address: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, { error: "must be an IPv4 address or DNS name" }).optional(),
        port: port.default(22),
        user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "must be a POSIX user name" })
            .refine((u) => u !== "root", { error: "must not be root: the hardened sshd refuses root logins (use an account with passwordless sudo)" }),
        hostKey: z.string().regex(SSH_PUBLIC_KEY, { error: "must be the host's SSH public host key in authorized_keys form (e.g. the line of ssh-keyscan without the host name)" }),
    }),
});

const inventoryTarget = z.strictObject({
    hosts: z.array(inventoryHost).min(1, { error: "lists no hosts" }),
    /** Where upstreams named by DNS may live (proxy egress is opened to these networks for their ports). */
    upstreamNetworkCidrs: z.array(cidr).default([]),
    /** The site's DNS resolvers: the proxies' firewall opens port 53 to these only. */
    dnsResolvers: z.array(ipv4).default([]),
});

export const TARGETS = ["aws", "local", "inventory"] as const;

export const tierSchema = z.strictObject({
    environment: z.string().regex(NAME, { error: "must match [a-z][a-z0-9-]{0,31}" }),
    target: z.enum(TARGETS, { error: `must be one of ${TARGETS.map((t) => `"${t}"`).join(", ")}` }),
    serverName: z.string().regex(DNS_NAME, { error: "must be a lower-case DNS name (e.g. api.example.com)" }),
    concurrencyTarget: z.number().int().min(LIMITS.concurrencyMin, { error: `must be at least ${LIMITS.concurrencyMin} sessions (seed: 10,000 to 100,000)` })
        .max(LIMITS.concurrencyMax, { error: `must be at most ${LIMITS.concurrencyMax} sessions per host (seed: 10,000 to 100,000); add pairs instead` })
        .default(DEFAULTS.concurrencyTarget),
    managementCidrs: z.array(managementCidr).min(1, { error: "at least one management CIDR is required for SSH" }),
    trafficCidrs: z.array(cidr).min(1, { error: "at least one CIDR must be allowed to reach 443/8443" }).default(["0.0.0.0/0"]),
    logRetentionDays: z.number().int().refine((d) => CLOUDWATCH_RETENTION_DAYS.includes(d), {
        error: `must be one of the CloudWatch retention values: ${CLOUDWATCH_RETENTION_DAYS.join(", ")}`,
    }).default(DEFAULTS.logRetentionDays),
    ports: z.strictObject({
        https: port.default(DEFAULTS.httpsPort),
        mtls: port.default(DEFAULTS.mtlsPort),
        health: port.default(DEFAULTS.healthPort),
    }).default({ https: DEFAULTS.httpsPort, mtls: DEFAULTS.mtlsPort, health: DEFAULTS.healthPort })
        .refine((p) => new Set([p.https, p.mtls, p.health, 22]).size === 4, { error: "https, mtls, health and SSH (22) ports must all differ" }),
    healthPath: z.string().regex(/^\/[a-z0-9._-]+$/, { error: "must be a single path segment like /healthz" }).default(DEFAULTS.healthPath),
    limits: z.strictObject({
        rateLimitPerIp: rateLimit.default(DEFAULTS.rateLimitPerIp),
        rateLimitPerApiKey: rateLimit.default(DEFAULTS.rateLimitPerApiKey),
        maxBodySize: size(LIMITS.maxBodyCeilingBytes).default(DEFAULTS.maxBodyBytes),
        largeHeaderBufferKb: z.number().int().min(1).max(LIMITS.largeHeaderBufferCeilingKb, {
            error: `must not exceed ${LIMITS.largeHeaderBufferCeilingKb} KiB (header DoS control)`,
        }).default(DEFAULTS.largeHeaderBufferKb),
    }).default({
        rateLimitPerIp: DEFAULTS.rateLimitPerIp,
        rateLimitPerApiKey: DEFAULTS.rateLimitPerApiKey,
        maxBodySize: DEFAULTS.maxBodyBytes,
        largeHeaderBufferKb: DEFAULTS.largeHeaderBufferKb,
    }),
    tls: z.strictObject({
        protocols: z.array(approved(APPROVED_TLS.protocols, "protocol version", "3.1")).min(1).default([...DEFAULTS.tlsProtocols]),
        tls12Ciphers: z.array(approved(APPROVED_TLS.tls12Ciphers, "TLS 1.2 suite", "3.3.1")).min(1).optional(),
        tls13Ciphersuites: z.array(approved(APPROVED_TLS.tls13Ciphersuites, "TLS 1.3 suite", "3.3.1")).min(1).optional(),
        groups: z.array(approved(APPROVED_TLS.groups, "group", "3.3.2")).min(1).optional(),
        sessionTickets: z.boolean().default(false),
        hstsMaxAgeSeconds: z.number().int().min(LIMITS.hstsMinSeconds, {
            error: `must be at least ${LIMITS.hstsMinSeconds} seconds (one year, OWASP HSTS guidance)`,
        }).default(DEFAULTS.hstsMaxAgeSeconds),
    }).default({ protocols: [...DEFAULTS.tlsProtocols], sessionTickets: false, hstsMaxAgeSeconds: DEFAULTS.hstsMaxAgeSeconds }),
    contentSecurityPolicy: z.string().min(1).refine((v) => !/[\r\n"]/.test(v), { error: "must not contain quotes or newlines" })
        .default(DEFAULTS.contentSecurityPolicy),
    pki: pki.default({
        key: { algorithm: "ECDSA", curve: "P256" },
        serverValidityDays: DEFAULTS.serverValidityDays,
        earlyRenewalDays: DEFAULTS.earlyRenewalDays,
        clients: [],
    }),
    apiKeyService: z.string().refine((v) => parseHostPort(v) !== undefined, { error: "must be host:port of the API-key check service" }),
    signatures: signatures.optional(),
    jwt: z.strictObject({ issuers: z.array(jwtIssuer).min(1, { error: "names at least one issuer" }) }).optional(),
    upstreams: z.array(upstreamPool).min(1, { error: "at least one upstream pool is required" }),
    routes: z.array(route).min(1, { error: "at least one route is required (everything undeclared is denied)" }),
    aws: awsTarget.optional(),
    local: localTarget.optional(),
    inventory: inventoryTarget.optional(),
    tags: z.record(z.string().regex(/^[A-Za-z0-9 _.:/=+@-]{1,128}$/), z.string().max(256)).default({}),
}).superRefine((tier, ctx) => {
    // Each target's section is required for that target and meaningless for the others.
    for (const target of TARGETS) {
        if (tier.target === target && tier[target] === undefined) {
            ctx.addIssue({ code: "custom", path: [target], message: `is required for target "${target}"` });
        }
        if (tier.target !== target && tier[target] !== undefined) {
            ctx.addIssue({ code: "custom", path: [target], message: `only applies to target "${target}" (this stack's target is "${tier.target}")` });
        }
    }
});

export type TierConfigInput = z.input<typeof tierSchema>;
export type TierConfigParsed = z.output<typeof tierSchema>;
