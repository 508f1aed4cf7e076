/** A valid NginxSpec with every route kind: http with and without API key, gRPC, WebSocket, mTLS-only. */
import {
    APPROVED_TLS12_CIPHERS,
    APPROVED_TLS13_CIPHERSUITES,
    DEFAULT_BURST_PER_API_KEY,
    DEFAULT_BURST_PER_IP,
    DEFAULT_CONTENT_SECURITY_POLICY,
    DEFAULT_HSTS_MAX_AGE_SECONDS,
    DEFAULT_HTTPS_PORT,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MTLS_PORT,
    DEFAULT_MTLS_VERIFY_DEPTH,
    DEFAULT_RATE_PER_API_KEY,
    DEFAULT_RATE_PER_IP,
    DEFAULT_RATE_ZONE_MEGABYTES,
    DEFAULT_SESSION_CACHE_MEGABYTES,
    DEFAULT_SESSION_TIMEOUT_MINUTES,
    DEFAULT_TLS_GROUPS,
    DEFAULT_WEBSOCKET_READ_TIMEOUT_SECONDS,
} from "../../../components/nginx/constants";
import type { NginxSpec, RouteSpec } from "../../../components/nginx/types";

const defaultTimeouts = { connectSeconds: 2, sendSeconds: 30, readSeconds: 30 };
const defaultRate = { ratePerSecond: DEFAULT_RATE_PER_IP, burst: DEFAULT_BURST_PER_IP };

export function route(overrides: Partial<RouteSpec> & Pick<RouteSpec, "name" | "pathPrefix">): RouteSpec {
    return {
        exact: false,
        methods: ["GET", "HEAD"],
        upstream: "orders",
        protocol: "http",
        requireApiKey: false,
        listeners: ["public", "mtls"],
        timeouts: defaultTimeouts,
        maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
        rateLimitPerIp: defaultRate,
        ...overrides,
    };
}

export const validSpec: NginxSpec = {
    runUser: "www-data",
    pidFile: "/run/nginx.pid",
    serverName: "api.example.internal",
    httpsPort: DEFAULT_HTTPS_PORT,
    mtlsPort: DEFAULT_MTLS_PORT,
    health: { port: 8080, path: "/healthz" },
    tls: {
        protocols: ["TLSv1.2", "TLSv1.3"],
        tls12Ciphers: [...APPROVED_TLS12_CIPHERS],
        tls13Ciphersuites: [...APPROVED_TLS13_CIPHERSUITES],
        groups: [...DEFAULT_TLS_GROUPS],
        sessionCacheMegabytes: DEFAULT_SESSION_CACHE_MEGABYTES,
        sessionTimeoutMinutes: DEFAULT_SESSION_TIMEOUT_MINUTES,
        sessionTickets: false,
        hstsMaxAgeSeconds: DEFAULT_HSTS_MAX_AGE_SECONDS,
    },
    certificates: {
        serverCertificate: "/etc/apiproxy/pki/server-chain.pem",
        serverKey: "/etc/apiproxy/pki/server.key",
        clientCa: "/etc/apiproxy/pki/client-ca.pem",
        upstreamCa: "/etc/apiproxy/pki/upstream-ca.pem",
    },
    mtlsVerifyDepth: DEFAULT_MTLS_VERIFY_DEPTH,
    concurrencyTarget: 50_000,
    rateLimits: {
        perIp: { ratePerSecond: DEFAULT_RATE_PER_IP, burst: DEFAULT_BURST_PER_IP, zoneMegabytes: DEFAULT_RATE_ZONE_MEGABYTES },
        perApiKey: { ratePerSecond: DEFAULT_RATE_PER_API_KEY, burst: DEFAULT_BURST_PER_API_KEY },
    },
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    headerLimits: { clientHeaderBufferKb: 1, largeHeaderBuffers: 4, largeHeaderBufferKb: 8 },
    apiKeyService: { address: "127.0.0.1:9901" },
    contentSecurityPolicy: DEFAULT_CONTENT_SECURITY_POLICY,
    upstreams: [
        {
            name: "orders",
            algorithm: "round-robin",
            servers: [
                { address: "10.0.1.10:8080", weight: 1 },
                { address: "10.0.1.11:8080", weight: 2 },
            ],
            keepalive: 32,
            maxFails: 3,
            failTimeoutSeconds: 10,
            tls: false,
        },
        {
            name: "accounts",
            algorithm: "least-conn",
            servers: [{ address: "10.0.2.20:8443", weight: 1 }],
            keepalive: 16,
            maxFails: 2,
            failTimeoutSeconds: 5,
            tls: true,
            tlsServerName: "accounts.internal",
        },
    ],
    routes: [
        route({ name: "orders", pathPrefix: "/api/v1/orders/", methods: ["GET", "POST"], maxBodyBytes: 1024 * 1024 }),
        route({ name: "accounts", pathPrefix: "/api/v1/accounts/", methods: ["GET", "PUT"], upstream: "accounts", requireApiKey: true }),
        route({ name: "greeter", pathPrefix: "/helloworld.Greeter/", methods: ["POST"], upstream: "accounts", protocol: "grpc", requireApiKey: true }),
        route({
            name: "stream",
            pathPrefix: "/ws/",
            methods: ["GET"],
            protocol: "websocket",
            timeouts: { ...defaultTimeouts, readSeconds: DEFAULT_WEBSOCKET_READ_TIMEOUT_SECONDS },
        }),
        route({ name: "admin", pathPrefix: "/api/v1/admin/", methods: ["GET", "POST", "DELETE"], listeners: ["mtls"] }),
        route({ name: "status", pathPrefix: "/api/v1/status", exact: true, methods: ["GET"], rateLimitPerIp: { ratePerSecond: 5, burst: 5 } }),
    ],
    logDirectory: "/var/log/apiproxy",
};
