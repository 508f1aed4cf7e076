/**
 * The unit every renderer produces and every delivery target consumes
 * (shared/docs/ARCHITECTURE.md: spec -> pure renderers -> HostFiles -> targets).
 * Renderers are pure: no Pulumi, no environment, no I/O.
 */

/** What the host must do after a file changes, weakest first. */
export type HostAction =
    | "none"
    | "sysctl-reload"      // sysctl --system
    | "firewall-reload"    // nft -f / firewall-cmd --reload
    | "nginx-reload"       // nginx -t && systemctl reload nginx (SIGHUP, never restart)
    | "haproxy-reload"     // haproxy -c && systemctl reload haproxy (seamless: the old process drains)
    | "service-restart"    // a unit file of a stateless service: daemon-reload, enable, restart that unit
    | "sshd-reload"        // sshd -t && systemctl reload ssh(d)
    | "systemd-daemon-reload"
    | "apparmor-reload"    // apparmor_parser -r
    | "selinux-apply";     // semanage/setsebool script

export interface HostFile {
    /** Absolute path on the host. */
    readonly path: string;
    readonly content: string;
    /** Octal file mode as a string, e.g. "0644". */
    readonly mode: string;
    readonly owner: string;
    readonly group: string;
    /** What applying this file needs. */
    readonly action: HostAction;
    /** True for files that carry private keys (never printed, delivered as secrets). */
    readonly secret?: boolean;
}

/** Validates the invariants every HostFile must hold; renderers call it on their output. */
export function hostFile(file: HostFile): HostFile {
    if (!file.path.startsWith("/")) {
        throw new Error(`HostFile path must be absolute: ${file.path}`);
    }
    if (file.path.split("/").includes("..")) {
        throw new Error(`HostFile path must not contain "..": ${file.path}`);
    }
    if (!/^0[0-7]{3}$/.test(file.mode)) {
        throw new Error(`HostFile mode must be octal like 0644: ${file.path} has ${file.mode}`);
    }
    return file;
}

/** The order actions must run in after files land (config first, daemons last). */
export const ACTION_ORDER: readonly HostAction[] = [
    "sysctl-reload",
    "selinux-apply",
    "apparmor-reload",
    "systemd-daemon-reload",
    "firewall-reload",
    "sshd-reload",
    "service-restart",
    "haproxy-reload",
    "nginx-reload",
    "none",
];
