/** nginx.conf: process model, sizing, and the http{} skeleton that includes one file per concern. */
import { citeControl } from "../core/controls";
import { DEFAULT_MASTER_UNPRIVILEGED, DEFAULT_NJS_MODULE_PATH, MIN_WORKER_PROCESSES } from "./constants";
import { VALIDATION_MODULE_NAME, validatedRoutes } from "./render-validation";
import { block, directive, fileContent } from "./lines";
import type { NginxLayout } from "./layout";
import type { NginxSpec } from "./types";

export interface WorkerSizing {
    readonly workerConnections: number;
    readonly workerRlimitNofile: number;
}

/**
 * Sizing from the concurrency target (10k-100k sessions):
 *   worker_connections  = ceil(2 * target / MIN_WORKER_PROCESSES)
 *     each proxied session holds two connections (client + upstream); the seed's minimum of
 *     4 cores means `worker_processes auto` starts at least 4 workers, so the tier still
 *     reaches its target on the smallest supported host (more cores = headroom).
 *   worker_rlimit_nofile = 2 * worker_connections
 *     a connection may also hold a temp file (buffered body), plus logs and listeners.
 * The host renderer's LimitNOFILE must be >= worker_rlimit_nofile.
 */
export function workerSizing(concurrencyTarget: number): WorkerSizing {
    const workerConnections = Math.ceil((2 * concurrencyTarget) / MIN_WORKER_PROCESSES);
    return { workerConnections, workerRlimitNofile: 2 * workerConnections };
}

export function renderMainConf(spec: NginxSpec, layout: NginxLayout): string {
    const sizing = workerSizing(spec.concurrencyTarget);
    const group = spec.runGroup ?? spec.runUser;
    const temp = spec.tempDirectory;
    const tempPaths =
        temp === undefined
            ? []
            : [
                  directive(`client_body_temp_path ${temp}/client_body`, "temp files outside the config tree"),
                  directive(`proxy_temp_path ${temp}/proxy`),
                  directive(`fastcgi_temp_path ${temp}/fastcgi`),
                  directive(`uwsgi_temp_path ${temp}/uwsgi`),
                  directive(`scgi_temp_path ${temp}/scgi`),
              ];
    const validating = validatedRoutes(spec).length > 0;
    const lines = [
        ...(validating
            ? [directive(`load_module ${spec.njsModulePath ?? DEFAULT_NJS_MODULE_PATH}`, "seed: request validation - njs, loaded only when a route validates")]
            : []),
        (spec.masterUnprivileged ?? DEFAULT_MASTER_UNPRIVILEGED)
            ? `# master and workers already run as ${spec.runUser} (systemd User=): no user directive  # CIS NGINX Benchmark 2.2.1`
            : directive(`user ${spec.runUser} ${group}`, "CIS NGINX Benchmark 2.2.1: workers run unprivileged"),
        directive("worker_processes auto", "seed: one worker per core"),
        directive("worker_cpu_affinity auto", "seed: bind workers to cores (cache locality)"),
        directive(
            `worker_rlimit_nofile ${sizing.workerRlimitNofile}`,
            `2 x worker_connections (concurrencyTarget ${spec.concurrencyTarget})`,
        ),
        directive(`pid ${spec.pidFile}`),
        directive(`error_log ${spec.logDirectory}/error.log warn`, citeControl("logging", "OWASP ASVS 7.1.3 / CIS NGINX Benchmark 3.3: error logging")),
        // No pcre_jit: JIT needs writable+executable memory, which the hardened unit forbids
        // (MemoryDenyWriteExecute=yes, NIST SP 800-53 SI-16); routes are literal prefixes anyway.
        "",
        ...block("events", [
            directive("use epoll", "seed: kernel epoll notification"),
            directive("multi_accept on", "seed: drain the accept queue during bursts"),
            directive(
                `worker_connections ${sizing.workerConnections}`,
                `ceil(2 x ${spec.concurrencyTarget} / ${MIN_WORKER_PROCESSES} workers)`,
            ),
        ]),
        "",
        ...block("http", [
            directive("server_tokens off", citeControl("no-version-disclosure", "CIS NGINX Benchmark 2.5.1 / OWASP ASVS 14.3.3: no version disclosure")),
            directive("default_type application/json"),
            directive("charset utf-8"),
            ...tempPaths,
            "",
            directive(`include ${layout.logging}`),
            directive(`include ${layout.requestLimits}`),
            directive(`include ${layout.rateLimits}`),
            directive(`include ${layout.tls}`),
            directive(`include ${layout.upstreams}`),
            directive(`include ${layout.routeMaps}`),
            ...(validating
                ? [directive(`js_import ${VALIDATION_MODULE_NAME} from ${layout.validationModule}`, "seed: request validation - generated at render time")]
                : []),
            directive(`include ${layout.servers}`),
        ]),
    ];
    return fileContent("nginx.conf: process model and includes", lines);
}
