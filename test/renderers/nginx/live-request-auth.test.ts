/**
 * Live test of signed and JWT routes end to end: the rendered nginx (njs checks the body
 * against the signed digest) in front of the REAL key service (services/cmd/apiproxy-keycheck,
 * built here, with the policy renderAuthPolicy writes) and a real redis-server (tier-wide
 * replay protection), all on loopback high ports. Every refusal is checked against what the
 * upstream saw: nothing. Every loop is bounded; every process is stopped in `after`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import * as http from "node:http";
import { after, before, describe, it } from "node:test";
import { renderNginx } from "../../../components/nginx";
import type { NginxSpec } from "../../../components/nginx/types";
import { jwkFromPublicKeyPem, type AuthPolicySpec, type JwtAlgorithm } from "../../../components/services/render-auth-policy";
import { startKeyService, type RunningKeyService } from "./key-service";
import { claimsNow, mintJwt, signatureHeaders } from "../../integration/request-auth-client";
import { route, validSpec } from "./fixtures";
import {
    freePort, httpsRequest, LOOPBACK, loopbackSpec, makeTempTree, NGINX_BINARY, startNginx,
    type Reply, type RunningNginx, type TempTree,
} from "./harness";

const ISSUER = "https://issuer.test";
const SECRETS = { "partner-a-old": randomBytes(32).toString("base64"), "partner-a-new": randomBytes(32).toString("base64"), "partner-b-1": randomBytes(32).toString("base64") };
const PAST = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, "Z");

function onPath(tool: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

const missing = [
    process.getuid?.() === 0 ? undefined : "root",
    existsSync(NGINX_BINARY) ? undefined : NGINX_BINARY,
    existsSync("/usr/lib/nginx/modules/ngx_http_js_module.so") ? undefined : "libnginx-mod-http-js",
    ...["redis-server", "go"].map((tool) => (onPath(tool) ? undefined : tool)),
].filter((x) => x !== undefined);

function keyPair(alg: JwtAlgorithm): { publicPem: string; privatePem: string } {
    const pair = alg === "ES256" ? generateKeyPairSync("ec", { namedCurve: "P-256" })
        : alg === "RS256" ? generateKeyPairSync("rsa", { modulusLength: 3072 }) : generateKeyPairSync("ed25519");
    return {
        publicPem: pair.publicKey.export({ type: "spki", format: "pem" }).toString(),
        privatePem: pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    };
}

describe("signed and JWT routes, live: nginx + njs + the real key service + Redis", {
    skip: missing.length > 0 && `needs ${missing.join(", ")} (scripts/install-deps.sh installs them)`,
    timeout: 300_000,
}, () => {
    let tree: TempTree;
    let nginx: RunningNginx | undefined;
    let keyService: RunningKeyService | undefined;
    const upstreamSaw: { url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
    let upstream: http.Server | undefined;
    const ports = { https: 0, mtls: 0, health: 0, upstream: 0, keys: 0, redis: 0 };
    const keys = { ES256: keyPair("ES256"), RS256: keyPair("RS256"), EdDSA: keyPair("EdDSA"), retired: keyPair("ES256") };

    function send(path: string, method: string, headers: Record<string, string>, body?: string): Promise<Reply> {
        return httpsRequest(tree, ports.https, path, { method, headers: { ...headers, ...(body ? { "content-type": "application/json" } : {}) }, ...(body ? { body: Buffer.from(body) } : {}) });
    }
    function signed(path: string, method: string, body: string | undefined, keyId: string, extra: Partial<Parameters<typeof signatureHeaders>[0]> = {}): Promise<Reply> {
        return send(path, method, signatureHeaders({ method, uri: path, body, keyId, secret: SECRETS[keyId as keyof typeof SECRETS], ...extra }), body);
    }
    function bearer(token: string, path = "/api/token/x"): Promise<Reply> {
        return send(path, "GET", { authorization: `Bearer ${token}` });
    }
    const token = (alg: JwtAlgorithm, claims: Record<string, unknown>, kid: string = alg, privatePem = keys[alg].privatePem) =>
        mintJwt({ alg, kid, privateKeyPem: privatePem, claims });
    const reason = (reply: Reply) => (JSON.parse(reply.body) as { reason?: string; error: string });
    async function refusedUnseen(reply: Promise<Reply>, status: number, why: string): Promise<void> {
        const before = upstreamSaw.length;
        const r = await reply;
        assert.equal(r.status, status, `${why}: ${r.body}`);
        assert.equal(upstreamSaw.length, before, `${why}: the upstream saw the request`);
    }

    before(async () => {
        tree = makeTempTree("apiproxy-nginx-auth-");
        for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
        const policy: AuthPolicySpec = {
            signatures: {
                maxSkewSeconds: 300,
                keys: [
                    { id: "partner-a-old", client: "partner-a", secret: SECRETS["partner-a-old"], notAfter: PAST },
                    { id: "partner-a-new", client: "partner-a", secret: SECRETS["partner-a-new"] },
                    { id: "partner-b-1", client: "partner-b", secret: SECRETS["partner-b-1"] },
                ],
            },
            issuers: [{
                name: "test", issuer: ISSUER, leewaySeconds: 30, maxLifetimeSeconds: 3600,
                keys: [
                    ...(["ES256", "RS256", "EdDSA"] as const).map((alg) => ({ jwk: jwkFromPublicKeyPem(keys[alg].publicPem, alg, alg) })),
                    { jwk: jwkFromPublicKeyPem(keys.retired.publicPem, "retired", "ES256"), notAfter: PAST },
                ],
            }],
            routes: {
                partner: { apiKey: false, signature: { clients: ["partner-a"] } },
                token: { apiKey: false, jwt: { issuer: "test", audiences: ["orders-api"] } },
            },
        };
        keyService = await startKeyService({ dir: tree.root, port: ports.keys, redisPort: ports.redis, perKey: { ratePerSecond: 100, burst: 100 }, policy });

        upstream = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", (c: Buffer) => chunks.push(c));
            req.on("end", () => {
                upstreamSaw.push({ url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() });
                res.writeHead(200, { "content-type": "application/json" });
                res.end("{}");
            });
        });
        await new Promise<void>((r) => upstream?.listen(ports.upstream, LOOPBACK, r));

        const timeouts = { connectSeconds: 1, sendSeconds: 5, readSeconds: 5 };
        const perIp = { ratePerSecond: 1000, burst: 1000 };
        const spec: NginxSpec = loopbackSpec(tree, validSpec, ports, {
            rateLimits: { perIp: { ...perIp, zoneMegabytes: 1 }, perApiKey: { ratePerSecond: 100, burst: 100 } },
            upstreams: [{ name: "app", algorithm: "round-robin", servers: [{ address: `${LOOPBACK}:${ports.upstream}`, weight: 1 }], keepalive: 8, maxFails: 3, failTimeoutSeconds: 10, tls: false }],
            routes: [
                route({ name: "partner", pathPrefix: "/api/partner/", methods: ["GET", "POST"], upstream: "app", timeouts, requireApiKey: false, rateLimitPerIp: perIp, requestAuth: { signature: true, jwt: false } }),
                route({ name: "token", pathPrefix: "/api/token/", methods: ["GET"], upstream: "app", timeouts, requireApiKey: false, rateLimitPerIp: perIp, requestAuth: { signature: false, jwt: true } }),
            ],
        });
        nginx = await startNginx(tree, spec, renderNginx(spec));
    });

    after(async () => {
        await nginx?.stop();
        await keyService?.stop();
        upstream?.closeAllConnections();
        await new Promise((r) => (upstream ? upstream.close(r) : r(undefined)));
        tree?.remove();
    });

    it("a signed request passes with its body; the upstream learns the client from the proxy, never from the request", async () => {
        const body = JSON.stringify({ sku: "ABC-1", quantity: 2 });
        const reply = await send("/api/partner/orders?x=1", "POST",
            { ...signatureHeaders({ method: "POST", uri: "/api/partner/orders?x=1", body, keyId: "partner-a-new", secret: SECRETS["partner-a-new"] }), "x-apiproxy-client": "forged" }, body);
        assert.equal(reply.status, 200, reply.body + nginx?.errorLog() + keyService?.output());
        const seen = upstreamSaw.at(-1)!;
        assert.deepEqual([seen.url, seen.body, seen.headers["x-apiproxy-client"]], ["/api/partner/orders?x=1", body, "partner-a"]);
        assert.equal((await signed("/api/partner/list", "GET", undefined, "partner-a-new")).status, 200, "no body: the empty body's digest");
    });

    it("refuses each broken signature with its reason, before any upstream sees it", async () => {
        const body = JSON.stringify({ n: 1 });
        await refusedUnseen(send("/api/partner/x", "GET", {}), 401, "unsigned");
        const missingReason = await send("/api/partner/x", "GET", {});
        assert.equal(reason(missingReason).reason, "signature-missing");
        const wrongSecret = send("/api/partner/x", "POST", signatureHeaders({ method: "POST", uri: "/api/partner/x", body, keyId: "partner-a-new", secret: "w".repeat(44) }), body);
        await refusedUnseen(wrongSecret, 401, "wrong secret");
        const bad = await send("/api/partner/x", "POST", signatureHeaders({ method: "POST", uri: "/api/partner/x", body, keyId: "partner-a-new", secret: "w".repeat(44) }), body);
        assert.deepEqual([reason(bad).error, reason(bad).reason], ["unauthorized", "bad-signature"]);
        // The signature covers method and URI: replaying its headers on another path or method fails.
        const headers = signatureHeaders({ method: "GET", uri: "/api/partner/a", keyId: "partner-a-new", secret: SECRETS["partner-a-new"] });
        assert.equal(reason(await send("/api/partner/b", "GET", headers)).reason, "bad-signature");
        const stale = await signed("/api/partner/x", "GET", undefined, "partner-a-new", { timestamp: Math.floor(Date.now() / 1000) - 301 });
        assert.deepEqual([stale.status, reason(stale).reason], [401, "stale-timestamp"]);
        const unknown = await send("/api/partner/x", "GET", signatureHeaders({ method: "GET", uri: "/api/partner/x", keyId: "nobody", secret: "n".repeat(40) }));
        assert.deepEqual([unknown.status, reason(unknown).reason], [401, "unknown-key"]);
        const retired = await signed("/api/partner/x", "GET", undefined, "partner-a-old");
        assert.deepEqual([retired.status, reason(retired).reason], [401, "key-not-valid-now"], "the rotated-out key after its overlap window");
        const other = await signed("/api/partner/x", "GET", undefined, "partner-b-1");
        assert.deepEqual([other.status, reason(other).reason], [403, undefined], "a valid client the route does not admit");
        assert.equal(upstreamSaw.filter((s) => s.url === "/api/partner/x" || s.url === "/api/partner/b").length, 0);
    });

    it("a replayed request is refused tier-wide (Redis), and a body other than the signed one never passes", async () => {
        const body = JSON.stringify({ amount: 10 });
        const headers = signatureHeaders({ method: "POST", uri: "/api/partner/pay", body, keyId: "partner-a-new", secret: SECRETS["partner-a-new"] });
        assert.equal((await send("/api/partner/pay", "POST", headers, body)).status, 200);
        const again = await send("/api/partner/pay", "POST", headers, body);
        assert.deepEqual([again.status, reason(again).reason], [401, "replayed"]);
        const tampered = signatureHeaders({ method: "POST", uri: "/api/partner/pay", body, keyId: "partner-a-new", secret: SECRETS["partner-a-new"] });
        const changed = await send("/api/partner/pay", "POST", tampered, JSON.stringify({ amount: 10000 }));
        assert.equal(changed.status, 400, changed.body);
        assert.equal(reason(changed).error, "digest_mismatch");
        assert.equal(upstreamSaw.filter((s) => s.url === "/api/partner/pay").length, 1, "only the first, genuine request reached the upstream");
    });

    it("accepts ES256, RS256 and EdDSA tokens of the issuer; the upstream gets the subject from the proxy", async () => {
        for (const alg of ["ES256", "RS256", "EdDSA"] as const) {
            const reply = await send("/api/token/orders", "GET", { authorization: `Bearer ${token(alg, claimsNow(ISSUER, ["other", "orders-api"], `user-${alg}`))}`, "x-apiproxy-subject": "admin" });
            assert.equal(reply.status, 200, `${alg}: ${reply.body}${keyService?.output().slice(-2000)}`);
            assert.equal(upstreamSaw.at(-1)?.headers["x-apiproxy-subject"], `user-${alg}`);
        }
    });

    it("refuses each bad token with its reason, before any upstream sees it", async () => {
        const now = Math.floor(Date.now() / 1000);
        const base = claimsNow(ISSUER, "orders-api", "user-1");
        const cases: [string, string | undefined, string][] = [
            ["no token", undefined, "token-missing"],
            ["garbage", "not.a.jwt", "token-malformed"],
            ["expired", token("ES256", { ...base, iat: now - 600, nbf: now - 600, exp: now - 60 }), "expired"],
            ["not yet valid", token("ES256", { ...base, nbf: now + 120, exp: now + 600 }), "not-yet-valid"],
            ["wrong issuer", token("ES256", { ...base, iss: "https://evil.test" }), "wrong-issuer"],
            ["wrong audience", token("ES256", { ...base, aud: "billing" }), "wrong-audience"],
            ["too long-lived", token("ES256", { ...base, exp: now + 7200 }), "lifetime-too-long"],
            ["unknown kid", token("ES256", base, "who"), "unknown-key"],
            ["retired key", token("ES256", base, "retired", keys.retired.privatePem), "key-retired"],
            ["signed by another key", token("ES256", base, "ES256", keyPair("ES256").privatePem), "bad-signature"],
            ["alg none", `${Buffer.from(JSON.stringify({ alg: "none", kid: "ES256" })).toString("base64url")}.${Buffer.from(JSON.stringify(base)).toString("base64url")}.`, "unsupported-alg"],
        ];
        for (const [what, jwt, why] of cases) {
            const before = upstreamSaw.length;
            const reply = jwt === undefined ? await send("/api/token/x", "GET", {}) : await bearer(jwt);
            assert.equal(reply.status, 401, `${what}: ${reply.body}`);
            assert.equal(reason(reply).reason, why, what);
            assert.match(String(reply.headers["www-authenticate"] ?? ""), /^Bearer/, `${what}: RFC 6750 challenge`);
            assert.equal(upstreamSaw.length, before, `${what}: the upstream saw it`);
        }
        assert.ok(!keyService!.output().includes(token("ES256", base).split(".")[2]), "tokens never reach the key service's log");
    });
});
