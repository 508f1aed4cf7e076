/**
 * Typed input of the nginx renderer. Plain data: infra/ builds it from validated stack
 * config (defaults already applied); the renderer never reads anything else.
 */

export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";

/** How a route talks to its upstream pool. */
export type RouteProtocol = "http" | "grpc" | "websocket";

/** One declared route. Everything not declared is denied locally (default deny). */
export interface RouteSpec {
    /** Stable identifier, [a-z0-9-]+; used in zone/log names. */
    readonly name: string;
    /** Path prefix ("/api/v1/orders/") or exact path ("= /healthz" style via `exact`). */
    readonly pathPrefix: string;
    /** When true, match the path exactly instead of as a prefix. */
    readonly exact: boolean;
    /** Methods allowed; others get 405 locally. */
    readonly methods: readonly HttpMethod[];
    /** Name of an UpstreamPoolSpec. */
    readonly upstream: string;
    readonly protocol: RouteProtocol;
    /** Require a valid API key (X-API-Key) checked by auth_request against the key service. */
    readonly requireApiKey: boolean;
    /** Which listeners expose the route. */
    readonly listeners: readonly ("public" | "mtls")[];
    /** Per-route timeouts in seconds (connect, send, read) -> 504 when exceeded. */
    readonly timeouts: { readonly connectSeconds: number; readonly sendSeconds: number; readonly readSeconds: number };
    /** Per-route body limit in bytes (<= the tier's maximum). */
    readonly maxBodyBytes: number;
    /** Per-IP rate limit override in requests/second (<= the tier's ceiling), and burst. */
    readonly rateLimitPerIp: { readonly ratePerSecond: number; readonly burst: number };
}

export interface UpstreamServerSpec {
    /** host:port (IP or DNS name). */
    readonly address: string;
    readonly weight: number;
}

export interface UpstreamPoolSpec {
    readonly name: string;
    readonly algorithm: "round-robin" | "least-conn";
    readonly servers: readonly UpstreamServerSpec[];
    /** Idle keepalive connections cached per worker. */
    readonly keepalive: number;
    /** Circuit breaker: failures within failTimeoutSeconds mark a peer down for that long. */
    readonly maxFails: number;
    readonly failTimeoutSeconds: number;
    /** Speak TLS to the upstream (proxy_ssl / grpcs). */
    readonly tls: boolean;
}

export interface TlsSettings {
    /** Allowed protocol versions, subset of TLS 1.2/1.3. */
    readonly protocols: readonly ("TLSv1.2" | "TLSv1.3")[];
    /** OpenSSL names of the TLS 1.2 suites (NIST SP 800-52r2 3.3.1 approved only). */
    readonly tls12Ciphers: readonly string[];
    /** IANA names of the TLS 1.3 suites (NIST SP 800-52r2 3.3.1.2). */
    readonly tls13Ciphersuites: readonly string[];
    /** Key-exchange groups (NIST SP 800-52r2 3.3.2: P-256, P-384, P-521; x25519 excluded). */
    readonly groups: readonly string[];
    readonly sessionCacheMegabytes: number;
    readonly sessionTimeoutMinutes: number;
    /** Session tickets only when keys are rotated; the renderer turns them off otherwise. */
    readonly sessionTickets: boolean;
    /** HSTS max-age in seconds. */
    readonly hstsMaxAgeSeconds: number;
}

/** Paths on the host where the PKI material lands. */
export interface CertificatePaths {
    readonly serverCertificate: string;   // leaf + intermediate chain
    readonly serverKey: string;
    readonly clientCa: string;            // CA bundle used to verify mTLS clients
}

export interface NginxSpec {
    readonly serverName: string;
    readonly httpsPort: number;           // 443
    readonly mtlsPort: number;            // 8443
    /** Status endpoint for load-balancer health checks (plain HTTP on a separate port). */
    readonly health: { readonly port: number; readonly path: string };
    readonly tls: TlsSettings;
    readonly certificates: CertificatePaths;
    readonly mtlsVerifyDepth: number;
    /** Target concurrent sessions (10k-100k): sizes worker_connections/rlimit. */
    readonly concurrencyTarget: number;
    readonly rateLimits: {
        /** Default per-IP rate limit. */
        readonly perIp: { readonly ratePerSecond: number; readonly burst: number; readonly zoneMegabytes: number };
        /** Per-API-key rate limit. */
        readonly perApiKey: { readonly ratePerSecond: number; readonly burst: number; readonly zoneMegabytes: number };
    };
    readonly maxBodyBytes: number;
    readonly headerLimits: { readonly clientHeaderBufferKb: number; readonly largeHeaderBuffers: number; readonly largeHeaderBufferKb: number };
    /** API-key validation service (auth_request target), e.g. a local key-check service backed by Redis. */
    readonly apiKeyService: { readonly address: string };
    readonly contentSecurityPolicy: string;
    readonly upstreams: readonly UpstreamPoolSpec[];
    readonly routes: readonly RouteSpec[];
    /** Log directory (on the NVMe log volume). */
    readonly logDirectory: string;
}
