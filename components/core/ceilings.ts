/**
 * Ceilings the stack schema refuses beyond and the policy pack judges rendered text by: one
 * place, so a value allowed by one is never refused by the other. Pure data, no imports.
 */
export const LIMITS = {
    concurrencyMin: 10000,
    concurrencyMax: 100000,
    /** Above this a single client is a flood, not a client; per-IP limits must mean something. */
    rateLimitCeilingPerSecond: 10000,
    burstCeiling: 10000,
    /** Largest request body any route may accept (payload-exhaustion control). */
    maxBodyCeilingBytes: 100 * 1024 * 1024,
    largeHeaderBufferCeilingKb: 64,
    timeoutCeilingSeconds: 3600,
    /** Client-side timeouts (header, body, send, keepalive): CIS NGINX Benchmark 2.4.3/2.4.4 and
     *  dev-sec nginx-17 ask for 10 seconds or less (a slow client must not hold a connection). */
    clientTimeoutCeilingSeconds: 10,
    /** SSH from anything broader than a /16 is not a management network. */
    managementCidrMinPrefix: 16,
    /** CA/Browser Forum ballot SC-081: 200-day maximum for leaves issued from 2026-03-15. */
    leafValidityCeilingDays: 200,
    hstsMinSeconds: 31536000,
    maxPairs: 10,
} as const;
