/**
 * The stack configuration schema: every stack file passes, and each malformed or hostile
 * config is refused with an error naming the exact field.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ConfigError, loadStackFile, TIER_CONFIG_KEY, validateTierConfig } from "../../../infra/config/load";
import { problemsOf } from "./config-problems";

const ROOT = path.resolve(__dirname, "..", "..", "..");

function prodTier(): Record<string, any> {
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.prod.yaml"), "utf8"));
    return structuredClone(doc.config[TIER_CONFIG_KEY]);
}

function assertRefused(mutate: (tier: Record<string, any>) => void, field: string, reason: RegExp): void {
    const tier = prodTier();
    mutate(tier);
    const problems = problemsOf(tier);
    const hit = problems.find((p) => p.path === field);
    assert.ok(hit, `expected a problem at ${field}, got: ${JSON.stringify(problems)}`);
    assert.match(hit.message, reason);
}

describe("stack files", () => {
    for (const stack of ["dev", "staging", "prod"]) {
        test(`${stack} validates`, () => {
            const tier = loadStackFile(path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`));
            assert.equal(tier.environment, stack);
        });
    }

    test("defaults are applied", () => {
        const tier = loadStackFile(path.join(ROOT, "stacks", "Pulumi.staging.yaml"));
        assert.equal(tier.limits.rateLimitPerIp.ratePerSecond, 50);
        assert.equal(tier.limits.rateLimitPerIp.burst, 20);
        assert.equal(tier.limits.maxBodySize, 2 * 1024 * 1024);
        assert.deepEqual(tier.routes[0].listeners, ["public"]);
        assert.equal(tier.routes[0].apiKey, true);
        assert.equal(tier.ports.https, 443);
        assert.equal(tier.ports.mtls, 8443);
    });

    test("a missing file, invalid YAML and a missing tier key are reported, not thrown raw", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-cfg-"));
        try {
            assert.throws(() => loadStackFile(path.join(dir, "nope.yaml")), (e: unknown) => e instanceof ConfigError && /does not exist/.test(e.message));
            fs.writeFileSync(path.join(dir, "bad.yaml"), "config: [unclosed");
            assert.throws(() => loadStackFile(path.join(dir, "bad.yaml")), (e: unknown) => e instanceof ConfigError && /not valid YAML/.test(e.message));
            fs.writeFileSync(path.join(dir, "empty.yaml"), "config:\n  aws:region: eu-west-1\n");
            assert.throws(() => loadStackFile(path.join(dir, "empty.yaml")), (e: unknown) => e instanceof ConfigError && e.problems[0].path === TIER_CONFIG_KEY);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("bad configs are refused with the field named", () => {
    const cases: [string, (t: Record<string, any>) => void, string, RegExp][] = [
        ["ARM instance type", (t) => { t.aws.instanceType = "c7gd.xlarge"; }, "tier.aws.instanceType", /ARM|Graviton|AES-NI/],
        ["instance without NVMe", (t) => { t.aws.instanceType = "c6i.xlarge"; }, "tier.aws.instanceType", /NVMe|instance store|not in|unknown/i],
        ["instance too small", (t) => { t.aws.instanceType = "c6id.large"; }, "tier.aws.instanceType", /vCPU|4/],
        ["unknown instance type", (t) => { t.aws.instanceType = "z9.mega"; }, "tier.aws.instanceType", /unknown|not/i],
        ["one availability zone", (t) => { t.aws.availabilityZones = ["eu-west-1a"]; }, "tier.aws.availabilityZones", /at least 2/],
        ["duplicate availability zone", (t) => { t.aws.availabilityZones = ["eu-west-1a", "eu-west-1a"]; }, "tier.aws.availabilityZones", /twice/],
        ["zone outside the region", (t) => { t.aws.availabilityZones = ["eu-west-1a", "us-east-1b"]; }, "tier.aws.availabilityZones[1]", /not a zone of region/],
        ["bad region", (t) => { t.aws.region = "mars-1"; }, "tier.aws.region", /region/],
        ["VPC too large", (t) => { t.aws.vpcCidr = "10.0.0.0/8"; }, "tier.aws.vpcCidr", /\/16 to \/20/],
        ["VPC CIDR with host bits", (t) => { t.aws.vpcCidr = "10.40.1.0/16"; }, "tier.aws.vpcCidr", /host bits/],
        ["SSH open to the world", (t) => { t.managementCidrs = ["0.0.0.0/0"]; }, "tier.managementCidrs[0]", /too broad/],
        ["SSH from a /8", (t) => { t.managementCidrs = ["10.0.0.0/8"]; }, "tier.managementCidrs[0]", /too broad/],
        ["no management CIDR", (t) => { t.managementCidrs = []; }, "tier.managementCidrs", /at least one/],
        ["not a CIDR", (t) => { t.trafficCidrs = ["everyone"]; }, "tier.trafficCidrs[0]", /IPv4 CIDR/],
        ["TLS 1.1 allowed", (t) => { t.tls = { protocols: ["TLSv1.1", "TLSv1.2"] }; }, "tier.tls.protocols[0]", /not a NIST SP 800-52r2 approved protocol/],
        ["CBC suite", (t) => { t.tls = { tls12Ciphers: ["ECDHE-RSA-AES128-SHA"] }; }, "tier.tls.tls12Ciphers[0]", /not a NIST/],
        ["CHACHA20 in TLS 1.3", (t) => { t.tls = { tls13Ciphersuites: ["TLS_CHACHA20_POLY1305_SHA256"] }; }, "tier.tls.tls13Ciphersuites[0]", /not a NIST/],
        ["x25519 group", (t) => { t.tls = { groups: ["X25519"] }; }, "tier.tls.groups[0]", /not a NIST/],
        ["short HSTS", (t) => { t.tls = { hstsMaxAgeSeconds: 3600 }; }, "tier.tls.hstsMaxAgeSeconds", /at least/],
        ["rate limit above ceiling", (t) => { t.limits.rateLimitPerIp.ratePerSecond = 1000000; }, "tier.limits.rateLimitPerIp.ratePerSecond", /ceiling/],
        ["zero rate limit", (t) => { t.limits.rateLimitPerIp.ratePerSecond = 0; }, "tier.limits.rateLimitPerIp.ratePerSecond", /at least 1/],
        ["negative burst", (t) => { t.limits.rateLimitPerIp.burst = -1; }, "tier.limits.rateLimitPerIp.burst", /negative/],
        ["huge body", (t) => { t.limits.maxBodySize = "10g"; }, "tier.limits.maxBodySize", /ceiling/],
        ["malformed body size", (t) => { t.limits.maxBodySize = "lots"; }, "tier.limits.maxBodySize", /not a size/],
        ["header buffer too large", (t) => { t.limits.largeHeaderBufferKb = 1024; }, "tier.limits.largeHeaderBufferKb", /header DoS/],
        ["catch-all route", (t) => { t.routes[0].path = "/"; }, "tier.routes[0].path", /catch-all/],
        ["regex route path", (t) => { t.routes[0].path = "~ ^/api/.*"; }, "tier.routes[0].path", /literal path/],
        ["route without methods", (t) => { t.routes[0].methods = []; }, "tier.routes[0].methods", /at least one method/],
        ["unknown method", (t) => { t.routes[0].methods = ["TRACE"]; }, "tier.routes[0].methods[0]", /./],
        ["duplicate method", (t) => { t.routes[0].methods = ["GET", "GET"]; }, "tier.routes[0].methods", /twice/],
        ["route to an undeclared pool", (t) => { t.routes[0].upstream = "ghost"; }, "tier.routes[0].upstream", /not a declared upstream/],
        ["duplicate route name", (t) => { t.routes[1].name = t.routes[0].name; }, "tier.routes[1].name", /declared twice/],
        ["two routes claim one path", (t) => { t.routes.push({ ...t.routes[0], name: "shadow" }); }, "tier.routes[5].path", /already claimed/],
        ["upstream at the instance metadata service", (t) => { t.upstreams[0].servers[0].address = "169.254.169.254:80"; }, "tier.upstreams[0].servers[0].address", /link-local, where cloud instance metadata lives/],
        ["key service on loopback", (t) => { t.apiKeyService = "127.0.0.1:9000"; }, "tier.apiKeyService", /loopback/],
        ["key service named localhost", (t) => { t.apiKeyService = "localhost:9000"; }, "tier.apiKeyService", /this host itself/],
        ["upstream at an unspecified address", (t) => { t.upstreams[0].servers[0].address = "0.0.0.0:8080"; }, "tier.upstreams[0].servers[0].address", /unspecified/],
        ["upstream outside the private subnets (a DMZ address)", (t) => { t.upstreams[0].servers[0].address = "10.40.48.5:8080"; }, "tier.upstreams[0].servers[0].address", /outside the private subnets 10\.40\.96\.0\/20, 10\.40\.112\.0\/20, 10\.40\.128\.0\/20/],
        ["no admin key (the account sshd admits would not exist)", (t) => { t.aws.adminSshKeys = []; }, "tier.aws.adminSshKeys", /at least one admin public key/],
        ["an admin key that is not a public key", (t) => { t.aws.adminSshKeys = ["-----BEGIN OPENSSH PRIVATE KEY-----"]; }, "tier.aws.adminSshKeys[0]", /authorized_keys form/],
        ["TLS pool without the name its servers present", (t) => { delete t.upstreams[1].tlsServerName; }, "tier.upstreams[1].tlsServerName", /is required with tls: true/],
        ["a server name on a plain pool", (t) => { t.upstreams[0].tlsServerName = "orders.internal.example.com"; }, "tier.upstreams[0].tlsServerName", /only applies with tls: true/],
        ["public route nothing checks", (t) => { delete t.routes[4].public; }, "tier.routes[4].apiKey", /nothing checks this route's requests/],
        ["API-key route declared public", (t) => { t.routes[0].public = { reason: "Because it is open anyway" }; }, "tier.routes[0].public", /only a route on the public listener without an API key/],
        ["public reason too short", (t) => { t.routes[4].public = { reason: "open" }; }, "tier.routes[4].public.reason", /10-200 characters/],
        ["client list on a public route", (t) => { t.routes[0].clients = ["payments-team"]; }, "tier.routes[0].clients", /mtls listener only/],
        ["route names an unknown client", (t) => { t.routes[1].clients = ["ghost"]; }, "tier.routes[1].clients[0]", /not an issued client/],
        ["two clients share a common name", (t) => { t.pki.clients[1].commonName = t.pki.clients[0].commonName; }, "tier.pki.clients[1].commonName", /another client's common name/],
        ["client common name with DN syntax", (t) => { t.pki.clients[0].commonName = "a,CN=b"; }, "tier.pki.clients[0].commonName", /letters, digits/],
        ["route loosens the per-IP limit", (t) => { t.routes[0].rateLimitPerIp = { ratePerSecond: 500, burst: 10 }; }, "tier.routes[0].rateLimitPerIp.ratePerSecond", /only tighten/],
        ["route loosens the body limit", (t) => { t.routes[0].maxBodySize = "50m"; }, "tier.routes[0].maxBodySize", /only tighten/],
        ["timeout of zero", (t) => { t.routes[0].timeouts = { read: 0 }; }, "tier.routes[0].timeouts.read", /at least 1/],
        ["websocket route with POST", (t) => { t.routes[3].methods = ["GET", "POST"]; }, "tier.routes[3].methods", /websocket route is opened with GET only/],
        ["gRPC route with GET", (t) => { t.routes[2].methods = ["GET"]; }, "tier.routes[2].methods", /gRPC/],
        ["unused upstream pool", (t) => { t.upstreams.push({ name: "orphan", servers: [{ address: "10.40.96.99:80" }] }); }, "tier.upstreams[5].name", /not used/],
        ["pool without servers", (t) => { t.upstreams[0].servers = []; }, "tier.upstreams[0].servers", /at least one server/],
        ["server port out of range", (t) => { t.upstreams[0].servers[0].address = "10.40.96.21:70000"; }, "tier.upstreams[0].servers[0].address", /host:port/],
        ["circuit breaker disabled", (t) => { t.upstreams[0].maxFails = 0; }, "tier.upstreams[0].maxFails", /circuit breaker/],
        ["RSA 2048", (t) => { t.pki.key = { algorithm: "RSA", rsaBits: 2048 }; }, "tier.pki.key.rsaBits", /3072/],
        ["DSA key", (t) => { t.pki.key = { algorithm: "DSA" }; }, "tier.pki.key.algorithm", /ECDSA or RSA/],
        ["leaf validity too long", (t) => { t.pki.serverValidityDays = 825; }, "tier.pki.serverValidityDays", /200 days/],
        ["no renewal window", (t) => { t.pki.earlyRenewalDays = 0; }, "tier.pki.earlyRenewalDays", /renewal window/],
        ["renewal window >= validity", (t) => { t.pki.earlyRenewalDays = 90; }, "tier.pki.earlyRenewalDays", /shorter than/],
        ["duplicate client", (t) => { t.pki.clients[1].name = t.pki.clients[0].name; }, "tier.pki.clients[1].name", /twice/],
        ["prod without deletion protection", (t) => { t.aws.deletionProtection = false; }, "tier.aws.deletionProtection", /must be true/],
        ["prod on a stock image", (t) => { t.aws.image = "stock"; }, "tier.aws.image", /golden/],
        ["concurrency below the seed range", (t) => { t.concurrencyTarget = 100; }, "tier.concurrencyTarget", /10000/],
        ["concurrency above one host", (t) => { t.concurrencyTarget = 1000000; }, "tier.concurrencyTarget", /add pairs/],
        ["log retention not a CloudWatch value", (t) => { t.logRetentionDays = 42; }, "tier.logRetentionDays", /CloudWatch/],
        ["short flow-log retention in prod", (t) => { t.aws.flowLogRetentionDays = 30; }, "tier.aws.flowLogRetentionDays", /90 days/],
        ["port clash", (t) => { t.ports = { https: 443, mtls: 443 }; }, "tier.ports", /differ/],
        ["typo in a field", (t) => { t.aws.instanceTyp = "c6id.xlarge"; }, "tier.aws", /unknown field.*instanceTyp/],
        ["unknown target", (t) => { t.target = "gcp"; }, "tier.target", /aws/],
        ["bad server name", (t) => { t.serverName = "API_EXAMPLE"; }, "tier.serverName", /DNS name/],
        ["CSP header injection", (t) => { t.contentSecurityPolicy = "default-src 'none'\"\nX-Evil: 1"; }, "tier.contentSecurityPolicy", /quotes or newlines/],
        ["health path with spaces", (t) => { t.healthPath = "/health check"; }, "tier.healthPath", /path segment/],
        ["route on the health path", (t) => { t.routes[0].path = "/healthz"; }, "tier.routes[0].path", /health endpoint/],
        ["zero pairs", (t) => { t.aws.pairCount = 0; }, "tier.aws.pairCount", /at least one/],
        ["bad API key service", (t) => { t.apiKeyService = "redis"; }, "tier.apiKeyService", /host:port/],
    ];
    for (const [title, mutate, field, reason] of cases) {
        test(title, () => assertRefused(mutate, field, reason));
    }

    test(`there are at least 30 hostile configs (${cases.length})`, () => {
        assert.ok(cases.length >= 30);
    });

    test("every problem is reported at once, not just the first", () => {
        const tier = prodTier();
        tier.aws.instanceType = "c7gd.xlarge";
        tier.managementCidrs = ["0.0.0.0/0"];
        tier.routes[0].path = "/";
        const problems = problemsOf(tier);
        const paths = problems.map((p) => p.path);
        assert.ok(paths.includes("tier.aws.instanceType"), JSON.stringify(paths));
        assert.ok(paths.includes("tier.managementCidrs[0]"), JSON.stringify(paths));
        assert.ok(paths.includes("tier.routes[0].path"), JSON.stringify(paths));
    });

    test("the error message lists each field with its reason", () => {
        const tier = prodTier();
        tier.aws.instanceType = "c7gd.xlarge";
        try {
            validateTierConfig(tier, "stacks/Pulumi.prod.yaml");
            assert.fail("expected ConfigError");
        } catch (err) {
            assert.ok(err instanceof ConfigError);
            assert.match(err.message, /stacks\/Pulumi\.prod\.yaml: 1 configuration problem/);
            assert.match(err.message, /- tier\.aws\.instanceType: "c7gd\.xlarge"/);
        }
    });
});

describe("the local target's configuration", () => {
    const localTier = (): Record<string, any> =>
        structuredClone(YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.local.yaml"), "utf8")).config[TIER_CONFIG_KEY]);
    const refused = (mutate: (t: Record<string, any>) => void, field: string, reason: RegExp): void => {
        const tier = localTier();
        mutate(tier);
        const problems = problemsOf(tier);
        assert.ok(problems.some((p) => p.path === field && reason.test(p.message)), `${field}: ${JSON.stringify(problems)}`);
    };

    test("stacks/Pulumi.local.yaml is valid", () => {
        assert.deepEqual(problemsOf(localTier()), []);
    });
    test("each target requires its own section and refuses the other's", () => {
        refused((t) => { delete t.local; }, "tier.local", /is required for target "local"/);
        refused((t) => { t.aws = prodTier().aws; }, "tier.aws", /only applies to target "aws"/);
        refused((t) => { t.local.fabric = "Not A Name"; }, "tier.local.fabric", /must match/);
    });
    test("upstream and key-store addresses must lie in the local private segment, one role per address", () => {
        refused((t) => { t.upstreams[0].servers[0].address = "10.0.0.5:8080"; }, "tier.upstreams[0].servers[0].address", /local private segment 198\.18\.4\.0\/24/);
        refused((t) => { t.apiKeyService = "198.18.4.1:8090"; }, "tier.apiKeyService", /not its gateway/);
        refused((t) => { t.apiKeyService = "198.18.4.10:8090"; }, "tier.apiKeyService", /an upstream's address/);
        refused((t) => { t.managementCidrs = ["10.255.0.0/24"]; }, "tier.managementCidrs", /198\.18\.0\.0\/24/);
        refused((t) => { t.environment = "prod"; }, "tier.target", /not for environment "prod"/);
    });
});

describe("api-proxy-security:apiKeys (secret config)", () => {
    const { validateApiKeys } = require("../../../infra/config/api-keys") as typeof import("../../../infra/config/api-keys");
    const long = (c: string) => c.repeat(40);
    test("a valid document passes; every problem is named by path, never echoing a key", () => {
        assert.equal(validateApiKeys({ keys: [{ id: "team-a", key: long("a") }] }).keys.length, 1);
        try {
            validateApiKeys({ keys: [{ id: "bad id", key: "short-secret" }, { id: "b", key: long("b") }, { id: "b", key: long("b") }] });
            assert.fail("accepted");
        } catch (err) {
            assert.ok(err instanceof ConfigError);
            const text = err.message;
            assert.match(text, /apiKeys\.keys\[0\]\.id: must match/);
            assert.match(text, /apiKeys\.keys\[0\]\.key: must be at least 32 characters/);
            assert.match(text, /apiKeys\.keys\[2\]\.id: "b" appears twice/);
            assert.doesNotMatch(text, /short-secret|bbbbbbbb/, "a key reached the message");
        }
    });
});
