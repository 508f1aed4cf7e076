/** nginx.conf: process model, sizing, and the http{} skeleton that includes one file per concern. */
import { citeControl } from "../core/controls";
import { NOFILE_BASE, nofileFor } from "../host/limits";
import { DEFAULT_MASTER_UNPRIVILEGED, DEFAULT_NJS_MODULE_PATH } from "./constants";
import { VALIDATION_MODULE_NAME, validatedRoutes } from "./render-validation";
import { block, directive, fileContent } from "./lines";
import type { NginxLayout } from "./layout";
import type { NginxSpec } from "./types";

export interface WorkerSizing {
    readonly workerConnections: number;
    readonly workerRlimitNofile: number;
}

/**
 * Sizing from the concurrency target (10k-100k sessions), measured on the local stack:
 *   worker_connections = 2 * target, in every worker
 *     each proxied session holds two connections (client + upstream), and one worker must be
 *     able to hold them all: nginx spreads accepts unevenly (10,000 connections at a 2-worker
 *     proxy split about 70/30), and a host may have fewer cores than workers were assumed to
 *     be. Sized per worker as ceil(2 * target / 4 workers), a flood of the target hit
 *     "worker_connections are not enough" and nginx closed 30 % of the connections. A slot
 *     costs ~0.5 KB of worker memory (20,000 slots: ~10 MB).
 *   worker_rlimit_nofile = nofileFor(target) (components/host/limits.ts), the unit's LimitNOFILE
 *     two descriptors per session plus 25 % headroom plus the fixed ones.
 * Where the delivery target knows the host's open-file ceiling (`nofileCeiling`, from the
 * inventory's facts) both fit under it - a worker whose setrlimit fails keeps the master's
 * limit and runs out of descriptors first - and the delivery reports the unit's shortfall.
 */
export function workerSizing(concurrencyTarget: number, nofileCeiling = Infinity): WorkerSizing {
    const workerRlimitNofile = Math.min(nofileFor(concurrencyTarget), nofileCeiling);
    const workerConnections = Math.min(2 * concurrencyTarget, workerRlimitNofile - NOFILE_BASE);
    if (workerConnections < 1) throw new Error(`nofileCeiling: ${nofileCeiling} leaves nginx no connections (it needs more than ${NOFILE_BASE})`);
    return { workerConnections, workerRlimitNofile };
}

export function renderMainConf(spec: NginxSpec, layout: NginxLayout): string {
    const sizing = workerSizing(spec.concurrencyTarget, spec.nofileCeiling);
    const capped = spec.nofileCeiling !== undefined && spec.nofileCeiling < nofileFor(spec.concurrencyTarget)
        ? `; capped at this host's open-file ceiling ${spec.nofileCeiling}` : "";
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
            `seed: "Too many open files" - the unit's LimitNOFILE: 2 fds per session + 25 % + ${NOFILE_BASE} (concurrencyTarget ${spec.concurrencyTarget})${capped}`,
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
                `2 x ${spec.concurrencyTarget}: one worker holds the whole target (accepts spread unevenly)${capped}`,
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
