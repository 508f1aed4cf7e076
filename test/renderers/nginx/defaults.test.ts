/** Documented defaults ("Default: X (CONSTANT)" in types.ts) agree with the exported constants. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import * as constants from "../../../components/nginx/constants";

it("every `Default: <value> (<CONSTANT>)` in NginxSpec's docs matches the constant", () => {
    const source = readFileSync(join(__dirname, "../../../components/nginx/types.ts"), "utf8");
    const documented = [...source.matchAll(/(?:Default: |, |burst |zone |x )("[^"]*"|\d+) \((DEFAULT_[A-Z0-9_]+)\)/g)];
    assert.ok(documented.length >= 15, `found only ${documented.length} documented defaults`);
    const table = constants as unknown as Record<string, unknown>;
    for (const [, literal, name] of documented) {
        assert.ok(name in table, `${name} is documented but not exported`);
        const value = literal.startsWith('"') ? literal.slice(1, -1) : Number(literal);
        assert.equal(table[name], value, `${name}: docs say ${literal}`);
    }
});

it("the seed's headline defaults are the constants' values", () => {
    assert.equal(constants.DEFAULT_RATE_PER_IP, 50);
    assert.equal(constants.DEFAULT_BURST_PER_IP, 20);
    assert.equal(constants.DEFAULT_MAX_BODY_BYTES, 2 * 1024 * 1024);
    assert.equal(constants.DEFAULT_HTTPS_PORT, 443);
    assert.equal(constants.DEFAULT_MTLS_PORT, 8443);
    assert.deepEqual([...constants.APPROVED_TLS13_CIPHERSUITES], ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"]);
    assert.ok(!constants.APPROVED_TLS_GROUPS.some((g) => /25519|448/.test(g)));
});
