import { test } from "node:test";
import assert from "node:assert/strict";
import { LIMITS_PATH, NOFILE_KERNEL_MAXIMUM, nofileFor, renderLimits } from "../../../components/host/limits";
import { debianHost, rhelHost } from "./fixtures";
import { findFile, uncitedDirectives } from "./tools";

test("limits: nofile >= 2 fds per proxied session plus headroom, monotonic", () => {
    for (const concurrency of [1, 10_000, 50_000, 100_000]) {
        assert.ok(nofileFor(concurrency) >= 2 * concurrency + 1024, String(concurrency));
        assert.ok(nofileFor(concurrency + 1) >= nofileFor(concurrency));
    }
    assert.equal(nofileFor(100_000), 251_024);
});

test("limits: refuses a target the kernel cannot grant (fs.nr_open)", () => {
    assert.throws(() => nofileFor(500_000), /nr_open/);
    assert.ok(nofileFor(400_000) <= NOFILE_KERNEL_MAXIMUM);
});

test("limits: soft and hard nofile for the OS's proxy user, no core dumps", () => {
    for (const [spec, user] of [[debianHost, "www-data"], [rhelHost, "nginx"]] as const) {
        const content = findFile(renderLimits(spec), LIMITS_PATH).content;
        const n = nofileFor(spec.concurrencyTarget);
        assert.match(content, new RegExp(`^${user} soft nofile ${n}$`, "m"));
        assert.match(content, new RegExp(`^${user} hard nofile ${n}$`, "m"));
        assert.match(content, new RegExp(`^${user} hard core 0$`, "m"));
        assert.deepEqual(uncitedDirectives(content), []);
    }
});
