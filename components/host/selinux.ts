/**
 * SELinux for RHEL 8 (seed: "SELinux ... in enforcing mode with correct labeling for web
 * services"): /etc/selinux/config and an idempotent apply script that asserts enforcing,
 * labels the listener ports http_port_t, lets httpd_t proxy, and labels the log volume.
 */
import { file, lines } from "./common";
import { NGINX_LOG_DIR } from "./paths";
import type { HostFile } from "../core/host-file";
import { shellQuote } from "../core/shell";
import type { HostSpec } from "./types";

export const SELINUX_CONFIG_PATH = "/etc/selinux/config";
export const SELINUX_APPLY_PATH = "/usr/local/sbin/apiproxy-selinux-apply";


export function renderSelinuxConfig(): string {
    return lines(
        "# Managed by api-proxy-security (components/host/selinux.ts).",
        "# DISA STIG RHEL-08-010170; CIS RHEL 8 1.6.1.5: SELinux enforcing",
        "SELINUX=enforcing",
        "# CIS RHEL 8 1.6.1.3: targeted policy",
        "SELINUXTYPE=targeted",
    );
}

export function renderSelinuxApplyScript(spec: HostSpec): string {
    const listenerPorts = [...new Set([spec.ports.https, spec.ports.mtls, spec.ports.health])];
    const logPaths = spec.logVolume ? [spec.logVolume.mountPoint, NGINX_LOG_DIR] : [NGINX_LOG_DIR];
    return lines(
        "#!/usr/bin/env bash",
        "# Managed by api-proxy-security (components/host/selinux.ts). Idempotent: safe on every boot.",
        "set -euo pipefail",
        "",
        "# DISA STIG RHEL-08-010170: refuse to continue unless SELinux enforces",
        'mode="$(getenforce)"',
        'case "$mode" in',
        "    Enforcing) ;;",
        "    # DISA STIG RHEL-08-010170: permissive is switched to enforcing now (config already says enforcing)",
        "    Permissive) setenforce 1 ;;",
        '    *) echo "apiproxy-selinux-apply: SELinux is $mode; /etc/selinux/config enforces it after a reboot" >&2; exit 1 ;;',
        "esac",
        '[ "$(getenforce)" = "Enforcing" ] || { echo "apiproxy-selinux-apply: SELinux is not enforcing" >&2; exit 1; }',
        "",
        "label_port() {",
        "    # -a fails when the port already has a type; -m then moves it to http_port_t.",
        '    semanage port -a -t http_port_t -p tcp "$1" 2>/dev/null || semanage port -m -t http_port_t -p tcp "$1"',
        "}",
        listenerPorts.flatMap((port) => [
            `# seed: correct labeling for web services - nginx (httpd_t) may bind ${port} only if it is http_port_t`,
            `label_port ${port}`,
        ]),
        "",
        "# seed: the proxy connects to upstreams on arbitrary ports; egress is limited by the firewall policy",
        "setsebool -P httpd_can_network_connect on",
        "# NIST SP 800-53 SI-16: no executable memory for httpd_t (matches MemoryDenyWriteExecute=)",
        "setsebool -P httpd_execmem off",
        "# NIST SP 800-53 AC-6: no home directory access",
        "setsebool -P httpd_enable_homedirs off",
        "",
        "label_logs() {",
        '    semanage fcontext -a -t httpd_log_t "$1(/.*)?" 2>/dev/null || semanage fcontext -m -t httpd_log_t "$1(/.*)?"',
        "}",
        logPaths.flatMap((path) => [
            "# NIST SP 800-53 AU-9: logs labeled httpd_log_t - nginx may append, nothing else of httpd_t's may be written",
            `label_logs ${shellQuote(path)}`,
        ]),
        "# seed: relabel what already exists (the log volume is re-created after an instance stop)",
        `restorecon -R ${logPaths.map(shellQuote).join(" ")} /etc/nginx /var/lib/nginx`,
    );
}

export function renderSelinux(spec: HostSpec): HostFile[] {
    return [
        file(SELINUX_CONFIG_PATH, renderSelinuxConfig(), "0644", "selinux-apply"),
        file(SELINUX_APPLY_PATH, renderSelinuxApplyScript(spec), "0750", "selinux-apply"),
    ];
}
