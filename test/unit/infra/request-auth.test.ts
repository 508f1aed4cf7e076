/**
 * Signed and JWT routes in the stack config: each bad input is refused naming its field
 * before anything is changed; the signature secrets (secret config) are checked against the
 * declared keys; JWKS files are read and refused key by key; the key service's policy is
 * built from the tier and refused where it could not be enforced.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { ConfigError, TIER_CONFIG_KEY, validateTierConfig } from "../../../infra/config/load";
import { readJwksFiles } from "../../../infra/config/jwks";
import { validateSignatureSecrets } from "../../../infra/config/signature-secrets";
import { buildAuthPolicy } from "../../../infra/spec/auth-policy-spec";
import { buildNginxSpec } from "../../../infra/spec/nginx-spec";
import {
    authPolicyProblems, jwkFromPublicKeyPem, publicJwkProblem, renderAuthPolicy, type PublicJwk,
} from "../../../components/services/render-auth-policy";
import { renderKeycheckUnit } from "../../../components/services/render-units";
import { problemsOf } from "./config-problems";

const ROOT = path.resolve(__dirname, "..", "..", "..");
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const localTier = (): Record<string, any> =>
    structuredClone(YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.local.yaml"), "utf8")).config[TIER_CONFIG_KEY]);
const routeIndex = (tier: Record<string, any>, name: string) => (tier.routes as { name: string }[]).findIndex((r) => r.name === name);

function problemAt(raw: unknown, field: string, reason: RegExp): void {
    const problems = problemsOf(raw);
    const hit = problems.find((p) => p.path === field);
    assert.ok(hit, `no problem at ${field}; got ${JSON.stringify(problems)}`);
    assert.match(hit.message, reason);
}

function ecJwk(kid: string): PublicJwk {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    return jwkFromPublicKeyPem(publicKey.export({ type: "spki", format: "pem" }).toString(), kid, "ES256");
}

describe("signed and JWT routes in the stack config", () => {
    test("the local stack declares both and passes", () => {
        assert.deepEqual(problemsOf(localTier()), []);
    });
    test("a route's signing client must be declared", () => {
        const tier = localTier();
        const i = routeIndex(tier, "partner-orders");
        tier.routes[i].signature.clients = ["partner-a", "partner-z"];
        problemAt(tier, `tier.routes[${i}].signature.clients[1]`, /"partner-z" is not a signing client \(signatures.clients: partner-a, partner-b\)/);
    });
    test("a route's issuer must be declared", () => {
        const tier = localTier();
        const i = routeIndex(tier, "token-orders");
        tier.routes[i].jwt.issuer = "elsewhere";
        problemAt(tier, `tier.routes[${i}].jwt.issuer`, /"elsewhere" is not a declared issuer \(jwt.issuers: local\)/);
    });
    test("a route's audiences are required and printable", () => {
        const tier = localTier();
        const i = routeIndex(tier, "token-orders");
        tier.routes[i].jwt.audiences = [];
        problemAt(tier, `tier.routes[${i}].jwt.audiences`, /at least one audience/);
        tier.routes[i].jwt.audiences = ["two words"];
        problemAt(tier, `tier.routes[${i}].jwt.audiences[0]`, /printable characters without spaces/);
    });
    test("only http routes are signed", () => {
        const tier = localTier();
        const i = routeIndex(tier, "orders-stream");
        tier.routes[i].apiKey = false;
        tier.routes[i].signature = { clients: ["partner-a"] };
        problemAt(tier, `tier.routes[${i}].signature`, /only http routes are signed/);
    });
    test("a signed or JWT route is checked, so it is not declared public, and needs no API key", () => {
        const tier = localTier();
        const i = routeIndex(tier, "token-orders");
        tier.routes[i].public = { reason: "open catalogue for everyone" };
        problemAt(tier, `tier.routes[${i}].public`, /without an API key, signature or JWT/);
    });
    test("without any check a public-listener route still needs a declared reason", () => {
        const tier = localTier();
        const i = routeIndex(tier, "token-orders");
        delete tier.routes[i].jwt;
        problemAt(tier, `tier.routes[${i}].apiKey`, /nothing checks this route's requests/);
    });
    test("key ids are unique across clients; a window ends after it starts", () => {
        const tier = localTier();
        tier.signatures.clients[1].keys[0].id = "partner-a-2026-11";
        problemAt(tier, "tier.signatures.clients[1].keys[0].id", /another key's id/);
        const reversed = localTier();
        reversed.signatures.clients[0].keys[0].notBefore = "2026-12-01T00:00:00Z";
        problemAt(reversed, "tier.signatures.clients[0].keys[0].notAfter", /later than notBefore/);
        const bad = localTier();
        bad.signatures.clients[0].keys[0].notAfter = "next tuesday";
        problemAt(bad, "tier.signatures.clients[0].keys[0].notAfter", /RFC 3339/);
    });
    test("an issuer gives exactly one of keys or jwksFile, with supported algorithms and unique kids", () => {
        const tier = localTier();
        tier.jwt.issuers[0].jwksFile = "stacks/jwks/x.json";
        problemAt(tier, "tier.jwt.issuers[0].keys", /exactly one of keys .* or jwksFile/);
        const hs = localTier();
        hs.jwt.issuers[0].keys[0].algorithm = "HS256";
        problemAt(hs, "tier.jwt.issuers[0].keys[0].algorithm", /ES256, RS256 or EdDSA/);
        const twice = localTier();
        twice.jwt.issuers[0].keys[1].kid = "local-es256";
        problemAt(twice, "tier.jwt.issuers[0].keys[1].kid", /declared twice/);
    });
    test("the aws target refuses signature and JWT routes (its key service is the operator's)", () => {
        const tier = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.prod.yaml"), "utf8")).config[TIER_CONFIG_KEY];
        tier.jwt = { issuers: [{ name: "corp", issuer: "https://login.example.com", keys: [{ kid: "k1", algorithm: "ES256" }] }] };
        const i = tier.routes.findIndex((r: { apiKey?: boolean }) => r.apiKey !== false);
        tier.routes[i].jwt = { issuer: "corp", audiences: ["api"] };
        problemAt(tier, `tier.routes[${i}].jwt`, /key service this product runs/);
    });
    test("the nginx spec carries which check each route needs", () => {
        const spec = buildNginxSpec(validateTierConfig(localTier()), { runUser: "www-data", runGroup: "www-data", nginxVersion: "1.22.1" });
        const auth = Object.fromEntries(spec.routes.map((r) => [r.name, r.requestAuth]));
        assert.deepEqual(auth["partner-orders"], { signature: true, jwt: false });
        assert.deepEqual(auth["token-orders"], { signature: false, jwt: true });
        assert.equal(auth.orders, undefined);
    });
});

describe("signature secrets (secret config)", () => {
    const tier = validateTierConfig(localTier());
    const good = { "partner-a-2026-10": "x".repeat(32), "partner-a-2026-11": "y".repeat(40), "partner-b-1": "z".repeat(48) };
    const refused = (raw: unknown): { path: string; message: string }[] => {
        try {
            validateSignatureSecrets(raw, tier, "test");
        } catch (err) {
            assert.ok(err instanceof ConfigError);
            return [...err.problems];
        }
        return [];
    };
    test("every declared key has a secret of at least 32 bytes; nothing else", () => {
        assert.deepEqual(refused(good), []);
        const { ["partner-b-1"]: _, ...missing } = good;
        assert.deepEqual(refused(missing), [{ path: "signatureSecrets.partner-b-1", message: "is missing: every key in tier.signatures needs its secret" }]);
        const weak = refused({ ...good, "partner-b-1": "short" });
        assert.equal(weak[0].path, "signatureSecrets.partner-b-1");
        assert.match(weak[0].message, /at least 32 bytes/);
        assert.ok(!JSON.stringify(weak).includes("short"), "the secret is never echoed");
        assert.match(refused({ ...good, stray: "s".repeat(40) })[0].message, /is not a key of tier.signatures/);
        assert.match(refused(["x"])[0].message, /key id -> secret/);
        assert.match(refused({ ...good, "partner-b-1": good["partner-a-2026-10"] })[0].message, /another key's secret/);
    });
});

describe("JWKS files", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-jwks-"));
    const tierWith = (file: string) => ({ jwt: { issuers: [{ name: "corp", issuer: "https://login.example.com", leewaySeconds: 30, jwksFile: file }] } });
    const write = (name: string, content: unknown) => fs.writeFileSync(path.join(dir, name), typeof content === "string" ? content : JSON.stringify(content));
    test("a valid file is read key by key", () => {
        write("good.json", { keys: [{ ...ecJwk("a"), x5c: ["MIIB..."], key_ops: ["verify"] }, ecJwk("b")] });
        const read = readJwksFiles(tierWith("good.json") as never, dir);
        assert.deepEqual(read.problems, []);
        assert.deepEqual(read.jwks.corp.map((k) => k.kid), ["a", "b"]);
        assert.deepEqual(Object.keys(read.jwks.corp[0]).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"], "members a verifier does not use are dropped");
    });
    test("missing, not JSON, no keys, private material, duplicate kid: each named", () => {
        const problem = (file: string) => readJwksFiles(tierWith(file) as never, dir).problems.map((p) => `${p.path}: ${p.message}`);
        assert.match(problem("absent.json")[0], /^tier\.jwt\.issuers\[0\]\.jwksFile: absent\.json does not exist/);
        write("text.json", "not json");
        assert.match(problem("text.json")[0], /is not readable JSON/);
        write("empty.json", { keys: [] });
        assert.match(problem("empty.json")[0], /needs a non-empty "keys" array/);
        const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
        write("private.json", { keys: [{ ...(privateKey.export({ format: "jwk" }) as object), kid: "p", alg: "ES256" }] });
        assert.match(problem("private.json")[0], /#\/keys\/0 holds private key material \(d\)/);
        write("twice.json", { keys: [ecJwk("a"), ecJwk("a")] });
        assert.match(problem("twice.json")[0], /#\/keys\/1 kid "a" appears twice/);
    });
    test("weak or mismatched keys are refused", () => {
        const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "jwk" });
        assert.match(publicJwkProblem({ ...rsa, kid: "r", alg: "RS256" }) ?? "", /at least 2048/);
        assert.match(publicJwkProblem({ ...ecJwk("e"), alg: "RS256" }) ?? "", /alg must be ES256 for kty EC/);
        const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey.export({ format: "jwk" });
        assert.match(publicJwkProblem({ ...p384, kid: "e", alg: "ES256" }) ?? "", /crv must be P-256/);
        assert.match(publicJwkProblem({ ...ecJwk("e"), use: "enc" }) ?? "", /only signature keys/);
    });
});

describe("the key service's policy", () => {
    const tier = validateTierConfig(localTier());
    const secrets = { "partner-a-2026-10": "x".repeat(32), "partner-a-2026-11": "y".repeat(40), "partner-b-1": "z".repeat(48) };
    const jwks = { local: ["local-es256", "local-eddsa", "local-rs256", "local-retired"].map(ecJwk) };
    test("routes, signing keys with their windows and issuers' keys", () => {
        const policy = buildAuthPolicy(tier, secrets, jwks);
        assert.deepEqual(Object.keys(policy.routes).sort(), ["partner-orders", "token-orders"]);
        assert.deepEqual(policy.routes["partner-orders"], { apiKey: false, signature: { clients: ["partner-a"] } });
        assert.deepEqual(policy.routes["token-orders"], { apiKey: false, jwt: { issuer: "local", audiences: ["orders-api"] } });
        assert.deepEqual(policy.signatures?.keys.map((k) => [k.id, k.client, k.notAfter]),
            [["partner-a-2026-10", "partner-a", "2026-11-01T00:00:00Z"], ["partner-a-2026-11", "partner-a", undefined], ["partner-b-1", "partner-b", undefined]]);
        assert.equal(policy.signatures?.maxSkewSeconds, 300);
        assert.equal(policy.issuers[0].keys.find((k) => k.jwk.kid === "local-retired")?.notAfter, "2026-11-01T00:00:00Z");
        assert.deepEqual(authPolicyProblems(policy), []);
    });
    test("the file is root-only and secret; the unit loads it as a credential and restarts on change", () => {
        const file = renderAuthPolicy(buildAuthPolicy(tier, secrets, jwks));
        assert.deepEqual([file.path, file.mode, file.owner, file.secret], ["/etc/apiproxy-keycheck/policy.json", "0600", "root", true]);
        const unit = (sha?: string) => renderKeycheckUnit({
            listen: "198.18.4.20:8090", redis: "127.0.0.1:6379", redisUnit: "redis-server", binarySha256: "a".repeat(64),
            rateLimitPerApiKey: { ratePerSecond: 10, burst: 5 }, ...(sha ? { policySha256: sha } : {}),
        })[0].content;
        assert.match(unit("b".repeat(64)), /LoadCredential=policy:\/etc\/apiproxy-keycheck\/policy.json/);
        assert.match(unit("b".repeat(64)), /--policy-file \$\{CREDENTIALS_DIRECTORY\}\/policy/);
        assert.notEqual(unit("b".repeat(64)), unit("c".repeat(64)));
        assert.doesNotMatch(unit(), /policy-file|LoadCredential=policy/);
    });
    test("an impossible policy is refused with its path", () => {
        const policy = buildAuthPolicy(tier, secrets, jwks);
        const broken = { ...policy, routes: { ...policy.routes, "x-route": { apiKey: false, jwt: { issuer: "nobody", audiences: ["a"] } } } };
        assert.deepEqual(authPolicyProblems(broken), ['routes["x-route"].jwt.issuer: unknown issuer "nobody"']);
        assert.throws(() => buildAuthPolicy(tier, { "partner-a-2026-11": "y".repeat(40) }, jwks), /partner-a-2026-10 has no secret/);
    });
});
