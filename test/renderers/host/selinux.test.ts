import { test } from "node:test";
import assert from "node:assert/strict";
import { renderSelinux, SELINUX_APPLY_PATH, SELINUX_CONFIG_PATH } from "../../../components/host/selinux";
import { rhelHost } from "./fixtures";
import { readFileSync } from "node:fs";
import { findFile, run, withTempDir, writeIn } from "./tools";

const files = renderSelinux(rhelHost);
const script = findFile(files, SELINUX_APPLY_PATH);
const config = findFile(files, SELINUX_CONFIG_PATH).content;

test("selinux: config enforcing + targeted", () => {
    assert.match(config, /^SELINUX=enforcing$/m);
    assert.match(config, /^SELINUXTYPE=targeted$/m);
    assert.doesNotMatch(config, /^SELINUX=(permissive|disabled)/m);
});

test("selinux: apply script passes bash -n and is root-only executable", () => {
    withTempDir((dir) => {
        const result = run("bash", ["-n", writeIn(dir, "apply", script.content)]);
        assert.equal(result.status, 0, result.stderr);
    });
    assert.equal(script.mode, "0750");
});

/** Runs the script with stub semanage/setsebool/getenforce/restorecon that log their calls. */
function runWithStubs(enforceMode: string): { status: number; calls: string[]; stderr: string } {
    return withTempDir((dir) => {
        const log = `${dir}/calls.log`;
        const stub = (name: string, body = "") => writeIn(dir, `bin/${name}`, `#!/bin/bash\necho "${name} $*" >> ${log}\n${body}\n`, true);
        stub("getenforce", `cat ${dir}/mode`);
        stub("setenforce", `[ "$1" = 1 ] && echo Enforcing > ${dir}/mode`);
        stub("semanage", '[ "$2" = "-a" ] && [ "$1" = port ] && exit 1; exit 0');
        stub("setsebool");
        stub("restorecon");
        writeIn(dir, "mode", `${enforceMode}\n`);
        const path = writeIn(dir, "apply", script.content, true);
        const result = run("bash", [path], { env: { ...process.env, PATH: `${dir}/bin:/usr/bin:/bin` } });
        let calls: string[] = [];
        try { calls = readFileSync(log, "utf8").trim().split("\n"); } catch { /* no calls */ }
        return { status: result.status, calls, stderr: result.stderr };
    });
}

test("selinux: labels 8443 and the health port http_port_t (-a, falling back to -m), proxying boolean on, logs httpd_log_t", () => {
    const { status, calls, stderr } = runWithStubs("Enforcing");
    assert.equal(status, 0, stderr);
    for (const port of [8443, rhelHost.ports.health]) {
        assert.ok(calls.includes(`semanage port -a -t http_port_t -p tcp ${port}`), `add ${port}`);
        assert.ok(calls.includes(`semanage port -m -t http_port_t -p tcp ${port}`), `modify fallback ${port}`);
    }
    assert.ok(calls.includes("setsebool -P httpd_can_network_connect on"));
    assert.ok(calls.includes(`semanage fcontext -a -t httpd_log_t ${rhelHost.logVolume!.mountPoint}(/.*)?`));
    assert.ok(calls.includes("semanage fcontext -a -t httpd_log_t /var/log/nginx(/.*)?"));
    assert.ok(calls.some((call) => call.startsWith("restorecon -R") && call.includes(rhelHost.logVolume!.mountPoint)));
});

test("selinux: permissive is switched to enforcing; disabled fails loudly", () => {
    const permissive = runWithStubs("Permissive");
    assert.equal(permissive.status, 0, permissive.stderr);
    assert.ok(permissive.calls.includes("setenforce 1"));
    const disabled = runWithStubs("Disabled");
    assert.notEqual(disabled.status, 0);
    assert.ok(!disabled.calls.some((call) => call.startsWith("semanage")), "nothing applied when SELinux is off");
});
