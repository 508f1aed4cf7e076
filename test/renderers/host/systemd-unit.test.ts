import { test } from "node:test";
import assert from "node:assert/strict";
import { basename } from "node:path";
import type { HostFile } from "../../../components/core/host-file";
import { renderHost } from "../../../components/host/index";
import { nofileFor } from "../../../components/host/limits";
import { MAX_EXPOSURE, NGINX_UNIT_PATH, renderNginxUnitText } from "../../../components/host/systemd-unit";
import { allHosts, debianHost, rhelHost, ubuntuHost } from "./fixtures";
import { findFile, have, run, uncitedDirectives, unitSection, unitValues, withTempDir, writeIn } from "./tools";

const hasAnalyze = have("systemd-analyze");

/**
 * Writes the host's units (and the scripts they run) into a temp dir. Unit ExecStart paths
 * under /usr/local/sbin do not exist on the test machine, so they are pointed at the
 * rendered copies; everything else (nginx, install) is the real installed binary.
 */
function stageUnits(dir: string, files: readonly HostFile[]): string[] {
    const scripts = files.filter((f) => f.path.startsWith("/usr/local/sbin/"));
    for (const script of scripts) {
        writeIn(dir, `scripts${script.path}`, script.content, true);
    }
    return files
        .filter((f) => /^\/etc\/systemd\/system\/[^/]+\.(service|timer)$/.test(f.path))
        .map((f) => writeIn(dir, `units/${basename(f.path)}`, f.content.replaceAll("/usr/local/sbin/", `${dir}/scripts/usr/local/sbin/`)));
}

test("systemd: `systemd-analyze verify` passes with no warnings for every rendered unit", { skip: !hasAnalyze && "systemd-analyze not installed" }, () => {
    for (const spec of allHosts) {
        withTempDir((dir) => {
            const units = stageUnits(dir, renderHost(spec));
            assert.ok(units.length >= 1);
            const result = run("systemd-analyze", ["verify", ...units]);
            assert.equal(result.status, 0, `${spec.os}: ${result.stderr}`);
            assert.equal(result.stderr.trim(), "", `${spec.os}: warnings: ${result.stderr}`);
        });
    }
});

test("systemd: verify is a real check (an unknown key is reported)", { skip: !hasAnalyze && "systemd-analyze not installed" }, () => {
    withTempDir((dir) => {
        const unit = writeIn(dir, "nginx.service", renderNginxUnitText(debianHost).replace("NoNewPrivileges=yes", "NoNewPrivileges=yes\nNoNewPrivilegez=yes"));
        assert.match(run("systemd-analyze", ["verify", unit]).stderr, /Unknown key/);
    });
});

test(`systemd: offline security exposure of nginx.service <= ${MAX_EXPOSURE}`, { skip: !hasAnalyze && "systemd-analyze not installed" }, () => {
    for (const spec of allHosts) {
        withTempDir((dir) => {
            const unit = writeIn(dir, "nginx.service", findFile(renderHost(spec), NGINX_UNIT_PATH).content);
            const result = run("systemd-analyze", ["security", "--offline=true", unit]);
            const match = /Overall exposure level for nginx\.service: (\d+(?:\.\d+)?)/.exec(result.stdout);
            assert.ok(match, `no exposure line in: ${result.stdout}${result.stderr}`);
            const exposure = Number(match[1]);
            console.log(`# systemd-analyze security --offline=true (${spec.os}): exposure ${exposure}`);
            assert.ok(exposure <= MAX_EXPOSURE, `${spec.os}: exposure ${exposure} > ${MAX_EXPOSURE}`);
        });
    }
});

test("systemd: unprivileged user per OS, CAP_NET_BIND_SERVICE only", () => {
    for (const [spec, user] of [[ubuntuHost, "www-data"], [debianHost, "www-data"], [rhelHost, "nginx"]] as const) {
        const unit = renderNginxUnitText(spec);
        assert.deepEqual(unitValues(unit, "User"), [user]);
        assert.deepEqual(unitValues(unit, "Group"), [user]);
        assert.deepEqual(unitValues(unit, "AmbientCapabilities"), ["CAP_NET_BIND_SERVICE"]);
        assert.deepEqual(unitValues(unit, "CapabilityBoundingSet"), ["CAP_NET_BIND_SERVICE"]);
    }
});

test("systemd: sandboxing directives", () => {
    const unit = renderNginxUnitText(ubuntuHost);
    const expected: Record<string, string> = {
        NoNewPrivileges: "yes", ProtectSystem: "strict", ProtectHome: "yes", PrivateTmp: "yes", PrivateDevices: "yes",
        ProtectKernelTunables: "yes", ProtectKernelModules: "yes", ProtectKernelLogs: "yes", ProtectControlGroups: "yes",
        RestrictAddressFamilies: "AF_INET AF_INET6 AF_UNIX", RestrictNamespaces: "yes", LockPersonality: "yes",
        MemoryDenyWriteExecute: "yes", SystemCallArchitectures: "native", UMask: "0027",
        ReadWritePaths: "/var/log/nginx /var/lib/nginx", RuntimeDirectory: "nginx", LimitCORE: "0",
    };
    for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(unitValues(unit, key), [value], key);
    }
    assert.ok(unitValues(unit, "SystemCallFilter").includes("@system-service"));
    assert.equal(unitValues(unit, "LimitNOFILE")[0], String(nofileFor(ubuntuHost.concurrencyTarget)));
});

test("systemd: nginx -t before start and reload; reload is SIGHUP via nginx -s reload, never a restart", () => {
    const unit = renderNginxUnitText(ubuntuHost);
    assert.deepEqual(unitValues(unit, "ExecStartPre"), ["/usr/sbin/nginx -t -q -g 'daemon off;'"]);
    assert.deepEqual(unitValues(unit, "ExecReload"), ["/usr/sbin/nginx -t -q", "/usr/sbin/nginx -s reload"]);
    assert.doesNotMatch(unitValues(unit, "ExecReload").join(" "), /restart|stop|kill -9/);
});

test("systemd: nginx requires the log volume and wants the first certificate fetch on AWS hosts", () => {
    const unit = findFile(renderHost(ubuntuHost), NGINX_UNIT_PATH).content;
    assert.deepEqual(unitValues(unit, "Requires"), ["apiproxy-log-volume.service"]);
    assert.deepEqual(unitValues(unit, "Wants").filter((u) => u.startsWith("apiproxy")), ["apiproxy-fetch-certs.service"]);
    assert.match(unitValues(unit, "After")[0]!, /apiproxy-log-volume\.service.*apiproxy-fetch-certs\.service/);
    const local = findFile(renderHost(debianHost), NGINX_UNIT_PATH).content;
    assert.deepEqual(unitValues(local, "Requires"), []);
});

test("systemd: every [Service] directive is preceded by its control", () => {
    const service = unitSection(renderNginxUnitText(ubuntuHost), "Service").join("\n");
    assert.deepEqual(uncitedDirectives(service), []);
});
