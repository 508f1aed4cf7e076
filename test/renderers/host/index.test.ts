import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hostFile, type HostFile } from "../../../components/core/host-file";
import { DEFAULT_DNS_RESOLVERS } from "../../../components/host/egress";
import { DEFAULT_TLS_READ_PATHS } from "../../../components/host/apparmor";
import { assertUniquePaths, renderHost, renderHostFiles } from "../../../components/host/index";
import { allHosts, debianHost, rhelHost, ubuntuHost } from "./fixtures";

test("renderHost: per-OS variants (nftables+AppArmor vs firewalld+SELinux)", () => {
    const paths = (files: HostFile[]) => files.map((f) => f.path);
    for (const spec of [ubuntuHost, debianHost]) {
        const p = paths(renderHost(spec));
        assert.ok(p.includes("/etc/nftables.conf") && p.includes("/etc/apparmor.d/usr.sbin.nginx"));
        assert.ok(!p.some((x) => x.startsWith("/etc/firewalld/") || x.startsWith("/etc/selinux/")));
    }
    const r = paths(renderHost(rhelHost));
    assert.ok(r.includes("/etc/firewalld/zones/apiproxy.xml") && r.includes("/etc/selinux/config"));
    assert.ok(!r.includes("/etc/nftables.conf") && !r.some((x) => x.startsWith("/etc/apparmor.d/")));
    assert.equal(renderHostFiles, renderHost);
});

test("renderHost: unique paths, valid HostFiles, no secrets, deterministic", () => {
    for (const spec of allHosts) {
        const files = renderHost(spec);
        assert.equal(new Set(files.map((f) => f.path)).size, files.length);
        for (const f of files) {
            assert.deepEqual(hostFile(f), f);
            assert.ok(!f.secret);
            assert.ok(f.content.endsWith("\n") && !f.content.endsWith("\n\n"), f.path);
        }
        assert.deepEqual(renderHost(spec), files);
    }
    const dup: HostFile = { path: "/etc/x", content: "", mode: "0644", owner: "root", group: "root", action: "none" };
    assert.throws(() => assertUniquePaths([dup, dup]), /duplicate path \/etc\/x/);
});

test("renderHost: invalid input throws naming the field", () => {
    assert.throws(() => renderHost({ ...debianHost, ports: { ...debianHost.ports, mtls: 443 } }), /ports/);
    assert.throws(() => renderHost({ ...debianHost, concurrencyTarget: 0 }), /concurrencyTarget/);
    assert.throws(() => renderHost({ ...debianHost, upstreamEndpoints: [{ cidr: "10.0.0.1/33", port: 80 }] }), /upstreamEndpoints\[0\]/);
    assert.throws(() => renderHost({ ...debianHost, logVolume: { device: "/dev/x; rm -rf /", mountPoint: "/srv/l", filesystem: "xfs" } }), /logVolume\.device/);
    assert.throws(() => renderHost({ ...debianHost, hostname: "Bad_Host" }), /hostname/);
    assert.throws(() => renderHost({ ...ubuntuHost, aws: { region: "eu-west-1", certificateSecrets: [{ secretId: "x'; reboot", path: "/etc/k", kind: "private-key" }] } }), /secretId/);
    assert.throws(() => renderHost({ ...debianHost, os: "windows" as never }), /HostOs/);
});

test("docs: every 'Default: X (CONSTANT)' in types.ts JSDoc matches the exported constant", () => {
    const source = readFileSync(join(__dirname, "../../../components/host/types.ts"), "utf8");
    const constants: Record<string, unknown> = { DEFAULT_DNS_RESOLVERS, DEFAULT_TLS_READ_PATHS };
    const matches = [...source.matchAll(/Default: (.+?) \((\w+)\)/g)];
    assert.ok(matches.length >= 1);
    for (const [, documented, name] of matches) {
        assert.ok(name! in constants, `unknown constant ${name}`);
        assert.deepEqual(JSON.parse(documented!), constants[name!], name);
    }
});
