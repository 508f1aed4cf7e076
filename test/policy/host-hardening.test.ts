/**
 * Host hardening policies (policies/host-hardening.ts) on hand-written host files: the valid set
 * passes, each broken control fails its policy alone, the RHEL spellings (firewalld, SELinux,
 * ChallengeResponseAuthentication) pass, and hosts without nginx are not judged.
 */
import { describe, it } from "node:test";
import type { StackValidationPolicy } from "@pulumi/policy";
import {
    hostFirewallDefaultDeny, keyServiceRateLimited, macProfilePresent, nginxUnitSandboxed, sshdHardened,
} from "../../policy-packs/api-proxy-baseline/policies/host-hardening";
import { HOST_FILES, T, editFile, validInstance, type HostFiles } from "./fixtures";
import { assertCompliant, assertViolation, runStack } from "./util";

const NFT = "/etc/nftables.conf";
const UNIT = "/etc/systemd/system/nginx.service";
const SSHD = "/etc/ssh/sshd_config";
const APPARMOR = "/etc/apparmor.d/usr.sbin.nginx";

const run = (policy: StackValidationPolicy, files: HostFiles) => runStack(policy, [{ type: T.instance, name: "proxy-a", props: validInstance(files) }], {});
const without = (path: string, files: HostFiles = HOST_FILES): HostFiles => Object.fromEntries(Object.entries(files).filter(([p]) => p !== path));

const RHEL: HostFiles = {
    ...without(APPARMOR, without(NFT)),
    "/etc/firewalld/zones/apiproxy.xml": `<?xml version="1.0" encoding="utf-8"?>\n<zone target="DROP">\n  <port protocol="tcp" port="443"/>\n</zone>\n`,
    "/usr/local/sbin/apiproxy-selinux-apply": "#!/bin/sh\nsetsebool -P httpd_can_network_connect 1\n",
    [SSHD]: "PermitRootLogin no\nPasswordAuthentication no\nChallengeResponseAuthentication no\nAllowUsers apiproxy-admin\n",
};

describe("host hardening policies", () => {
    for (const policy of [hostFirewallDefaultDeny, nginxUnitSandboxed, sshdHardened, macProfilePresent]) {
        it(`${policy.name}: the valid Debian and RHEL host files pass; a host without nginx is not judged`, async () => {
            assertCompliant(await run(policy, HOST_FILES), "debian");
            assertCompliant(await run(policy, RHEL), "rhel");
            assertCompliant(await run(policy, { "/etc/motd": "hi\n" }), "no nginx");
        });
    }
    it("host-firewall-default-deny: an accepting hook, a missing chain, a missing firewall, a zone that accepts", async () => {
        const name = "host-firewall-default-deny";
        assertViolation(await run(hostFirewallDefaultDeny, editFile(NFT, "hook input priority filter; policy drop;", "hook input priority filter; policy accept;")), name, /policy accept on its input hook/);
        assertViolation(await run(hostFirewallDefaultDeny, editFile(NFT, /chain output \{[^}]*\}/, "")), name, /has no output chain/);
        assertViolation(await run(hostFirewallDefaultDeny, without(NFT)), name, /carries no host firewall/);
        assertViolation(await run(hostFirewallDefaultDeny, { ...RHEL, "/etc/firewalld/zones/apiproxy.xml": "<zone target=\"ACCEPT\"/>" }), name, /target="DROP"/);
    });
    it("nginx-unit-sandboxed: root, more capabilities, privileges, a writable system, a low open-file limit", async () => {
        const name = "nginx-unit-sandboxed";
        assertViolation(await run(nginxUnitSandboxed, editFile(UNIT, "User=www-data\n", "")), name, /as root/);
        assertViolation(await run(nginxUnitSandboxed, editFile(UNIT, "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SYS_ADMIN")), name, /CAP_NET_BIND_SERVICE only/);
        assertViolation(await run(nginxUnitSandboxed, editFile(UNIT, "NoNewPrivileges=yes", "NoNewPrivileges=no")), name, /NoNewPrivileges=no/);
        assertViolation(await run(nginxUnitSandboxed, editFile(UNIT, "ProtectSystem=strict", "ProtectSystem=full")), name, /ProtectSystem=full/);
        const low = editFile("/etc/nginx/nginx.conf", "worker_processes auto;", "worker_processes auto;\nworker_rlimit_nofile 200000;");
        assertViolation(await run(nginxUnitSandboxed, low), name, /LimitNOFILE=65536 is below nginx's worker_rlimit_nofile 200000/);
        assertViolation(await run(nginxUnitSandboxed, without(UNIT)), name, /carries no hardened nginx unit/);
    });
    it("sshd-hardened: root login, passwords, keyboard-interactive, no AllowUsers; the first value counts", async () => {
        const name = "sshd-hardened";
        assertViolation(await run(sshdHardened, editFile(SSHD, "PermitRootLogin no", "PermitRootLogin prohibit-password")), name, /PermitRootLogin prohibit-password/);
        assertViolation(await run(sshdHardened, editFile(SSHD, "PasswordAuthentication no\n", "")), name, /PasswordAuthentication \(unset/);
        assertViolation(await run(sshdHardened, editFile(SSHD, "KbdInteractiveAuthentication no\n", "")), name, /keyboard-interactive/);
        assertViolation(await run(sshdHardened, editFile(SSHD, "AllowUsers apiproxy-admin\n", "")), name, /no AllowUsers/);
        assertViolation(await run(sshdHardened, editFile(SSHD, "PermitRootLogin no", "PermitRootLogin yes\nPermitRootLogin no")), name, /PermitRootLogin yes/);
    });
    it("mac-profile-present: no profile, or one in complain mode", async () => {
        const name = "mac-profile-present";
        assertViolation(await run(macProfilePresent, without(APPARMOR)), name, /neither an AppArmor profile/);
        assertViolation(await run(macProfilePresent, editFile(APPARMOR, "profile nginx /usr/sbin/nginx {", "profile nginx /usr/sbin/nginx flags=(complain) {")), name, /complain mode/);
    });
});

describe("key-service-rate-limited", () => {
    const NAME = "key-service-rate-limited";
    const UNIT_PATH = "/etc/systemd/system/apiproxy-keycheck.service";
    const unit = (exec: string): HostFiles => ({ [UNIT_PATH]: `[Unit]\nDescription=key service (hand-written)\n\n[Service]\nExecStart=${exec}\nDynamicUser=yes\n` });
    const good = "/usr/local/bin/apiproxy-keycheck serve --listen 10.0.0.5:9000 --redis 127.0.0.1:6379 --pepper-file /p --rate-per-second 100 --burst 50";
    it("accepts a limited key service; hosts without one are not judged", async () => {
        assertCompliant(await run(keyServiceRateLimited, unit(good)));
        assertCompliant(await run(keyServiceRateLimited, HOST_FILES));
    });
    it("rejects a key service without a limit, above the ceiling, or without a burst", async () => {
        assertViolation(await run(keyServiceRateLimited, unit(good.replace(" --rate-per-second 100", ""))), NAME, /without --rate-per-second/);
        assertViolation(await run(keyServiceRateLimited, unit(good.replace("--rate-per-second 100", "--rate-per-second 20000"))), NAME, /with --rate-per-second 20000; every API key needs a limit of 1-10000/);
        assertViolation(await run(keyServiceRateLimited, unit(good.replace(" --burst 50", ""))), NAME, /without a --burst/);
    });
});
