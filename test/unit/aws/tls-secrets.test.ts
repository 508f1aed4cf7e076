import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, type RecordingMocks } from "./mocks";
import { ofType, one, ownedBy, policy, resourceError, settle, tagProblems, unwrap } from "./helpers";
import type * as SecretsModule from "../../../components/secrets/tls-secrets";

let mocks: RecordingMocks;
let TlsSecrets: typeof SecretsModule.TlsSecrets;

const KEY_PEM = "-----BEGIN EC PRIVATE KEY-----\nMHcC...\n-----END EC PRIVATE KEY-----\n";
const baseArgs = () => ({
    environment: "prod",
    serverCertificateChain: "-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n",
    serverPrivateKey: pulumi.secret(KEY_PEM),
    clientCaBundle: "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n",
    tags: { owner: "security" },
});

let secrets: SecretsModule.TlsSecrets;
before(async () => {
    mocks = installMocks();
    ({ TlsSecrets } = await import("../../../components/secrets/tls-secrets"));
    secrets = new TlsSecrets("tls", baseArgs());
    // The private key arriving as a plain string must still be stored as a secret.
    new TlsSecrets("plain", { ...baseArgs(), serverPrivateKey: KEY_PEM, recoveryWindowInDays: 7 });
    await unwrap(secrets.kmsKeyArn);
    await settle(mocks);
});

test("secrets: a dedicated CMK with rotation on and a 30-day deletion window", () => {
    const key = one(ownedBy(mocks, "tls"), "aws:kms/key:Key", "tls-key");
    assert.equal(key.inputs["enableKeyRotation"], true);
    assert.equal(key.inputs["deletionWindowInDays"], 30);
    const statements = policy(key).Statement;
    assert.ok(statements.some((s) => s.Principal?.AWS === "arn:aws:iam::123456789012:root"), "account keeps administration");
    assert.ok(!statements.some((s) => s.Principal === "*" || s.Principal?.AWS === "*"), "no public principal");
});

test("secrets: chain, key and client CA are Secrets Manager secrets encrypted with the CMK, 30-day recovery by default", async () => {
    const stored = ofType(ownedBy(mocks, "tls"), "aws:secretsmanager/secret:Secret");
    assert.deepEqual(stored.map((s) => s.name).sort(), ["tls-client-ca", "tls-server-chain", "tls-server-key"]);
    const keyArn = await unwrap(secrets.kmsKeyArn);
    for (const s of stored) {
        assert.equal(s.inputs["kmsKeyId"], keyArn);
        assert.equal(s.inputs["recoveryWindowInDays"], 30);
    }
    const plain = ofType(ownedBy(mocks, "plain"), "aws:secretsmanager/secret:Secret");
    assert.ok(plain.every((s) => s.inputs["recoveryWindowInDays"] === 7), "recovery window follows the arg");
});

test("secrets: every secret value, the private key above all, is stored as a Pulumi secret", () => {
    for (const owner of ["tls", "plain"]) {
        const versions = ofType(ownedBy(mocks, owner), "aws:secretsmanager/secretVersion:SecretVersion");
        assert.equal(versions.length, 3);
        for (const v of versions) {
            assert.deepEqual(v.secretInputs, ["secretString"], `${v.name} secretString is secret`);
        }
        const key = one(versions, "aws:secretsmanager/secretVersion:SecretVersion", `${owner}-server-key`);
        assert.equal(key.inputs["secretString"], KEY_PEM);
        assert.equal(key.inputs["secretId"], `${owner}-server-key-id`);
    }
});

test("secrets: outputs name each secret ARN and the key ARN; tags", async () => {
    assert.match(await unwrap(secrets.secretArns.serverPrivateKey), /:secret:tls-server-key-/);
    assert.match(await unwrap(secrets.secretArns.serverCertificateChain), /:secret:tls-server-chain-/);
    assert.match(await unwrap(secrets.secretArns.clientCaBundle), /:secret:tls-client-ca-/);
    assert.equal((await unwrap(secrets.secretArnList)).length, 3);
    assert.match(await unwrap(secrets.kmsKeyArn), /^arn:aws:kms:/);
    assert.deepEqual(tagProblems(ownedBy(mocks, "tls"), "prod", { owner: "security" }), []);
});

test("secrets: an invalid recovery window throws ResourceError before any child", async () => {
    assert.throws(() => new TlsSecrets("bad-window", { ...baseArgs(), recoveryWindowInDays: 3 }), resourceError(/recoveryWindowInDays/));
    await settle(mocks);
    assert.deepEqual(ownedBy(mocks, "bad-window").filter((r) => r.custom), []);
});
