import { LIMITS } from "../../components/core/ceilings";
import * as nginx from "../../components/nginx/constants";

/**
 * Defaults and ceilings of the stack configuration, each with why. The README's
 * configuration table is checked against these by test/unit/infra/defaults-doc.test.ts.
 */

export const DEFAULTS = {
    /** Seed: 10,000 to 100,000 concurrent sessions; the low end sizes a small host honestly. */
    concurrencyTarget: 10000,
    /** The renderer's defaults are the source of truth (components/nginx/constants.ts says why). */
    rateLimitPerIp: { ratePerSecond: nginx.DEFAULT_RATE_PER_IP, burst: nginx.DEFAULT_BURST_PER_IP },
    rateLimitPerApiKey: { ratePerSecond: nginx.DEFAULT_RATE_PER_API_KEY, burst: nginx.DEFAULT_BURST_PER_API_KEY },
    maxBodyBytes: nginx.DEFAULT_MAX_BODY_BYTES,
    largeHeaderBufferKb: nginx.DEFAULT_LARGE_HEADER_BUFFER_KB,
    httpsPort: nginx.DEFAULT_HTTPS_PORT,
    mtlsPort: nginx.DEFAULT_MTLS_PORT,
    /** Plain-HTTP status endpoint for NLB health checks, off the TLS listeners. */
    healthPort: 8081,
    healthPath: "/healthz",
    tlsProtocols: nginx.APPROVED_TLS_PROTOCOLS,
    hstsMaxAgeSeconds: nginx.DEFAULT_HSTS_MAX_AGE_SECONDS,
    contentSecurityPolicy: nginx.DEFAULT_CONTENT_SECURITY_POLICY,
    /** 90-day leaves keep a compromised key's useful life short (ACME practice). */
    serverValidityDays: 90,
    /** Renew with a third of the lifetime left, so a missed monthly run still rotates in time. */
    earlyRenewalDays: 30,
    /** Prefix of the local target's namespaces and cgroups on this machine ("api-proxy local"). */
    localFabric: "apx-local",
    /** Spreads load evenly when backends are homogeneous (seed: round-robin or least-connections). */
    upstreamAlgorithm: "round-robin" as const,
    /** Idle connections kept per worker to each pool: avoids a TCP/TLS handshake per request (seed). */
    upstreamKeepalive: 32,
    /** Circuit breaker: 3 failures within failTimeout take a peer out for failTimeout. */
    upstreamMaxFails: 3,
    upstreamFailTimeoutSeconds: 10,
    /** Fail fast when a peer does not accept: the breaker, not the client, absorbs the wait. */
    connectTimeoutSeconds: 2,
    sendTimeoutSeconds: 30,
    /** Seed: proxy_read_timeout 30 s; longer jobs must say so per route. */
    readTimeoutSeconds: 30,
    /** One year of access logs: PCI DSS 10.5.1 retention. */
    logRetentionDays: 365,
    /** Signed requests: 5 minutes of clock difference (the usual for HMAC request signing, e.g.
     *  AWS SigV4's 15 minutes is wider than an API gateway needs); nonces are kept twice as long. */
    signatureMaxClockSkewSeconds: 300,
    /** JWT exp/nbf/iat: 30 s of clock difference between issuer and proxy (RFC 7519 4.1.4 "small leeway"). */
    jwtLeewaySeconds: 30,
} as const;


/** Retention values CloudWatch Logs accepts (PutRetentionPolicy). */
export const CLOUDWATCH_RETENTION_DAYS: readonly number[] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

export { LIMITS };
