/**
 * Open-file limits for the proxy user -> /etc/security/limits.d/90-apiproxy.conf.
 * pam_limits applies this to login sessions (an admin running nginx -t by hand); the
 * service itself gets the same number through LimitNOFILE= in the systemd unit, because
 * systemd services never pass through PAM.
 */
import { cite, file, lines } from "./common";
import { osProfile } from "./os";
import type { HostFile } from "../core/host-file";
import type { HostSpec } from "./types";

export const LIMITS_PATH = "/etc/security/limits.d/90-apiproxy.conf";
/** A proxied session holds a client socket and an upstream socket. */
export const FDS_PER_PROXIED_SESSION = 2;
/** Headroom for auth_request subrequests, upstream keepalive pools and bursts above target. */
export const NOFILE_HEADROOM_FRACTION = 0.25;
/** Fixed descriptors: listeners, log files, certificates, shared libraries, eventfd/epoll. */
export const NOFILE_BASE = 1024;
/** Kernel default fs.nr_open: no process may exceed it, so a larger limit fails to apply. */
export const NOFILE_KERNEL_MAXIMUM = 1_048_576;

/**
 * nofile for a concurrency target: 2 fds per proxied session plus 25% headroom plus 1024
 * fixed; also nginx's worker_rlimit_nofile (components/nginx/render-main.ts workerSizing).
 */
export function nofileFor(concurrencyTarget: number): number {
    if (!Number.isInteger(concurrencyTarget) || concurrencyTarget < 1) {
        throw new Error(`concurrencyTarget: must be a positive integer, got ${concurrencyTarget}`);
    }
    const nofile = Math.ceil(concurrencyTarget * FDS_PER_PROXIED_SESSION * (1 + NOFILE_HEADROOM_FRACTION)) + NOFILE_BASE;
    if (nofile > NOFILE_KERNEL_MAXIMUM) {
        throw new Error(`concurrencyTarget: ${concurrencyTarget} needs nofile ${nofile}, above the kernel's fs.nr_open ${NOFILE_KERNEL_MAXIMUM}; scale out instead`);
    }
    return nofile;
}

export function renderLimits(spec: HostSpec): HostFile[] {
    const { proxyUser } = osProfile(spec.os);
    const nofile = nofileFor(spec.concurrencyTarget);
    const control = `seed: "Too many open files" - nofile sized for ${spec.concurrencyTarget} sessions (2 fds each + 25% + ${NOFILE_BASE})`;
    const content = lines(
        "# Managed by api-proxy-security (components/host/limits.ts).",
        "# The service gets the same value via LimitNOFILE= (systemd units do not use PAM).",
        cite(control),
        `${proxyUser} soft nofile ${nofile}`,
        cite(control),
        `${proxyUser} hard nofile ${nofile}`,
        cite("CIS Ubuntu 22.04 1.5.4: no core dumps (TLS keys live in the proxy's memory)"),
        `${proxyUser} hard core 0`,
    );
    return [file(LIMITS_PATH, content, "0644", "none")];
}
