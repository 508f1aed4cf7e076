/**
 * route-maps.conf (http level) and routes-<listener>.conf (inside each TLS server): one
 * location per declared route. Nothing else proxies: the server's `location /` answers 404.
 *
 * Method check: a map per route turns $request_method into 0/1 and `return 405` runs in the
 * rewrite phase, before rate limiting, auth and proxying (limit_except would answer 403).
 * Such local rejections are static and cheap; every proxied request is rate limited.
 *
 * API-key routes: no limit_req of their own per key (it would run before auth_request and key on
 * the raw header); the key service limits per key id, and the route keeps its answer's reason and
 * Retry-After for the error page (render-api-key.ts).
 */
import {
    API_KEY_DENIED_HEADER,
    API_KEY_ID_HEADER,
    JWT_SUBJECT_HEADER,
    SIGNATURE_CLIENT_HEADER,
    UPSTREAM_NEXT_TRIES,
} from "./constants";
import {
    API_KEY_AUTH_LOCATION,
    API_KEY_DENIED_VARIABLE,
    API_KEY_RETRY_AFTER_VARIABLE,
    JWT_SUBJECT_VARIABLE,
    SIGNATURE_CLIENT_VARIABLE,
    requestAuthLocation,
} from "./render-api-key";
import { PER_IP_ZONE, routeZone } from "./render-limits";
import { hasSslConfCommand } from "./render-tls";
import { VALIDATED_ROUTE_VARIABLE, VALIDATION_MODULE_NAME, checkedInNjs, validatedUpstreamLocation } from "./render-validation";
import { poolUpstreamName } from "./render-upstreams";
import { block, comment, directive, fileContent, identifier, sizeLiteral } from "./lines";
import { citeControl } from "../core/controls";
import type { NginxLayout } from "./layout";
import type { NginxSpec, RouteSpec, UpstreamPoolSpec } from "./types";

export function methodVariable(route: RouteSpec): string {
    return `$route_${identifier(route.name)}_method_allowed`;
}

export function clientVariable(route: RouteSpec): string {
    return `$route_${identifier(route.name)}_client_allowed`;
}

/** Matches a CN inside nginx's RFC 2253 $ssl_client_s_dn ("CN=payments-team,O=..."), at any RDN position. */
function commonNamePattern(cn: string): string {
    return `"~(^|,)CN=${cn.replace(/[.]/g, "\\.")}(,|$)"`;
}

/** 1 when the raw request path (before "?") carries what a normalising upstream would read
 *  differently from nginx: path parameters (";", the servlet "..;/" escape), encoded dots,
 *  slashes, backslashes and percents (double encoding), overlong UTF-8, raw backslashes, empty
 *  segments. nginx matches routes on its normalised $uri but proxies the raw URI, so such a
 *  request could reach a path its route never declared. */
export const SUSPICIOUS_URI_VARIABLE = "$apiproxy_suspicious_uri";
export const SUSPICIOUS_URI_PATTERNS: readonly string[] = [
    "~^[^?]*;",
    "~*^[^?]*%(2e|2f|5c|25|00)",
    "~*^[^?]*%(c0|c1|e0%80|f0%80)",
    // A raw backslash: the regex is \\\\ (an escaped backslash), and nginx unescapes a quoted string once.
    "~^[^?]*\\\\\\\\",
    "~^[^?]*//",
];

export function renderRouteMaps(spec: NginxSpec): string {
    const lines = [
        ...block(`map $request_uri ${SUSPICIOUS_URI_VARIABLE}`, [
            ...SUSPICIOUS_URI_PATTERNS.map((pattern) => `"${pattern}" 1;`),
            "default 0;",
        ], citeControl("encoded-paths-refused", "seed: default deny - a path the upstream would normalise differently is refused (400)")),
        "",
        ...block("map $http_upgrade $connection_upgrade", [
            `default "upgrade";`,
            `"" "";`,
        ], "WebSocket: Connection: upgrade only when the client asked to upgrade"),
        "",
        ...spec.routes.flatMap((route) => [
            ...block(`map $request_method ${methodVariable(route)}`, [
                ...route.methods.map((method) => `${method} 1;`),
                "default 0;",
            ], `OWASP ASVS 14.5.1: route ${route.name} allows ${route.methods.join(", ")}`),
            "",
            ...(route.allowedClientCommonNames
                ? [...block(`map $ssl_client_s_dn ${clientVariable(route)}`, [
                    ...route.allowedClientCommonNames.map((cn) => `${commonNamePattern(cn)} 1;`),
                    "default 0;",
                ], `OWASP ASVS 4.1.3 / NIST SP 800-53 AC-3: route ${route.name} admits client certificates ${route.allowedClientCommonNames.join(", ")} only`), ""]
                : []),
        ]),
    ];
    return fileContent("route-maps.conf: per-route method allow-lists", lines);
}

function seconds(value: number): string {
    return `${value}s`;
}

/** Retries may only happen while a second connect attempt still fits (bounded, never a hang). */
function nextUpstreamTimeout(route: RouteSpec): number {
    return route.timeouts.connectSeconds * UPSTREAM_NEXT_TRIES;
}

function upstreamTls(spec: NginxSpec, pool: UpstreamPoolSpec, prefix: "proxy" | "grpc"): string[] {
    if (!pool.tls) return [];
    const serverName = pool.tlsServerName ?? pool.servers[0].address.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
    return [
        directive(`${prefix}_ssl_verify on`, "OWASP ASVS 9.2.1: upstream certificate verified"),
        directive(`${prefix}_ssl_trusted_certificate ${spec.certificates.upstreamCa}`, "OWASP ASVS 9.2.1"),
        directive(`${prefix}_ssl_verify_depth ${spec.mtlsVerifyDepth}`),
        directive(`${prefix}_ssl_name ${serverName}`),
        directive(`${prefix}_ssl_server_name on`),
        directive(`${prefix}_ssl_protocols ${spec.tls.protocols.join(" ")}`, "NIST SP 800-52r2 3.1"),
        directive(`${prefix}_ssl_ciphers ${spec.tls.tls12Ciphers.join(":")}`, "NIST SP 800-52r2 3.3.1"),
        ...(hasSslConfCommand(spec)
            ? [directive(`${prefix}_ssl_conf_command Ciphersuites ${spec.tls.tls13Ciphersuites.join(":")}`, "NIST SP 800-52r2 3.3.1")]
            : [`# TLS 1.3 suites to the upstream: openssl.cnf (OPENSSL_CONF)  # NIST SP 800-52r2 3.3.1`]),
    ];
}

function protocolBody(spec: NginxSpec, layout: NginxLayout, route: RouteSpec, pool: UpstreamPoolSpec): string[] {
    const t = route.timeouts;
    const upstream = poolUpstreamName(pool.name);
    const timeouts = (prefix: "proxy" | "grpc") => [
        directive(`${prefix}_connect_timeout ${seconds(t.connectSeconds)}`, "seed: short connect timeout -> fast 503 when peers are down"),
        directive(`${prefix}_send_timeout ${seconds(t.sendSeconds)}`, "seed: per-route timeout -> 504"),
        directive(`${prefix}_read_timeout ${seconds(t.readSeconds)}`, "seed: per-route timeout -> 504"),
        directive(`${prefix}_next_upstream_tries ${UPSTREAM_NEXT_TRIES}`, citeControl("upstream-circuit-breaker", "seed: circuit breaker - bounded retries")),
        directive(`${prefix}_next_upstream_timeout ${seconds(nextUpstreamTimeout(route))}`, "seed: circuit breaker - bounded retry time"),
    ];
    switch (route.protocol) {
        case "http":
            return [
                directive(`include ${layout.proxyHeaders}`),
                directive(`proxy_set_header Connection ""`, "hop-by-hop stripped; enables upstream keepalive"),
                ...timeouts("proxy"),
                ...upstreamTls(spec, pool, "proxy"),
                directive(`proxy_pass ${pool.tls ? "https" : "http"}://${upstream}`),
            ];
        case "websocket":
            return [
                directive(`include ${layout.proxyHeaders}`),
                directive("proxy_set_header Upgrade $http_upgrade", "WebSocket upgrade passed on this route only"),
                directive("proxy_set_header Connection $connection_upgrade", "WebSocket upgrade passed on this route only"),
                ...timeouts("proxy"),
                ...upstreamTls(spec, pool, "proxy"),
                directive(`proxy_pass ${pool.tls ? "https" : "http"}://${upstream}`),
            ];
        case "grpc":
            return [
                directive(`include ${layout.grpcHeaders}`),
                ...timeouts("grpc"),
                ...upstreamTls(spec, pool, "grpc"),
                directive(`grpc_pass ${pool.tls ? "grpcs" : "grpc"}://${upstream}`),
            ];
        default: {
            const unknown: never = route.protocol;
            throw new Error(`unknown protocol ${String(unknown)}`);
        }
    }
}

export function renderRouteLocation(spec: NginxSpec, layout: NginxLayout, route: RouteSpec): string[] {
    const pool = spec.upstreams.find((candidate) => candidate.name === route.upstream);
    if (pool === undefined) throw new Error(`route ${route.name}: unknown pool ${route.upstream}`);
    const perIp = spec.rateLimits.perIp;
    const upstreamHeader = (header: string) => `$upstream_http_${identifier(header.toLowerCase())}`;
    const auth = route.requestAuth;
    const authRequest = auth !== undefined
        ? [
              directive(
                  `auth_request ${requestAuthLocation(route)}`,
                  citeControl("requests-checked", `seed: validated against a signature / OWASP ASVS 13.1.4: ${[route.requireApiKey ? "API key" : "", auth.signature ? "HMAC signature" : "", auth.jwt ? "JWT" : ""].filter(Boolean).join(" + ")} checked by the key service`),
              ),
              ...(auth.signature ? [directive(`auth_request_set ${SIGNATURE_CLIENT_VARIABLE} ${upstreamHeader(SIGNATURE_CLIENT_HEADER)}`, "the verified signing client, forwarded upstream")] : []),
              ...(auth.jwt ? [directive(`auth_request_set ${JWT_SUBJECT_VARIABLE} ${upstreamHeader(JWT_SUBJECT_HEADER)}`, "the verified token subject, forwarded upstream")] : []),
          ]
        : route.requireApiKey
            ? [directive(`auth_request ${API_KEY_AUTH_LOCATION}`, citeControl("requests-checked", "seed: API keys via auth_request / OWASP ASVS 13.1.4"))]
            : [];
    // The key service's answer: the key id, and why it refused (rate-limited -> 429; the reason of a 401).
    const apiKey = authRequest.length > 0
        ? [
              ...authRequest,
              directive(`auth_request_set $api_key_id ${upstreamHeader(API_KEY_ID_HEADER)}`, "non-secret key id for logs/upstreams"),
              directive(
                  `auth_request_set ${API_KEY_DENIED_VARIABLE} ${upstreamHeader(API_KEY_DENIED_HEADER)}`,
                  "seed: rate limiting per API key / OWASP ASVS 11.1.4: the key service limits per key id; rate-limited -> 429",
              ),
              directive(
                  `auth_request_set ${API_KEY_RETRY_AFTER_VARIABLE} ${upstreamHeader("Retry-After")}`,
                  "RFC 6585 4: the key service's Retry-After for the per-key 429",
              ),
          ]
        : [];
    const matcher = route.template !== undefined ? `~ ${templateRegex(route.template)}` : route.exact ? `= ${route.pathPrefix}` : route.pathPrefix;
    const upstreamBody = protocolBody(spec, layout, route, pool);
    const validated = checkedInNjs(route);
    const content = validated
        ? [
              directive(`client_body_buffer_size ${sizeLiteral(route.maxBodyBytes)}`, "seed: schema/signature validation - the whole body in memory for the check (bounded by client_max_body_size)"),
              directive("client_body_in_single_buffer on", "seed: schema/signature validation - one buffer for the check"),
              directive(`set ${VALIDATED_ROUTE_VARIABLE} "${route.name}"`),
              directive(
                  `js_content ${VALIDATION_MODULE_NAME}.validate`,
                  route.requestAuth?.signature
                      ? "seed: validated against a signature - the body must match the signed digest (400) before any upstream sees it"
                      : "seed: no request reaches an upstream unvalidated - 415/400 before any upstream sees it",
              ),
          ]
        : upstreamBody;
    const location = block(`location ${matcher}`, [
        comment(`route ${route.name}: ${route.protocol} -> ${pool.name}; ${route.methods.join(",")}${route.requireApiKey ? "; API key" : ""}${route.requestAuth?.signature ? "; signature" : ""}${route.requestAuth?.jwt ? "; JWT" : ""}`),
        ...block(`if (${methodVariable(route)} = 0)`, [
            directive("return 405", "OWASP ASVS 14.5.1: undeclared method -> 405 locally"),
        ]),
        // In the route, not the server: a server-level check would refuse the error page's own internal redirect too.
        ...block(`if (${SUSPICIOUS_URI_VARIABLE})`, [
            directive("return 400", citeControl("encoded-paths-refused", "seed: default deny - a raw path the upstream could read differently never reaches it")),
        ]),
        ...(route.allowedClientCommonNames
            ? block(`if (${clientVariable(route)} = 0)`, [
                directive("return 403", "OWASP ASVS 4.1.3: a valid certificate of another client is not authorised for this route"),
            ])
            : []),
        ...(route.publicReason !== undefined
            ? [directive(`set $apiproxy_public_route "${route.publicReason}"`, citeControl("public-routes-reviewed", "declared public: no request check by design (reviewed reason; the policy pack reports it)"))]
            : []),
        directive(
            `limit_req zone=${PER_IP_ZONE} burst=${perIp.burst} nodelay`,
            "seed: rate limiting per source IP / CIS NGINX Benchmark 5.2.5",
        ),
        directive(
            `limit_req zone=${routeZone(route)} burst=${route.rateLimitPerIp.burst} nodelay`,
            `seed: rate limiting, route ${route.name} ${route.rateLimitPerIp.ratePerSecond}r/s`,
        ),
        ...apiKey,
        directive(`client_max_body_size ${sizeLiteral(route.maxBodyBytes)}`, "seed: payload validation / CIS NGINX Benchmark 5.2.2"),
        ...content,
    ]);
    if (!validated) return location;
    // Only the validator's internal redirect reaches this named location (clients cannot address one).
    return [...location, ...block(`location ${validatedUpstreamLocation(route)}`, [
        comment(`route ${route.name}: proxies only what validate.js accepted`),
        ...upstreamBody,
    ])];
}

/** "/api/v1/orders/{id}" -> "^/api/v1/orders/[^/]+$": literal segments escaped, each parameter one non-empty segment. */
export function templateRegex(template: string): string {
    const parts = template.split(/(\{[A-Za-z0-9_.-]+\})/).map((part) =>
        /^\{[A-Za-z0-9_.-]+\}$/.test(part) ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    return `^${parts.join("")}$`;
}

export function renderRoutes(spec: NginxSpec, layout: NginxLayout, listener: "public" | "mtls"): string {
    const routes = spec.routes.filter((route) => route.listeners.includes(listener));
    const lines = routes.flatMap((route) => [...renderRouteLocation(spec, layout, route), ""]);
    if (routes.length === 0) lines.push(comment("no routes on this listener: everything answers 404"));
    return fileContent(`routes-${listener}.conf: declared routes on the ${listener} listener (default deny)`, lines);
}
