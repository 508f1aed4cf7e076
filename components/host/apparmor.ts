/**
 * AppArmor profile for nginx on Ubuntu/Debian -> /etc/apparmor.d/usr.sbin.nginx, enforce
 * mode (no complain flag). Read-only configuration and certificates, writes only to the
 * log, state and runtime dirs, TCP/UDP over IPv4/IPv6, capability net_bind_service only
 * (the master never starts as root, so setuid/setgid/dac_override are not granted).
 * Check with `apparmor_parser --skip-kernel-load --skip-cache -Q -K`.
 */
import { citeControl } from "../core/controls";
import { file, lines } from "./common";
import { NGINX_BINARY, NGINX_CONFIG_DIR, NGINX_LOG_DIR, NGINX_RUNTIME_DIR, NGINX_STATE_DIR } from "./paths";
import type { HostFile } from "../core/host-file";
import type { HostSpec } from "./types";

export const APPARMOR_PROFILE_PATH = "/etc/apparmor.d/usr.sbin.nginx";
export const APPARMOR_PROFILE_NAME = "nginx";

/** Without a list, only the Secrets Manager destinations (aws) are readable. */
export const DEFAULT_TLS_READ_PATHS: readonly string[] = [];

function parentDirectory(path: string): string {
    return path.slice(0, path.lastIndexOf("/")) || "/";
}

export function renderAppArmorProfileText(spec: HostSpec): string {
    // TLS material outside /etc/nginx (fetched from Secrets Manager, or delivered as files) is read-only too.
    const certificateReads = [...new Set([...(spec.tlsReadPaths ?? DEFAULT_TLS_READ_PATHS), ...(spec.aws?.certificateSecrets ?? []).map((secret) => secret.path)])]
        .filter((path) => !path.startsWith(`${NGINX_CONFIG_DIR}/`))
        .sort()
        .flatMap((path) => [`  # seed: TLS material read-only (${parentDirectory(path)})`, `  ${path} r,`]);
    const r = (control: string, rule: string) => [`  # ${control}`, `  ${rule}`];
    return lines(
        "# Managed by api-proxy-security (components/host/apparmor.ts).",
        "abi <abi/3.0>,",
        "include <tunables/global>",
        "",
        `# ${citeControl("mac-profile", "seed: AppArmor in enforcing mode (no complain flag)")}`,
        `profile ${APPARMOR_PROFILE_NAME} ${NGINX_BINARY} {`,
        r("vendor: AppArmor base abstraction (libc, locale, /dev/null)", "include <abstractions/base>"),
        r("vendor: DNS resolution of upstream names (nsswitch, resolv.conf)", "include <abstractions/nameservice>"),
        r("vendor: OpenSSL configuration for TLS", "include <abstractions/openssl>"),
        r("vendor: CA bundle for upstream TLS verification, read-only", "include <abstractions/ssl_certs>"),
        "",
        r("seed: CAP_NET_BIND_SERVICE only - bind 443 without root", "capability net_bind_service,"),
        r("NIST SP 800-53 AC-6: the unprivileged master never changes identity or overrides permissions", "deny capability setuid,"),
        r("NIST SP 800-53 AC-6", "deny capability setgid,"),
        r("NIST SP 800-53 AC-6", "deny capability dac_override,"),
        r("NIST SP 800-53 AC-6", "deny capability dac_read_search,"),
        r("NIST SP 800-53 AC-6", "deny capability sys_admin,"),
        "",
        r("NIST SP 800-53 SC-7: TCP over IPv4/IPv6 (listeners and upstreams)", "network inet stream,"),
        r("NIST SP 800-53 SC-7: TCP over IPv4/IPv6 (listeners and upstreams)", "network inet6 stream,"),
        r("NIST SP 800-53 SC-7: UDP only for DNS lookups of upstream names", "network inet dgram,"),
        r("NIST SP 800-53 SC-7: UDP only for DNS lookups of upstream names", "network inet6 dgram,"),
        r("NIST SP 800-53 SC-7: master-worker channel (socketpair)", "network unix stream,"),
        r("NIST SP 800-53 SC-7: no raw or packet sockets", "deny network raw,"),
        r("NIST SP 800-53 SC-7: no raw or packet sockets", "deny network packet,"),
        "",
        r("NIST SP 800-53 CM-7: map the binary; no exec rule at all, so no shell and no binary upgrade", `${NGINX_BINARY} mr,`),
        r("vendor: dynamic modules shipped by the distribution, read/map only", "/usr/{lib,lib64,share}/nginx/modules/** mr,"),
        r("vendor: dynamic modules shipped by the distribution, read/map only", "/usr/lib/*/nginx/modules/** mr,"),
        r("vendor: modules-available/*.conf on Debian", "/usr/share/nginx/** r,"),
        r("vendor: worker_processes auto reads the online CPU list", "/sys/devices/system/cpu/online r,"),
        "",
        r("seed: configuration read-only", `${NGINX_CONFIG_DIR}/ r,`),
        r("seed: configuration and certificates read-only", `${NGINX_CONFIG_DIR}/** r,`),
        r("seed: a compromised proxy cannot modify its own rules", `deny ${NGINX_CONFIG_DIR}/** wl,`),
        certificateReads,
        "",
        r("NIST SP 800-53 AU-9: logs writable only inside the log dir", `${NGINX_LOG_DIR}/ r,`),
        r("NIST SP 800-53 AU-9: logs writable only inside the log dir", `${NGINX_LOG_DIR}/** rw,`),
        r("least privilege: client body / proxy buffer temp files", `${NGINX_STATE_DIR}/ rw,`),
        r("least privilege: client body / proxy buffer temp files", `${NGINX_STATE_DIR}/** rwk,`),
        r("least privilege: pid file in the service's runtime dir", `${NGINX_RUNTIME_DIR}/ rw,`),
        r("least privilege: pid file in the service's runtime dir", `${NGINX_RUNTIME_DIR}/** rwk,`),
        "",
        r("seed: reload (HUP), reopen logs (USR1) and graceful stop (QUIT) from systemd/logrotate", "signal (receive) set=(hup, usr1, quit, term, kill, winch) peer=unconfined,"),
        r("seed: master-worker signalling and `nginx -s reload`", `signal (send, receive) peer=${APPARMOR_PROFILE_NAME},`),
        "",
        r("vendor: site-local additions reviewed separately", `include if exists <local/usr.sbin.nginx>`),
        "}",
    );
}

export function renderAppArmor(spec: HostSpec): HostFile[] {
    return [file(APPARMOR_PROFILE_PATH, renderAppArmorProfileText(spec), "0644", "apparmor-reload")];
}
