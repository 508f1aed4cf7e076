// The `local` stack for real (stacks/Pulumi.local.yaml through the real engine, the project's
// providers, real containers and daemons), driven from the client segment as a user would:
// HTTPS, HTTP/2, gRPC and WebSocket through HAProxy and the proxy pair to the upstream; API-key
// refusals; default deny with the upstream's own log as proof; segments that only let through
// what the security groups would; mTLS with and without the issued
// certificate; the read timeout as 504; a hand edit seen by refresh and repaired by up (a reload);
// a config nginx -t refuses never activated while the old one keeps serving; the per-key limit
// keyed on the key service's id (random keys neither dodge nor drain it); a no-op second up;
// destroy leaves nothing.
// On the same deployment: `npm run verify` (infra/verify) passes every row, and names proxy-a's
// rows when its nginx is stopped by hand; the live security checks (testssl, mTLS with a foreign
// and an expired certificate, encoded path variants, body/header/URI limits answered with the JSON
// error body, slow headers and bodies cut by the timeouts, security headers on every kind of
// answer, per-IP rate-limit fidelity through both proxies, no secret in plaintext at rest), each
// refusal proved absent from the upstream's own journal; and the fault drills, each under bounded
// steady load counting failed requests: a proxy stopped, certificates rotated, a refused config
// pushed, a reload with WebSocket and gRPC streams open, the upstream stopped and too slow, a
// connection flood to the concurrency target, SYN bursts, a 60 s flood at 10x the rate limit.
// State goes to a temp backend and the config to stacks/Pulumi.local-it.yaml, a copy of the
// local stack file removed afterwards (git-ignored), so a user's own `npm run up` state and
// stack file are untouched; its network plan is the local stack's, so no other local stack may
// be running (the test says so instead of colliding). The tests below share one deployment: the
// first deploys it, the last destroys it (and `after` does, whatever failed).
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import * as YAML from "yaml";
import { KEYCHECK_POLICY_FILE } from "../../components/services/render-auth-policy";
import { CERTIFICATE_PATHS } from "../../infra/spec/host-paths";
import { claimsNow, curlHeaders, mintJwt, signatureHeaders, type JwtAlg } from "./request-auth-client";
import { CONTROLS } from "../../components/core/controls";
import {
    APPROVED_TLS12_CIPHERS, APPROVED_TLS13_CIPHERSUITES, CLIENT_BODY_TIMEOUT_SECONDS, CLIENT_HEADER_TIMEOUT_SECONDS,
} from "../../components/nginx/constants";
import {
    deploymentGate, makeTempDir, removeDir, repoRoot, requireEngine, runPulumi, runPulumiOk, runUpdate,
} from "./engine-helpers";

const { problem: statusProblem, skipReason } = deploymentGate();
const stack = "local-it";
const fabric = "apx-local";
const client = `${fabric}-client`;
const serverName = "api.tier.test";
const lb = "198.18.2.10";
/** The proxies' group (Debian's nginx user): the server key is 0640 root:<this>. */
const PROXY_GROUP = "www-data";
const CSP = "default-src 'none'; frame-ancestors 'none'";

interface Curl { code: number; status: string; body: string; httpVersion: string }

interface Outputs {
    caBundlePem: string; testApiKey: string; clientCertificates: Record<string, { certificatePem: string }>;
    testSignatureSecrets?: Record<string, string>; jwtSigningKeys?: Record<string, Record<string, string>>;
    jwks?: Record<string, Record<string, string>[]>;
    clientPrivateKeys: Record<string, string>; deliveries: Record<string, { notApplied: string[] }>;
    limits: { maxBodyBytes: number; largeHeaderBufferKb: number };
    rateLimits: { perIp: { ratePerSecond: number; burst: number } };
}

interface VerifyRow { id: string; check: string; host: string; status: string; detail: string; data?: Record<string, number> }
interface VerifyReport { ok: boolean; rows: VerifyRow[] }

/** The init process of a container (systemd-nspawn's child). */
function containerInit(host: string): string {
    const pid = fs.readFileSync(path.join(repoRoot, ".tools", "local-stacks", fabric, host, "nspawn.pid"), "utf8").trim();
    return execFileSync("pgrep", ["-P", pid], { encoding: "utf8" }).trim().split("\n")[0];
}

/** Runs a command inside a container (all its namespaces), or with `networkOnly` this machine's binary in its network. */
function inHost(host: string, args: string[], networkOnly = false): string {
    // The upstream's journal grows to several MB over the drills.
    return execFileSync("nsenter", ["-t", containerInit(host), networkOnly ? "-n" : "-a", ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
}

/** One command on HAProxy's admin socket (reached through the container's root); its answer. */
function haproxyAdmin(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = net.connect(`/proc/${containerInit("lb")}/root/run/haproxy/admin.sock`, () => socket.end(`${command}\n`));
        let text = "";
        socket.setTimeout(5000, () => socket.destroy(new Error("haproxy admin socket: timeout")));
        socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
        socket.on("error", reject);
        socket.on("end", () => resolve(text));
    });
}

/** HAProxy's own view of the pair: "backend/server" -> op state (2 = up, 0 = down). */
async function haproxyServers(): Promise<Record<string, number>> {
    const states: Record<string, number> = {};
    for (const line of (await haproxyAdmin("show servers state")).split("\n").filter((l) => /^\d+ /.test(l))) {
        const [, backend, , server, , opState] = line.split(" ");
        states[`${backend}/${server}`] = Number(opState);
    }
    return states;
}

/** Polls until `condition` holds (every 500 ms, at most `ms`). */
async function waitFor(what: string, ms: number, condition: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
        if (await condition().catch(() => false)) return;
        await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** Header blocks curl printed with -D - / -i (the last one), names lower-cased. */
function parseHead(text: string): { status: string; headers: Map<string, string> } {
    const blocks = text.split(/\r?\n\r?\n/).filter((b) => /^HTTP\//.test(b));
    const [statusLine, ...lines] = (blocks.at(-1) ?? "").split(/\r?\n/);
    const headers = new Map<string, string>();
    for (const line of lines) {
        const at = line.indexOf(":");
        if (at > 0) headers.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
    }
    return { status: /^HTTP\/[\d.]+ (\d{3})/.exec(statusLine ?? "")?.[1] ?? "000", headers };
}

function assertSecurityHeaders(head: { status: string; headers: Map<string, string> }, what: string): void {
    const h = head.headers;
    assert.ok(!/\d/.test(h.get("server") ?? ""), `${what}: Server discloses a version: ${h.get("server")}`);
    assert.equal(h.get("x-powered-by"), undefined, `${what}: X-Powered-By`);
    const hsts = /^max-age=(\d+); includeSubDomains$/.exec(h.get("strict-transport-security") ?? "");
    assert.ok(hsts && Number(hsts[1]) >= 31_536_000, `${what}: HSTS of at least a year: ${h.get("strict-transport-security")}`);
    assert.equal(h.get("x-content-type-options"), "nosniff", `${what}: X-Content-Type-Options`);
    assert.equal(h.get("x-frame-options"), "DENY", `${what}: X-Frame-Options`);
    assert.equal(h.get("content-security-policy"), CSP, `${what}: Content-Security-Policy`);
}

describe("the local stack: the whole tier on this machine, from the client segment", { timeout: 900_000 }, () => {
    let work: string | undefined;
    let opts = { cwd: repoRoot, env: {} as NodeJS.ProcessEnv, timeoutMs: 600_000 };
    let configFile = "";
    let created = false;
    let deployed = false;
    let out = {} as Outputs;
    let ca = "";
    let key: string[] = [];

    after(async () => {
        try {
            if (created) {
                await runPulumi(["destroy", "--yes", "--skip-preview", "--stack", stack], opts);
            }
        } finally {
            removeDir(work);
            if (configFile) fs.rmSync(configFile, { force: true });
            // verify's last report of this stack (.tools/verify/<stack>.json): the stack is gone.
            fs.rmSync(path.join(repoRoot, ".tools", "verify", `${stack}.json`), { force: true });
        }
    });

    const pulumi = (args: string[]) => runPulumiOk([...args, "--stack", stack], opts);
    const file = (name: string, text: string | Buffer): string => {
        const p = path.join(work!, name);
        fs.writeFileSync(p, text, { mode: 0o600 });
        return p;
    };
    const curl = (port: number, urlPath: string, extra: string[] = []): Curl => {
        const r = spawnSync("ip", ["netns", "exec", client, "curl", "-sS", "--max-time", "10", "--cacert", ca,
            "--resolve", `${serverName}:${port}:${lb}`, "-w", "\n%{http_code} %{http_version}", ...extra,
            `https://${serverName}:${port}${urlPath}`], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
        const lines = r.stdout.trimEnd().split("\n");
        const [statusCode, httpVersion] = (lines.pop() ?? "").split(" ");
        return { code: r.status ?? -1, status: statusCode, body: lines.join("\n"), httpVersion };
    };
    /** The answer's status, headers and JSON error (curl -D -). */
    const curlHead = (port: number, urlPath: string, extra: string[] = []) => {
        const bodyFile = path.join(work!, "body");
        fs.rmSync(bodyFile, { force: true });
        const r = curl(port, urlPath, ["-D", "-", "-o", bodyFile, ...extra]);
        const body = fs.existsSync(bodyFile) ? fs.readFileSync(bodyFile, "utf8") : "";
        let error: string | undefined;
        try {
            error = (JSON.parse(body) as { error?: string }).error;
        } catch {
            error = undefined;
        }
        return { ...parseHead(r.body), code: r.code, body, error };
    };
    /** The upstream's own request log. */
    const journal = (): string => inHost("upstream-1", ["journalctl", "-o", "cat", "--no-pager", "-u", "apiproxy-upstream-orders-8080"]);
    const deployment = () => {
        if (!deployed) throw new Error("the deployment (first test) did not succeed");
    };
    /** `npm run verify -- local-it --json` with this test's backend; the report from its stdout (after npm's banner). */
    const verify = (): { code: number; report: VerifyReport; stderr: string } => {
        const r = spawnSync("npm", ["run", "verify", "--", stack, "--json"], {
            cwd: repoRoot, encoding: "utf8", env: { ...process.env, ...opts.env }, timeout: 120_000, maxBuffer: 64 * 1024 * 1024,
        });
        const start = r.stdout.search(/^\{/m);
        assert.ok(start >= 0, `verify printed no JSON report (exit ${r.status}):\n${r.stderr.split("\n").slice(-15).join("\n")}`);
        return { code: r.status ?? -1, report: JSON.parse(r.stdout.slice(start)) as VerifyReport, stderr: r.stderr };
    };

    interface LoadResult {
        sent: number; ok: number; limited: number; other: number; failed: number; windowSeconds: number;
        /** GETs sent again after their reused keep-alive connection was closed before any answer (rate-client.js). */
        retried: number; retries: Record<string, number>;
        statuses: Record<string, { n: number; maxMs: number; firstAt: number; lastAt: number }>;
    }
    /** Steady GET load from the client segment (rate-client.js): `rate` r/s for `seconds` from `address`, with the test API key. */
    const load = (rate: number, seconds: number, urlPath: string, address = "198.18.1.10"): Promise<LoadResult> => new Promise((resolve, reject) => {
        const child = spawn("ip", ["netns", "exec", client, "node", path.join(__dirname, "rate-client.js"), lb, serverName, ca, out.testApiKey,
            urlPath, String(rate), String(seconds), address], { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
        child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
        child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(stdout) as LoadResult) : reject(new Error(`rate-client exit ${code}: ${stderr.slice(-400)}`))));
    });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const accessLines = (host: string) => Number(inHost(host, ["sh", "-c", "wc -l < /var/log/nginx/access.log"]).trim());
    /** Which proxy HAProxy sends `address` to (source affinity): the one whose access log grows on a probe from it. */
    const servingProxy = (address: string): string => {
        const before = { a: accessLines("proxy-a"), b: accessLines("proxy-b") };
        assert.equal(curl(443, "/api/v1/orders/which", [...key, "--interface", address]).status, "200");
        return accessLines("proxy-a") > before.a ? "proxy-a" : "proxy-b";
    };
    /** The client segment's interface (where extra client addresses go). */
    const clientDevice = () => execFileSync("ip", ["-n", client, "-o", "-4", "addr", "show"], { encoding: "utf8" })
        .split("\n").find((l) => l.includes(" 198.18.1.10/"))!.split(/\s+/)[1];
    /** TcpExt counters of a host's network namespace (/proc/net/netstat as that namespace sees it). */
    const tcpExt = (host: string): Record<string, number> => {
        const lines = inHost(host, ["cat", "/proc/net/netstat"], true).split("\n").filter((l) => l.startsWith("TcpExt:"));
        const [names, values] = lines.map((l) => l.split(/\s+/).slice(1));
        return Object.fromEntries(names.map((n, i) => [n, Number(values[i])]));
    };
    const masterPid = (host: string): string => inHost(host, ["systemctl", "show", "-p", "MainPID", "--value", "nginx"]).trim();
    const workerPids = (host: string): string[] => inHost(host, ["sh", "-c", `pgrep -P ${masterPid(host)} || true`]).trim().split("\n").filter(Boolean).sort();
    /** The serial of the certificate the tier serves on `port` (openssl from the client segment). */
    const servedSerial = (port: number): string => execFileSync("sh", ["-c",
        `ip netns exec ${client} openssl s_client -connect ${lb}:${port} -servername ${serverName} </dev/null 2>/dev/null | openssl x509 -noout -serial`],
    { encoding: "utf8" }).trim();
    const failedOf = (r: LoadResult) => r.failed + r.other;
    /** "failed F of N, retried R (ECONNRESET n)": what a drill's client saw. */
    const outcome = (r: LoadResult) => `failed ${failedOf(r)} of ${r.sent}, retried ${r.retried}${r.retried ? ` (${Object.entries(r.retries).map(([k, n]) => `${k} ${n}`).join(", ")})` : ""}`;
    /**
     * A graceful reload or stop closes idle keep-alive connections; a GET already on its way over
     * one is retried by the client (RFC 9112 section 9.3.1), which the drills count, not hide. Each
     * retry is one connection closed under a request, so a drill with `closings` such events (a
     * proxy's reload or stop) sees at most the client's pool (RATE_CLIENT_SOCKETS) per event.
     */
    const RATE_CLIENT_SOCKETS = 64;
    const assertRetriesBounded = (r: LoadResult, closings: number) =>
        assert.ok(r.retried <= RATE_CLIENT_SOCKETS * Math.max(1, closings), `retried ${r.retried} (at most ${RATE_CLIENT_SOCKETS} per closing): ${JSON.stringify(r)}`);

    it("deploys the local stack (once, for every test below)", { skip: skipReason || false }, async () => {
        if (statusProblem) throw new Error(statusProblem);
        requireEngine(path.join(repoRoot, ".pulumi"));
        assert.ok(!execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).includes(`${fabric}-`),
            `a local stack is already running on this machine (namespaces ${fabric}-*): npm run down first`);
        work = makeTempDir("local-stack");
        configFile = path.join(repoRoot, "stacks", `Pulumi.${stack}.yaml`);
        // The committed stack file without any machine's encryptionsalt (stack init adds this test's).
        fs.writeFileSync(configFile, fs.readFileSync(path.join(repoRoot, "stacks", "Pulumi.local.yaml"), "utf8").replace(/^encryptionsalt:.*\n?/m, ""));
        opts = {
            cwd: repoRoot, timeoutMs: 600_000,
            env: { PULUMI_BACKEND_URL: `file://${work}`, PULUMI_CONFIG_PASSPHRASE: "local-stack-test-only", PULUMI_CONFIG_PASSPHRASE_FILE: undefined },
        };
        await runPulumiOk(["stack", "init", stack], opts);
        created = true;
        const first = await runUpdate(["up", "--yes", "--skip-preview", "--stack", stack], opts, stack);
        assert.equal(first.result, "succeeded");

        out = JSON.parse((await pulumi(["stack", "output", "--json", "--show-secrets"])).stdout) as Outputs;
        ca = file("ca.pem", out.caBundlePem);
        key = ["-H", `X-API-Key: ${out.testApiKey}`];
        deployed = true;
    });

    it("npm run verify: every row PASS on the fresh deployment; with nginx stopped on proxy-a it exits 1 naming proxy-a's rows",
        { skip: skipReason || false }, async () => {
            deployment();
            const fresh = verify();
            const failing = fresh.report.rows.filter((r) => r.status !== "pass");
            assert.deepEqual(failing.map((r) => `${r.id}: ${r.status} ${r.detail}`), [], "every row passes");
            assert.equal(fresh.code, 0, fresh.stderr);
            assert.equal(fresh.report.ok, true);
            // The whole matrix, one row per check and host: nothing left out, nothing skipped.
            const hosts = ["lb", "proxy-a", "proxy-b", "upstream-1", "keystore"];
            const proxies = ["proxy-a", "proxy-b"];
            const expected = [
                "tls-handshake:client:443", "tls-handshake:client:8443", "response-headers:client", "certificate-expiry:client", "path-mtu:client",
                "default-deny:client", "request-checks:client", "body-limit:client", "header-buffers:client", "encoded-paths:client",
                ...proxies.flatMap((p) => [`sshd:${p}`, `syn-flood:${p}`]),
                ...hosts.flatMap((h) => [`sockets:${h}`, `systemd-units:${h}`, `drift:${h}`]),
                ...proxies.flatMap((p) => [`health:${p}`, `firewall:${p}`, `rate-limit-events:${p}`, `certificate-expiry:${p}`, `nofile:${p}`]),
            ];
            assert.deepEqual(fresh.report.rows.map((r) => r.id).sort(), expected.sort());

            // npm run evidence -- local-it: all three columns, from the deployed state and this verify run.
            const evidenceRun = spawnSync("npm", ["run", "evidence", "--", stack, "--out", work!], {
                cwd: repoRoot, encoding: "utf8", env: { ...process.env, ...opts.env }, timeout: 120_000, maxBuffer: 64 * 1024 * 1024,
            });
            assert.equal(evidenceRun.status, 0, evidenceRun.stderr.split("\n").slice(-10).join("\n"));
            const evidence = JSON.parse(fs.readFileSync(path.join(work!, `${stack}.json`), "utf8")) as {
                totals: { controls: number; provisioned: number; enforced: number; verified: number };
                rows: { id: string; columns: { provisioned: boolean; enforced: boolean; verified: boolean } }[];
            };
            const short = (column: "provisioned" | "enforced") => evidence.rows.filter((r) => !r.columns[column]).map((r) => r.id);
            assert.deepEqual(short("provisioned"), [], "every control is provisioned (or not applicable) on the local stack");
            assert.deepEqual(short("enforced"), [], "every control's policies pass on the local stack's state");
            const liveControls = CONTROLS.filter((c) => "check" in c.verifiedBy).map((c) => c.id).sort();
            assert.deepEqual(evidence.rows.filter((r) => r.columns.verified).map((r) => r.id).sort(), liveControls, "every live-checkable control verified by this run");
            assert.ok(fs.existsSync(path.join(work!, `${stack}.html`)) && fs.existsSync(path.join(work!, `${stack}.md`)));

            // nginx stopped by hand on proxy-a: once the load balancer has taken it out, exactly its rows fail.
            inHost("proxy-a", ["systemctl", "stop", "nginx"]);
            try {
                await waitFor("HAProxy to mark proxy-a down", 20_000, async () => {
                    const s = await haproxyServers();
                    return s["proxies-https/proxy-a"] === 0 && s["proxies-mtls/proxy-a"] === 0;
                });
                const stopped = verify();
                assert.equal(stopped.code, 1, "verify exits non-zero on a failing row");
                assert.equal(stopped.report.ok, false);
                const failed = stopped.report.rows.filter((r) => r.status === "fail");
                assert.deepEqual(failed.map((r) => r.id).sort(), ["health:proxy-a", "nofile:proxy-a", "sockets:proxy-a", "systemd-units:proxy-a"],
                    failed.map((r) => `${r.id}: ${r.detail}`).join("\n"));
                assert.match(failed.find((r) => r.check === "systemd-units")!.detail, /nginx inactive/);
                assert.match(failed.find((r) => r.check === "sockets")!.detail, /nginx not listening on 443/);
                // The rest of the tier kept serving through proxy-b (the client rows pass).
                assert.ok(stopped.report.rows.filter((r) => r.host === "client").every((r) => r.status === "pass"));
            } finally {
                inHost("proxy-a", ["systemctl", "start", "nginx"]);
                await waitFor("HAProxy to mark proxy-a up again", 20_000, async () => {
                    const s = await haproxyServers();
                    return s["proxies-https/proxy-a"] === 2 && s["proxies-mtls/proxy-a"] === 2;
                });
            }
        });

    it("serves every protocol through the LB and the pair, refuses what it must (API keys, OpenAPI, signatures, JWT, segments), the upstream's log as proof",
        { skip: skipReason || false }, async () => {
            deployment();
            // HTTPS over HTTP/2 to the upstream, which sees the real client address (PROXY v2) and the key's id, never the key.
            const ok = curl(443, "/api/v1/orders/42", [...key, "--http2"]);
            assert.equal(ok.status, "200", ok.body);
            assert.equal(ok.httpVersion, "2");
            const seen = JSON.parse(ok.body) as { path: string; headers: Record<string, string> };
            assert.equal(seen.path, "/api/v1/orders/42");
            assert.equal(seen.headers["X-Real-Ip"], "198.18.1.10");
            assert.equal(seen.headers["X-Api-Key-Id"], "local-demo");
            assert.equal(seen.headers["X-Api-Key"], undefined, "the key itself never reaches the upstream");

            // Refusals answered at the proxy.
            assert.equal(curl(443, "/api/v1/orders/42", ["-H", "X-API-Key: not-a-key-not-a-key-not-a-key-0000"]).status, "401");
            assert.equal(curl(443, "/api/v1/orders/42").status, "401");
            const marker = `/api/v1/undeclared-${Date.now()}`;
            assert.equal(curl(443, marker, key).status, "404");
            assert.equal(curl(443, "/api/v1/orders/42", [...key, "-X", "DELETE"]).status, "405");

            // The read timeout of the slow route answers 504 at its configured time.
            const started = Date.now();
            assert.equal(curl(443, "/api/v1/slow?delay=5s", key).status, "504");
            assert.ok(Date.now() - started < 4_500, "504 after the 2 s read timeout, not the upstream's 5 s");

            // gRPC and WebSocket round trips.
            const node = (args: string[]): Record<string, unknown> => JSON.parse(execFileSync("ip", ["netns", "exec", client, "node",
                path.join(__dirname, "local-client.js"), ...args], { encoding: "utf8", cwd: repoRoot, env: { ...process.env, NODE_PATH: path.join(repoRoot, "node_modules") } }));
            assert.deepEqual(node(["grpc", lb, serverName, ca, out.testApiKey, "hello over grpc"]), { echo: "hello over grpc" });
            assert.deepEqual(node(["websocket", lb, serverName, ca, out.testApiKey, "/api/v1/stream", "hello over ws"]), { echo: "hello over ws" });

            // mTLS on 8443: no certificate fails the handshake; the issued one passes.
            const noCert = curl(8443, "/api/v1/admin/orders/1");
            assert.notEqual(noCert.status, "200", "no client certificate, no answer");
            const withCert = curl(8443, "/api/v1/admin/orders/1", ["--cert", file("client.pem", out.clientCertificates.payments.certificatePem),
                "--key", file("client.key", out.clientPrivateKeys.payments)]);
            assert.equal(withCert.status, "200", withCert.body);
            // The admin route admits the payments client only: another issued certificate gets 403.
            const otherClient = curl(8443, "/api/v1/admin/orders/1", ["--cert", file("ops.pem", out.clientCertificates.ops.certificatePem),
                "--key", file("ops.key", out.clientPrivateKeys.ops)]);
            assert.equal(otherClient.status, "403", otherClient.body);

            // OpenAPI routes (stacks/openapi/orders.yaml under /api/v2), validated in nginx before the
            // upstream sees anything: each rejected body is unique, and its digest never reaches the upstream's log.
            const sent: { body: string; status: string }[] = [];
            const order = (extra: Record<string, unknown> = {}) => JSON.stringify({
                sku: "ABC-1234", quantity: 2, lines: [{ item: "3f1c2a9e-8b7d-4c6e-9a5f-1d2e3f4a5b6c", count: 1 }], note: `n${sent.length}-${Date.now()}`, ...extra,
            });
            const post = (body: string, type = "application/json", headers: string[] = ["-H", "Idempotency-Key: k1"]): Curl => {
                const reply = curl(443, "/api/v2/orders", [...key, ...headers, "-X", "POST", "-H", `Content-Type: ${type}`, "--data-binary", body]);
                sent.push({ body, status: reply.status });
                return reply;
            };
            const problem = (reply: Curl) => JSON.parse(reply.body) as { error: string; status: number; pointer?: string; detail: string };
            assert.equal(post(order()).status, "200", "a valid order passes");
            assert.equal(post(order(), "text/plain").status, "415");
            const badQuantity = post(order({ quantity: 0 }));
            assert.equal(badQuantity.status, "400");
            assert.deepEqual([problem(badQuantity).error, problem(badQuantity).pointer], ["invalid_body", "/quantity"]);
            assert.equal(problem(post(order({ lines: [{ item: "not-a-uuid", count: 1 }] }))).pointer, "/lines/0/item");
            assert.equal(problem(post(order({ extra: true }))).pointer, "/extra");
            assert.equal(problem(post("{\"sku\": ")).error, "invalid_json");
            assert.equal(problem(post(order(), "application/json", [])).error, "missing_header");
            assert.equal(curl(443, "/api/v2/orders", key).status, "400", "the required query parameter limit");
            assert.equal(curl(443, "/api/v2/orders?limit=5", key).status, "200");
            assert.equal(curl(443, "/api/v2/orders/42", key).status, "200", "the templated path");
            // Parameter values against their schemas: limit is an integer 1-100, orderId an integer >= 1.
            for (const bad of ["/api/v2/orders?limit=0", "/api/v2/orders?limit=abc", "/api/v2/orders?limit=101", "/api/v2/orders/abc", "/api/v2/orders/0"]) {
                const reply = curl(443, bad, key);
                assert.equal(reply.status, "400", `${bad}: ${reply.body}`);
                assert.equal(problem(reply).error, "invalid_parameter", bad);
            }
            assert.equal(curl(443, "/api/v2/orders/42/extra", key).status, "404", "a template matches one segment per parameter, not a prefix");
            assert.equal(problem(curl(443, "/api/v2/orders/42", [...key, "-H", "Content-Type: application/json", "--data-binary", "{}", "-X", "GET"])).error, "unexpected_body");
            assert.equal(curl(443, "/api/v2/orders", [...key, "-X", "DELETE"]).status, "405");
            // Seeded fuzz: orders each broken in one way (by construction invalid) are all refused, none reaches the upstream.
            let seed = 0x0a11ce;
            const next = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
            const breakOrder: ((o: Record<string, any>) => void)[] = [
                (o) => { delete o.sku; }, (o) => { delete o.quantity; }, (o) => { delete o.lines; },
                (o) => { o.quantity = 0; }, (o) => { o.quantity = 1001; }, (o) => { o.quantity = 2.5; }, (o) => { o.quantity = "3"; },
                (o) => { o.sku = "abc-1234"; }, (o) => { o.sku = "ABC-12345"; }, (o) => { o.sku = null; },
                (o) => { o.lines = []; }, (o) => { o.lines = Array.from({ length: 51 }, () => o.lines[0]); }, (o) => { o.lines[0].item = "0000"; },
                (o) => { o.lines[0].count = 0; }, (o) => { o.lines[0].extra = 1; }, (o) => { delete o.lines[0].count; }, (o) => { o.note = "x".repeat(201); },
                (o) => { o.unknown = true; }, (o) => { o.lines = {}; },
            ];
            for (let i = 0; i < 40; i++) {
                const o = JSON.parse(order({ quantity: 1 + next(1000) })) as Record<string, any>;
                breakOrder[next(breakOrder.length)](o);
                let reply = post(JSON.stringify(o));
                // The per-IP limit (50 r/s, burst 20) may answer a quick run first: wait and send again (bounded).
                for (let retry = 0; reply.status === "429" && retry < 5; retry++) {
                    execFileSync("sleep", ["0.2"]);
                    reply = post(JSON.stringify(o));
                }
                assert.equal(reply.status, "400", `fuzz case ${i}: ${reply.body}`);
            }
            // Signed requests (partner-orders: partner-a) and JWTs (token-orders: issuer local), checked by the
            // key service before any upstream; refused ones carry a marker path the upstream's log must never show.
            const refusedMarkers: string[] = [];
            const mark = (what: string) => { const m = `/refused-${what}-${Date.now()}`; refusedMarkers.push(m); return m; };
            const secrets = out.testSignatureSecrets!;
            const signedCurl = (uri: string, keyId: string, body?: string, extra: Partial<Parameters<typeof signatureHeaders>[0]> = {}) =>
                curl(443, uri, [...curlHeaders(signatureHeaders({ method: body ? "POST" : "GET", uri, body, keyId, secret: secrets[keyId] ?? "x".repeat(40), ...extra })),
                    ...(body ? ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", body] : [])]);
            const why = (reply: Curl) => (JSON.parse(reply.body) as { reason?: string; error: string });
            const signedOk = signedCurl("/api/partner/orders/7?view=full", "partner-a-2026-11", JSON.stringify({ sku: "ABC-1234" }));
            assert.equal(signedOk.status, "200", signedOk.body);
            assert.equal((JSON.parse(signedOk.body) as { headers: Record<string, string> }).headers["X-Apiproxy-Client"], "partner-a");
            const retiredKey = signedCurl(`/api/partner/orders${mark("retired-key")}`, "partner-a-2026-10");
            assert.deepEqual([retiredKey.status, why(retiredKey).reason], ["401", "key-not-valid-now"], "the rotated-out key after its notAfter");
            const notAdmitted = signedCurl(`/api/partner/orders${mark("partner-b")}`, "partner-b-1");
            assert.equal(notAdmitted.status, "403", "partner-b signs validly but the route admits partner-a only");
            const replayUri = "/api/partner/orders/replay";
            const once = signatureHeaders({ method: "GET", uri: replayUri, keyId: "partner-a-2026-11", secret: secrets["partner-a-2026-11"] });
            assert.equal(curl(443, replayUri, curlHeaders(once)).status, "200");
            const replayed = curl(443, replayUri, curlHeaders(once));
            assert.deepEqual([replayed.status, why(replayed).reason], ["401", "replayed"], "the same nonce again is refused (the nonces live in the tier's one Redis, whichever proxy is hit)");
            const staleUri = `/api/partner/orders${mark("stale")}`;
            assert.equal(why(signedCurl(staleUri, "partner-a-2026-11", undefined, { timestamp: Math.floor(Date.now() / 1000) - 600 })).reason, "stale-timestamp");
            const tamperUri = `/api/partner/orders${mark("tampered")}`;
            const tampered = curl(443, tamperUri, [...curlHeaders(signatureHeaders({ method: "POST", uri: tamperUri, body: "{\"amount\":1}", keyId: "partner-a-2026-11", secret: secrets["partner-a-2026-11"] })),
                "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "{\"amount\":1000}"]);
            assert.deepEqual([tampered.status, why(tampered).error], ["400", "digest_mismatch"]);
            assert.equal(why(curl(443, `/api/partner/orders${mark("unsigned")}`)).reason, "signature-missing");

            const signingKeys = out.jwtSigningKeys!.local;
            const jwt = (kid: string, alg: JwtAlg, claims: Record<string, unknown>) => mintJwt({ alg, kid, privateKeyPem: signingKeys[kid], claims });
            const tokenCurl = (uri: string, token: string) => curl(443, uri, ["-H", `Authorization: Bearer ${token}`, "-H", "X-Apiproxy-Subject: forged"]);
            const issuer = "https://issuer.api.tier.test";
            for (const [kid, alg] of [["local-es256", "ES256"], ["local-eddsa", "EdDSA"], ["local-rs256", "RS256"]] as const) {
                const reply = tokenCurl("/api/token/orders/1", jwt(kid, alg, claimsNow(issuer, "orders-api", `svc-${kid}`)));
                assert.equal(reply.status, "200", `${kid}: ${reply.body}`);
                assert.equal((JSON.parse(reply.body) as { headers: Record<string, string> }).headers["X-Apiproxy-Subject"], `svc-${kid}`);
            }
            assert.deepEqual(Object.keys(out.jwks!.local[0]).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"], "the JWKS output holds public members only");
            const now = Math.floor(Date.now() / 1000);
            const badTokens: [string, string, string][] = [
                ["expired", jwt("local-es256", "ES256", { ...claimsNow(issuer, "orders-api", "s"), iat: now - 900, nbf: now - 900, exp: now - 300 }), "expired"],
                ["audience", jwt("local-es256", "ES256", claimsNow(issuer, "billing", "s")), "wrong-audience"],
                ["issuer", jwt("local-es256", "ES256", claimsNow("https://evil.test", "orders-api", "s")), "wrong-issuer"],
                ["retired", jwt("local-retired", "ES256", claimsNow(issuer, "orders-api", "s")), "key-retired"],
                ["lifetime", jwt("local-es256", "ES256", claimsNow(issuer, "orders-api", "s", 7200)), "lifetime-too-long"],
            ];
            for (const [what, token, reason] of badTokens) {
                const reply = tokenCurl(`/api/token/orders${mark(`jwt-${what}`)}`, token);
                assert.deepEqual([reply.status, why(reply).reason], ["401", reason], what);
            }

            // Segments filter like security groups: the client reaches the load balancer only,
            // never a proxy or an upstream directly.
            const direct = (address: string, port: number): number => spawnSync("ip", ["netns", "exec", client, "curl", "-sS", "-o", "/dev/null",
                "--connect-timeout", "2", "--max-time", "3", "-k", `https://${address}:${port}/`], { encoding: "utf8" }).status ?? -1;
            assert.equal(direct("198.18.3.10", 443), 28, "the client reached a proxy around the load balancer");
            assert.equal(direct("198.18.4.10", 8080), 28, "the client reached an upstream");

            // The upstream's own log: the declared requests arrived, the undeclared path never did.
            const journal = inHost("upstream-1", ["journalctl", "-o", "cat", "--no-pager", "-u", "apiproxy-upstream-orders-8080"]);
            assert.match(journal, /"path":"\/api\/v1\/orders\/42"/);
            assert.ok(!journal.includes(marker), "an undeclared path reached the upstream");
            assert.ok(!journal.includes("DELETE"), "a refused method reached the upstream");
            const digest = (body: string) => createHash("sha256").update(body).digest("hex");
            assert.ok(journal.includes(digest(sent[0].body)), "the valid order reached the upstream");
            for (const rejected of sent.filter((x) => x.status !== "200")) {
                assert.ok(!journal.includes(digest(rejected.body)), `a body refused with ${rejected.status} reached the upstream`);
            }
            assert.ok(!journal.includes("/api/v2/orders/42/extra"));
            for (const refused of refusedMarkers) assert.ok(!journal.includes(refused), `${refused} reached the upstream`);
            assert.match(journal, /\/api\/partner\/orders\/7/, "the signed request reached the upstream");
            assert.ok(!journal.includes("/api/v2/orders/abc") && !journal.includes("limit=abc") && !journal.includes("limit=101"), "an invalid parameter reached the upstream");

            // What a container could not apply is reported, never skipped in silence.
            assert.ok(out.deliveries["proxy-a"].notApplied.some((n) => n.startsWith("sysctl kernel.")));
            assert.ok(!out.deliveries["proxy-a"].notApplied.some((n) => n.includes("ip_local_port_range")), "per-namespace net.* keys apply");
        });

    it("an independent TLS scan (testssl, Debian's) of 443 and 8443: no SSLv2/3, TLS 1.0/1.1; only NIST suites and groups; the chain valid against the stack's CA; no LOW-or-worse finding configuration could avoid",
        { skip: skipReason || false }, async () => {
            deployment();
            // The client segment has no DNS: testssl's openssl capability probes resolve "invalid." and would each wait
            // out the resolver (150 s in all); a resolver on loopback refuses at once.
            const resolv = file("resolv.conf", "nameserver 127.0.0.1\n");
            const scan = (port: number): Promise<{ id: string; severity: string; finding: string }[]> => new Promise((resolve, reject) => {
                const json = path.join(work!, `testssl-${port}.json`);
                const child = spawn("ip", ["netns", "exec", client, "unshare", "-m", "sh", "-c",
                    `mount --bind ${resolv} /etc/resolv.conf && exec testssl --quiet --color 0 --warnings off --nodns none --ip ${lb} --add-ca ${ca} --jsonfile ${json} https://${serverName}:${port}`],
                    { stdio: ["ignore", "ignore", "pipe"] });
                let stderr = "";
                child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
                const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
                child.on("exit", (code) => {
                    clearTimeout(timer);
                    if (!fs.existsSync(json)) reject(new Error(`testssl on ${port} wrote no report (exit ${code}): ${stderr.slice(-500)}`));
                    else resolve(JSON.parse(fs.readFileSync(json, "utf8")));
                });
            });
            const [https, mtls] = await Promise.all([scan(443), scan(8443)]);
            const nistTls12: readonly string[] = APPROVED_TLS12_CIPHERS;
            const nistTls13: readonly string[] = APPROVED_TLS13_CIPHERSUITES;
            // Findings no configuration of this stack can avoid: the private CA's certificates carry no CRL or OCSP
            // URI (@pulumi/tls cannot add either); the scanning client's own openssl has no GOST engine.
            const unavoidable = new Set(["cert_revocation", "engine_problem"]);
            for (const [port, findings] of [[443, https], [8443, mtls]] as const) {
                const by = (id: string) => findings.find((f) => f.id === id)?.finding ?? "(absent)";
                for (const id of ["SSLv2", "SSLv3", "TLS1", "TLS1_1"]) assert.match(by(id), /^not offered/, `${port}: ${id} ${by(id)}`);
                assert.match(by("TLS1_2"), /^offered/, `${port}: TLS 1.2`);
                assert.match(by("TLS1_3"), /^offered/, `${port}: TLS 1.3`);
                const tls12 = by("cipherorder_TLSv1_2").split(/\s+/).filter(Boolean);
                const tls13 = by("cipherorder_TLSv1_3").split(/\s+/).filter(Boolean);
                assert.ok(tls12.length > 0 && tls12.every((c) => nistTls12.includes(c)), `${port}: TLS 1.2 suites ${tls12.join(" ")}`);
                assert.ok(tls13.length > 0 && tls13.every((c) => nistTls13.includes(c)), `${port}: TLS 1.3 suites ${tls13.join(" ")}`);
                const curves = by("PFS_ECDHE_curves").split(/\s+/).filter(Boolean);
                assert.ok(curves.length > 0 && curves.every((c) => ["prime256v1", "secp384r1", "secp521r1"].includes(c)), `${port}: groups ${curves.join(" ")}`);
                assert.match(by("cert_chain_of_trust"), /^passed/, `${port}: chain`);
                const avoidable = findings.filter((f) => ["LOW", "MEDIUM", "HIGH", "CRITICAL"].includes(f.severity) && !unavoidable.has(f.id));
                assert.deepEqual(avoidable.map((f) => `${f.severity} ${f.id}: ${f.finding}`), [], `${port}: findings configuration could avoid`);
                const remaining = findings.filter((f) => ["LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN"].includes(f.severity));
                process.stdout.write(`testssl ${port}: ${tls12.join(" ")} | ${tls13.join(" ")} | ${curves.join(" ")}; remaining: ${remaining.map((f) => `${f.severity} ${f.id}`).join(", ")}\n`);
            }
        });

    it("mTLS on 8443: no certificate, a foreign CA's and an expired one are refused (400), another issued client 403, the issued one 200; no refusal reaches the upstream",
        { skip: skipReason || false }, () => {
            deployment();
            // The stack's client CA key is not an output (mtlsClientCaPem is its certificate only), so
            // the expired certificate comes from a CA of this test: nginx must refuse it as it refuses
            // the foreign one. Both name the payments client's CN, so only the chain can refuse them.
            const dir = path.join(work!, "foreign");
            fs.mkdirSync(dir, { mode: 0o700 });
            const openssl = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
            const cn = "/O=api-proxy-security/CN=payments-team";
            openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key"]);
            openssl(["req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=foreign client CA", "-days", "2", "-out", "ca.pem",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
            for (const name of ["foreign", "expired"]) {
                openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`]);
                openssl(["req", "-new", "-key", `${name}.key`, "-subj", cn, "-out", `${name}.csr`]);
            }
            fs.writeFileSync(path.join(dir, "client.ext"), "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n");
            openssl(["x509", "-req", "-in", "foreign.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "client.ext", "-out", "foreign.pem"]);
            // `openssl ca` is the one that can set a validity in the past.
            fs.writeFileSync(path.join(dir, "index.txt"), "");
            fs.writeFileSync(path.join(dir, "serial"), "1000\n");
            fs.writeFileSync(path.join(dir, "ca.cnf"), [
                "[ca]", "default_ca = test_ca", "[test_ca]", `dir = ${dir}`, "database = $dir/index.txt", "new_certs_dir = $dir", "serial = $dir/serial",
                "default_md = sha256", "policy = any", "unique_subject = no", "x509_extensions = client",
                "[any]", "commonName = supplied", "organizationName = optional",
                "[client]", "basicConstraints = critical,CA:FALSE", "keyUsage = critical,digitalSignature", "extendedKeyUsage = clientAuth", "",
            ].join("\n"));
            openssl(["ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-in", "expired.csr", "-out", "expired.pem",
                "-startdate", "20250101000000Z", "-enddate", "20250201000000Z", "-notext"]);
            assert.notEqual(spawnSync("openssl", ["x509", "-checkend", "0", "-noout", "-in", path.join(dir, "expired.pem")]).status, 0, "the certificate is expired");

            const stamp = Date.now();
            const admin = (what: string) => `/api/v1/admin/orders/mtls-${what}-${stamp}`;
            const cert = (pem: string, keyFile: string) => ["--cert", pem, "--key", keyFile];
            const refusals: [string, string[], string, string | undefined][] = [
                ["none", [], "400", "client_certificate_required"],
                ["foreign-ca", cert(path.join(dir, "foreign.pem"), path.join(dir, "foreign.key")), "400", "client_certificate_required"],
                ["expired", cert(path.join(dir, "expired.pem"), path.join(dir, "expired.key")), "400", "client_certificate_required"],
                ["ops-not-allowed", cert(file("ops-mtls.pem", out.clientCertificates.ops.certificatePem), file("ops-mtls.key", out.clientPrivateKeys.ops)), "403", "forbidden"],
            ];
            for (const [what, extra, status, error] of refusals) {
                const reply = curlHead(8443, admin(what), extra);
                assert.equal(reply.status, status, `${what}: ${reply.body}`);
                assert.equal(reply.error, error, what);
            }
            const issued = curlHead(8443, admin("issued"), cert(file("payments-mtls.pem", out.clientCertificates.payments.certificatePem), file("payments-mtls.key", out.clientPrivateKeys.payments)));
            assert.equal(issued.status, "200", issued.body);
            const log = journal();
            assert.ok(log.includes(admin("issued")), "the issued certificate's request reached the upstream");
            for (const [what] of refusals) assert.ok(!log.includes(admin(what)), `${what}: a refused certificate's request reached the upstream`);
        });

    it("default deny holds for encoded variants (%2e%2e, ..;, //, ;-parameters, mixed case, overlong UTF-8): 400/404, never the upstream",
        { skip: skipReason || false }, () => {
            deployment();
            // Each aims at a route the public listener does not serve (the mTLS-only admin route) or at
            // an undeclared path, with a valid API key, sent exactly as written (--path-as-is).
            const stamp = Date.now();
            const variants: [string, string][] = [
                ["dot-dot encoded", `/api/v1/orders/%2e%2e/admin/orders/dd1-${stamp}`],
                ["dot-dot upper-case encoded", `/api/v1/orders/%2E%2E/%2e%2e/v1/admin/orders/dd2-${stamp}`],
                ["dot-dot and encoded slash", `/api/v1/orders/..%2fadmin/orders/dd3-${stamp}`],
                ["half-encoded dot-dot", `/api/v1/orders/.%2e/admin/orders/dd4-${stamp}`],
                ["..; (Tomcat path parameter)", `/api/v1/..;/admin/orders/dd5-${stamp}`],
                ["leading //", `//api/v1/admin/orders/dd6-${stamp}`],
                ["inner //", `/api/v1//admin/orders/dd7-${stamp}`],
                [";-parameter in a segment", `/api/v1/admin;jsessionid=1/orders/dd8-${stamp}`],
                [";-parameter on a route's prefix", `/api/v1/orders;x=1/dd9-${stamp}`],
                ["mixed case", `/API/v1/orders/dd10-${stamp}`],
                ["mixed case inside", `/api/v1/ORDERS/dd11-${stamp}`],
                ["overlong UTF-8 dots", `/api/v1/%c0%ae%c0%ae/admin/orders/dd12-${stamp}`],
            ];
            for (const [what, uri] of variants) {
                const reply = curlHead(443, uri, [...key, "--path-as-is"]);
                assert.ok(["400", "404"].includes(reply.status), `${what} (${uri}): ${reply.status} ${reply.body}`);
                assertSecurityHeaders(reply, what);
            }
            const log = journal();
            for (const [what, uri] of variants) {
                const marker = /(dd\d+-\d+)$/.exec(uri)![1];
                assert.ok(!log.includes(marker), `${what} (${uri}) reached the upstream`);
            }
        });

    it("inside a declared prefix route, ..; and overlong UTF-8 segments are refused before the upstream",
        { skip: skipReason || false }, () => {
            deployment();
            const stamp = Date.now();
            for (const uri of [`/api/v1/orders/..;/admin/orders/pp1-${stamp}`, `/api/v1/orders/%c0%ae%c0%ae/admin/orders/pp2-${stamp}`]) {
                const reply = curlHead(443, uri, [...key, "--path-as-is"]);
                assert.ok(["400", "404"].includes(reply.status), `${uri}: ${reply.status}`);
            }
            const log = journal();
            assert.ok(!log.includes(`pp1-${stamp}`) && !log.includes(`pp2-${stamp}`), "reached the upstream");
        });

    it("limits: an over-limit body 413, a 20 KB header 431 and a 70 KB URI 414, each the JSON error body with the security headers, none reaching the upstream",
        { skip: skipReason || false }, () => {
            deployment();
            const stamp = Date.now();
            // The tier's maxBodySize (2m by default) plus 1 MiB.
            const body = file("oversized.bin", Buffer.alloc(out.limits.maxBodyBytes + 1024 * 1024, 0x61));
            const tooLarge = curlHead(443, `/api/v1/orders/lim-body-${stamp}`, [...key, "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", `@${body}`]);
            assert.equal(tooLarge.status, "413", tooLarge.body);
            assert.equal(tooLarge.error, "payload_too_large");
            assertSecurityHeaders(tooLarge, "413");
            // HTTP/1.1: an HTTP/2 connection with an oversized header block is refused whole (below).
            const header = curlHead(443, `/api/v1/orders/lim-header-${stamp}`, [...key, "--http1.1", "-H", `X-Oversized: ${"h".repeat(20 * 1024)}`]);
            assert.equal(header.status, "431", header.body);
            assert.equal(header.error, "request_header_fields_too_large");
            assert.match(header.headers.get("content-type") ?? "", /^application\/json/);
            assertSecurityHeaders(header, "431");
            const h2 = curlHead(443, `/api/v1/orders/lim-header-h2-${stamp}`, [...key, "--http2", "-H", `X-Oversized: ${"h".repeat(20 * 1024)}`]);
            assert.notEqual(h2.status, "200", "an oversized HTTP/2 header block is refused (nginx 1.22: GOAWAY ENHANCE_YOUR_CALM)");
            const uri = curlHead(443, `/api/v1/orders/lim-uri-${stamp}-${"u".repeat(70 * 1024)}`, [...key, "--http1.1"]);
            assert.equal(uri.status, "414", uri.body);
            assert.equal(uri.error, "uri_too_long");
            assert.match(uri.headers.get("content-type") ?? "", /^application\/json/);
            assertSecurityHeaders(uri, "414");
            const log = journal();
            for (const marker of ["lim-body", "lim-header", "lim-header-h2", "lim-uri"]) {
                assert.ok(!log.includes(`${marker}-${stamp}`), `${marker}: reached the upstream`);
            }
        });

    it("per-IP rate limit fidelity from one address at 0.8x, 2x and 10x for a bounded time: no false rejects at 0.8x, accepted = rate x time + burst within 2 % (never above), the rest 429, sampled in the access log; a second address at 0.8x during the 2x flood unaffected; the same through the other proxy",
        { skip: skipReason || false }, async () => {
            deployment();
            const { ratePerSecond: rate, burst } = out.rateLimits.perIp;
            const seconds = 6;
            // A fresh bucket for each run: the zone forgets an address once its excess has drained.
            const settle = () => sleep(2000);
            const dev = clientDevice();
            const extra = ["198.18.1.11", ...Array.from({ length: 8 }, (_, i) => `198.18.1.${20 + i}`)];
            for (const address of extra) execFileSync("ip", ["-n", client, "addr", "add", `${address}/24`, "dev", dev]);
            try {
                const second = "198.18.1.11";
                const first = servingProxy("198.18.1.10");
                // An address HAProxy's source hash sends to the other proxy: each proxy enforces the limit itself.
                const otherAddress = extra.slice(1).find((a) => servingProxy(a) !== first);
                assert.ok(otherAddress, `none of ${extra.slice(1).join(", ")} is sent to the proxy that does not serve 198.18.1.10`);
                await settle();
                const under = await load(rate * 0.8, seconds, "/api/v1/orders/rate");
                assert.deepEqual([under.limited, under.other, under.failed], [0, 0, 0], `0.8x: ${JSON.stringify(under)}`);
                const before429 = ["proxy-a", "proxy-b"].map((h) => inHost(h, ["sh", "-c", "grep -c '\"status\":\"429\"' /var/log/nginx/access.log || true"]).trim()).map(Number);
                let refused = 0;
                for (const [factor, address, proxy] of [[2, "198.18.1.10", first], [10, "198.18.1.10", first], [2, otherAddress, first === "proxy-a" ? "proxy-b" : "proxy-a"]] as const) {
                    await settle();
                    const [flood, bystander] = await Promise.all([load(rate * factor, seconds, "/api/v1/orders/rate", address),
                        factor === 2 && address === "198.18.1.10" ? load(rate * 0.8, seconds, "/api/v1/orders/rate", second) : Promise.resolve(undefined)]);
                    assert.equal(failedOf(flood), 0, `${factor}x from ${address}: ${JSON.stringify(flood)}`);
                    // limit_req admits the burst, then one request per 1/rate s of the window the requests arrived in
                    // (the client's timers slip under load: the window it actually sent in, not the nominal 6 s).
                    const expected = Math.round(rate * flood.windowSeconds) + burst + 1;
                    // Within 2 % below, never above. (10x used to admit 1-4 % less: the first requests waited for TLS
                    // handshakes, so the proxy saw a shorter window than the client; rate-client now warms its
                    // connections up first.)
                    const tolerance = 0.02;
                    assert.ok(flood.ok <= expected * 1.02 && flood.ok >= expected * (1 - tolerance),
                        `${factor}x through ${proxy}: accepted ${flood.ok}, expected ${expected} (${rate} r/s x ${flood.windowSeconds.toFixed(2)} s + burst ${burst} + 1) within ${tolerance * 100} %: ${JSON.stringify(flood)}`);
                    assert.equal(flood.ok + flood.limited, flood.sent, "the rest answered 429");
                    refused += flood.limited;
                    if (bystander) assert.deepEqual([bystander.limited, bystander.failed], [0, 0], `a second address at 0.8x during the 2x flood: ${JSON.stringify(bystander)}`);
                    process.stdout.write(`rate limit ${factor}x from ${address} through ${proxy}: offered ${flood.sent} in ${flood.windowSeconds.toFixed(2)} s, accepted ${flood.ok} (expected ${expected}), 429 ${flood.limited}, retried ${flood.retried}${bystander ? `; second address ${bystander.ok}/${bystander.sent}` : ""}\n`);
                }
                // Refusals are sampled in the access log (one in REJECTION_LOG_SAMPLE_EVERY, each line says so); none
                // writes an error-log line. Counts are checked against the truth in the 60 s flood drill.
                const sampled = ["proxy-a", "proxy-b"].map((h, i) => Number(inHost(h, ["sh", "-c", "grep -c '\"status\":\"429\"' /var/log/nginx/access.log || true"]).trim()) - before429[i]);
                assert.ok(sampled[0] + sampled[1] > 0, `sampled 429 lines in the access logs (${refused} refused): proxy-a ${sampled[0]}, proxy-b ${sampled[1]}`);
                const line = inHost(first, ["sh", "-c", "grep '\"status\":\"429\"' /var/log/nginx/access.log | tail -n 1"]);
                assert.match(line, /"limit_req":"REJECTED","limit_conn":"[A-Z_]*","sample_rate":"100"/);
                for (const h of ["proxy-a", "proxy-b"]) {
                    assert.equal(inHost(h, ["sh", "-c", "grep -c 'limiting requests' /var/log/nginx/error.log || true"]).trim(), "0", `${h}: refusals stay out of the error log`);
                }
            } finally {
                for (const address of extra) execFileSync("ip", ["-n", client, "addr", "del", `${address}/24`, "dev", dev]);
            }
        });

    it("fault drill: the proxy serving a client is stopped under steady load; the load balancer takes it out within 10 s, at most 0.1 % of requests fail, and it serves again once started",
        { skip: skipReason || false }, async () => {
            deployment();
            // Which proxy serves this client (source affinity).
            const serving = servingProxy("198.18.1.10");
            const rate = Math.floor(out.rateLimits.perIp.ratePerSecond * 0.9);
            const seconds = 30;
            const steady = load(rate, seconds, "/api/v1/orders/drill");
            await new Promise((r) => setTimeout(r, 5000));
            const stoppedAt = Date.now();
            inHost(serving, ["systemctl", "stop", "nginx"]);
            let downAfter = 0;
            try {
                await waitFor(`HAProxy to mark ${serving} down`, 10_000, async () => {
                    const st = await haproxyServers();
                    return st[`proxies-https/${serving}`] === 0;
                });
                downAfter = (Date.now() - stoppedAt) / 1000;
                await new Promise((r) => setTimeout(r, 5000));
            } finally {
                inHost(serving, ["systemctl", "start", "nginx"]);
            }
            await waitFor(`HAProxy to mark ${serving} up again`, 20_000, async () => (await haproxyServers())[`proxies-https/${serving}`] === 2);
            const result = await steady;
            const failed = failedOf(result);
            process.stdout.write(`drill: ${serving} stopped under ${rate} r/s: marked down after ${downAfter.toFixed(1)} s; ${outcome(result)} (${(100 * failed / result.sent).toFixed(2)} % failed), 429 ${result.limited}\n`);
            assert.ok(downAfter > 0 && downAfter <= 10, `marked down after ${downAfter} s`);
            assert.ok(failed <= result.sent * 0.001, `failed ${failed} of ${result.sent}: ${JSON.stringify(result)}`);
            assertRetriesBounded(result, 2); // the stop and the start
            // Traffic returns: a new connection from this client is served by the restarted proxy.
            const again = accessLines(serving);
            assert.equal(curl(443, "/api/v1/orders/back", key).status, "200");
            assert.ok(accessLines(serving) > again, `${serving} serves again`);
        });

    /** A long-lived stream through the tier (local-client.js *-session): its own end, or where it was cut. */
    const session = (args: string[]): Promise<{ sent: number; echoed: number; ended?: string; error?: string; ms: number }> => new Promise((resolve, reject) => {
        const child = spawn("ip", ["netns", "exec", client, "node", path.join(__dirname, "local-client.js"), ...args],
            { stdio: ["ignore", "pipe", "pipe"], cwd: repoRoot, env: { ...process.env, NODE_PATH: path.join(repoRoot, "node_modules") } });
        let stdout = "";
        child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
        child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`local-client ${args[0]} exit ${code}`))));
    });

    it("slow clients: headers trickling in are cut at client_header_timeout; a body that stalls, at client_body_timeout (closed, nothing proxied)",
        { skip: skipReason || false }, async () => {
            deployment();
            // Headers: one more line every 2 s (each read inside any per-read timeout): nginx bounds the whole header.
            // Body: declared, then nothing: cut when no byte came for client_body_timeout.
            const [headers, body] = await Promise.all([
                session(["slow-headers", lb, serverName, ca, out.testApiKey, "/api/v1/orders/slow-loris", "20", "2000"]),
                session(["slow-body", lb, serverName, ca, out.testApiKey, "/api/v1/orders/slow-body", "2", "20000"]),
            ]) as unknown as { pieces: number; ms: number; status: string }[];
            process.stdout.write(`slow clients: headers cut after ${headers.ms} ms (${headers.pieces} lines sent), body after ${body.ms} ms (answer ${body.status || "none"})\n`);
            const near = (ms: number, seconds: number) => ms >= seconds * 1000 - 500 && ms <= seconds * 1000 + 2500;
            assert.ok(near(headers.ms, CLIENT_HEADER_TIMEOUT_SECONDS) && headers.pieces < 20, `slow headers cut at ${CLIENT_HEADER_TIMEOUT_SECONDS} s: ${JSON.stringify(headers)}`);
            assert.ok(near(body.ms, CLIENT_BODY_TIMEOUT_SECONDS), `a stalled body cut at ${CLIENT_BODY_TIMEOUT_SECONDS} s: ${JSON.stringify(body)}`);
            // nginx closes a timed-out connection without answering (its 408 is never sent on a connection that timed out).
            assert.equal(body.status, "", `no answer but the close: ${JSON.stringify(body)}`);
            assert.doesNotMatch(journal(), /slow-loris|slow-body/, "neither reached the upstream");
        });

    it("fault drill: the server certificates are rotated (up --replace) under steady load: no request fails, the new serial is served after, by reload",
        { skip: skipReason || false }, async () => {
            deployment();
            const state = JSON.parse((await pulumi(["stack", "export"])).stdout) as { deployment: { resources: { urn: string; type: string }[] } };
            const certs = state.deployment.resources.filter((r) => r.type === "tls:index/locallySignedCert:LocallySignedCert" && /-server-[^:]*-cert$/.test(r.urn)).map((r) => r.urn);
            assert.ok(certs.length >= 1, "the stack's server certificates");
            const before = servedSerial(443);
            const masters = ["proxy-a", "proxy-b"].map(masterPid);
            const steady = load(30, 30, "/api/v1/orders/rotate");
            await sleep(3000);
            const startedAt = Date.now();
            const rotated = await runUpdate(["up", "--yes", "--skip-preview", "--stack", stack, ...certs.flatMap((u) => ["--replace", u])], opts, stack);
            const upSeconds = (Date.now() - startedAt) / 1000;
            assert.equal(rotated.result, "succeeded");
            const after = servedSerial(443);
            const result = await steady;
            process.stdout.write(`drill: ${certs.length} server certificate(s) rotated by up in ${upSeconds.toFixed(1)} s under 30 r/s: ${outcome(result)}; serial ${before} -> ${after}\n`);
            assert.equal(failedOf(result), 0, JSON.stringify(result));
            assertRetriesBounded(result, 2); // one reload per proxy
            assert.ok(upSeconds < 27, `the rotation (${upSeconds.toFixed(1)} s) happened while the load ran`);
            assert.match(after, /^serial=[0-9A-F]+$/);
            assert.notEqual(after, before, "a new certificate is served");
            assert.deepEqual(["proxy-a", "proxy-b"].map(masterPid), masters, "by reload: the same nginx masters");
        });

    it("fault drill: nginx reloaded on both proxies under load with a WebSocket and a gRPC stream open: neither is cut before its own end, no request fails",
        { skip: skipReason || false }, async () => {
            deployment();
            const masters = ["proxy-a", "proxy-b"].map(masterPid);
            const workersBefore = ["proxy-a", "proxy-b"].map(workerPids);
            const steady = load(30, 14, "/api/v1/orders/reload");
            // 40 messages, one every 250 ms: 10 s streams; the reload comes 3 s in.
            const ws = session(["websocket-session", lb, serverName, ca, out.testApiKey, "/api/v1/stream", "40", "250"]);
            const grpc = session(["grpc-session", lb, serverName, ca, out.testApiKey, "40", "250"]);
            await sleep(3000);
            for (const proxy of ["proxy-a", "proxy-b"]) inHost(proxy, ["systemctl", "reload", "nginx"]);
            // The old workers keep the open streams until those end (no worker_shutdown_timeout cuts them).
            await sleep(1500);
            const draining = ["proxy-a", "proxy-b"].map((h) => Number(inHost(h, ["sh", "-c", "pgrep -fc '[w]orker process is shutting down' || true"]).trim()));
            const [w, g, result] = await Promise.all([ws, grpc, steady]);
            process.stdout.write(`drill: reload with open streams: websocket ${JSON.stringify(w)}, grpc ${JSON.stringify(g)}, old workers draining ${draining.join("/")}; load ${outcome(result)}\n`);
            assert.deepEqual([w.ended, w.echoed, w.error], ["ok", 40, undefined], `the WebSocket ran to its own end: ${JSON.stringify(w)}`);
            assert.deepEqual([g.ended, g.echoed, g.error], ["ok", 40, undefined], `the gRPC stream ran to its own end: ${JSON.stringify(g)}`);
            assert.ok(w.ms >= 9_500 && g.ms >= 9_500, "both streams lived past the reload");
            assert.ok(draining.some((n) => n > 0), "an old worker drained the open streams");
            assert.equal(failedOf(result), 0, JSON.stringify(result));
            assertRetriesBounded(result, 2);
            assert.deepEqual(["proxy-a", "proxy-b"].map(masterPid), masters, "a reload, not a restart");
            const workersAfter = ["proxy-a", "proxy-b"].map(workerPids);
            workersAfter.forEach((pids, i) => assert.ok(pids.every((p) => !workersBefore[i].includes(p)), "new workers serve after the reload"));
            await waitFor("the old workers to exit once their streams ended", 10_000, async () =>
                ["proxy-a", "proxy-b"].every((h) => inHost(h, ["sh", "-c", "pgrep -fc '[w]orker process is shutting down' || true"]).trim() === "0"));
        });

    it("fault drill: the upstream stopped under load is answered 502/503 within 1 s (no hang), recovers when it returns; slower than the read timeout, 504 at the configured time",
        { skip: skipReason || false }, async () => {
            deployment();
            const unit = "apiproxy-upstream-orders-8080";
            const steady = load(30, 12, "/api/v1/orders/upstream-drill");
            await sleep(3000);
            inHost("upstream-1", ["systemctl", "stop", unit]);
            try {
                await sleep(3000);
            } finally {
                inHost("upstream-1", ["systemctl", "start", unit]);
            }
            const startedAt = Date.now();
            await waitFor("the tier to serve from the restarted upstream", 10_000, async () => curl(443, "/api/v1/orders/back", key).status === "200");
            const recoveredMs = Date.now() - startedAt;
            // The slow route's read timeout is 2 s; the upstream would answer after 5 s.
            const slowAt = Date.now();
            const slow = curl(443, "/api/v1/slow?delay=5s", key);
            const slowSeconds = (Date.now() - slowAt) / 1000;
            const result = await steady;
            const refused = Object.entries(result.statuses).filter(([status]) => status !== "200");
            process.stdout.write(`drill: upstream down under 30 r/s: ${JSON.stringify(result.statuses)}; recovered ${recoveredMs} ms after start; slow route ${slow.status} after ${slowSeconds.toFixed(2)} s\n`);
            assert.ok(refused.length > 0 && refused.every(([status]) => status === "502" || status === "503"), `while it was down: 502/503 only: ${JSON.stringify(result.statuses)}`);
            for (const [status, seen] of refused) assert.ok(seen.maxMs < 1000, `${status} within 1 s (slowest ${seen.maxMs.toFixed(0)} ms)`);
            assert.ok(result.statuses["200"].lastAt > result.statuses[refused[0][0]].lastAt, "200 again after the upstream returned");
            assert.equal(result.failed, 0, JSON.stringify(result.statuses));
            assert.equal(slow.status, "504");
            assert.ok(slowSeconds >= 1.9 && slowSeconds < 3, `504 at the 2 s read timeout (${slowSeconds.toFixed(2)} s)`);
        });

    it("connection flood up to the concurrency target without running out of file descriptors; SYN bursts: the proxies' firewalls drop spoofed sources, the entry answers with SYN cookies and keeps serving",
        { skip: skipReason || false }, async () => {
            deployment();
            const target = (YAML.parse(fs.readFileSync(configFile, "utf8")) as { config: Record<string, { concurrencyTarget: number }> }).config["api-proxy-security:tier"].concurrencyTarget;
            const established = (host: string) => Number(inHost(host, ["sh", "-c", "ss -Htn state established '( sport = :443 )' | wc -l"], true).trim());
            const descriptorErrors = (host: string) => Number(inHost(host, ["sh", "-c", "grep -Ec 'Too many open files|worker_connections are not enough' /var/log/nginx/error.log || true"]).trim());
            /** connection-flood.js in a network namespace (`ns`: the command prefix); at its peak, `atPeak` runs. */
            const flood = async <T>(ns: string[], to: string, count: number, sources: string[], atPeak: () => T) => {
                const child = spawn(ns[0], [...ns.slice(1), "node", path.join(__dirname, "connection-flood.js"), to, "443", String(count), "2", sources.join(",")],
                    { stdio: ["ignore", "pipe", "pipe"] });
                let stdout = "";
                let holding = false;
                child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
                child.stderr?.on("data", (c: Buffer) => (holding ||= c.toString().includes("holding")));
                const ended = new Promise<void>((resolve) => child.on("exit", () => resolve()));
                await waitFor(`${count} connections open`, 60_000, async () => holding);
                const peak = atPeak();
                await ended;
                return { peak, result: JSON.parse(stdout) as { connected: number; peakOpen: number; errors: Record<string, number>; closedWhileHeld: number; connectSeconds: number } };
            };
            const errorsBefore = ["proxy-a", "proxy-b"].map(descriptorErrors);
            // 1. At one proxy, from the load balancer's segment: the whole target on proxy-a alone (as when its pair
            //    is down); every connection it holds is a socket of its own.
            const direct = await flood(["nsenter", "-t", containerInit("lb"), "-n"], "198.18.3.10", target, [lb],
                () => ({ established: established("proxy-a"), served: curl(443, "/api/v1/orders/during-flood", key).status }));
            process.stdout.write(`drill: ${target} connections at proxy-a: ${JSON.stringify(direct.result)}; established on proxy-a at peak ${direct.peak.established}; a request through the tier ${direct.peak.served}\n`);
            assert.equal(direct.result.connected, target, JSON.stringify(direct.result));
            assert.deepEqual(direct.result.errors, {});
            assert.equal(direct.result.closedWhileHeld, 0, "none dropped while held");
            assert.ok(direct.peak.established >= target, `proxy-a held every connection (${direct.peak.established} of ${target})`);
            assert.equal(direct.peak.served, "200", "the tier serves during the flood");
            // 2. Through the load balancer from many client addresses: HAProxy passes up to its own maxconn, which here
            //    is sized down to this machine's open-file ceiling (the delivery reports it); the rest wait in its backlog.
            const lbMaxconn = Number(/^Maxconn: (\d+)$/m.exec(await haproxyAdmin("show info"))?.[1]);
            const dev = clientDevice();
            const sources = Array.from({ length: 8 }, (_, i) => `198.18.1.${40 + i}`);
            for (const address of sources) execFileSync("ip", ["-n", client, "addr", "add", `${address}/24`, "dev", dev]);
            try {
                const viaLb = await flood(["ip", "netns", "exec", client], lb, target, sources,
                    () => ({ proxies: ["proxy-a", "proxy-b"].map(established), served: curl(443, "/api/v1/orders/during-flood", key).status }));
                const passed = viaLb.peak.proxies[0] + viaLb.peak.proxies[1];
                process.stdout.write(`drill: ${target} connections through the load balancer (its maxconn ${lbMaxconn}): ${JSON.stringify(viaLb.result)}; established on the proxies at peak ${viaLb.peak.proxies.join(" + ")}; a request during it ${viaLb.peak.served}\n`);
                assert.equal(viaLb.result.connected, target, JSON.stringify(viaLb.result));
                assert.deepEqual(viaLb.result.errors, {});
                assert.equal(viaLb.result.closedWhileHeld, 0);
                assert.ok(passed >= Math.min(target, lbMaxconn) - 10, `the load balancer passed ${passed} (its maxconn ${lbMaxconn}, the target ${target})`);
            } finally {
                for (const address of sources) execFileSync("ip", ["-n", client, "addr", "del", `${address}/24`, "dev", dev]);
            }
            assert.deepEqual(["proxy-a", "proxy-b"].map(descriptorErrors), errorsBefore, "no 'Too many open files' / 'worker_connections are not enough' in the proxies' error logs");

            // SYN bursts (syn-burst.py: 120,000 SYNs from spoofed addresses of a segment where nobody answers the SYN-ACKs).
            const synBurst = async (ns: string[], targets: string, prefix: string) => {
                const burst = spawn(ns[0], [...ns.slice(1), "python3", path.join(__dirname, "syn-burst.py"), targets, "443", prefix, "100", "249", "120000", "8"],
                    { stdio: ["ignore", "pipe", "pipe"] });
                let burstOut = "";
                burst.stdout?.on("data", (c: Buffer) => (burstOut += c.toString()));
                const burstEnded = new Promise<void>((resolve) => burst.on("exit", () => resolve()));
                const during: string[] = [];
                await sleep(500);
                for (let i = 0; i < 5; i++) during.push(curl(443, `/api/v1/orders/syn-${i}`, key).status);
                await burstEnded;
                return { sent: (JSON.parse(burstOut) as { sent: number; seconds: number }).sent, during };
            };
            const inputDropped = (host: string) => Number(/packets (\d+)/.exec(inHost(host, ["nft", "list", "counter", "inet", "apiproxy", "input_dropped"]))?.[1]);
            // 1. At both proxies from the load balancer's segment: only the load balancer may open connections there, so
            //    each proxy's default deny drops the spoofed SYNs before TCP sees them (its drop counter proves it).
            const droppedBefore = ["proxy-a", "proxy-b"].map(inputDropped);
            const atProxies = await synBurst(["nsenter", "-t", containerInit("lb"), "-n"], "198.18.3.10,198.18.3.11", "198.18.2");
            const dropped = ["proxy-a", "proxy-b"].map((h, i) => inputDropped(h) - droppedBefore[i]);
            // 2. At the load balancer (the tier's entry) from the client segment: its SYN queue overflows, SYN cookies answer.
            const cookiesBefore = tcpExt("lb").SyncookiesSent;
            const atEntry = await synBurst(["ip", "netns", "exec", client], lb, "198.18.1");
            const cookies = tcpExt("lb").SyncookiesSent - cookiesBefore;
            process.stdout.write(`drill: SYN bursts: ${atProxies.sent} at the proxies, dropped by their firewalls ${dropped.join("/")}, requests during it ${atProxies.during.join(",")}; ` +
                `${atEntry.sent} at the load balancer, SYN cookies sent ${cookies}, requests during it ${atEntry.during.join(",")}\n`);
            assert.ok(atProxies.sent >= 100_000 && atEntry.sent >= 100_000, "the bursts were sent");
            dropped.forEach((n) => assert.ok(n >= atProxies.sent / 2 * 0.95, `each proxy dropped its half of the spoofed SYNs: ${dropped.join("/")} of ${atProxies.sent}`));
            assert.ok(cookies >= atEntry.sent / 2, `the load balancer answered with SYN cookies (${cookies} of ${atEntry.sent})`);
            assert.deepEqual([...atProxies.during, ...atEntry.during], Array(10).fill("200"), "new connections were served during both bursts");
        });

    it("a 60 s flood at 10x the per-IP limit: the logs grow with what is admitted, not with the flood; refusals visible (sampled, counted by verify); no error-log line per refusal",
        { skip: skipReason || false }, async () => {
            deployment();
            const { ratePerSecond: rate } = out.rateLimits.perIp;
            const proxy = servingProxy("198.18.1.10");
            const size = (file: string) => Number(inHost(proxy, ["stat", "-c", "%s", file]).trim());
            const count = (pattern: string) => Number(inHost(proxy, ["sh", "-c", `grep -c '${pattern}' /var/log/nginx/access.log || true`]).trim());
            const estimate = () => verify().report.rows.find((r) => r.check === "rate-limit-events" && r.host === proxy)?.data?.estimatedRefusals ?? NaN;
            // verify sends requests of its own: its runs come before the first and after the last reading.
            const estimateBefore = estimate();
            const warmUp = '"uri":"/apiproxy-rate-client-warm-up"';
            const before = { access: size("/var/log/nginx/access.log"), error: size("/var/log/nginx/error.log"), lines: accessLines(proxy), lines429: count('"status":"429"'), lines200: count('"status":"200"'), warmUp: count(warmUp) };
            await sleep(1500);
            // The load balancer's view of the pair during the flood: a flood from one client must not flap health checks.
            const flooding = load(rate * 10, 60, "/api/v1/orders/flood");
            let done = false;
            const states = new Set<string>();
            void flooding.finally(() => (done = true));
            while (!done) {
                for (const [server, state] of Object.entries(await haproxyServers())) if (server.startsWith("proxies-https/")) states.add(`${server}=${state}`);
                await sleep(1000);
            }
            const flood = await flooding;
            await sleep(500);
            assert.deepEqual([...states].sort(), ["proxies-https/proxy-a=2", "proxies-https/proxy-b=2"], "both proxies stayed up at the load balancer throughout");
            const grown = { access: size("/var/log/nginx/access.log") - before.access, error: size("/var/log/nginx/error.log") - before.error, lines: accessLines(proxy) - before.lines };
            const sampled = count('"status":"429"') - before.lines429;
            const admittedLines = count('"status":"200"') - before.lines200;
            const estimated = estimate() - estimateBefore;
            // What the refusals cost the log: their sampled lines, at the flood's mean line length.
            const perRefusal = (sampled * (grown.access / Math.max(1, grown.lines))) / Math.max(1, flood.limited);
            process.stdout.write(`drill: 60 s at 10x through ${proxy}: ${flood.sent} sent, ${flood.ok} admitted, ${flood.limited} refused, ${flood.retried} retried; access log +${grown.access} B ` +
                `(${(grown.access / 60 / 1024).toFixed(1)} KiB/s: ${admittedLines} admitted lines, ${sampled} sampled refusals, ${perRefusal.toFixed(1)} B per refusal), error log +${grown.error} B; verify estimates ${estimated} refusals\n`);
            assert.equal(failedOf(flood), 0, JSON.stringify(flood));
            assert.ok(flood.limited > flood.ok * 5, `the flood was refused mostly: ${JSON.stringify(flood)}`);
            assert.ok(grown.error < 2048, `the error log grew ${grown.error} B: refusals must not write error lines`);
            assert.equal(admittedLines, flood.ok, "every admitted request logged");
            assert.equal(grown.lines, admittedLines + sampled + count(warmUp) - before.warmUp, "nothing else logged (but the client's warm-up 404s)");
            // One refusal in 100 logged (binomial: within 5 standard deviations).
            const p = 0.01;
            const sd = Math.sqrt(flood.limited * p * (1 - p));
            assert.ok(Math.abs(sampled - flood.limited * p) <= 5 * sd + 1, `sampled ${sampled} of ${flood.limited} refusals (expected ${(flood.limited * p).toFixed(0)} +- ${(5 * sd).toFixed(0)})`);
            assert.ok(perRefusal < 15, `the access log grew ${perRefusal.toFixed(1)} B per refused request (a full line is ~600 B, and an error line ~250 B more)`);
            // The volume holds a day of this flood until the daily rotation (logrotate.ts) compresses it.
            const available = Number(inHost(proxy, ["df", "-B1", "--output=avail", "/var/log/nginx"]).trim().split("\n").pop());
            const perDay = ((grown.access + grown.error) / 60) * 86_400;
            process.stdout.write(`drill: at this rate a day of the flood writes ${(perDay / 2 ** 30).toFixed(2)} GiB; the log volume has ${(available / 2 ** 30).toFixed(1)} GiB free\n`);
            assert.ok(perDay < available, `a day of this flood (${perDay} B) fits the log volume (${available} B free)`);
            assert.ok(Math.abs(estimated - flood.limited) <= 5 * sd * 100 + 100, `verify's estimate ${estimated} of ${flood.limited} refusals`);
        });

    it("security headers and no version on 200, 404, 401, 413 and 429 answers", { skip: skipReason || false }, async () => {
        deployment();
        const ok = curlHead(443, "/api/v1/orders/hdr-200", key);
        assert.equal(ok.status, "200", ok.body);
        assertSecurityHeaders(ok, "200");
        const missing = curlHead(443, `/api/v1/undeclared-hdr-${Date.now()}`, key);
        assert.equal(missing.status, "404");
        assertSecurityHeaders(missing, "404");
        const unauthorized = curlHead(443, "/api/v1/orders/hdr-401");
        assert.equal(unauthorized.status, "401");
        assertSecurityHeaders(unauthorized, "401");
        const tooLarge = curlHead(443, "/api/v1/orders/hdr-413", [...key, "-X", "POST", "--data-binary", `@${file("hdr-413.bin", Buffer.alloc(out.limits.maxBodyBytes + 1, 0x61))}`]);
        assert.equal(tooLarge.status, "413");
        assertSecurityHeaders(tooLarge, "413");
        // The per-IP limit (50 r/s, burst 20): 80 requests on one connection, no key (401 until the bucket is empty, then 429).
        const burst = spawnSync("ip", ["netns", "exec", client, "curl", "-sS", "--max-time", "15", "--cacert", ca, "--resolve", `${serverName}:443:${lb}`, "-D", "-",
            ...Array.from({ length: 80 }, (_, i) => ["-o", "/dev/null", `https://${serverName}/api/v1/orders/hdr-burst-${i}`]).flat()], { encoding: "utf8" });
        const blocks = burst.stdout.split(/\r?\n\r?\n/).filter((b) => /^HTTP\//.test(b)).map((b) => parseHead(b));
        const limited = blocks.find((b) => b.status === "429");
        assert.ok(limited, `no 429 in ${blocks.map((b) => b.status).join(",")}`);
        assertSecurityHeaders(limited, "429 (per IP)");
        // Let the per-IP bucket refill before anything else talks to the tier.
        await new Promise((r) => setTimeout(r, 1500));
    });

    it("secrets at rest: no private key, API key or signing secret in the state; secret outputs print as [secret]; key files 0640/0600 root-owned",
        { skip: skipReason || false }, async () => {
            deployment();
            const exported = (await pulumi(["stack", "export"])).stdout;
            // Everything the backend keeps for this stack (state, backups, history), besides the export.
            const backend = path.join(work!, ".pulumi");
            const stored = fs.readdirSync(backend, { recursive: true, encoding: "utf8" })
                .map((p) => path.join(backend, p)).filter((p) => fs.statSync(p).isFile()).map((p) => fs.readFileSync(p, "utf8"));
            assert.ok(stored.length >= 3, "the backend holds the stack's state");
            const pemBody = (pem: string) => pem.split("\n").find((l) => /^[A-Za-z0-9+/=]{40,}$/.test(l))!.slice(0, 40);
            const secrets: [string, string][] = [
                ["the test API key", out.testApiKey],
                ...Object.entries(out.testSignatureSecrets ?? {}).map(([id, s]): [string, string] => [`signature secret ${id}`, s]),
                ...Object.entries(out.clientPrivateKeys).map(([n, pem]): [string, string] => [`client key ${n}`, pemBody(pem)]),
                ...Object.entries(out.jwtSigningKeys?.local ?? {}).map(([kid, pem]): [string, string] => [`JWT key ${kid}`, pemBody(pem)]),
            ];
            assert.ok(secrets.length >= 8);
            for (const [label, text] of [["stack export", exported], ...stored.map((t, i): [string, string] => [`backend file ${i}`, t])]) {
                assert.ok(!text.includes("PRIVATE KEY"), `${label} holds a private key PEM`);
                // Messages name the secret, never print it.
                for (const [what, secret] of secrets) assert.ok(!text.includes(secret), `${label} holds ${what} in plaintext`);
            }
            const plain = JSON.parse((await pulumi(["stack", "output", "--json"])).stdout) as Record<string, unknown>;
            for (const name of ["clientPrivateKeys", "testApiKey", "jwtSigningKeys", "testSignatureSecrets", "upstreamPrivateKeys"]) {
                assert.equal(plain[name], "[secret]", `output ${name} is marked secret`);
            }
            const facts = (host: string, p: string) => inHost(host, ["stat", "-c", "%a %U:%G", p]).trim();
            for (const proxy of ["proxy-a", "proxy-b"]) {
                assert.equal(facts(proxy, CERTIFICATE_PATHS.serverKey), `640 root:${PROXY_GROUP}`, `${proxy}: ${CERTIFICATE_PATHS.serverKey}`);
            }
            assert.equal(facts("keystore", KEYCHECK_POLICY_FILE), "600 root:root");
            assert.equal(facts("keystore", "/etc/apiproxy-keycheck/pepper"), "600 root:root");
        });

    it("drift is seen by refresh and repaired by up (a reload), a refused config never goes live, the per-key limit holds, a second up changes nothing",
        { skip: skipReason || false }, async () => {
            deployment();
            // Drift: a hand edit of nginx.conf on proxy-a is seen by refresh and repaired by the next up (a reload).
            const sha = (host: string, file: string): string => inHost(host, ["sha256sum", file]).split(" ")[0];
            const nginxPid = (): string => inHost("proxy-a", ["systemctl", "show", "-p", "MainPID", "--value", "nginx"]).trim();
            const delivered = sha("proxy-a", "/etc/nginx/nginx.conf");
            const master = nginxPid();
            inHost("proxy-a", ["sh", "-c", "echo '# edited by hand' >> /etc/nginx/nginx.conf"]);
            const refreshed = await runUpdate(["refresh", "--yes", "--skip-preview", "--stack", stack], opts, stack);
            assert.deepEqual(refreshed.resourceChanges.update, 1, `refresh saw the drift: ${JSON.stringify(refreshed.resourceChanges)}`);
            const audit = async (host: string) => (JSON.parse((await pulumi(["stack", "export"])).stdout) as { deployment: { resources: { urn: string; outputs?: Record<string, unknown> }[] } })
                .deployment.resources.find((r) => r.urn.endsWith(`::${host}-audit`))!.outputs as { observed: Record<string, string>; expected: Record<string, string> };
            const seenAfterRefresh = await audit("proxy-a");
            assert.notEqual(seenAfterRefresh.observed["/etc/nginx/nginx.conf"], seenAfterRefresh.expected["/etc/nginx/nginx.conf"]);
            assert.equal(seenAfterRefresh.observed["/etc/nginx/apiproxy/servers.conf"] ?? "", seenAfterRefresh.expected["/etc/nginx/apiproxy/servers.conf"] ?? "");
            const repaired = await runUpdate(["up", "--yes", "--skip-preview", "--stack", stack], opts, stack);
            assert.ok((repaired.resourceChanges.replace ?? 0) >= 1, JSON.stringify(repaired.resourceChanges));
            assert.equal(sha("proxy-a", "/etc/nginx/nginx.conf"), delivered, "the rendered nginx.conf is back");
            assert.equal(nginxPid(), master, "repaired by reload, not restart");

            // A config change the host's nginx refuses (here its log directory is gone, so `nginx -t`
            // fails on proxy-a) is never activated: up fails with nginx's message, proxy-a keeps the
            // old files and keeps serving, and once the host is fixed the next up delivers it.
            // Edited as a document, so every other value keeps its quoting (an unquoted time would become a YAML timestamp).
            // All of it under steady load (30 r/s, below both the old and the new per-IP limit): no request fails.
            const stackDoc = YAML.parseDocument(fs.readFileSync(configFile, "utf8"));
            stackDoc.setIn(["config", "api-proxy-security:tier", "limits"], { rateLimitPerIp: { ratePerSecond: 40, burst: 80 } });
            fs.writeFileSync(configFile, String(stackDoc));
            const rateLimits = "/etc/nginx/apiproxy/rate-limits.conf";
            const before = sha("proxy-a", rateLimits);
            inHost("proxy-a", ["mv", "/var/log/nginx", "/var/log/nginx.moved-by-test"]);
            const steady = load(30, 20, "/api/v1/orders/refused-config");
            await sleep(2000);
            const refusedAt = Date.now();
            const refused = await runPulumi(["up", "--yes", "--skip-preview", "--stack", stack], opts);
            const refusedSeconds = (Date.now() - refusedAt) / 1000;
            const underLoad = await steady;
            process.stdout.write(`drill: a config nginx -t refuses, pushed by up (${refusedSeconds.toFixed(1)} s) under 30 r/s: ${outcome(underLoad)}\n`);
            assert.equal(failedOf(underLoad), 0, JSON.stringify(underLoad));
            assertRetriesBounded(underLoad, 0); // nginx -t refused it: no reload
            assert.ok(refusedSeconds < 18, `the refused up (${refusedSeconds.toFixed(1)} s) ran while the load did`);
            assert.notEqual(refused.code, 0, "up must fail when nginx -t refuses");
            const nginxSays = `${refused.stdout}\n${refused.stderr}`.split("\n").filter((l) => /nginx/.test(l) && /error\.log|emerg/.test(l));
            assert.ok(nginxSays.length > 0, `up failed with nginx's own message; it said:\n${`${refused.stdout}\n${refused.stderr}`.split("\n").filter((l) => /error|fail/i.test(l)).slice(-15).join("\n")}`);
            assert.equal(sha("proxy-a", rateLimits), before, "the refused config was rolled back");
            assert.equal(nginxPid(), master, "the old nginx keeps running");
            assert.equal(inHost("proxy-a", ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `http://198.18.3.10:8081/healthz`], true), "200");
            assert.equal(curl(443, "/api/v1/orders/42", key).status, "200", "the tier keeps serving");
            inHost("proxy-a", ["mv", "/var/log/nginx.moved-by-test", "/var/log/nginx"]);
            stackDoc.setIn(["config", "api-proxy-security:tier", "limits"], { rateLimitPerIp: { ratePerSecond: 40, burst: 80 }, rateLimitPerApiKey: { ratePerSecond: 1, burst: 3 } });
            fs.writeFileSync(configFile, String(stackDoc));
            const fixed = await runUpdate(["up", "--yes", "--skip-preview", "--stack", stack], opts, stack);
            assert.equal(fixed.result, "succeeded");
            assert.match(inHost("proxy-a", ["cat", rateLimits]), /rate=40r\/s/);
            assert.equal(nginxPid(), master, "the new config came by reload");

            // The per-key limit (now 1 r/s, burst 3) keys on the id the key service returns:
            // random unknown keys get 401 and take none of the real key's budget; past its burst
            // the real key gets 429 with the key service's Retry-After.
            for (let i = 0; i < 6; i++) {
                assert.equal(curl(443, "/api/v1/orders/42", ["-H", `X-API-Key: random-${i}-${"r".repeat(32)}`]).status, "401");
            }
            const statuses: string[] = [];
            let limited: Curl | undefined;
            for (let i = 0; i < 12 && !limited; i++) {
                const reply = curl(443, "/api/v1/orders/42", [...key, "-i"]);
                statuses.push(reply.status);
                if (reply.status === "429") limited = reply;
            }
            assert.ok(limited, `no 429 within ${statuses.length} requests: ${statuses.join(",")}`);
            assert.ok(statuses.filter((st) => st === "200").length >= 3, `the burst was admitted first: ${statuses.join(",")}`);
            assert.match(limited.body, /^retry-after: [1-9][0-9]*\r?$/im);
            // The per-key 429 (the key service's refusal through error_page 403 = $page) carries the security headers too.
            assertSecurityHeaders(parseHead(limited.body), "429 (per API key)");

            const again = await runUpdate(["up", "--yes", "--skip-preview", "--stack", stack], opts, stack);
            assert.deepEqual(Object.keys(again.resourceChanges), ["same"], JSON.stringify(again.resourceChanges));
        });

    it("destroy leaves nothing", { skip: skipReason || false }, async () => {
        deployment();
            const destroyed = await runUpdate(["destroy", "--yes", "--skip-preview", "--stack", stack], opts, stack);
            assert.equal(destroyed.result, "succeeded");
            created = false;
            assert.ok(!execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).includes(`${fabric}-`), "namespaces left behind");
            assert.ok(!fs.readFileSync("/proc/mounts", "utf8").includes(`local-stacks/${fabric}/`), "overlay mounts left behind");
            assert.ok(!fs.existsSync(path.join(repoRoot, ".tools", "local-stacks", fabric)), "host state left behind");
    });
});
