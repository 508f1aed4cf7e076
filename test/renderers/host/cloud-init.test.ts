import { test } from "node:test";
import assert from "node:assert/strict";
import { parse } from "yaml";
import { ACTION_ORDER, type HostFile } from "../../../components/core/host-file";
import { renderCloudInit, USER_DATA_LIMIT_BYTES } from "../../../components/host/cloud-init";
import { renderHost } from "../../../components/host/index";
import { gzipSync } from "node:zlib";
import { rhelHost, ubuntuHost } from "./fixtures";

interface WriteFile { path: string; encoding: string; content: string; permissions: string; owner: string; defer: boolean }
interface CloudConfig { packages: string[]; write_files: WriteFile[]; runcmd: string[][] }

const files = renderHost(ubuntuHost);
const userData = renderCloudInit(files, { os: ubuntuHost.os, hostname: ubuntuHost.hostname });
const doc = parse(userData) as CloudConfig;

test("cloud-init: #cloud-config header and exact write_files format (path, encoding b64, content, permissions, owner)", () => {
    assert.ok(userData.startsWith("#cloud-config\n"));
    assert.equal(doc.write_files.length, files.length);
    for (const f of files) {
        const entry = doc.write_files.find((w) => w.path === f.path);
        assert.ok(entry, f.path);
        assert.equal(entry.encoding, "b64");
        assert.equal(Buffer.from(entry.content, "base64").toString("utf8"), f.content);
        assert.equal(entry.permissions, f.mode);
        assert.equal(entry.owner, `${f.owner}:${f.group}`);
        assert.equal(entry.defer, true);
    }
    // The line-oriented layout the policy pack relies on.
    assert.match(userData, /^  - path: "\/etc\/ssh\/sshd_config"\n    encoding: b64\n    content: "[A-Za-z0-9+/=]+"\n    permissions: "0600"\n    owner: "root:root"$/m);
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
        script.indexOf("runuser -u www-data -- /usr/sbin/nginx -t -q"),
        script.indexOf("systemctl restart nginx.service"),
    ];
    assert.ok(positions.every((p) => p >= 0), JSON.stringify(positions));
    assert.deepEqual([...positions].sort((a, b) => a - b), positions);
    assert.ok(ACTION_ORDER.indexOf("sysctl-reload") < ACTION_ORDER.indexOf("firewall-reload"));
    assert.match(script, /^set -eu$/m);
    assert.match(script, /systemctl start apiproxy-fetch-certs\.service[\s\S]*nginx -t/);
    const rhel = renderCloudInit(renderHost(rhelHost), { os: rhelHost.os, hostname: rhelHost.hostname });
    assert.match(rhel, /apiproxy-selinux-apply[\s\S]*firewall-cmd --reload[\s\S]*runuser -u nginx/);
});

test("cloud-init: size against the AWS user-data limit (reported; the aws target gzips)", () => {
    const gz = gzipSync(userData, { level: 9 }).length;
    console.log(`# cloud-init: ${userData.length} bytes raw, ${gz} gzipped (AWS limit ${USER_DATA_LIMIT_BYTES})`);
    assert.ok(gz <= USER_DATA_LIMIT_BYTES);
});
