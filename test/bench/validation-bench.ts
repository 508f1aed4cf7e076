/**
 * `npm run bench:validation`: what request checks cost (issue: added p50/p99 latency and proxy
 * CPU per request). One nginx on loopback (the rendered config, njs loaded) in front of the real
 * key service (+ Redis) serves four routes to the same local upstream, all taking the same 2 KB
 * JSON POST: `plain` proxies it as it is; `validated` first checks it against an OpenAPI-style
 * schema in njs (stacks/openapi/orders.yaml's NewOrder with 2 KB of lines); `jwt` has the key
 * service verify an ES256 bearer token; `signed` has it verify an HMAC signature (and consume
 * the nonce in Redis) and njs check the body's digest. Batches alternate over kept-alive HTTPS
 * connections so drift hits all alike. Reports latency percentiles, CPU per request of the nginx
 * workers and of the key service (utime + stime, /proc), and the ratios to plain. Writes
 * bench-results/validation.json and prints a table. Measures only; never fails on a time.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
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
import { startKeyService } from "../renderers/nginx/key-service";
import { jwkFromPublicKeyPem } from "../../components/services/render-auth-policy";
import { claimsNow, mintJwt, signatureHeaders } from "../integration/request-auth-client";

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

/** utime + stime (clock ticks) of one process (all its threads). */
function processTicks(pid: number): number {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
}

function percentile(sorted: number[], p: number): number {
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error("run as root: nginx workers run as nobody from a temp prefix");
    const tree = makeTempTree("apiproxy-validation-bench-");
    const ports = { https: await freePort(), mtls: await freePort(), health: await freePort(), keys: await freePort(), upstream: await freePort(), redis: await freePort() };
    const es256 = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const secret = randomBytes(32).toString("base64");
    const keyService = await startKeyService({
        dir: tree.root, port: ports.keys, redisPort: ports.redis, perKey: { ratePerSecond: 100_000, burst: 100_000 },
        policy: {
            signatures: { maxSkewSeconds: 300, keys: [{ id: "bench", client: "bench", secret }] },
            issuers: [{ name: "bench", issuer: "https://issuer.bench", leewaySeconds: 30, keys: [{ jwk: jwkFromPublicKeyPem(es256.publicKey.export({ type: "spki", format: "pem" }).toString(), "bench", "ES256") }] }],
            routes: { jwt: { apiKey: false, jwt: { issuer: "bench", audiences: ["bench"] } }, signed: { apiKey: false, signature: { clients: ["bench"] } } },
        },
    });
    const token = mintJwt({ alg: "ES256", kid: "bench", privateKeyPem: es256.privateKey.export({ type: "pkcs8", format: "pem" }).toString(), claims: claimsNow("https://issuer.bench", "bench", "bench", 3600) });
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
            route({ name: "jwt", pathPrefix: "/bench/jwt/orders", exact: true, methods: ["POST"], upstream: "app", timeouts, rateLimitPerIp: limits, requestAuth: { signature: false, jwt: true } }),
            route({ name: "signed", pathPrefix: "/bench/signed/orders", exact: true, methods: ["POST"], upstream: "app", timeouts, rateLimitPerIp: limits, requestAuth: { signature: true, jwt: false } }),
        ],
    });
    const nginx = await startNginx(tree, spec, renderNginx(spec));
    const payload = body();
    const variants = { plain: "/bench/plain/orders", validated: orders.path, jwt: "/bench/jwt/orders", signed: "/bench/signed/orders" } as const;
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: fs.readFileSync(tree.pki.caCert) });
    const post = (urlPath: string): Promise<{ ms: number; status: number }> => new Promise((resolve, reject) => {
        const started = process.hrtime.bigint();
        const req = https.request({ host: LOOPBACK, port: ports.https, path: urlPath, method: "POST", agent, servername: "localhost",
            headers: {
                "content-type": "application/json", "idempotency-key": "bench", "content-length": Buffer.byteLength(payload),
                ...(urlPath === variants.jwt ? { authorization: `Bearer ${token}` } : {}),
                ...(urlPath === variants.signed ? signatureHeaders({ method: "POST", uri: urlPath, body: payload, keyId: "bench", secret }) : {}),
            } }, (res) => {
            res.resume();
            res.on("end", () => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, status: res.statusCode ?? 0 }));
        });
        req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
        req.on("error", reject);
        req.end(payload);
    });
    const samples: Record<keyof typeof variants, number[]> = { plain: [], validated: [], jwt: [], signed: [] };
    const ticks: Record<keyof typeof variants, number> = { plain: 0, validated: 0, jwt: 0, signed: 0 };
    const serviceTicks: Record<keyof typeof variants, number> = { plain: 0, validated: 0, jwt: 0, signed: 0 };
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
                const serviceBefore = processTicks(keyService.pid);
                for (let i = 0; i < BATCH; i++) {
                    const r = await post(variants[v]);
                    if (r.status !== 200) throw new Error(`${v}: answered ${r.status}`);
                    samples[v].push(r.ms);
                }
                ticks[v] += workerTicks(nginx.pid) - before;
                serviceTicks[v] += processTicks(keyService.pid) - serviceBefore;
            }
        }
    } finally {
        agent.destroy();
        await nginx.stop();
        await keyService.stop();
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
            keyServiceCpuUsPerRequest: Number(((serviceTicks[v] * tickUs) / sorted.length).toFixed(1)),
        }];
    })) as Record<keyof typeof variants, { requests: number; p50Ms: number; p99Ms: number; nginxCpuUsPerRequest: number; keyServiceCpuUsPerRequest: number }>;
    const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
    const result = {
        machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? "", kernel: os.release() },
        bodyBytes: Buffer.byteLength(payload),
        ...summary,
        overPlain: Object.fromEntries((["validated", "jwt", "signed"] as const).map((v) => [v, {
            p50: ratio(summary[v].p50Ms, summary.plain.p50Ms),
            p99: ratio(summary[v].p99Ms, summary.plain.p99Ms),
            nginxCpu: ratio(summary[v].nginxCpuUsPerRequest, summary.plain.nginxCpuUsPerRequest),
            addedP50Ms: Number((summary[v].p50Ms - summary.plain.p50Ms).toFixed(3)),
            addedP99Ms: Number((summary[v].p99Ms - summary.plain.p99Ms).toFixed(3)),
            addedCpuUsPerRequest: Number((summary[v].nginxCpuUsPerRequest + summary[v].keyServiceCpuUsPerRequest
                - summary.plain.nginxCpuUsPerRequest - summary.plain.keyServiceCpuUsPerRequest).toFixed(1)),
        }])),
    };
    const out = path.join(repoRoot, "bench-results", "validation.json");
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    const names = Object.keys(variants) as (keyof typeof variants)[];
    console.log(`| ${result.bodyBytes}-byte JSON POST, ${REQUESTS} requests each, one connection | ${names.join(" | ")} |`);
    console.log(`| --- |${names.map(() => " ---: |").join("")}`);
    console.log(`| p50 latency (ms) | ${names.map((v) => summary[v].p50Ms).join(" | ")} |`);
    console.log(`| p99 latency (ms) | ${names.map((v) => summary[v].p99Ms).join(" | ")} |`);
    console.log(`| nginx worker CPU per request (µs) | ${names.map((v) => summary[v].nginxCpuUsPerRequest).join(" | ")} |`);
    console.log(`| key service CPU per request (µs) | ${names.map((v) => summary[v].keyServiceCpuUsPerRequest).join(" | ")} |`);
    console.log(`| added p50 / CPU vs plain | - | ${(["validated", "jwt", "signed"] as const).map((v) => `+${result.overPlain[v].addedP50Ms} ms / +${result.overPlain[v].addedCpuUsPerRequest} µs`).join(" | ")} |`);
    console.log(`\n${path.relative(repoRoot, out)} written.`);
}

main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
});
