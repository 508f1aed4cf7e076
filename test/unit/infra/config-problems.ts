/** What the config validation says of a raw tier object: every problem, or [] when it passes. */
import assert from "node:assert/strict";
import { ConfigError, validateTierConfig, type ConfigProblem } from "../../../infra/config/load";

export function problemsOf(raw: unknown): ConfigProblem[] {
    try {
        validateTierConfig(raw, "test");
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
        return [...err.problems];
    }
    return [];
}
