/**
 * STYLE.md: "one test checks that docs and constants agree". Every args JSDoc of the form
 * `Default: <value> (<CONSTANT>)` in the AWS target's components must equal that constant.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "../../../components");
const FILES = [
    "network/dmz-network.ts", "network/security-groups.ts", "network/ports.ts",
    "compute/proxy-pair.ts", "compute/instance-catalogue.ts",
    "compute/rolling-updates.ts", "secrets/tls-secrets.ts", "image/golden-image.ts", "image/golden-image-pipeline.ts", "image/toe-document.ts",
];

test("defaults: every documented `Default: X (CONSTANT)` equals the exported constant", async () => {
    const exported: Record<string, unknown> = {};
    for (const file of FILES) {
        Object.assign(exported, await import(join(ROOT, file)));
    }
    const claims = FILES.flatMap((file) => [...readFileSync(join(ROOT, file), "utf8").matchAll(/Default: (.+?) \(([A-Z][A-Z0-9_]+)\)/g)]
        .map((m) => ({ file, text: m[1]!, constant: m[2]! })));
    assert.ok(claims.length >= 15, `found only ${claims.length} documented defaults`);
    for (const claim of claims) {
        assert.ok(claim.constant in exported, `${claim.file}: ${claim.constant} is not exported`);
        // The documented value is a JS literal (numbers, strings, arrays, object literals).
        const documented: unknown = new Function(`return (${claim.text});`)();
        assert.deepEqual(exported[claim.constant], documented, `${claim.file}: docs say ${claim.text} for ${claim.constant}`);
    }
});
