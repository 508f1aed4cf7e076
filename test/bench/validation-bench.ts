/**
 * `npm run bench:validation`: what request validation costs (issue: added p50/p99 latency and
 * proxy CPU per request). One nginx on loopback (the rendered config, njs loaded) serves two
 * routes to the same local upstream: `plain` proxies a 2 KB JSON POST as it is; `validated`
 * first checks it against an OpenAPI-style schema in njs (stacks/openapi/orders.yaml's NewOrder
 * with 2 KB of lines). Batches alternate (plain, validated, ...) over kept-alive HTTPS
 * connections so drift hits both alike. Reports latency percentiles, nginx worker CPU per
 * request (utime + stime of its workers, /proc), and the ratios. Writes
 * bench-results/validation.json and prints a table. Measures only; never fails on a time.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { renderNginx } from "../../components/nginx";
import { routesFromOpenApi } from "../../components/openapi/routes";
import { repoRoot } from "../integration/engine-helpers";
import { route, validSpec } from "../renderers/nginx/fixtures";
import { freePort, LOOPBACK, loopbackSpec, makeTempTree, startNginx } from "../renderers/nginx/harness";

const REQUESTS = Math.max(200, Math.min(20_000, Number(process.env.BENCH_REQUESTS ?? 4000)));
const BATCH = 200;

/** A valid NewOrder of about 2 KB. */
function body(): string {
    const lines = [];
    for (let i = 0; lines.length === 0 || JSON.stringify({ sku: "ABC-1234", quantity: 3, lines }).length < 2048; i++) {
        lines.push({ item: `3f1c2a9e-8b7d-4c6e-9a5f-${(100000000000 + i).toString()}`, count: 1 + (i % 7) });
    }
    return JSON.stringify({ sku: "ABC-1234", quantity: 3, lines });
}

/** utime + stime (clock ticks) of the master's children: the workers. */
function workerTicks(masterPid: number): number {
    let ticks = 0;
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
            const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            if (Number(fields[1]) === masterPid) ticks += Number(fields[11]) + Number(fields[12]);
        } catch { /* gone */ }
    }
    return ticks;
}

function percentile(sorted: number[], p: number): number {
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error("run as root: nginx workers run as nobody from a temp prefix");
    const tree = makeTempTree("apiproxy-validation-bench-");
    const ports = { https: await freePort(), mtls: await freePort(), health: await freePort(), keys: await freePort(), upstream: await freePort() };
    const upstream = http.createServer((req, res) => {
        req.resume();
        req.on("end", () => {
            res.writeHead(200, { "content-type": "application/json" });
            res.end("{\"ok\":true}");
        });
    });
    await new Promise<void>((r) => upstream.listen(ports.upstream, LOOPBACK, r));
    const document = YAML.parse(fs.readFileSync(path.join(repoRoot, "stacks", "openapi", "orders.yaml"), "utf8"));
    const orders = routesFromOpenApi(document, "app", "/bench/validated").find((r) => r.template === undefined)!;
    const timeouts = { connectSeconds: 2, sendSeconds: 10, readSeconds: 10 };
    const limits = { ratePerSecond: 100_000, burst: 100_000 };
    const spec = loopbackSpec(tree, validSpec, ports, {
        rateLimits: { perIp: { ...limits, zoneMegabytes: 1 }, perApiKey: limits },
        upstreams: [{ name: "app", algorithm: "round-robin", servers: [{ address: `${LOOPBACK}:${ports.upstream}`, weight: 1 }], keepalive: 16, maxFails: 3, failTimeoutSeconds: 10, tls: false }],
        routes: [
            route({ name: "plain", pathPrefix: "/bench/plain/orders", exact: true, methods: ["POST"], upstream: "app", timeouts, rateLimitPerIp: limits }),
            route({ name: "validated", pathPrefix: orders.path, exact: true, methods: ["POST"], upstream: "app", timeouts, rateLimitPerIp: limits,
                validation: { operations: { POST: orders.validation.operations.POST! } } }),
        ],
    });
    const nginx = await startNginx(tree, spec, renderNginx(spec));
    const payload = body();
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: fs.readFileSync(tree.pki.caCert) });
    const post = (urlPath: string): Promise<{ ms: number; status: number }> => new Promise((resolve, reject) => {
        const started = process.hrtime.bigint();
        const req = https.request({ host: LOOPBACK, port: ports.https, path: urlPath, method: "POST", agent, servername: "localhost",
            headers: { "content-type": "application/json", "idempotency-key": "bench", "content-length": Buffer.byteLength(payload) } }, (res) => {
            res.resume();
            res.on("end", () => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, status: res.statusCode ?? 0 }));
        });
        req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
        req.on("error", reject);
        req.end(payload);
    });
    const variants = { plain: "/bench/plain/orders", validated: orders.path } as const;
    const samples: Record<keyof typeof variants, number[]> = { plain: [], validated: [] };
    const ticks: Record<keyof typeof variants, number> = { plain: 0, validated: 0 };
    try {
        for (const v of Object.keys(variants) as (keyof typeof variants)[]) {
            for (let i = 0; i < 200; i++) {
                const r = await post(variants[v]);
                if (r.status !== 200) throw new Error(`${v}: warm-up answered ${r.status}`);
            }
        }
        for (let done = 0; done < REQUESTS; done += BATCH) {
            for (const v of Object.keys(variants) as (keyof typeof variants)[]) {
                const before = workerTicks(nginx.pid);
                for (let i = 0; i < BATCH; i++) {
                    const r = await post(variants[v]);
                    if (r.status !== 200) throw new Error(`${v}: answered ${r.status}`);
                    samples[v].push(r.ms);
                }
                ticks[v] += workerTicks(nginx.pid) - before;
            }
        }
    } finally {
        agent.destroy();
        await nginx.stop();
        upstream.close();
        tree.remove();
    }
    const tickUs = 1e6 / 100; // USER_HZ is 100 on Linux
    const summary = Object.fromEntries((Object.keys(variants) as (keyof typeof variants)[]).map((v) => {
        const sorted = [...samples[v]].sort((a, b) => a - b);
        return [v, {
            requests: sorted.length,
            p50Ms: Number(percentile(sorted, 50).toFixed(3)),
            p99Ms: Number(percentile(sorted, 99).toFixed(3)),
            nginxCpuUsPerRequest: Number(((ticks[v] * tickUs) / sorted.length).toFixed(1)),
        }];
    })) as Record<keyof typeof variants, { requests: number; p50Ms: number; p99Ms: number; nginxCpuUsPerRequest: number }>;
    const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
    const result = {
        machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? "", kernel: os.release() },
        bodyBytes: Buffer.byteLength(payload),
        ...summary,
        validatedOverPlain: {
            p50: ratio(summary.validated.p50Ms, summary.plain.p50Ms),
            p99: ratio(summary.validated.p99Ms, summary.plain.p99Ms),
            nginxCpu: ratio(summary.validated.nginxCpuUsPerRequest, summary.plain.nginxCpuUsPerRequest),
        },
        addedP50Ms: Number((summary.validated.p50Ms - summary.plain.p50Ms).toFixed(3)),
        addedP99Ms: Number((summary.validated.p99Ms - summary.plain.p99Ms).toFixed(3)),
    };
    const out = path.join(repoRoot, "bench-results", "validation.json");
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`| ${result.bodyBytes}-byte JSON POST, ${REQUESTS} requests each, one connection | plain | validated (njs) | ratio |`);
    console.log("| --- | ---: | ---: | ---: |");
    console.log(`| p50 latency | ${summary.plain.p50Ms} ms | ${summary.validated.p50Ms} ms | ${result.validatedOverPlain.p50} |`);
    console.log(`| p99 latency | ${summary.plain.p99Ms} ms | ${summary.validated.p99Ms} ms | ${result.validatedOverPlain.p99} |`);
    console.log(`| nginx worker CPU per request | ${summary.plain.nginxCpuUsPerRequest} µs | ${summary.validated.nginxCpuUsPerRequest} µs | ${result.validatedOverPlain.nginxCpu} |`);
    console.log(`\n${path.relative(repoRoot, out)} written.`);
}

main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
});
