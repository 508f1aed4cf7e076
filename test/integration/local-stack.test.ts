// The `local` stack for real (stacks/Pulumi.local.yaml through the real engine, the project's
// providers, real containers and daemons), driven from the client segment as a user would:
// HTTPS, HTTP/2, gRPC and WebSocket through HAProxy and the proxy pair to the upstream; API-key
// refusals; default deny with the upstream's own log as proof; segments that only let through
// what the security groups would; mTLS with and without the issued
// certificate; the read timeout as 504; a hand edit seen by refresh and repaired by up (a reload);
// a config nginx -t refuses never activated while the old one keeps serving; the per-key limit
// keyed on the key service's id (random keys neither dodge nor drain it); a no-op second up;
// destroy leaves nothing.
// State goes to a temp backend and the config to stacks/Pulumi.local-it.yaml, a copy of the
// local stack file removed afterwards (git-ignored), so a user's own `npm run up` state and
// stack file are untouched; its network plan is the local stack's, so no other local stack may
// be running (the test says so instead of colliding).
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import * as YAML from "yaml";
import { claimsNow, curlHeaders, mintJwt, signatureHeaders, type JwtAlg } from "./request-auth-client";
import {
    deploymentGate, makeTempDir, removeDir, repoRoot, requireEngine, runPulumi, runPulumiOk, runUpdate,
} from "./engine-helpers";

const { problem: statusProblem, skipReason } = deploymentGate();
const stack = "local-it";
const fabric = "apx-local";
const client = `${fabric}-client`;
const serverName = "api.tier.test";
const lb = "198.18.2.10";

interface Curl { code: number; status: string; body: string; httpVersion: string }

/** Runs a command inside a container (all its namespaces), or with `networkOnly` this machine's binary in its network. */
function inHost(host: string, args: string[], networkOnly = false): string {
    const pid = fs.readFileSync(path.join(repoRoot, ".tools", "local-stacks", fabric, host, "nspawn.pid"), "utf8").trim();
    const init = execFileSync("pgrep", ["-P", pid], { encoding: "utf8" }).trim().split("\n")[0];
    return execFileSync("nsenter", ["-t", init, networkOnly ? "-n" : "-a", ...args], { encoding: "utf8" });
}

describe("the local stack: the whole tier on this machine, from the client segment", { timeout: 900_000 }, () => {
    let work: string | undefined;
    let opts = { cwd: repoRoot, env: {} as NodeJS.ProcessEnv, timeoutMs: 600_000 };
    let configFile = "";
    let created = false;

    after(async () => {
        try {
            if (created) {
                await runPulumi(["destroy", "--yes", "--skip-preview", "--stack", stack], opts);
            }
        } finally {
            removeDir(work);
            if (configFile) fs.rmSync(configFile, { force: true });
        }
    });

    it("serves every protocol through the LB and the pair, refuses what it must, no-op second up, destroy leaves nothing",
        { skip: skipReason || false }, async () => {
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
            const pulumi = (args: string[]) => runPulumiOk([...args, "--stack", stack], opts);
            await runPulumiOk(["stack", "init", stack], opts);
            created = true;
            const first = await runUpdate(["up", "--yes", "--skip-preview", "--stack", stack], opts, stack);
            assert.equal(first.result, "succeeded");

            const out = JSON.parse((await pulumi(["stack", "output", "--json", "--show-secrets"])).stdout) as {
                caBundlePem: string; testApiKey: string; clientCertificates: Record<string, { certificatePem: string }>;
                testSignatureSecrets?: Record<string, string>; jwtSigningKeys?: Record<string, Record<string, string>>;
                jwks?: Record<string, Record<string, string>[]>;
                clientPrivateKeys: Record<string, string>; deliveries: Record<string, { notApplied: string[] }>;
            };
            const file = (name: string, text: string): string => {
                const p = path.join(work!, name);
                fs.writeFileSync(p, text, { mode: 0o600 });
                return p;
            };
            const ca = file("ca.pem", out.caBundlePem);
            const curl = (port: number, urlPath: string, extra: string[] = []): Curl => {
                const r = spawnSync("ip", ["netns", "exec", client, "curl", "-sS", "--max-time", "10", "--cacert", ca,
                    "--resolve", `${serverName}:${port}:${lb}`, "-w", "\n%{http_code} %{http_version}", ...extra,
                    `https://${serverName}:${port}${urlPath}`], { encoding: "utf8" });
                const lines = r.stdout.trimEnd().split("\n");
                const [statusCode, httpVersion] = (lines.pop() ?? "").split(" ");
                return { code: r.status ?? -1, status: statusCode, body: lines.join("\n"), httpVersion };
            };
            const key = ["-H", `X-API-Key: ${out.testApiKey}`];

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

            const again = await runUpdate(["up", "--yes", "--skip-preview", "--stack", stack], opts, stack);
            assert.deepEqual(Object.keys(again.resourceChanges), ["same"], JSON.stringify(again.resourceChanges));

            const destroyed = await runUpdate(["destroy", "--yes", "--skip-preview", "--stack", stack], opts, stack);
            assert.equal(destroyed.result, "succeeded");
            created = false;
            assert.ok(!execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).includes(`${fabric}-`), "namespaces left behind");
            assert.ok(!fs.readFileSync("/proc/mounts", "utf8").includes(`local-stacks/${fabric}/`), "overlay mounts left behind");
            assert.ok(!fs.existsSync(path.join(repoRoot, ".tools", "local-stacks", fabric)), "host state left behind");
        });
});
