/**
 * The README's configuration reference must tell the truth: every documented default is what
 * the schema actually applies to a minimal config (so docs, constants and behaviour agree).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { validateTierConfig } from "../../../infra/config/load";
import { DEFAULTS } from "../../../infra/config/defaults";
import * as nginx from "../../../components/nginx/constants";

const README = fs.readFileSync(path.resolve(__dirname, "..", "..", "..", "README.md"), "utf8");

const MINIMAL = {
    environment: "dev",
    target: "aws",
    serverName: "api.example.com",
    managementCidrs: ["10.255.0.0/24"],
    apiKeyService: "10.0.128.10:9000",
    upstreams: [{ name: "svc", servers: [{ address: "10.0.128.20:8080" }] }],
    routes: [{ name: "r", path: "/api/", methods: ["GET"], upstream: "svc" }],
    // Optional sections, present so their own defaults apply.
    signatures: { clients: [{ name: "partner", keys: [{ id: "partner-1" }] }] },
    aws: { region: "eu-west-1", vpcCidr: "10.0.0.0/16", availabilityZones: ["eu-west-1a", "eu-west-1b"], instanceType: "c6id.xlarge", adminSshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBaIpZ7haxM3KYQ/bDvctQ0+l5H/iJEteA6sxKznWNk8 admin@example.com"] },
};

/** The same minimal tier on the local target (its addresses in the local private segment). */
const MINIMAL_LOCAL = {
    ...MINIMAL, target: "local", aws: undefined, local: {}, managementCidrs: ["198.18.0.0/24"], apiKeyService: "198.18.4.20:8090",
    upstreams: [{ name: "svc", servers: [{ address: "198.18.4.10:8080" }] }],
};

/** Rows like: | `limits.maxBodySize` | `2097152` | notes | */
function documentedDefaults(): Map<string, string> {
    const rows = new Map<string, string>();
    const section = README.split("### Configuration reference")[1]?.split("\n## ")[0] ?? "";
    for (const line of section.split("\n")) {
        const match = /^\| `([^`]+)` \| `([^`]+)` \|/.exec(line);
        if (match) {
            rows.set(match[1], match[2]);
        }
    }
    return rows;
}

function valueAt(tier: unknown, field: string): unknown {
    return field.replace(/\[\]/g, ".0").split(".").reduce<unknown>((obj, key) => (obj as Record<string, unknown> | undefined)?.[key], tier);
}

function normalise(documented: string): unknown {
    if (/^\{.*\}$/.test(documented)) {
        // {algorithm: ECDSA, curve: P256}
        return Object.fromEntries(documented.slice(1, -1).split(",").map((kv) => kv.split(":").map((s) => s.trim())));
    }
    try {
        return JSON.parse(documented);
    } catch {
        return documented;
    }
}

test("the README documents the defaults of at least 30 fields", () => {
    assert.ok(documentedDefaults().size >= 30, `found ${documentedDefaults().size}`);
});

test("every documented default is the value the schema applies", () => {
    const tier = validateTierConfig(structuredClone(MINIMAL), "minimal");
    const localTier = validateTierConfig(structuredClone(MINIMAL_LOCAL), "minimal local");
    for (const [field, documented] of documentedDefaults()) {
        // A target's own section applies its defaults only on that target.
        const actual = valueAt(field.startsWith("local.") ? localTier : tier, field);
        assert.deepEqual(actual, normalise(documented), `README says ${field} defaults to ${documented}, the schema applies ${JSON.stringify(actual)}`);
    }
});

test("infra defaults take the renderer's constants, not copies", () => {
    assert.equal(DEFAULTS.rateLimitPerIp.ratePerSecond, nginx.DEFAULT_RATE_PER_IP);
    assert.equal(DEFAULTS.rateLimitPerApiKey.ratePerSecond, nginx.DEFAULT_RATE_PER_API_KEY);
    assert.equal(DEFAULTS.maxBodyBytes, nginx.DEFAULT_MAX_BODY_BYTES);
    assert.equal(DEFAULTS.hstsMaxAgeSeconds, nginx.DEFAULT_HSTS_MAX_AGE_SECONDS);
});
