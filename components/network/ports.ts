/**
 * The proxy's listening ports as the AWS delivery target sees them (network ACLs, security
 * groups, target groups). The nginx renderer owns the listeners; these defaults match it.
 */
import { DEFAULT_HTTPS_PORT, DEFAULT_MTLS_PORT } from "../nginx/constants";

export interface ProxyPorts {
    /** Public TLS listener. */
    readonly https: number;
    /** Mutual-TLS listener. */
    readonly mtls: number;
    /** Plain-HTTP status endpoint for NLB health checks. */
    readonly health: number;
}

/** Off the TLS listeners so a health probe never needs a certificate (matches infra/config defaults). */
export const DEFAULT_HEALTH_PORT = 8081;
/** A single path segment the routes cannot collide with (matches infra/config defaults). */
export const DEFAULT_HEALTH_PATH = "/healthz";
/** seed: 443 (HTTPS), 8443 (mTLS) and the health port above. */
export const DEFAULT_PROXY_PORTS: ProxyPorts = { https: DEFAULT_HTTPS_PORT, mtls: DEFAULT_MTLS_PORT, health: DEFAULT_HEALTH_PORT };
/** Where the seed's upstream services listen; callers pass the real list. */
export const DEFAULT_UPSTREAM_PORTS: readonly number[] = [8080];
/** Redis, the seed's shared key-store for rate limits and API keys. */
export const DEFAULT_KEY_STORE_PORT = 6379;
/** The range AWS recommends for NACL return traffic (covers Linux, NLB and Windows clients). */
export const EPHEMERAL_PORTS = { from: 1024, to: 65535 } as const;
