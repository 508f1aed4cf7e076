/**
 * Defaults and allow-lists of the nginx tier. infra/ and the config schema apply the
 * defaults; the renderer re-checks the allow-lists (defence in depth). Each value says why.
 */

// ---- TLS (NIST SP 800-52r2) -------------------------------------------------------------

/** TLS 1.2 is required and 1.3 recommended by SP 800-52r2 3.1; nothing older. */
export const APPROVED_TLS_PROTOCOLS = ["TLSv1.2", "TLSv1.3"] as const;

/** TLS 1.2 suites: SP 800-52r2 3.3.1 approved, restricted to ECDHE (forward secrecy) + AES-GCM (AEAD). */
export const APPROVED_TLS12_CIPHERS = [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
] as const;

/** TLS 1.3 suites: SP 800-52r2 3.3.1 approved AES-GCM; CHACHA20-POLY1305 is not FIPS-approved. */
export const APPROVED_TLS13_CIPHERSUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"] as const;

/** Key-exchange groups: NIST curves only (SP 800-52r2 supported groups); x25519/x448 are not listed. */
export const APPROVED_TLS_GROUPS = ["P-256", "P-384", "P-521"] as const;

/** Default groups: P-256 first (fast, universal), P-384 for CNSA-minded clients. */
export const DEFAULT_TLS_GROUPS = ["P-256", "P-384"] as const;

/** Shared across workers so resumption works whichever worker gets the connection (~4000 sessions/MB). */
export const DEFAULT_SESSION_CACHE_MEGABYTES = 10;

/** One hour bounds how long a stolen session can be resumed (seed: ssl_session_timeout 1h). */
export const DEFAULT_SESSION_TIMEOUT_MINUTES = 60;

/** Two years: the HSTS preload list's minimum is one year (OWASP ASVS 14.4.5). */
export const DEFAULT_HSTS_MAX_AGE_SECONDS = 63072000;

/** A JSON API renders nothing and is framed by nobody (OWASP ASVS 14.4.3, 14.4.7). */
export const DEFAULT_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

/** Leaf -> intermediate -> root: two levels is enough for the project's PKI (components/pki). */
export const DEFAULT_MTLS_VERIFY_DEPTH = 2;

// ---- Ports and paths --------------------------------------------------------------------

/** seed: Default Security Ports, 443 (HTTPS). */
export const DEFAULT_HTTPS_PORT = 443;
/** seed: Default Security Ports, 8443 (MTLS). */
export const DEFAULT_MTLS_PORT = 8443;
/** A root master (distribution unit) drops to the run user; the hardened unit says otherwise. */
export const DEFAULT_MASTER_UNPRIVILEGED = false;
/** nginx's own Linux default; hosts tuned for the seed's somaxconn pass backlogFor(concurrency). */
export const DEFAULT_LISTEN_BACKLOG = 511;
/** Where distributions' nginx looks for nginx.conf. */
export const DEFAULT_CONFIG_ROOT = "/etc/nginx";
/** The nginx the renderer assumes when the spec names none (Debian 12's). */
export const DEFAULT_NGINX_VERSION = "1.22.1";
/** ssl_conf_command / proxy_ssl_conf_command appeared in nginx 1.19.4. */
export const SSL_CONF_COMMAND_SINCE = "1.19.4";

/** Debian 12's njs module (libnginx-mod-http-js 0.7.9), loaded only when a route validates requests. */
export const DEFAULT_NJS_MODULE_PATH = "/usr/lib/nginx/modules/ngx_http_js_module.so";
/** Bounds of a validated JSON body: nesting depth (njs 0.7.9's JSON.parse refuses 32 levels) and
 *  values (hostile bodies cannot exhaust the njs VM). */
export const VALIDATION_MAX_DEPTH = 31;
export const VALIDATION_MAX_NODES = 100_000;
/** Sub-directory of the config root holding this project's includes (never conf.d/sites-enabled). */
export const INCLUDE_DIRECTORY = "apiproxy";
/** The key-check service's endpoint for auth_request. */
export const DEFAULT_API_KEY_CHECK_PATH = "/check";
/** Request header carrying the API key. */
export const API_KEY_HEADER = "X-API-Key";
/** Response header of the key service with a non-secret key id (e.g. a SHA-256 prefix) for logs/upstreams. */
export const API_KEY_ID_HEADER = "X-Api-Key-Id";
/** Response header with which the key service says why it refused a recognised key (services/keycheck DeniedHeader). */
export const API_KEY_DENIED_HEADER = "X-Apiproxy-Denied";
/** Its value for a key over the per-key rate limit: nginx answers that refusal 429 with the service's Retry-After. */
export const API_KEY_DENIED_RATE_LIMITED = "rate-limited";
/** The key service's per-route check of signatures and JWTs (and the API key with them): GET <prefix><route>. */
export const REQUEST_AUTH_CHECK_PATH_PREFIX = "/auth/";
/** Request headers of an HMAC-signed request (services/keycheck signature.go): the key id, the
 *  time (unix seconds), a one-time nonce, the body's SHA-256 (hex) and the signature (base64). */
export const SIGNATURE_KEY_ID_HEADER = "X-Apiproxy-Key-Id";
export const SIGNATURE_TIMESTAMP_HEADER = "X-Apiproxy-Timestamp";
export const SIGNATURE_NONCE_HEADER = "X-Apiproxy-Nonce";
export const SIGNATURE_CONTENT_DIGEST_HEADER = "X-Apiproxy-Content-SHA256";
export const SIGNATURE_HEADER = "X-Apiproxy-Signature";
export const SIGNATURE_HEADERS = [
    SIGNATURE_KEY_ID_HEADER, SIGNATURE_TIMESTAMP_HEADER, SIGNATURE_NONCE_HEADER, SIGNATURE_CONTENT_DIGEST_HEADER, SIGNATURE_HEADER,
] as const;
/** Response headers of the key service with the verified identity, which nginx forwards upstream
 *  (client-supplied values overwritten): the signing client, the JWT subject. */
export const SIGNATURE_CLIENT_HEADER = "X-Apiproxy-Client";
export const JWT_SUBJECT_HEADER = "X-Apiproxy-Subject";

// ---- Rate and size limits ---------------------------------------------------------------

/** One refused request in this many is written to the access log (a sampled line says so in
 *  `sample_rate`): a flood costs the log 1/this of its lines, and refusals stay visible. */
export const REJECTION_LOG_SAMPLE_EVERY = 100;
/** seed: limit_req rate=50r/s per source IP. */
export const DEFAULT_RATE_PER_IP = 50;
/** seed: burst=20 nodelay - absorbs page-load bursts without queueing latency. */
export const DEFAULT_BURST_PER_IP = 20;
/** $binary_remote_addr states are ~64-128 bytes: 10 MB tracks ~80k-160k clients. */
export const DEFAULT_RATE_ZONE_MEGABYTES = 10;
/** Keys are issued to known clients, which may sit behind shared NAT: twice the per-IP rate.
 *  Enforced per key id by the key service (services/keycheck), not by nginx. */
export const DEFAULT_RATE_PER_API_KEY = 100;
/** Per-key burst, proportional to the per-key rate (nginx's `burst` meaning: requests at once beyond the steady one). */
export const DEFAULT_BURST_PER_API_KEY = 50;
/** Concurrent connections (HTTP/2 streams) per IP: bounds slowloris-style connection hoarding. */
export const DEFAULT_CONNECTIONS_PER_IP = 100;
/** seed: client_max_body_size 2M - keeps POST payloads from saturating memory. */
export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;
/** nginx's default: fits all ordinary request headers. */
export const DEFAULT_CLIENT_HEADER_BUFFER_KB = 1;
/** 4 x 8k (nginx default) caps a request line/header at 8k; larger gets 400/414 (CIS NGINX 5.2.3). */
export const DEFAULT_LARGE_HEADER_BUFFERS = 4;
export const DEFAULT_LARGE_HEADER_BUFFER_KB = 8;

// ---- Timeouts (seconds) -----------------------------------------------------------------

/** Slow-header/slow-body (slowloris) clients are dropped after 10 s (CIS NGINX Benchmark 5.2.1). */
export const CLIENT_HEADER_TIMEOUT_SECONDS = 10;
export const CLIENT_BODY_TIMEOUT_SECONDS = 10;
/** Idle keep-alive connections hold a slot: 10 s or less (CIS NGINX Benchmark 2.4.3). */
export const KEEPALIVE_TIMEOUT_SECONDS = 10;
/** A client that stops reading the response is dropped after 10 s (CIS NGINX Benchmark 2.4.4). */
export const SEND_TIMEOUT_SECONDS = 10;
/** Requests per keep-alive/HTTP2 connection: nginx's CVE-2023-44487 (HTTP/2 rapid reset) advice. */
export const KEEPALIVE_REQUESTS = 1000;
/** Concurrent HTTP/2 streams per connection (nginx default, stated so it cannot drift upwards). */
export const HTTP2_MAX_CONCURRENT_STREAMS = 128;
/** Default per-route upstream timeouts: connect short so dead peers fail fast (seed: circuit breaker). */
export const DEFAULT_UPSTREAM_CONNECT_TIMEOUT_SECONDS = 2;
export const DEFAULT_UPSTREAM_SEND_TIMEOUT_SECONDS = 30;
export const DEFAULT_UPSTREAM_READ_TIMEOUT_SECONDS = 30;
/** WebSocket connections idle between messages: an hour instead of 30 s. */
export const DEFAULT_WEBSOCKET_READ_TIMEOUT_SECONDS = 3600;
/** Retry a failed connect on at most one more peer, then answer 503 (bounded, never a hang). */
export const UPSTREAM_NEXT_TRIES = 2;
/** The key service answers from a local cache: slow means broken. */
export const API_KEY_SERVICE_CONNECT_TIMEOUT_SECONDS = 1;
export const API_KEY_SERVICE_READ_TIMEOUT_SECONDS = 2;

// ---- Upstream pools ---------------------------------------------------------------------

/** Circuit breaker: 3 failures in 10 s take a peer out for 10 s. */
export const DEFAULT_UPSTREAM_MAX_FAILS = 3;
export const DEFAULT_UPSTREAM_FAIL_TIMEOUT_SECONDS = 10;
/** Idle upstream connections cached per worker (saves TCP/TLS handshakes). */
export const DEFAULT_UPSTREAM_KEEPALIVE = 32;
/** Shared-memory zone per pool so peer health (max_fails) is shared by all workers. */
export const UPSTREAM_ZONE_KILOBYTES = 64;

// ---- Worker sizing ----------------------------------------------------------------------

/** seed: Concurrency Threshold 10,000 to 100,000 concurrent sessions. */
export const MIN_CONCURRENCY_TARGET = 10_000;
export const MAX_CONCURRENCY_TARGET = 100_000;
