/**
 * Hardened nginx unit -> /etc/systemd/system/nginx.service (replaces the vendor unit).
 * The master runs as the unprivileged proxy user from the start; CAP_NET_BIND_SERVICE is
 * its only capability (seed: "If the binary lacks the CAP_NET_BIND_SERVICE capability,
 * the service will fail to restart"). Certificates rotate by reload (SIGHUP), never restart.
 * Target: `systemd-analyze security --offline=true` exposure <= MAX_EXPOSURE.
 * systemd allows comments only on their own line; each directive follows its control.
 */
import { citeControl } from "../core/controls";
import { cite, file, lines } from "./common";
import { nofileFor } from "./limits";
import { osProfile } from "./os";
import { NGINX_BINARY, NGINX_LOG_DIR, NGINX_STATE_DIR } from "./paths";
import type { HostFile } from "../core/host-file";
import type { HostSpec } from "./types";

export const NGINX_UNIT_PATH = "/etc/systemd/system/nginx.service";
/** Highest acceptable `systemd-analyze security` exposure ("OK" band ends at 2.0... lower is better). */
export const MAX_EXPOSURE = 2.0;
/** Files the service creates are owner rw, group r, others nothing (logs readable by the log group only). */
export const SERVICE_UMASK = "0027";
/** Graceful stop: SIGQUIT lets workers finish in-flight requests for this long. */
export const STOP_TIMEOUT_SECONDS = 30;

/** Units the nginx service must start after (log volume, first certificate fetch). */
export interface NginxUnitDependencies {
    readonly logVolumeService?: string;
    readonly certFetchService?: string;
}

type Directive = readonly [control: string, line: string];

export function renderNginxUnitText(spec: HostSpec, deps: NginxUnitDependencies = {}): string {
    const { proxyUser, proxyGroup } = osProfile(spec.os);
    const nofile = nofileFor(spec.concurrencyTarget);
    const after = ["network-online.target", deps.logVolumeService, deps.certFetchService].filter((unit): unit is string => !!unit);
    const unitSection: Directive[] = [];
    if (deps.logVolumeService) {
        unitSection.push(["NIST SP 800-53 AU-4/AU-5: never serve without the log volume (logs would fill the root disk or be lost)", `Requires=${deps.logVolumeService}`]);
    }
    if (deps.certFetchService) {
        unitSection.push(["seed: PKI integration - certificates fetched before the first start", `Wants=${deps.certFetchService}`]);
    }
    const service: Directive[] = [
        ["seed: epoll daemon in the foreground so systemd tracks the master directly", "Type=exec"],
        ["seed: least privilege - never root, not even at start (www-data / nginx)", `User=${proxyUser}`],
        ["seed: least privilege", `Group=${proxyGroup}`],
        ...(spec.nginxOpensslConf
            ? [["NIST SP 800-52r2 3.3.1: TLS 1.3 suites from this OpenSSL configuration (this nginx has no ssl_conf_command)", `Environment=OPENSSL_CONF=${spec.nginxOpensslConf}`] as const]
            : []),
        ["seed: validate configuration before every start", `ExecStartPre=${NGINX_BINARY} -t -q -g 'daemon off;'`],
        ["seed: daemon process", `ExecStart=${NGINX_BINARY} -g 'daemon off;'`],
        ["seed: reload validates first, a broken config never replaces a working one", `ExecReload=${NGINX_BINARY} -t -q`],
        ["seed: certificate rotation by SIGHUP reload (nginx -s reload) without dropping connections - never restart", `ExecReload=${NGINX_BINARY} -s reload`],
        ["seed: graceful shutdown lets in-flight requests finish", "KillSignal=SIGQUIT"],
        ["seed: graceful shutdown window", `TimeoutStopSec=${STOP_TIMEOUT_SECONDS}`],
        ["seed: graceful shutdown - SIGQUIT to the master, which drains its workers", "KillMode=mixed"],
        ["NIST SP 800-53 SC-5: the proxy is a critical point of failure - restart it if it crashes", "Restart=on-failure"],
        ["NIST SP 800-53 SC-5: restart back-off", "RestartSec=2s"],
        [citeControl("nofile", "seed: 'Too many open files' - nofile sized from the concurrency target"), `LimitNOFILE=${nofile}`],
        ["CIS Ubuntu 22.04 1.5.4: no core dumps of a process holding TLS keys", "LimitCORE=0"],
        ["least privilege: pid file in a private runtime dir owned by the service user", "RuntimeDirectory=nginx"],
        ["least privilege: runtime dir not world-readable", "RuntimeDirectoryMode=0750"],
        ["least privilege: /var/lib/nginx (client bodies, proxy buffers) is the only writable state", "StateDirectory=nginx"],
        ["least privilege: state dir not world-readable", "StateDirectoryMode=0750"],
        ["NIST SP 800-53 AU-9: the log dir is writable, nothing else on the OS is", "LogsDirectory=nginx"],
        ["NIST SP 800-53 AU-9: log dir not world-readable", "LogsDirectoryMode=0750"],
        ["seed: mount configuration read-only; only logs, state and runtime dir are writable", `ReadWritePaths=${NGINX_LOG_DIR} ${NGINX_STATE_DIR}`],
        ["seed: CAP_NET_BIND_SERVICE only - bind 443 without root", "AmbientCapabilities=CAP_NET_BIND_SERVICE"],
        [citeControl("proxy-sandbox", "seed: no capability beyond binding low ports"), "CapabilityBoundingSet=CAP_NET_BIND_SERVICE"],
        ["NIST SP 800-53 AC-6: no setuid escalation from the proxy", "NoNewPrivileges=yes"],
        ["seed: configuration directories read-only once the service has started", "ProtectSystem=strict"],
        ["NIST SP 800-53 AC-6: no access to home directories", "ProtectHome=yes"],
        ["NIST SP 800-53 SC-4: private /tmp", "PrivateTmp=yes"],
        ["NIST SP 800-53 AC-6: no physical devices", "PrivateDevices=yes"],
        ["NIST SP 800-53 AC-6: no device access at all", "DevicePolicy=closed"],
        ["NIST SP 800-53 AC-6: no mount propagation to or from the host", "PrivateMounts=yes"],
        ["NIST SP 800-53 CM-7: kernel tunables read-only", "ProtectKernelTunables=yes"],
        ["NIST SP 800-53 CM-7: no module loading", "ProtectKernelModules=yes"],
        ["NIST SP 800-53 CM-7: no kernel log access", "ProtectKernelLogs=yes"],
        ["NIST SP 800-53 CM-7: cgroup tree read-only", "ProtectControlGroups=yes"],
        ["NIST SP 800-53 CM-7: no clock changes", "ProtectClock=yes"],
        ["NIST SP 800-53 CM-7: no hostname changes", "ProtectHostname=yes"],
        ["NIST SP 800-53 AC-6: other processes invisible in /proc", "ProtectProc=invisible"],
        ["NIST SP 800-53 AC-6: only process entries in /proc", "ProcSubset=pid"],
        ["NIST SP 800-53 SC-7: IPv4/IPv6 for traffic, UNIX for the master-worker channel; no netlink/packet sockets", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"],
        ["NIST SP 800-53 AC-6: no namespace creation (container escape primitives)", "RestrictNamespaces=yes"],
        ["NIST SP 800-53 SC-5: no realtime scheduling (CPU starvation of the host)", "RestrictRealtime=yes"],
        ["NIST SP 800-53 AC-6: cannot create setuid/setgid files", "RestrictSUIDSGID=yes"],
        ["NIST SP 800-53 SC-4: SysV IPC removed when the service stops", "RemoveIPC=yes"],
        ["NIST SP 800-53 SC-4: kernel keyring not shared with other services", "KeyringMode=private"],
        ["NIST SP 800-53 SI-16: no personality() (ASLR/exec-domain tricks)", "LockPersonality=yes"],
        ["NIST SP 800-53 SI-16: no writable+executable memory (the nginx renderer must not enable pcre_jit)", "MemoryDenyWriteExecute=yes"],
        ["NIST SP 800-53 CM-7: system calls of a normal service only (@resources stays: worker_rlimit_nofile, worker_cpu_affinity)", "SystemCallFilter=@system-service"],
        ["NIST SP 800-53 CM-7: no privileged system calls", "SystemCallFilter=~@privileged"],
        ["NIST SP 800-53 CM-7: refused calls fail with EPERM instead of killing the proxy", "SystemCallErrorNumber=EPERM"],
        ["NIST SP 800-53 CM-7: native ABI only (no 32-bit syscall table)", "SystemCallArchitectures=native"],
        ["NIST SP 800-53 AC-3: new files not world-readable", `UMask=${SERVICE_UMASK}`],
    ];
    const render = (directives: readonly Directive[]) => directives.flatMap(([control, line]) => [cite(control), line]);
    return lines(
        "# Managed by api-proxy-security (components/host/systemd-unit.ts); replaces the vendor nginx.service.",
        "[Unit]",
        "Description=nginx API proxy (hardened, unprivileged)",
        "Documentation=man:nginx(8)",
        `After=${after.join(" ")}`,
        "Wants=network-online.target",
        render(unitSection),
        "",
        "[Service]",
        render(service),
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    );
}

export function renderNginxUnit(spec: HostSpec, deps: NginxUnitDependencies = {}): HostFile[] {
    return [file(NGINX_UNIT_PATH, renderNginxUnitText(spec, deps), "0644", "systemd-daemon-reload")];
}
