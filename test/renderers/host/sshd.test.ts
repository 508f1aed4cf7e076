import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmdirSync } from "node:fs";
import { renderSshd, SSHD_CONFIG_PATH, SSHD_SYSCONFIG_PATH, ISSUE_NET_PATH } from "../../../components/host/sshd";
import { allHosts, debianHost, rhelHost, ubuntuHost } from "./fixtures";
import { findFile, have, run, uncitedDirectives, withTempDir, writeIn } from "./tools";

const hasSshd = have("sshd") && have("ssh-keygen");
const PRIVSEP_DIR = "/run/sshd";
let createdPrivsep = false;

// sshd -t insists on its privilege-separation directory; create it only if missing, and
// remove it again afterwards (an empty root-owned dir, which the ssh service creates anyway).
before(() => {
    if (hasSshd && !existsSync(PRIVSEP_DIR)) {
        mkdirSync(PRIVSEP_DIR, { mode: 0o755 });
        createdPrivsep = true;
        console.log(`# sshd: created ${PRIVSEP_DIR} for sshd -t (removed after the suite)`);
    }
});
after(() => {
    if (createdPrivsep) {
        rmdirSync(PRIVSEP_DIR);
    }
});

/** Writes the config with throwaway host keys (HostKey lines pointed at the temp dir). */
function withConfig<T>(content: string, body: (configPath: string) => T): T {
    return withTempDir((dir) => {
        const key = `${dir}/ssh_host_ed25519_key`;
        const keygen = run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
        assert.equal(keygen.status, 0, keygen.stderr);
        const config = content.replace(/^HostKey .*$/gm, "").replace(/^Port /m, `HostKey ${key}\nPort `);
        return body(writeIn(dir, "sshd_config", config));
    });
}

/** Effective settings as sshd itself computes them (`sshd -T`), lower-case keys. */
function effective(content: string): Map<string, string> {
    return withConfig(content, (path) => {
        const result = run("sshd", ["-T", "-f", path, "-C", "user=opsadmin,host=admin.example,addr=10.0.100.5"]);
        assert.equal(result.status, 0, result.stderr);
        // Multi-valued keywords (allowusers) come one line per value: join them.
        const settings = new Map<string, string>();
        for (const line of result.stdout.trim().split("\n")) {
            const space = line.indexOf(" ");
            const key = line.slice(0, space);
            const value = line.slice(space + 1);
            settings.set(key, settings.has(key) ? `${settings.get(key)} ${value}` : value);
        }
        return settings;
    });
}

const config = (spec = debianHost) => findFile(renderSshd(spec), SSHD_CONFIG_PATH).content;

test("sshd: `sshd -t` accepts the config for every OS", { skip: !hasSshd && "sshd not installed" }, () => {
    for (const spec of allHosts) {
        withConfig(config(spec), (path) => {
            const result = run("sshd", ["-t", "-f", path]);
            assert.equal(result.status, 0, `${spec.os}: ${result.stderr}`);
        });
    }
});

test("sshd: `sshd -t` is a real check (a bad keyword is rejected)", { skip: !hasSshd && "sshd not installed" }, () => {
    withConfig(config().replace("PermitRootLogin no", "PermitRootLogin nope"), (path) => {
        assert.notEqual(run("sshd", ["-t", "-f", path]).status, 0);
    });
});

test("sshd: effective settings (sshd -T): no root, key only, no forwarding, limits, logging", { skip: !hasSshd && "sshd not installed" }, () => {
    for (const spec of [debianHost, ubuntuHost, rhelHost]) {
        const settings = effective(config(spec));
        const expected: Record<string, string> = {
            port: "22", permitrootlogin: "no", passwordauthentication: "no", kbdinteractiveauthentication: "no",
            pubkeyauthentication: "yes", authenticationmethods: "publickey", permitemptypasswords: "no",
            hostbasedauthentication: "no", ignorerhosts: "yes", disableforwarding: "yes", allowtcpforwarding: "no",
            allowagentforwarding: "no", allowstreamlocalforwarding: "no", x11forwarding: "no", permittunnel: "no",
            permituserenvironment: "no", maxauthtries: "3", logingracetime: "30", clientaliveinterval: "300",
            clientalivecountmax: "3", maxsessions: "4", maxstartups: "10:30:60", loglevel: "VERBOSE",
            allowusers: "opsadmin deploy", ciphers: "aes256-gcm@openssh.com,aes128-gcm@openssh.com",
            macs: "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
        };
        for (const [key, value] of Object.entries(expected)) {
            assert.equal(settings.get(key), value, `${spec.os} ${key}`);
        }
        const kex = settings.get("kexalgorithms")!.split(",");
        assert.ok(kex.every((alg) => !/sha1|group1-|group14-sha1/.test(alg)), kex.join());
        assert.ok(kex.includes("sntrup761x25519-sha512@openssh.com") === (spec.os !== "rhel-8"), `${spec.os}: PQ KEX only where OpenSSH >= 8.5`);
    }
});

test("sshd: complete file without Include; RHEL uses the 8.0 keyword and opts out of crypto-policies", () => {
    assert.doesNotMatch(config(), /^Include/m);
    assert.match(config(debianHost), /^KbdInteractiveAuthentication no$/m);
    assert.match(config(rhelHost), /^ChallengeResponseAuthentication no$/m);
    assert.doesNotMatch(config(rhelHost), /^KbdInteractiveAuthentication/m);
    assert.match(findFile(renderSshd(rhelHost), SSHD_SYSCONFIG_PATH).content, /^CRYPTO_POLICY=$/m);
    assert.ok(!renderSshd(debianHost).some((f) => f.path === SSHD_SYSCONFIG_PATH));
    assert.equal(findFile(renderSshd(debianHost), SSHD_CONFIG_PATH).mode, "0600");
    assert.doesNotMatch(findFile(renderSshd(debianHost), ISSUE_NET_PATH).content, /Ubuntu|Debian|Red Hat|OpenSSH/);
});

test("sshd: every directive is preceded by its control", () => {
    for (const spec of allHosts) {
        assert.deepEqual(uncitedDirectives(config(spec)), []);
    }
});

test("sshd: root and odd user names are refused in AllowUsers", async () => {
    const { renderHost } = await import("../../../components/host/index");
    assert.throws(() => renderHost({ ...debianHost, sshAllowUsers: ["root"] }), /sshAllowUsers\[0\]/);
    assert.throws(() => renderHost({ ...debianHost, sshAllowUsers: ["ops admin"] }), /sshAllowUsers\[0\]/);
});
