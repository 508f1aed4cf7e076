/** upstreams.conf: upstream pools with keepalive and passive health checks (circuit breaking). */
import { citeControl } from "../core/controls";
import { UPSTREAM_ZONE_KILOBYTES } from "./constants";
import { block, directive, fileContent, identifier } from "./lines";
import type { NginxSpec, UpstreamPoolSpec } from "./types";

export const API_KEY_SERVICE_UPSTREAM = "apiproxy_api_key_service";

export function poolUpstreamName(poolName: string): string {
    return `pool_${identifier(poolName)}`;
}

function algorithm(pool: UpstreamPoolSpec): string[] {
    switch (pool.algorithm) {
        case "round-robin":
            return ["# round-robin (nginx default): weights spread load"];
        case "least-conn":
            return [directive("least_conn", "seed: least-connections balancing")];
        default: {
            const unknown: never = pool.algorithm;
            throw new Error(`unknown algorithm ${String(unknown)}`);
        }
    }
}

function renderPool(pool: UpstreamPoolSpec): string[] {
    const name = poolUpstreamName(pool.name);
    return block(`upstream ${name}`, [
        directive(`zone ${name} ${UPSTREAM_ZONE_KILOBYTES}k`, "peer health shared by all workers"),
        ...algorithm(pool),
        ...pool.servers.map((server) =>
            directive(
                `server ${server.address} weight=${server.weight} max_fails=${pool.maxFails} fail_timeout=${pool.failTimeoutSeconds}s`,
                citeControl("upstream-circuit-breaker", "seed: circuit breaker (passive health check)"),
            ),
        ),
        directive(`keepalive ${pool.keepalive}`, "seed: upstream connection reuse"),
    ]);
}

export function renderUpstreams(spec: NginxSpec): string {
    const lines = [
        ...spec.upstreams.flatMap((pool) => [...renderPool(pool), ""]),
        ...block(`upstream ${API_KEY_SERVICE_UPSTREAM}`, [
            directive(`zone ${API_KEY_SERVICE_UPSTREAM} ${UPSTREAM_ZONE_KILOBYTES}k`),
            directive(`server ${spec.apiKeyService.address} max_fails=3 fail_timeout=5s`, "seed: API keys via auth_request"),
            directive("keepalive 16"),
        ]),
    ];
    return fileContent("upstreams.conf: upstream pools", lines);
}
