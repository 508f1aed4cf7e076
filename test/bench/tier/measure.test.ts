// The tier bench's pure parts: the arithmetic its ratios rest on, the parsers of what /proc,
// cgroup v2, openssl speed and ss print, the targets' judgement, the stock twin's config and the
// bench stack's config. Fast; no processes, no stack.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as YAML from "yaml";
import { validateTierConfig } from "../../../infra/config/load";
import {
    countSessionReuse, expectedAccepted, handshakeBound, linearFit, median, parseCgroupCpuUsec, parseOpensslSpeed, parseProcStat, parseSsSocketMemory,
    percentile, perCpuSecond, ratio, round, targetMet,
} from "./measure";
import { renderMarkdown, renderSvg, targetRows, type TierBenchReport } from "./report";
import { benchConfig, BENCH_PATH, LIMITED_PATH } from "./stack";
import { IDLE_PER_CLIENT, perHandshakeByObject, splitIdleTarget } from "./scenarios";
import { stockNginxConf, stockServer } from "./variants";

const root = path.resolve(__dirname, "..", "..", "..");

describe("tier bench arithmetic", () => {
    test("session reuse is read from the access log's tls_session_reused field", () => {
        const lines = [
            '{"status":"200","tls_session_reused":"r"}',
            '{"status":"200","tls_session_reused":"."}',
            '{"status":"200","tls_session_reused":"r"}',
            '{"status":"200","tls_session_reused":""}',
            '{"status":"200"}',
            '{"status":"200","tls_session_re',
        ].join("\n");
        assert.deepEqual(countSessionReuse(lines), { resumed: 2, full: 1 });
        assert.deepEqual(countSessionReuse(""), { resumed: 0, full: 0 });
    });
    test("an idle target is split over client processes under the per-process open-file ceiling", () => {
        assert.deepEqual(splitIdleTarget(5_000, IDLE_PER_CLIENT), [5_000]);
        assert.deepEqual(splitIdleTarget(50_000, 18_000), [16_667, 16_667, 16_666]);
        const shares = splitIdleTarget(100_000, IDLE_PER_CLIENT);
        assert.equal(shares.reduce((a, b) => a + b, 0), 100_000);
        assert.ok(shares.every((n) => n <= IDLE_PER_CLIENT && n < 20_000), JSON.stringify(shares));
    });
    test("CPU per handshake by object: the profile's share of the run's CPU time over its handshakes, side by side", () => {
        const rows = perHandshakeByObject({
            provisioned: { ok: true, note: "", handshakes: 1000, cpuSeconds: 0.4, byObject: [{ object: "libcrypto.so.3", percent: 50 }, { object: "nginx", percent: 5 }] },
            stock: { ok: true, note: "", handshakes: 1000, cpuSeconds: 0.3, byObject: [{ object: "libcrypto.so.3", percent: 60 }] },
        });
        assert.deepEqual(rows, [
            { object: "libcrypto.so.3", provisionedUs: 200, stockUs: 180 },
            { object: "nginx", provisionedUs: 20, stockUs: null },
        ]);
    });
    test("median and nearest-rank percentiles", () => {
        assert.equal(median([3, 1, 2]), 2);
        assert.equal(median([4, 1, 2, 3]), 2.5);
        assert.ok(Number.isNaN(median([])));
        const xs = Array.from({ length: 1000 }, (_, i) => i + 1);
        assert.equal(percentile(xs, 50), 500);
        assert.equal(percentile(xs, 99), 990);
        assert.equal(percentile(xs, 99.9), 999);
        assert.equal(percentile(xs, 100), 1000);
    });

    test("the handshake bound is the harmonic combination of one signature and one ECDH", () => {
        assert.equal(handshakeBound(1000, 1000), 500);
        assert.ok(Math.abs(handshakeBound(48_000, 24_000) - 16_000) < 1e-9);
    });

    test("per-CPU-second normalisation and ratios refuse to divide by nothing", () => {
        assert.equal(perCpuSecond(5000, 0.5), 10_000);
        assert.ok(Number.isNaN(perCpuSecond(5000, 0)));
        assert.equal(ratio(3, 2), 1.5);
        assert.ok(Number.isNaN(ratio(3, 0)));
        assert.equal(round(1234.5678), 1235);
        assert.equal(round(12.3456), 12.3);
        assert.equal(round(0.012345), 0.0123);
        assert.equal(round(Number.NaN), null);
    });

    test("targets: a minimum, a maximum, and not measured", () => {
        assert.equal(targetMet(1.25, { goal: "", min: 1.2 }), true);
        assert.equal(targetMet(1.1, { goal: "", min: 1.2 }), false);
        assert.equal(targetMet(41, { goal: "", max: 40 }), false);
        assert.equal(targetMet(null, { goal: "", min: 1 }), null);
    });

    test("expected accepted requests: rate x window + burst (+1 for the first), never above what was sent", () => {
        assert.equal(expectedAccepted(50, 20, 6, 3000), 321);
        assert.equal(expectedAccepted(50, 20, 6, 240), 240);
    });

    test("a straight line fits exactly; a curve does not", () => {
        const fit = linearFit([1, 4, 16, 64], [110, 140, 260, 740]);
        assert.ok(Math.abs(fit.slope - 10) < 1e-9 && Math.abs(fit.intercept - 100) < 1e-9 && Math.abs(fit.r2 - 1) < 1e-9);
        assert.ok(linearFit([1, 4, 16, 64], [1, 16, 256, 4096]).r2 < 0.99);
    });
});

describe("tier bench parsers", () => {
    test("cgroup v2 cpu.stat usage", () => {
        assert.equal(parseCgroupCpuUsec("usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n"), 123456);
        assert.throws(() => parseCgroupCpuUsec("user_usec 1\n"), /usage_usec/);
    });

    test("/proc/<pid>/stat with spaces and parentheses in the command", () => {
        const line = "4242 (nginx: worker (x)) S 4241 4241 4241 0 -1 4194624 100 0 0 0 250 75 0 0 20 0 1 0 100 1000 10 18446744073709551615";
        assert.deepEqual(parseProcStat(line), { pid: 4242, comm: "nginx: worker (x)", ppid: 4241, ticks: 325 });
    });

    test("openssl speed -mr summary lines", () => {
        const text = ["+F2:3:3072:555.319149:24526.530612", "+F4:3:256:48712.727273:19572.549020", "+F5:3:256:26196.078431:0.000038", "+F5:22:253:31739.215686:0.000032"].join("\n");
        assert.deepEqual(parseOpensslSpeed(text), { sign: { "RSA-3072": 555.319149, "ECDSA-P-256": 48712.727273 }, ecdh: { "P-256": 26196.078431, X25519: 31739.215686 } });
    });

    test("ss -tm socket memory", () => {
        const ss = "ESTAB 0 0 198.18.3.10:443 198.18.2.10:40000\n\t skmem:(r0,rb131072,t0,tb87040,f4096,w0,o0,bl0,d0)\nESTAB 0 0 198.18.3.10:443 198.18.2.10:40001\n\t skmem:(r0,rb131072,t0,tb87040,f0,w0,o0,bl0,d0)";
        assert.deepEqual(parseSsSocketMemory(ss), { sockets: 2, bytes: 4096 });
    });
});

describe("tier bench configs and report", () => {
    test("the bench stack is the local stack plus two declared public routes, valid against the schema", () => {
        // The stack file as `npm run up` leaves it: with its encryption salt (replaced here, so the test does not depend on whether up ran).
        const salted = fs.readFileSync(path.join(root, "stacks", "Pulumi.local.yaml"), "utf8").replace(/^encryptionsalt:.*\n?/m, "") + "encryptionsalt: v1:abc\n";
        const yaml = benchConfig(salted);
        assert.doesNotMatch(yaml, /^encryptionsalt:/m);
        // Reusing the running local stack: its secrets are encrypted under the stack file's salt.
        assert.match(benchConfig(salted, { keepSalt: true }), /^encryptionsalt: v1:abc$/m);
        assert.match(yaml, /notAfter: '2026-11-01T00:00:00Z'/, "times stay quoted (the engine's YAML would read a timestamp)");
        const tier = validateTierConfig((YAML.parse(yaml) as { config: Record<string, unknown> }).config["api-proxy-security:tier"]);
        const bench = tier.routes.find((r) => r.path === BENCH_PATH)!;
        const limited = tier.routes.find((r) => r.path === LIMITED_PATH)!;
        assert.ok(bench.public && limited.public, "declared public, with a reason");
        assert.equal(tier.limits.rateLimitPerIp.ratePerSecond, 10_000);
        assert.equal(tier.concurrencyTarget, 100_000);
        assert.equal(tier.healthPath, "/status", "the status endpoint moved off the bench route's path");
    });

    test("the stock twin is Debian's nginx.conf with only its own paths changed", () => {
        const debian = fs.existsSync("/etc/nginx/nginx.conf") ? fs.readFileSync("/etc/nginx/nginx.conf", "utf8")
            : "user www-data;\npid /run/nginx.pid;\nerror_log /var/log/nginx/error.log;\nhttp {\n\tinclude /etc/nginx/mime.types;\n\taccess_log /var/log/nginx/access.log;\n\tinclude /etc/nginx/conf.d/*.conf;\n\tinclude /etc/nginx/sites-enabled/*;\n}\n";
        const stock = stockNginxConf(debian);
        assert.match(stock, /^pid \/run\/apx-bench-stock\.pid;$/m);
        assert.ok(!stock.includes("sites-enabled") && !stock.includes("/var/log/nginx/"));
        assert.match(stock, /include \/var\/lib\/apx-bench\/stock\/conf\.d\/\*\.conf;/);
        const server = stockServer("/etc/c.pem", "/etc/k.pem", "198.18.4.10:8080");
        assert.match(server, /listen 443 ssl http2;/);
        assert.match(server, /proxy_pass http:\/\/198\.18\.4\.10:8080;/);
        assert.ok(!/ssl_ciphers|ssl_ecdh_curve|keepalive/.test(server), "nothing tuned");
        // The stockTierGroups twin: exactly one line more, the tier's groups.
        const withGroups = stockServer("/etc/c.pem", "/etc/k.pem", "198.18.4.10:8080", "P-256:P-384");
        assert.deepEqual(withGroups.split("\n").filter((l) => !server.split("\n").includes(l)), ["    ssl_ecdh_curve P-256:P-384;"]);
    });

    test("the report judges each target and renders a table and a chart", () => {
        const report: TierBenchReport = {
            date: "2026-01-01T00:00:00.000Z", mode: "quick", machine: { cpus: 2, model: "x", kernel: "k", nginx: "1.22.1", openssl: "OpenSSL 3.0" },
            setup: ["s"], notes: [], targets: [],
            keepalive: {
                closedLoop: {
                    provisioned: { requestsPerCpuSecond: 20_000, requestsPerSecond: 9000, upstreamConnectionsPerRequest: 0, non2xx: 0, errors: 0 },
                    poolSized: { requestsPerCpuSecond: 20_000, requestsPerSecond: 9000, upstreamConnectionsPerRequest: 0, non2xx: 0, errors: 0 },
                    bound204: { requestsPerCpuSecond: 30_000, requestsPerSecond: 12_000, upstreamConnectionsPerRequest: 0, non2xx: 0, errors: 0 },
                    stock: { requestsPerCpuSecond: 10_000, requestsPerSecond: 8000, upstreamConnectionsPerRequest: 1, non2xx: 0, errors: 0 },
                },
                vsStock: 2, vsBound204: 0.667, poolSizedVsStock: 2, poolSizedVsBound204: 0.667, poolSizedKeepalive: 64, fixedRate: [], connections: 32,
                http2: { provisioned: { requestsPerCpuSecond: 1, requestsPerSecond: 1, protocol: "HTTP/2.0", errors: 0 }, stock: { requestsPerCpuSecond: 1, requestsPerSecond: 1, protocol: "HTTP/2.0", errors: 0 } },
                http2VsStock: 1,
            },
            rateLimits: { route: "/x", limit: { ratePerSecond: 50, burst: 20 }, paced: [{ multiple: 10, rate: 500, sent: 3000, ok: 315, limited: 2685, failed: 0, windowSeconds: 6, expected: 321, deviation: -0.0187 }] },
        };
        report.targets = targetRows(report);
        const byId = Object.fromEntries(report.targets.map((t) => [t.id, t.met]));
        assert.deepEqual(byId, { "keepalive-vs-stock": true, "keepalive-vs-204": true, "keepalive-pool-vs-stock": true, "keepalive-pool-vs-204": true, "limit-req-10x": true });
        const md = renderMarkdown(report);
        assert.match(md, /\| Keepalive proxied requests per proxy-CPU-s vs stock \| 2x \| >= 1\.8x stock \| met \|/);
        assert.match(renderSvg(report), /^<svg [^>]*width="1100"/);
    });
});
