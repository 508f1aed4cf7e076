import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { backlogFor, renderSysctl, SEED_SOMAXCONN, SEED_TCP_MAX_SYN_BACKLOG, SYSCTL_PATH } from "../../../components/host/sysctl";
import { debianHost, rhelHost, ubuntuHost } from "./fixtures";
import { findFile, uncitedDirectives } from "./tools";

function parse(content: string): Map<string, string> {
    const map = new Map<string, string>();
    for (const line of content.split("\n")) {
        const match = /^([a-z0-9_.]+) = (.+)$/.exec(line);
        if (match) {
            assert.ok(!map.has(match[1]!), `duplicate key ${match[1]}`);
            map.set(match[1]!, match[2]!);
        }
    }
    return map;
}

const render = (spec = debianHost) => findFile(renderSysctl(spec), SYSCTL_PATH);

test("sysctl: the seed's keys are present with the seed's values (10k sessions)", () => {
    const keys = parse(render(debianHost).content);
    assert.equal(keys.get("net.ipv4.tcp_syncookies"), "1");
    assert.equal(keys.get("net.ipv4.tcp_max_syn_backlog"), "4096");
    assert.equal(keys.get("net.ipv4.ip_local_port_range"), "1024 65535");
    assert.equal(keys.get("net.ipv4.tcp_fin_timeout"), "30");
    assert.equal(keys.get("net.core.somaxconn"), "4096");
});

test("sysctl: backlogs scale up with concurrency and never drop below the seed", () => {
    assert.equal(backlogFor(1), SEED_TCP_MAX_SYN_BACKLOG);
    assert.equal(backlogFor(10_000), 4096);
    assert.equal(backlogFor(100_000), 16384);
    assert.ok(backlogFor(1_000_000) <= 65535);
    for (let c = 1; c <= 200_000; c += 7919) {
        assert.ok(backlogFor(c) >= SEED_SOMAXCONN && backlogFor(c + 7919) >= backlogFor(c));
    }
    const keys = parse(render(rhelHost).content);
    assert.equal(keys.get("net.core.somaxconn"), "16384");
    assert.equal(keys.get("net.ipv4.tcp_max_syn_backlog"), "16384");
});

test("sysctl: listener ports inside the ephemeral range are reserved", () => {
    const reserved = parse(render().content).get("net.ipv4.ip_local_reserved_ports")!.split(",");
    assert.ok(reserved.includes("8443"));
    assert.ok(reserved.includes(String(debianHost.ports.health)));
    assert.ok(!reserved.includes("443"), "443 is outside 1024-65535 and needs no reservation");
});

test("sysctl: baseline hardening keys and values", () => {
    const keys = parse(render().content);
    const expected: Record<string, string> = {
        "net.ipv4.ip_forward": "0",
        "net.ipv6.conf.all.forwarding": "0",
        "net.ipv4.conf.all.rp_filter": "1",
        "net.ipv4.conf.default.rp_filter": "1",
        "net.ipv4.conf.all.accept_redirects": "0",
        "net.ipv6.conf.all.accept_redirects": "0",
        "net.ipv4.conf.all.secure_redirects": "0",
        "net.ipv4.conf.all.send_redirects": "0",
        "net.ipv4.conf.default.send_redirects": "0",
        "net.ipv4.conf.all.accept_source_route": "0",
        "net.ipv6.conf.all.accept_source_route": "0",
        "net.ipv4.conf.all.log_martians": "1",
        "net.ipv4.icmp_echo_ignore_broadcasts": "1",
        "net.ipv4.tcp_rfc1337": "1",
        "kernel.kptr_restrict": "2",
        "kernel.dmesg_restrict": "1",
        "kernel.unprivileged_bpf_disabled": "1",
        "net.core.bpf_jit_harden": "2",
        "kernel.yama.ptrace_scope": "2",
        "fs.protected_hardlinks": "1",
        "fs.protected_symlinks": "1",
        "fs.protected_fifos": "2",
        "fs.protected_regular": "2",
        "fs.suid_dumpable": "0",
        "kernel.randomize_va_space": "2",
        "net.ipv6.conf.all.accept_ra": "0",
    };
    for (const [key, value] of Object.entries(expected)) {
        assert.equal(keys.get(key), value, key);
    }
});

test("sysctl: AWS hosts keep IPv6 router advertisements (VPC default route)", () => {
    assert.equal(parse(render(ubuntuHost).content).has("net.ipv6.conf.all.accept_ra"), false);
});

test("sysctl: every key is preceded by the control it satisfies", () => {
    for (const spec of [debianHost, ubuntuHost, rhelHost]) {
        assert.deepEqual(uncitedDirectives(render(spec).content), []);
    }
});

test("sysctl: every key exists in this kernel (read-only /proc/sys check, no sysctl -p)", () => {
    // Yama and kexec knobs depend on the kernel build; the host kernel of a container may lack them.
    const kernelOptional = new Set(["kernel.yama.ptrace_scope"]);
    const missing: string[] = [];
    for (const key of parse(render().content).keys()) {
        if (!existsSync(`/proc/sys/${key.replace(/\./g, "/")}`)) {
            if (kernelOptional.has(key)) {
                console.log(`# sysctl: ${key} not in this kernel (Yama LSM absent); present on Ubuntu/RHEL kernels`);
            } else {
                missing.push(key);
            }
        }
    }
    assert.deepEqual(missing, []);
});
