// The `local` stack for real (stacks/Pulumi.local.yaml through the real engine, the project's
// providers, real containers and daemons), driven from the client segment as a user would:
// HTTPS, HTTP/2, gRPC and WebSocket through HAProxy and the proxy pair to the upstream; API-key
// refusals; default deny with the upstream's own log as proof; segments that only let through
// what the security groups would; mTLS with and without the issued
// certificate; the read timeout as 504; a no-op second up; destroy leaves nothing.
// State goes to a temp backend and the config to stacks/Pulumi.local-it.yaml, a copy of the
// local stack file removed afterwards (git-ignored), so a user's own `npm run up` state and
// stack file are untouched; its network plan is the local stack's, so no other local stack may
// be running (the test says so instead of colliding).
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
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
                clientPrivateKeys: Record<string, string>; local: { deliveries: Record<string, { notApplied: string[] }> };
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

            // Segments filter like security groups: the client reaches the load balancer only,
            // never a proxy or an upstream directly.
            const direct = (address: string, port: number): number => spawnSync("ip", ["netns", "exec", client, "curl", "-sS", "-o", "/dev/null",
                "--connect-timeout", "2", "--max-time", "3", "-k", `https://${address}:${port}/`], { encoding: "utf8" }).status ?? -1;
            assert.equal(direct("198.18.3.10", 443), 28, "the client reached a proxy around the load balancer");
            assert.equal(direct("198.18.4.10", 8080), 28, "the client reached an upstream");

            // The upstream's own log: the declared requests arrived, the undeclared path never did.
            const upstreamPid = fs.readFileSync(path.join(repoRoot, ".tools", "local-stacks", fabric, "upstream-1", "nspawn.pid"), "utf8").trim();
            const init = execFileSync("pgrep", ["-P", upstreamPid], { encoding: "utf8" }).trim().split("\n")[0];
            const journal = execFileSync("nsenter", ["-t", init, "-a", "journalctl", "-o", "cat", "--no-pager", "-u", "apiproxy-upstream-orders-8080"], { encoding: "utf8" });
            assert.match(journal, /"path":"\/api\/v1\/orders\/42"/);
            assert.ok(!journal.includes(marker), "an undeclared path reached the upstream");
            assert.ok(!journal.includes("DELETE"), "a refused method reached the upstream");

            // What a container could not apply is reported, never skipped in silence.
            assert.ok(out.local.deliveries["proxy-a"].notApplied.some((n) => n.startsWith("sysctl kernel.")));
            assert.ok(!out.local.deliveries["proxy-a"].notApplied.some((n) => n.includes("ip_local_port_range")), "per-namespace net.* keys apply");

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
