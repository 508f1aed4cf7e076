/**
 * The outputs contract for app teams: every documented output exists with its shape, the
 * client private keys are a secret output, and no plain output carries key material.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { loadStackFile } from "../../../infra/config/load";
import { installMocks, unwrap } from "../../../infra/review/mocks";
import type { TierOutputs } from "../../../infra/outputs";

const ROOT = path.resolve(__dirname, "..", "..", "..");
let outputs: TierOutputs;

before(async () => {
    const tier = loadStackFile(path.join(ROOT, "stacks", "Pulumi.prod.yaml"));
    await installMocks("prod", tier.aws?.region);
    const { deployTier } = await import("../../../infra/program");
    outputs = deployTier(tier).outputs;
});

async function isSecret(value: unknown): Promise<boolean> {
    return pulumi.Output.isInstance(value) ? await pulumi.isSecret(value as pulumi.Output<unknown>) : false;
}

test("the README's outputs table and the exported outputs agree", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.split("## Outputs")[1]?.split("\n## ")[0] ?? "";
    const documented = [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]).sort();
    const index = fs.readFileSync(path.join(ROOT, "infra", "index.ts"), "utf8");
    const exported = [...index.matchAll(/^export const (\w+) = outputs\.(\w+);$/gm)].map((m) => m[1]).sort();
    assert.deepEqual(documented, exported);
    assert.deepEqual(Object.keys(outputs).sort(), exported);
});

test("client and upstream private keys are secret outputs; nothing else is secret or carries a key", async () => {
    assert.equal(await isSecret(outputs.clientPrivateKeys), true);
    const keys = await unwrap(outputs.clientPrivateKeys);
    assert.deepEqual(Object.keys(keys).sort(), ["ledger-batch", "payments-team"]);
    assert.equal(await isSecret(outputs.upstreamPrivateKeys), true);
    assert.deepEqual(Object.keys(await unwrap(outputs.upstreamPrivateKeys)), ["payments"], "one key per TLS pool");
    for (const [name, value] of Object.entries(outputs)) {
        if (name === "clientPrivateKeys" || name === "upstreamPrivateKeys") {
            continue;
        }
        assert.equal(await isSecret(value), false, `${name} must be a plain output`);
        const text = JSON.stringify(await unwrap(value as pulumi.Input<unknown>));
        assert.doesNotMatch(text, /PRIVATE KEY/, `${name} carries key material`);
    }
});

test("endpoints, CA material, routes, limits and health have the documented shape", async () => {
    const endpoints = await unwrap(outputs.endpoints);
    assert.match(endpoints.https, /^https:\/\/.+:443$/);
    assert.match(endpoints.mtls, /^https:\/\/.+:8443$/);
    assert.match(await unwrap(outputs.caBundlePem), /BEGIN CERTIFICATE[\s\S]*BEGIN CERTIFICATE/, "root + intermediate");
    assert.match(await unwrap(outputs.mtlsClientCaPem), /BEGIN CERTIFICATE/);
    assert.deepEqual(outputs.routes.map((r) => r.name), ["orders", "payments", "inventory", "notifications", "catalog"]);
    const payments = outputs.routes.find((r) => r.name === "payments")!;
    assert.deepEqual(payments.listeners, ["mtls"]);
    assert.equal(payments.maxBodyBytes, 256 * 1024);
    assert.deepEqual(outputs.rateLimits.perIp, { ratePerSecond: 50, burst: 20 });
    const health = await unwrap(outputs.health);
    assert.deepEqual(health.urls, [], "AWS proxies come and go with their Auto Scaling groups: the target groups probe them");
    assert.deepEqual([health.port, health.path, health.protocol], [8081, "/healthz", "HTTP"]);
    assert.deepEqual(outputs.certificateRotation, { serverValidityDays: 90, earlyRenewalDays: 30 });
    const upstream = await unwrap(outputs.upstreamCertificates);
    assert.deepEqual(Object.keys(upstream), ["payments"]);
    assert.match(upstream.payments.certificateChainPem, /BEGIN CERTIFICATE[\s\S]*BEGIN CERTIFICATE/, "leaf + intermediate");
});
