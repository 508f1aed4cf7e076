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
// rows when its nginx is stopped by hand; the live security checks (mTLS with a foreign and an
// expired certificate, encoded path variants, body/header/URI limits answered with the JSON
// error body, security headers on every kind of answer, no secret in plaintext at rest), each
// refusal proved absent from the upstream's own journal.
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
import { APPROVED_TLS12_CIPHERS, APPROVED_TLS13_CIPHERSUITES } from "../../components/nginx/constants";
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

interface VerifyRow { id: string; check: string; host: string; status: string; detail: string }
interface VerifyReport { ok: boolean; rows: VerifyRow[] }

/** The init process of a container (systemd-nspawn's child). */
function containerInit(host: string): string {
    const pid = fs.readFileSync(path.join(repoRoot, ".tools", "local-stacks", fabric, host, "nspawn.pid"), "utf8").trim();
    return execFileSync("pgrep", ["-P", pid], { encoding: "utf8" }).trim().split("\n")[0];
}

/** Runs a command inside a container (all its namespaces), or with `networkOnly` this machine's binary in its network. */
function inHost(host: string, args: string[], networkOnly = false): string {
    return execFileSync("nsenter", ["-t", containerInit(host), networkOnly ? "-n" : "-a", ...args], { encoding: "utf8" });
}

/** HAProxy's own view of the pair (its admin socket, reached through the container's root): "backend/server" -> op state (2 = up, 0 = down). */
function haproxyServers(): Promise<Record<string, number>> {
    return new Promise((resolve, reject) => {
        const socket = net.connect(`/proc/${containerInit("lb")}/root/run/haproxy/admin.sock`, () => socket.end("show servers state\n"));
        let text = "";
        socket.setTimeout(5000, () => socket.destroy(new Error("haproxy admin socket: timeout")));
        socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
        socket.on("error", reject);
        socket.on("end", () => {
            const states: Record<string, number> = {};
            for (const line of text.split("\n").filter((l) => /^\d+ /.test(l))) {
                const [, backend, , server, , opState] = line.split(" ");
                states[`${backend}/${server}`] = Number(opState);
            }
            resolve(states);
        });
    });
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

    it("per-IP rate limit fidelity from one address at 0.8x, 2x and 10x for a bounded time: no false rejects at 0.8x, accepted = rate x time + burst within 2 % (10x: 4 %, never above), the rest 429, logged; a second address at 0.8x during the 2x flood unaffected",
        { skip: skipReason || false }, async () => {
            deployment();
            const { ratePerSecond: rate, burst } = out.rateLimits.perIp;
            const seconds = 6;
            const run = (offered: number, address: string): Promise<{ sent: number; ok: number; limited: number; other: number; failed: number; windowSeconds: number }> => new Promise((resolve, reject) => {
                const child = spawn("ip", ["netns", "exec", client, "node", path.join(__dirname, "rate-client.js"), lb, serverName, ca, out.testApiKey,
                    "/api/v1/orders/rate", String(offered), String(seconds), address], { stdio: ["ignore", "pipe", "pipe"] });
                let stdout = "";
                let stderr = "";
                child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
                child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
                child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`rate-client exit ${code}: ${stderr.slice(-400)}`))));
            });
            // A fresh bucket for each run: the zone forgets an address once its excess has drained.
            const settle = () => new Promise((r) => setTimeout(r, 2000));
            const second = "198.18.1.11";
            const dev = execFileSync("ip", ["-n", client, "-o", "-4", "addr", "show"], { encoding: "utf8" }).split("\n").find((l) => l.includes(" 198.18.1.10/"))!.split(/\s+/)[1];
            execFileSync("ip", ["-n", client, "addr", "add", `${second}/24`, "dev", dev]);
            try {
                const under = await run(rate * 0.8, "198.18.1.10");
                assert.deepEqual([under.limited, under.other, under.failed], [0, 0, 0], `0.8x: ${JSON.stringify(under)}`);
                for (const factor of [2, 10]) {
                    await settle();
                    const [flood, bystander] = await Promise.all([run(rate * factor, "198.18.1.10"), factor === 2 ? run(rate * 0.8, second) : Promise.resolve(undefined)]);
                    assert.equal(flood.failed + flood.other, 0, `${factor}x: ${JSON.stringify(flood)}`);
                    // limit_req admits the burst, then one request per 1/rate s of the window the requests arrived in
                    // (the client's timers slip under load: the window it actually sent in, not the nominal 6 s).
                    const expected = Math.round(rate * flood.windowSeconds) + burst + 1;
                    // At 10x nginx admits slightly less than the ideal: it measures elapsed time on its per-event-loop
                    // cached millisecond clock, losing a fraction of a millisecond per admitted request (measured here
                    // 1.9 % below alone, up to 3.4 % on a loaded machine). 2x must be within 2 %; 10x within 4 %, never above.
                    const tolerance = factor === 2 ? 0.02 : 0.04;
                    assert.ok(flood.ok <= expected * 1.02 && flood.ok >= expected * (1 - tolerance),
                        `${factor}x: accepted ${flood.ok}, expected ${expected} (${rate} r/s x ${flood.windowSeconds.toFixed(2)} s + burst ${burst} + 1) within ${tolerance * 100} %: ${JSON.stringify(flood)}`);
                    assert.equal(flood.ok + flood.limited, flood.sent, "the rest answered 429");
                    if (bystander) assert.deepEqual([bystander.limited, bystander.failed], [0, 0], `a second address at 0.8x during the 2x flood: ${JSON.stringify(bystander)}`);
                    process.stdout.write(`rate limit ${factor}x: offered ${flood.sent} in ${flood.windowSeconds.toFixed(2)} s, accepted ${flood.ok} (expected ${expected}), 429 ${flood.limited}${bystander ? `; second address ${bystander.ok}/${bystander.sent}` : ""}\n`);
                }
                const logged = ["proxy-a", "proxy-b"].map((host) => inHost(host, ["sh", "-c", "grep -c 'limiting requests, excess' /var/log/nginx/error.log || true"]).trim());
                assert.ok(logged.some((n) => Number(n) > 0), `"limiting requests" in an error log (proxy-a ${logged[0]}, proxy-b ${logged[1]})`);
            } finally {
                execFileSync("ip", ["-n", client, "addr", "del", `${second}/24`, "dev", dev]);
            }
        });

    it("fault drill: the proxy serving a client is stopped under steady load; the load balancer takes it out within 10 s, at most 0.1 % of requests fail, and it serves again once started",
        { skip: skipReason || false }, async () => {
            deployment();
            const accessLines = (host: string) => Number(inHost(host, ["sh", "-c", "wc -l < /var/log/nginx/access.log"]).trim());
            // Which proxy serves this client (source affinity): the one whose access log grows on a probe.
            const before = { a: accessLines("proxy-a"), b: accessLines("proxy-b") };
            assert.equal(curl(443, "/api/v1/orders/which", key).status, "200");
            const serving = accessLines("proxy-a") > before.a ? "proxy-a" : "proxy-b";
            const rate = Math.floor(out.rateLimits.perIp.ratePerSecond * 0.9);
            const seconds = 30;
            const load = new Promise<{ sent: number; ok: number; limited: number; other: number; failed: number }>((resolve, reject) => {
                const child = spawn("ip", ["netns", "exec", client, "node", path.join(__dirname, "rate-client.js"), lb, serverName, ca, out.testApiKey,
                    "/api/v1/orders/drill", String(rate), String(seconds), "198.18.1.10"], { stdio: ["ignore", "pipe", "pipe"] });
                let stdout = "";
                child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
                child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`rate-client exit ${code}`))));
            });
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
            const result = await load;
            const failed = result.failed + result.other;
            process.stdout.write(`drill: ${serving} stopped under ${rate} r/s: marked down after ${downAfter.toFixed(1)} s; failed ${failed} of ${result.sent} (${(100 * failed / result.sent).toFixed(2)} %), 429 ${result.limited}\n`);
            assert.ok(downAfter > 0 && downAfter <= 10, `marked down after ${downAfter} s`);
            assert.ok(failed <= result.sent * 0.001, `failed ${failed} of ${result.sent}: ${JSON.stringify(result)}`);
            // Traffic returns: a new connection from this client is served by the restarted proxy.
            const again = accessLines(serving);
            assert.equal(curl(443, "/api/v1/orders/back", key).status, "200");
            assert.ok(accessLines(serving) > again, `${serving} serves again`);
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
            const stackDoc = YAML.parseDocument(fs.readFileSync(configFile, "utf8"));
            stackDoc.setIn(["config", "api-proxy-security:tier", "limits"], { rateLimitPerIp: { ratePerSecond: 40, burst: 80 }, rateLimitPerApiKey: { ratePerSecond: 1, burst: 3 } });
            fs.writeFileSync(configFile, String(stackDoc));
            const rateLimits = "/etc/nginx/apiproxy/rate-limits.conf";
            const before = sha("proxy-a", rateLimits);
            inHost("proxy-a", ["mv", "/var/log/nginx", "/var/log/nginx.moved-by-test"]);
            const refused = await runPulumi(["up", "--yes", "--skip-preview", "--stack", stack], opts);
            assert.notEqual(refused.code, 0, "up must fail when nginx -t refuses");
            const nginxSays = `${refused.stdout}\n${refused.stderr}`.split("\n").filter((l) => /nginx/.test(l) && /error\.log|emerg/.test(l));
            assert.ok(nginxSays.length > 0, `up failed with nginx's own message; it said:\n${`${refused.stdout}\n${refused.stderr}`.split("\n").filter((l) => /error|fail/i.test(l)).slice(-15).join("\n")}`);
            assert.equal(sha("proxy-a", rateLimits), before, "the refused config was rolled back");
            assert.equal(nginxPid(), master, "the old nginx keeps running");
            assert.equal(inHost("proxy-a", ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `http://198.18.3.10:8081/healthz`], true), "200");
            assert.equal(curl(443, "/api/v1/orders/42", key).status, "200", "the tier keeps serving");
            inHost("proxy-a", ["mv", "/var/log/nginx.moved-by-test", "/var/log/nginx"]);
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
