/** The key service's systemd unit carries the per-API-key limit, with the flags the Go binary defines. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { API_KEY_DENIED_HEADER, API_KEY_DENIED_RATE_LIMITED } from "../../../components/nginx/constants";
import { renderKeycheckUnit, type KeycheckUnitSpec } from "../../../components/services/render-units";

const SERVICES = join(__dirname, "../../../services");
const valid: KeycheckUnitSpec = {
    listen: "198.18.4.20:8090", redis: "127.0.0.1:6379", redisUnit: "redis-server", binarySha256: "a".repeat(64),
    rateLimitPerApiKey: { ratePerSecond: 100, burst: 50 },
};

function execStart(spec: KeycheckUnitSpec): string {
    const [unit] = renderKeycheckUnit(spec);
    const line = unit.content.split("\n").find((l) => l.startsWith("ExecStart="));
    assert.ok(line, unit.content);
    return line;
}

describe("renderKeycheckUnit", () => {
    it("passes the per-key rate and burst to serve", () => {
        assert.match(execStart(valid), / serve .* --rate-per-second 100 --burst 50$/);
        assert.match(execStart({ ...valid, rateLimitPerApiKey: { ratePerSecond: 1, burst: 0 } }), / --rate-per-second 1 --burst 0$/);
    });
    it("uses flags the key service defines", () => {
        const main = readFileSync(join(SERVICES, "cmd/apiproxy-keycheck/main.go"), "utf8");
        for (const flag of execStart(valid).match(/--[a-z-]+/g) ?? []) {
            assert.ok(main.includes(`fs.String("${flag.slice(2)}"`), `${flag} is not a flag of apiproxy-keycheck`);
        }
    });
    it("refuses a rate that is not a positive integer and a negative or fractional burst, naming the field", () => {
        for (const [limit, field] of [
            [{ ratePerSecond: 0, burst: 5 }, "ratePerSecond"],
            [{ ratePerSecond: 2.5, burst: 5 }, "ratePerSecond"],
            [{ ratePerSecond: 10, burst: -1 }, "burst"],
            [{ ratePerSecond: 10, burst: 0.5 }, "burst"],
        ] as const) {
            assert.throws(() => renderKeycheckUnit({ ...valid, rateLimitPerApiKey: limit }), new RegExp(`rateLimitPerApiKey\\.${field}`));
        }
    });
    it("speaks the refusal the nginx renderer maps to 429 (header name and value)", () => {
        const keycheck = readFileSync(join(SERVICES, "keycheck/keycheck.go"), "utf8");
        assert.match(keycheck, new RegExp(`DeniedHeader\\s*=\\s*"${API_KEY_DENIED_HEADER}"`));
        assert.match(keycheck, new RegExp(`DeniedRateLimited\\s*=\\s*"${API_KEY_DENIED_RATE_LIMITED}"`));
    });
});
