import { test } from "node:test";
import assert from "node:assert/strict";
import { APPARMOR_PROFILE_PATH, renderAppArmor } from "../../../components/host/apparmor";
import { debianHost, ubuntuHost } from "./fixtures";
import { findFile, have, run, uncitedDirectives, withTempDir, writeIn } from "./tools";

const profile = findFile(renderAppArmor(ubuntuHost), APPARMOR_PROFILE_PATH).content;
const rules = profile.split("\n").map((line) => line.trim()).filter((line) => line && !line.startsWith("#"));
const parserArgs = ["--skip-kernel-load", "--skip-cache", "-Q", "-K"];

test("apparmor: apparmor_parser parses the profile (parse-only, nothing loaded)", { skip: !have("apparmor_parser") && "apparmor_parser not installed" }, () => {
    for (const spec of [ubuntuHost, debianHost]) {
        withTempDir((dir) => {
            const path = writeIn(dir, "usr.sbin.nginx", findFile(renderAppArmor(spec), APPARMOR_PROFILE_PATH).content);
            const result = run("apparmor_parser", [...parserArgs, path]);
            assert.equal(result.status, 0, result.stderr);
        });
    }
});

test("apparmor: the parse is a real check (a broken rule is rejected)", { skip: !have("apparmor_parser") && "apparmor_parser not installed" }, () => {
    withTempDir((dir) => {
        const path = writeIn(dir, "bad", profile.replace("capability net_bind_service,", "capability net_bind_servic,"));
        assert.notEqual(run("apparmor_parser", [...parserArgs, path]).status, 0);
    });
});

test("apparmor: enforce mode (no complain/unconfined flags)", () => {
    assert.match(profile, /^profile nginx \/usr\/sbin\/nginx \{$/m);
    assert.doesNotMatch(profile, /flags=\([^)]*(complain|unconfined)/);
});

test("apparmor: net_bind_service is the only capability granted", () => {
    const granted = rules.filter((line) => /^capability\b/.test(line));
    assert.deepEqual(granted, ["capability net_bind_service,"]);
    for (const cap of ["setuid", "setgid", "dac_override"]) {
        assert.ok(rules.includes(`deny capability ${cap},`), cap);
    }
});

test("apparmor: configuration read-only, logs writable only in the log dir, no exec", () => {
    assert.ok(rules.includes("/etc/nginx/** r,"));
    assert.ok(rules.includes("deny /etc/nginx/** wl,"));
    const writable = rules.filter((line) => /^\/\S+ [a-z]*w[a-z]*,$/.test(line)).map((line) => line.split(" ")[0]);
    assert.deepEqual(writable.sort(), ["/run/nginx/", "/run/nginx/**", "/var/lib/nginx/", "/var/lib/nginx/**", "/var/log/nginx/**"].sort());
    // No exec permission of any kind (ix, px, ux, cx) - nginx never runs another program.
    assert.ok(!rules.some((line) => /\s[a-z]*[ipcu]x[a-z]*,$/i.test(line)), "no exec rules");
});

test("apparmor: network limited to inet/inet6 tcp (+dns udp, unix channel); raw/packet denied", () => {
    const network = rules.filter((line) => line.startsWith("network "));
    assert.deepEqual(network.sort(), ["network inet dgram,", "network inet stream,", "network inet6 dgram,", "network inet6 stream,", "network unix stream,"].sort());
    assert.ok(rules.includes("deny network raw,"));
});

test("apparmor: every rule in the profile carries a control comment", () => {
    const body = profile.slice(profile.indexOf("{") + 1, profile.lastIndexOf("}"));
    assert.deepEqual(uncitedDirectives(body), []);
});

test("apparmor: every TLS file nginx reads is readable (tlsReadPaths + fetched secrets), nothing else in that directory", () => {
    const spec = { ...ubuntuHost, tlsReadPaths: ["/etc/ssl/apiproxy/upstream-ca.pem", "/etc/ssl/apiproxy/client-ca.pem"] };
    const profile = findFile(renderAppArmor(spec), APPARMOR_PROFILE_PATH).content;
    assert.match(profile, /^  \/etc\/ssl\/apiproxy\/upstream-ca\.pem r,$/m, "a file delivered outside Secrets Manager is readable");
    for (const secret of ubuntuHost.aws!.certificateSecrets.filter((s) => !s.path.startsWith("/etc/nginx/"))) {
        assert.ok(profile.includes(`  ${secret.path} r,`), secret.path);
    }
    assert.doesNotMatch(profile, /\/etc\/ssl\/apiproxy\/\*\*/, "no directory-wide grant");
    const local = findFile(renderAppArmor({ ...debianHost, tlsReadPaths: ["/etc/ssl/apiproxy/private/server.key"] }), APPARMOR_PROFILE_PATH).content;
    assert.match(local, /^  \/etc\/ssl\/apiproxy\/private\/server\.key r,$/m, "hosts without AWS still read their key");
});
