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
    /** mTLS-only routes: the client certificate subject CNs allowed (others, though signed by the
     *  client CA, get 403). Absent: any certificate the client CA signed. */
    readonly allowedClientCommonNames?: readonly string[];
    /** A public-listener route deliberately without any request check (no API key): the stated
     *  reason, rendered where reviewers and the policy pack read it. */
    readonly publicReason?: string;
    /** A path template ("/api/v1/orders/{id}", from OpenAPI): matched exactly, each {param} one
     *  non-empty segment. pathPrefix then holds the literal part before the first "{". */
    readonly template?: string;
    /** Validate each request inside nginx (njs) before the upstream sees it: per method, the
     *  required query parameters and headers and the JSON body against its compiled schema.
     *  A method without an entry, or a body where none is declared, is refused. http routes only. */
    readonly validation?: RouteValidation;
    /** Checked by the key service's per-route policy (GET /auth/<name>, one auth_request that also
     *  checks the API key when requireApiKey): an HMAC signature over method, URI, time, nonce and
     *  body digest (nginx's njs then checks the body against that digest), and/or a JWT. */
    readonly requestAuth?: { readonly signature: boolean; readonly jwt: boolean };
}

/** What one operation (method) of a validated route requires of a request. */
export interface OperationValidation {
    /** Query parameters that must be present. */
    readonly requiredQuery: readonly string[];
    /** Request headers that must be present (any case). */
    readonly requiredHeaders: readonly string[];
    /** Parameter values checked against their schemas when present: the raw text is read as
     *  the declared scalar type first (a path parameter by its segment of the path). */
    readonly parameters?: readonly ParameterValidation[];
    /** Absent: the operation takes no body, and a request with one is refused (400). */
    readonly body?: {
        readonly required: boolean;
        /** JSON media types accepted (application/json, application/*+json); others get 415. */
        readonly contentTypes: readonly string[];
        /** components/validation compileSchema's output (opaque here: embedded in the njs module). */
        readonly schema: unknown;
    };
}

export interface ParameterValidation {
    readonly in: "query" | "header" | "path";
    readonly name: string;
    /** How the raw text is read before the schema applies. */
    readonly type: "string" | "integer" | "number" | "boolean";
    /** components/validation compileSchema's output. */
    readonly schema: unknown;
    /** Path parameters: the index of their segment in the path split at "/". */
    readonly segment?: number;
}

export interface RouteValidation {
    readonly operations: Readonly<Partial<Record<HttpMethod, OperationValidation>>>;
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
    /** Speak TLS to the upstream (proxy_ssl / grpcs); verified against certificates.upstreamCa. */
    readonly tls: boolean;
    /** Name the upstream certificate must carry (SNI + verification) when tls is true.
     *  Default: the host part of the first server's address. */
    readonly tlsServerName?: string;
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
    /** Default: 10 (DEFAULT_SESSION_CACHE_MEGABYTES). */
    readonly sessionCacheMegabytes: number;
    /** Default: 60 (DEFAULT_SESSION_TIMEOUT_MINUTES). */
    readonly sessionTimeoutMinutes: number;
    /** Session tickets only when keys are rotated; the renderer turns them off otherwise. */
    readonly sessionTickets: boolean;
    /** HSTS max-age in seconds. Default: 63072000 (DEFAULT_HSTS_MAX_AGE_SECONDS). */
    readonly hstsMaxAgeSeconds: number;
}

/** Paths on the host where the PKI material lands. */
export interface CertificatePaths {
    readonly serverCertificate: string;   // leaf + intermediate chain
    readonly serverKey: string;
    readonly clientCa: string;            // CA bundle used to verify mTLS clients
    /** CA bundle that upstream certificates are verified against. Required when any pool has tls. */
    readonly upstreamCa?: string;
}

export interface NginxSpec {
    /** Where nginx.conf and apiproxy/ land; every include is absolute under it.
     *  Default: "/etc/nginx" (DEFAULT_CONFIG_ROOT). Tests point it into a temp dir. */
    readonly configRoot?: string;
    /** Unprivileged account of the worker processes (CIS NGINX Benchmark 2.2.1):
     *  "www-data" on Ubuntu/Debian, "nginx" on RHEL. */
    readonly runUser: string;
    /** Group of the workers. Default: same name as runUser (Debian's "nobody" needs "nogroup"). */
    readonly runGroup?: string;
    /** The master itself runs as runUser (the hardened systemd unit starts it unprivileged with
     *  CAP_NET_BIND_SERVICE only): then no `user` directive is emitted, nginx would ignore it
     *  with a warning. Default: false (DEFAULT_MASTER_UNPRIVILEGED) - a root master drops to runUser. */
    readonly masterUnprivileged?: boolean;
    /** Accept-queue length per listener (`listen ... backlog=`); must not exceed the host's
     *  net.core.somaxconn, which the kernel caps it to. Default: 511 (DEFAULT_LISTEN_BACKLOG). */
    readonly listenBacklog?: number;
    /** pid file, e.g. "/run/nginx.pid". */
    readonly pidFile: string;
    /** Directory for client-body/proxy temp files. Default: the distribution's compiled-in paths. */
    readonly tempDirectory?: string;
    /** Address the listeners bind to. Default: all addresses. Tests use 127.0.0.1. */
    readonly listenAddress?: string;
    /** The TLS listeners sit behind a load balancer that sends PROXY protocol (HAProxy
     *  `send-proxy-v2`): they require the header and take the client address from it, trusted
     *  only from these addresses (IPv4 or CIDR). Default: none (clients connect directly, or
     *  through a load balancer that preserves addresses, like the NLB). */
    readonly proxyProtocol?: { readonly trustedAddresses: readonly string[] };
    readonly serverName: string;
    /** Default: 443 (DEFAULT_HTTPS_PORT). */
    readonly httpsPort: number;
    /** Default: 8443 (DEFAULT_MTLS_PORT). */
    readonly mtlsPort: number;
    /** Status endpoint for load-balancer health checks (plain HTTP on a separate port). */
    readonly health: { readonly port: number; readonly path: string };
    readonly tls: TlsSettings;
    readonly certificates: CertificatePaths;
    /** Default: 2 (DEFAULT_MTLS_VERIFY_DEPTH). */
    readonly mtlsVerifyDepth: number;
    /** Target concurrent sessions (10k-100k): sizes worker_connections/rlimit. */
    readonly concurrencyTarget: number;
    /** The host's open-file hard limit, where the delivery target knows it (inventory facts):
     *  worker_rlimit_nofile and worker_connections fit under it. Default: no ceiling. */
    readonly nofileCeiling?: number;
    readonly rateLimits: {
        /** Default per-IP rate limit. Default: 50 (DEFAULT_RATE_PER_IP) r/s, burst 20 (DEFAULT_BURST_PER_IP),
         *  zone 10 (DEFAULT_RATE_ZONE_MEGABYTES) MB. */
        readonly perIp: { readonly ratePerSecond: number; readonly burst: number; readonly zoneMegabytes: number };
        /** Per-API-key rate limit. Default: 100 (DEFAULT_RATE_PER_API_KEY) r/s, burst 50 (DEFAULT_BURST_PER_API_KEY).
         *  Enforced per key id by the key service (its unit gets the same values); nginx only turns
         *  its rate-limited refusal into a 429, so there is no nginx zone for it. */
        readonly perApiKey: { readonly ratePerSecond: number; readonly burst: number };
        /** Concurrent connections (HTTP/2: streams) per client IP. Default: 100 (DEFAULT_CONNECTIONS_PER_IP). */
        readonly connectionsPerIp?: number;
    };
    /** Default: 2097152 (DEFAULT_MAX_BODY_BYTES), i.e. 2m. */
    readonly maxBodyBytes: number;
    /** Default: 1 (DEFAULT_CLIENT_HEADER_BUFFER_KB) KB, 4 (DEFAULT_LARGE_HEADER_BUFFERS) x 8 (DEFAULT_LARGE_HEADER_BUFFER_KB) KB. */
    readonly headerLimits: { readonly clientHeaderBufferKb: number; readonly largeHeaderBuffers: number; readonly largeHeaderBufferKb: number };
    /** API-key validation service (auth_request target), e.g. a local key-check service backed by Redis. */
    readonly apiKeyService: {
        /** host:port of the key-check service. */
        readonly address: string;
        /** Path the auth_request subrequest calls. Default: "/check" (DEFAULT_API_KEY_CHECK_PATH). */
        readonly checkPath?: string;
    };
    /** Default: "default-src 'none'; frame-ancestors 'none'" (DEFAULT_CONTENT_SECURITY_POLICY). */
    readonly contentSecurityPolicy: string;
    readonly upstreams: readonly UpstreamPoolSpec[];
    readonly routes: readonly RouteSpec[];
    /** Log directory (on the NVMe log volume). */
    readonly logDirectory: string;
    /** The nginx version on the host (x.y.z). Below 1.19.4 there is no ssl_conf_command: the
     *  TLS 1.3 suites then come from an OpenSSL configuration the nginx unit loads
     *  (OPENSSL_CONF, layout.opensslConf). Default: "1.22.1" (Debian 12). */
    readonly nginxVersion?: string;
    /** The njs module nginx loads when a route validates requests. Default: Debian's
     *  /usr/lib/nginx/modules/ngx_http_js_module.so (DEFAULT_NJS_MODULE_PATH, package libnginx-mod-http-js). */
    readonly njsModulePath?: string;
}
