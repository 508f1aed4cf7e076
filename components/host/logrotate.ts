/**
 * Log rotation -> /etc/logrotate.d/apiproxy-nginx. Reopen by USR1 (the master reopens
 * its log files) - never a restart. The package's own /etc/logrotate.d/nginx is replaced
 * by a stub: two stanzas for the same files make logrotate refuse both.
 */
import { cite, file, lines } from "./common";
import { osProfile } from "./os";
import { NGINX_LOG_DIR, NGINX_PID_PATH } from "./paths";
import type { HostFile } from "../core/host-file";
import type { HostSpec } from "./types";

export const LOGROTATE_PATH = "/etc/logrotate.d/apiproxy-nginx";
export const PACKAGE_LOGROTATE_PATH = "/etc/logrotate.d/nginx";

export function renderLogrotateText(spec: HostSpec): string {
    const { proxyUser, proxyGroup } = osProfile(spec.os);
    const days = spec.logRetentionDays;
    const d = (control: string, directive: string) => [`    ${cite(control)}`, `    ${directive}`];
    return lines(
        "# Managed by api-proxy-security (components/host/logrotate.ts).",
        `${NGINX_LOG_DIR}/*.log {`,
        d("NIST SP 800-53 AU-4: rotate daily so one day never fills the volume", "daily"),
        d(`NIST SP 800-53 AU-11: keep ${days} days (logRetentionDays)`, `rotate ${days}`),
        d(`NIST SP 800-53 AU-11: delete rotated logs older than ${days} days`, `maxage ${days}`),
        d("NIST SP 800-53 AU-4: compress rotated logs", "compress"),
        d("vendor: logrotate(8) - keep yesterday uncompressed while workers may still write to it", "delaycompress"),
        d("vendor: logrotate(8)", "missingok"),
        d("vendor: logrotate(8)", "notifempty"),
        d("vendor: logrotate(8) - date-stamped names", "dateext"),
        d("NIST SP 800-53 AU-9: new logs owned by the proxy user, not world-readable", `create 0640 ${proxyUser} ${proxyGroup}`),
        d("least privilege: rotate as the log owner, not root", `su ${proxyUser} ${proxyGroup}`),
        d("vendor: logrotate(8) - one reopen for all files", "sharedscripts"),
        `    ${cite("seed: USR1 makes the master reopen its logs - no reload, never a restart")}`,
        "    postrotate",
        `        [ ! -s ${NGINX_PID_PATH} ] || kill -USR1 "$(cat ${NGINX_PID_PATH})"`,
        "    endscript",
        "}",
    );
}

export function renderLogrotate(spec: HostSpec): HostFile[] {
    return [
        file(LOGROTATE_PATH, renderLogrotateText(spec), "0644", "none"),
        file(PACKAGE_LOGROTATE_PATH, lines(
            "# Managed by api-proxy-security (components/host/logrotate.ts).",
            `# Superseded by ${LOGROTATE_PATH}; kept empty so the two never rotate the same files.`,
        ), "0644", "none"),
    ];
}
