/** Where each rendered file lands: one place, so includes and HostFile paths cannot disagree. */
import { DEFAULT_CONFIG_ROOT, INCLUDE_DIRECTORY } from "./constants";
import type { NginxSpec } from "./types";

export interface NginxLayout {
    readonly root: string;
    readonly mainConf: string;
    readonly logging: string;
    readonly tls: string;
    readonly requestLimits: string;
    readonly rateLimits: string;
    readonly upstreams: string;
    readonly routeMaps: string;
    readonly securityHeaders: string;
    readonly proxyHeaders: string;
    readonly grpcHeaders: string;
    readonly errors: string;
    readonly apiKeyAuth: string;
    readonly routes: (listener: "public" | "mtls") => string;
    readonly servers: string;
    /** The generated njs module of request validation. */
    readonly validationModule: string;
    /** OpenSSL configuration carrying the TLS 1.3 suites where nginx lacks ssl_conf_command. */
    readonly opensslConf: string;
}

export function nginxLayout(spec: Pick<NginxSpec, "configRoot">): NginxLayout {
    const root = (spec.configRoot ?? DEFAULT_CONFIG_ROOT).replace(/\/+$/, "");
    const inc = `${root}/${INCLUDE_DIRECTORY}`;
    return {
        root,
        mainConf: `${root}/nginx.conf`,
        logging: `${inc}/logging.conf`,
        tls: `${inc}/tls.conf`,
        requestLimits: `${inc}/request-limits.conf`,
        rateLimits: `${inc}/rate-limits.conf`,
        upstreams: `${inc}/upstreams.conf`,
        routeMaps: `${inc}/route-maps.conf`,
        securityHeaders: `${inc}/security-headers.conf`,
        proxyHeaders: `${inc}/proxy-headers.conf`,
        grpcHeaders: `${inc}/grpc-headers.conf`,
        errors: `${inc}/errors.conf`,
        apiKeyAuth: `${inc}/api-key-auth.conf`,
        routes: (listener) => `${inc}/routes-${listener}.conf`,
        servers: `${inc}/servers.conf`,
        validationModule: `${inc}/validate.js`,
        opensslConf: `${inc}/openssl.cnf`,
    };
}
