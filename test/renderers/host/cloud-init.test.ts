import { test } from "node:test";
import assert from "node:assert/strict";
import { parse } from "yaml";
import { ACTION_ORDER, type HostFile } from "../../../components/core/host-file";
import { compactForUserData, gzipUserData, renderCloudInit, USER_DATA_LIMIT_BYTES } from "../../../components/host/cloud-init";
import { renderNginx } from "../../../components/nginx";
import { parseNginx } from "../../../policy-packs/api-proxy-baseline/lib/nginx-parse";
import { validSpec } from "../nginx/fixtures";
import { renderHost } from "../../../components/host/index";
import { gunzipSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import { rhelHost, ubuntuHost } from "./fixtures";
import { run, withTempDir, writeIn } from "./tools";

interface WriteFile { path: string; encoding?: string; content: string; permissions: string; owner: string; defer: boolean }
interface CloudConfig { packages: string[]; write_files: WriteFile[]; runcmd: string[][] }

const files = renderHost(ubuntuHost);
const userData = renderCloudInit(files, { os: ubuntuHost.os, hostname: ubuntuHost.hostname });
const doc = parse(userData) as CloudConfig;

test("cloud-init: #cloud-config header and exact write_files format (path, plain content, permissions, owner)", () => {
    assert.ok(userData.startsWith("#cloud-config\n"));
    assert.equal(doc.write_files.length, files.length);
    for (const f of files) {
        const entry = doc.write_files.find((w) => w.path === f.path);
        assert.ok(entry, f.path);
        assert.equal(entry.encoding, undefined, "plain text: readable and compressible");
        assert.equal(entry.content, f.content, `${f.path} round-trips byte for byte`);
        assert.equal(entry.permissions, f.mode);
        assert.equal(entry.owner, `${f.owner}:${f.group}`);
        assert.equal(entry.defer, true);
    }
    // Multi-line files are block literals, so a reviewer reads them as they land.
    assert.match(userData, /^  - path: \/etc\/ssh\/sshd_config\n    content: \|/m);
});

test("cloud-init: refuses a secret HostFile (private keys never in user data)", () => {
    const secret: HostFile = { path: "/etc/nginx/tls/server.key", content: "-----BEGIN PRIVATE KEY-----", mode: "0640", owner: "root", group: "www-data", action: "nginx-reload", secret: true };
    assert.throws(() => renderCloudInit([...files, secret], { os: ubuntuHost.os, hostname: ubuntuHost.hostname }), /secret/);
    assert.doesNotMatch(userData, /BEGIN [A-Z ]*PRIVATE KEY/);
});

test("cloud-init: packages follow the OS (nftables vs firewalld + semanage)", () => {
    assert.ok(doc.packages.includes("nginx") && doc.packages.includes("nftables") && !doc.packages.includes("firewalld"));
    const rhel = parse(renderCloudInit(renderHost(rhelHost), { os: rhelHost.os, hostname: rhelHost.hostname })) as CloudConfig;
    assert.ok(rhel.packages.includes("firewalld") && rhel.packages.includes("policycoreutils-python-utils"));
});

test("cloud-init: runcmd applies actions in ACTION_ORDER and runs nginx -t before starting nginx", () => {
    const script = doc.runcmd[0]![2]!;
    const positions = [
        script.indexOf("sysctl --system"),
        script.indexOf("apparmor_parser -r /etc/apparmor.d/usr.sbin.nginx"),
        script.indexOf("systemctl daemon-reload"),
        script.indexOf("nft -c -f /etc/nftables.conf"),
        script.indexOf("sshd -t"),
        script.indexOf("setpriv --reuid=www-data --regid=www-data --init-groups --inh-caps=+net_bind_service --ambient-caps=+net_bind_service -- /usr/sbin/nginx -t -q"),
        script.indexOf("systemctl restart nginx.service"),
    ];
    assert.ok(positions.every((p) => p >= 0), JSON.stringify(positions));
    assert.deepEqual([...positions].sort((a, b) => a - b), positions);
    assert.ok(ACTION_ORDER.indexOf("sysctl-reload") < ACTION_ORDER.indexOf("firewall-reload"));
    assert.match(script, /^set -eu$/m);
    assert.match(script, /systemctl start apiproxy-fetch-certs\.service[\s\S]*nginx -t/);
    const rhel = renderCloudInit(renderHost(rhelHost), { os: rhelHost.os, hostname: rhelHost.hostname });
    assert.match(rhel, /apiproxy-selinux-apply[\s\S]*firewall-cmd --reload[\s\S]*setpriv --reuid=nginx/);
});

test("cloud-init: gzipped user data round-trips and fits the AWS limit; oversize is refused", () => {
    const encoded = gzipUserData(userData);
    const raw = Buffer.from(encoded, "base64");
    console.log(`# cloud-init: ${userData.length} bytes plain, ${raw.length} gzipped (AWS limit ${USER_DATA_LIMIT_BYTES})`);
    assert.ok(raw.length <= USER_DATA_LIMIT_BYTES);
    assert.equal(raw[0], 0x1f, "gzip magic: cloud-init detects and inflates it");
    assert.equal(gunzipSync(raw).toString("utf8"), userData);
    // Incompressible content beyond the limit: refused with the way out named.
    const noise = randomBytes(24 * 1024).toString("base64");
    const huge = renderCloudInit([{ path: "/etc/noise", content: noise, mode: "0644", owner: "root", group: "root", action: "none" }],
        { os: ubuntuHost.os, hostname: ubuntuHost.hostname });
    assert.throws(() => gzipUserData(huge), /over the AWS limit.*golden image/);
});

test("cloud-init: a golden-image host writes only its own files but runs every first-boot action", () => {
    const baked = files.filter((f) => f.path !== "/etc/ssh/sshd_config");
    const own = files.filter((f) => f.path === "/etc/ssh/sshd_config");
    const golden = parse(renderCloudInit(own, { os: ubuntuHost.os, hostname: ubuntuHost.hostname, bakedFiles: baked })) as CloudConfig;
    assert.deepEqual(golden.write_files.map((w) => w.path), ["/etc/ssh/sshd_config"]);
    assert.equal(golden.runcmd[0]![2], doc.runcmd[0]![2], "same first-boot script as a host that received every file");
});

test("cloud-init: the real `cloud-init schema` accepts the user data of every OS (and rejects a broken document)", () => {
    withTempDir((dir) => {
        const documents = {
            ubuntu: userData,
            rhel: renderCloudInit(renderHost(rhelHost), { os: rhelHost.os, hostname: rhelHost.hostname }),
            golden: renderCloudInit(files.slice(0, 1), { os: ubuntuHost.os, hostname: ubuntuHost.hostname, bakedFiles: files.slice(1) }),
            admin: renderCloudInit(files, { os: ubuntuHost.os, hostname: ubuntuHost.hostname, admin: { name: "apiproxy-admin", authorizedKeys: [ADMIN_KEY] } }),
        };
        for (const [name, text] of Object.entries(documents)) {
            const result = run("cloud-init", ["schema", "-c", writeIn(dir, `${name}.yaml`, text)]);
            assert.equal(result.status, 0, `${name}: ${result.stdout}${result.stderr}`);
            assert.match(result.stdout, /Valid cloud-config/);
        }
        // The check is real: a mistyped entry fails it.
        const broken = userData.replace(/^    permissions: "0644"$/m, "    permissions: 644\n    bogus: true");
        assert.notEqual(broken, userData);
        assert.notEqual(run("cloud-init", ["schema", "-c", writeIn(dir, "broken.yaml", broken)]).status, 0);
    });
});

const ADMIN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBaIpZ7haxM3KYQ/bDvctQ0+l5H/iJEteA6sxKznWNk8 admin@example.com";

test("cloud-init: the admin account sshd admits exists, key-only with sudo; a non-key is refused", () => {
    const withAdmin = parse(renderCloudInit(files, { os: ubuntuHost.os, hostname: ubuntuHost.hostname, admin: { name: "apiproxy-admin", authorizedKeys: [ADMIN_KEY] } })) as
        { users: { name: string; lock_passwd: boolean; sudo: string; ssh_authorized_keys: string[] }[] };
    assert.deepEqual(withAdmin.users.map((u) => [u.name, u.lock_passwd, u.sudo, u.ssh_authorized_keys]),
        [["apiproxy-admin", true, "ALL=(ALL) NOPASSWD:ALL", [ADMIN_KEY]]]);
    assert.equal((doc as unknown as { users?: unknown }).users, undefined, "no account without keys");
    assert.throws(() => renderCloudInit(files, { os: ubuntuHost.os, hostname: ubuntuHost.hostname, admin: { name: "apiproxy-admin", authorizedKeys: ["hunter2"] } }), /authorized_keys form/);
});

test("cloud-init: nginx files travel without comments, every directive kept exactly (the 16 KiB cap); other files verbatim", () => {
    const strip = (ds: readonly { name: string; args: readonly string[]; block?: readonly unknown[] }[]): unknown =>
        ds.map((d) => ({ name: d.name, args: d.args, ...(d.block ? { block: strip(d.block as never) } : {}) }));
    for (const file of renderNginx(validSpec).filter((f) => f.path.endsWith(".conf"))) {
        const compact = compactForUserData(file);
        assert.doesNotMatch(compact.content, /#/, `${file.path}: no comment left`);
        assert.deepEqual(strip(parseNginx(compact.content, file.path)), strip(parseNginx(file.content, file.path)), `${file.path}: the same directives`);
    }
    const sshd = files.find((f) => f.path === "/etc/ssh/sshd_config")!;
    assert.equal(compactForUserData(sshd), sshd, "non-nginx files are not touched");
});

test("cloud-init: a declared package mirror replaces the image's apt sources even where the image preserves them", () => {
    const mirror = { primary: "http://10.255.40.10:3142/archive.ubuntu.com/ubuntu", security: "http://10.255.40.10:3142/security.ubuntu.com/ubuntu" };
    const withMirror = parse(renderCloudInit(files, { os: ubuntuHost.os, hostname: ubuntuHost.hostname, aptMirror: mirror })) as {
        apt: { preserve_sources_list: boolean; primary: { arches: string[]; uri: string }[]; security: { arches: string[]; uri: string }[] };
    };
    // Debian's cloud images ship `apt: {preserve_sources_list: true}` in cloud.cfg: with it, cloud-init
    // logs the mirror and keeps the image's sources, so first boot installs from an archive the
    // security group does not reach (found booting the dev user data on Debian 12).
    assert.equal(withMirror.apt.preserve_sources_list, false);
    assert.deepEqual(withMirror.apt.primary, [{ arches: ["default"], uri: mirror.primary }]);
    assert.deepEqual(withMirror.apt.security, [{ arches: ["default"], uri: mirror.security }]);
    assert.equal((doc as unknown as Record<string, unknown>)["apt"], undefined, "no mirror declared: the image's sources");
});

test("cloud-init: a golden image's first boot installs nothing (installPackages: false)", () => {
    const golden = parse(renderCloudInit(files, { os: ubuntuHost.os, hostname: ubuntuHost.hostname, installPackages: false })) as Record<string, unknown>;
    assert.equal(golden["package_update"], undefined);
    assert.equal(golden["packages"], undefined);
    assert.equal(doc.packages.includes("nginx"), true, "a stock image's first boot does");
});
