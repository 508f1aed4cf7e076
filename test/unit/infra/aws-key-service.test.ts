/**
 * The AWS target's key-service egress: a literal address is pinned to /32; a DNS name (which
 * may resolve to any private address) opens the private subnets, never "name/32" (an invalid
 * security group rule). Under the review's mocks, through the real program.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { TIER_CONFIG_KEY, validateTierConfig } from "../../../infra/config/load";
import { runReview } from "../../../infra/review/run";

const ROOT = path.resolve(__dirname, "..", "..", "..");

test("a key service named by DNS gets egress to the private subnets; a literal one its /32", async () => {
    const raw = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.prod.yaml"), "utf8")).config[TIER_CONFIG_KEY];
    const egressFor = async (apiKeyService: string) => {
        const review = await runReview("prod", validateTierConfig({ ...structuredClone(raw), apiKeyService }, "prod"));
        return review.resources
            .filter((r) => r.type === "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule" && r.name.includes("key-store"))
            .map((r) => r.props["cidrIpv4"]).sort();
    };
    assert.deepEqual(await egressFor("keys.internal.example.com:9000"), ["10.40.112.0/20", "10.40.128.0/20", "10.40.96.0/20"]);
    assert.deepEqual(await egressFor("10.40.96.10:9000"), ["10.40.96.10/32"]);
});
