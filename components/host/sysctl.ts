/**
 * Kernel network and self-protection settings -> /etc/sysctl.d/zz-apiproxy.conf.
 * The seed's SYN-flood/ephemeral-port keys are kept exactly (backlogs only ever scale up),
 * plus baseline hardening that does not break a reverse proxy. sysctl.d allows comments
 * only on their own line, so each key is preceded by the control it satisfies.
 */
import { citeControl } from "../core/controls";
import { cite, file, lines } from "./common";
import type { HostFile } from "../core/host-file";
import type { HostSpec } from "./types";

/** Named to sort after every file the distributions ship: sysctl --system (and systemd-sysctl)
 *  applies /etc/sysctl.d, /run/sysctl.d and /usr/lib/sysctl.d in one lexicographic order of file
 *  names and the last value wins, and digits sort before letters. The AWS boot test proved both
 *  Debian's procps files win over a numbered name: 99-protect-links.conf (Debian 12) after
 *  60-apiproxy.conf, and protect-links.conf (Debian 11) even after 99-zz-apiproxy.conf, each
 *  setting fs.protected_fifos back to 1. */
export const SYSCTL_PATH = "/etc/sysctl.d/zz-apiproxy.conf";

/** Seed: SYN backlog that absorbs bursts at the low end of 10k-100k sessions. */
export const SEED_TCP_MAX_SYN_BACKLOG = 4096;
/** Seed: listen-queue limit; prevents dropped connections during bursts. */
export const SEED_SOMAXCONN = 4096;
/** Seed: shorter FIN-WAIT-2 so abandoned sockets release ports and memory sooner. */
export const SEED_TCP_FIN_TIMEOUT_SECONDS = 30;
/** Seed: widest ephemeral range for upstream connections (listeners are reserved below). */
export const SEED_IP_LOCAL_PORT_RANGE: readonly [number, number] = [1024, 65535];
/** Fraction of the concurrency target that may be a burst of new handshakes at once. */
export const BACKLOG_BURST_DIVISOR = 8;
/** Upper bound for backlogs: listen() backlogs are 16-bit in nginx and older kernels. */
export const MAX_BACKLOG = 65535;

/**
 * Listen/SYN backlog for a concurrency target: 1/8 of the target rounded up to a power of
 * two, never below the seed's 4096 and never above 65535. The nginx renderer should use the
 * same value for `listen ... backlog=` (a larger nginx backlog is silently capped by somaxconn).
 */
export function backlogFor(concurrencyTarget: number): number {
    const burst = Math.ceil(concurrencyTarget / BACKLOG_BURST_DIVISOR);
    const powerOfTwo = 2 ** Math.ceil(Math.log2(Math.max(burst, 1)));
    return Math.min(MAX_BACKLOG, Math.max(SEED_TCP_MAX_SYN_BACKLOG, SEED_SOMAXCONN, powerOfTwo));
}

/** One sysctl key, the value, and why. */
export interface SysctlSetting {
    readonly key: string;
    readonly value: string;
    readonly control: string;
}

/** The ordered settings; exported so tests and the policy pack's fixtures can inspect them. */
export function sysctlSettings(spec: HostSpec): SysctlSetting[] {
    const backlog = String(backlogFor(spec.concurrencyTarget));
    const reserved = [...new Set([spec.ports.https, spec.ports.mtls, spec.ports.health])]
        .filter((port) => port >= SEED_IP_LOCAL_PORT_RANGE[0])
        .sort((a, b) => a - b);
    const settings: SysctlSetting[] = [
        // --- seed: SYN flood mitigation and ephemeral ports
        { key: "net.ipv4.tcp_syncookies", value: "1", control: citeControl("syn-flood", "seed: SYN flood mitigation; dev-sec linux-baseline sysctl-11; CIS Ubuntu 22.04 3.3.8") },
        { key: "net.ipv4.tcp_max_syn_backlog", value: backlog, control: `seed: SYN flood mitigation (seed 4096, scaled to concurrency ${spec.concurrencyTarget})` },
        { key: "net.core.somaxconn", value: backlog, control: `seed: listen queue for traffic bursts (seed 4096, scaled to concurrency ${spec.concurrencyTarget})` },
        { key: "net.ipv4.tcp_fin_timeout", value: String(SEED_TCP_FIN_TIMEOUT_SECONDS), control: "seed: release FIN-WAIT-2 sockets sooner under high concurrency" },
        { key: "net.ipv4.ip_local_port_range", value: `${SEED_IP_LOCAL_PORT_RANGE[0]} ${SEED_IP_LOCAL_PORT_RANGE[1]}`, control: "seed: ephemeral port range for upstream connections" },
    ];
    if (reserved.length > 0) {
        settings.push({ key: "net.ipv4.ip_local_reserved_ports", value: reserved.join(","), control: "seed: listener ports inside the 1024-65535 ephemeral range must never be handed out as source ports" });
    }
    settings.push(
        // --- not a router (CIS Ubuntu 22.04 3.2 "network parameters (host only)")
        { key: "net.ipv4.ip_forward", value: "0", control: "CIS Ubuntu 22.04 3.2.2: a proxy terminates connections, it never routes" },
        { key: "net.ipv6.conf.all.forwarding", value: "0", control: "CIS Ubuntu 22.04 3.2.2: no IPv6 routing" },
        { key: "net.ipv4.conf.all.send_redirects", value: "0", control: "CIS Ubuntu 22.04 3.2.1: hosts do not send ICMP redirects" },
        { key: "net.ipv4.conf.default.send_redirects", value: "0", control: "CIS Ubuntu 22.04 3.2.1" },
        // --- network parameters (host and router), CIS Ubuntu 22.04 3.3
        { key: "net.ipv4.conf.all.accept_source_route", value: "0", control: "CIS Ubuntu 22.04 3.3.1: reject source-routed packets" },
        { key: "net.ipv4.conf.default.accept_source_route", value: "0", control: "CIS Ubuntu 22.04 3.3.1" },
        { key: "net.ipv6.conf.all.accept_source_route", value: "0", control: "CIS Ubuntu 22.04 3.3.1" },
        { key: "net.ipv6.conf.default.accept_source_route", value: "0", control: "CIS Ubuntu 22.04 3.3.1" },
        { key: "net.ipv4.conf.all.accept_redirects", value: "0", control: "CIS Ubuntu 22.04 3.3.2: ignore ICMP redirects (route hijack)" },
        { key: "net.ipv4.conf.default.accept_redirects", value: "0", control: "CIS Ubuntu 22.04 3.3.2" },
        { key: "net.ipv6.conf.all.accept_redirects", value: "0", control: "CIS Ubuntu 22.04 3.3.2" },
        { key: "net.ipv6.conf.default.accept_redirects", value: "0", control: "CIS Ubuntu 22.04 3.3.2" },
        { key: "net.ipv4.conf.all.secure_redirects", value: "0", control: "CIS Ubuntu 22.04 3.3.3: ignore redirects even from gateways" },
        { key: "net.ipv4.conf.default.secure_redirects", value: "0", control: "CIS Ubuntu 22.04 3.3.3" },
        { key: "net.ipv4.conf.all.log_martians", value: "1", control: "CIS Ubuntu 22.04 3.3.4: log spoofed/impossible source addresses" },
        { key: "net.ipv4.conf.default.log_martians", value: "1", control: "CIS Ubuntu 22.04 3.3.4" },
        { key: "net.ipv4.icmp_echo_ignore_broadcasts", value: "1", control: "CIS Ubuntu 22.04 3.3.5; DISA STIG RHEL-08-040230: no smurf amplification" },
        { key: "net.ipv4.icmp_ignore_bogus_error_responses", value: "1", control: "CIS Ubuntu 22.04 3.3.6" },
        { key: "net.ipv4.conf.all.rp_filter", value: "1", control: "CIS Ubuntu 22.04 3.3.7: strict reverse-path filter drops spoofed sources" },
        { key: "net.ipv4.conf.default.rp_filter", value: "1", control: "CIS Ubuntu 22.04 3.3.7" },
        { key: "net.ipv4.tcp_rfc1337", value: "1", control: "RFC 1337: drop RSTs for TIME-WAIT sockets (TIME-WAIT assassination)" },
    );
    if (!spec.aws) {
        // AWS IPv6 subnets deliver the default route by router advertisement; elsewhere the
        // host's routes are static and a rogue RA must not change them.
        settings.push(
            { key: "net.ipv6.conf.all.accept_ra", value: "0", control: "CIS Ubuntu 22.04 3.3.9: ignore IPv6 router advertisements" },
            { key: "net.ipv6.conf.default.accept_ra", value: "0", control: "CIS Ubuntu 22.04 3.3.9" },
        );
    }
    settings.push(
        // --- kernel self-protection
        { key: "kernel.randomize_va_space", value: "2", control: "CIS Ubuntu 22.04 1.5.1: full ASLR" },
        { key: "fs.suid_dumpable", value: "0", control: "CIS Ubuntu 22.04 1.5.4: no core dumps of setuid programs (key material in memory)" },
        { key: "kernel.kptr_restrict", value: "2", control: "KSPP: hide kernel pointers from every user" },
        { key: "kernel.dmesg_restrict", value: "1", control: "KSPP; DISA STIG RHEL-08-010375: kernel log only for CAP_SYSLOG" },
        { key: "kernel.unprivileged_bpf_disabled", value: "1", control: "KSPP: no eBPF for unprivileged users" },
        { key: "net.core.bpf_jit_harden", value: "2", control: "KSPP: constant blinding for all BPF JIT (JIT spraying)" },
        { key: "kernel.yama.ptrace_scope", value: "2", control: "KSPP: ptrace attach only with CAP_SYS_PTRACE (the proxy holds TLS keys in memory)" },
        { key: "fs.protected_hardlinks", value: "1", control: "KSPP: no hardlinks to files the user does not own" },
        { key: "fs.protected_symlinks", value: "1", control: "KSPP: no following symlinks in sticky world-writable dirs" },
        { key: "fs.protected_fifos", value: "2", control: "KSPP: no opening attacker-owned FIFOs in sticky dirs" },
        { key: "fs.protected_regular", value: "2", control: "KSPP: no opening attacker-owned files in sticky dirs" },
    );
    return settings;
}

export function renderSysctl(spec: HostSpec): HostFile[] {
    const body = sysctlSettings(spec).flatMap((setting) => [cite(setting.control), `${setting.key} = ${setting.value}`]);
    const content = lines(
        "# Managed by api-proxy-security (components/host/sysctl.ts). Applied with `sysctl --system`.",
        "# Each key is preceded by the control it satisfies.",
        "",
        body,
    );
    return [file(SYSCTL_PATH, content, "0644", "sysctl-reload")];
}
