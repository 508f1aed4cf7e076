/**
 * TLS material from AWS Secrets Manager (AWS hosts only; private keys never travel in
 * user data): /usr/local/sbin/apiproxy-fetch-certs + apiproxy-fetch-certs.service/.timer.
 * Uses the instance role (IMDS, root-only by the firewall). Each file is written to a
 * temp file in its own directory and renamed (atomic); when anything changed, nginx -t
 * runs as the proxy user and nginx is reloaded (SIGHUP) - never restarted. A failing
 * nginx -t restores the previous files, so the next start still has a working pair.
 */
import { cite, file, lines } from "./common";
import { osProfile } from "./os";
import { NGINX_BINARY, NGINX_LOG_DIR, NGINX_RUNTIME_DIR, NGINX_STATE_DIR } from "./paths";
import { shellQuote } from "../core/shell";
import type { HostFile } from "../core/host-file";
import type { CertificateSecretSpec, HostSpec } from "./types";

export const CERT_FETCH_SCRIPT_PATH = "/usr/local/sbin/apiproxy-fetch-certs";
/** The deploy-time data (region, secret ids, destinations), apart from the script so a golden
 *  image can carry the script and user data only this small file. Not secret: ARNs only. */
export const CERT_FETCH_CONFIG_PATH = "/etc/apiproxy/cert-secrets.conf";
export const CERT_FETCH_SERVICE = "apiproxy-fetch-certs.service";
export const CERT_FETCH_SERVICE_PATH = `/etc/systemd/system/${CERT_FETCH_SERVICE}`;
export const CERT_FETCH_TIMER_PATH = "/etc/systemd/system/apiproxy-fetch-certs.timer";
/** Check hourly: rotation windows are days (components/pki), an hour's lag is harmless. */
export const CERT_FETCH_INTERVAL = "1h";
/** Spread fetches across the fleet so rotation does not hit Secrets Manager at once. */
export const CERT_FETCH_RANDOM_DELAY = "10min";
/** Private keys: owner root rw, proxy group r (the unprivileged nginx master must read them), others nothing. */
export const PRIVATE_KEY_MODE = "0640";
/** Certificates and CA bundles are public. */
export const CERTIFICATE_MODE = "0644";

/**
 * `nginx -t` as the proxy user, with the one capability its unit gives nginx: the check binds
 * every listener, and as a plain user binding 443 fails (13: Permission denied); as root it would
 * create files nginx, unprivileged, could not reopen. For first boot and the certificate fetch.
 */
export function nginxConfigTest(os: HostSpec["os"]): string {
    const { proxyUser, proxyGroup } = osProfile(os);
    return `setpriv --reuid=${proxyUser} --regid=${proxyGroup} --init-groups --inh-caps=+net_bind_service --ambient-caps=+net_bind_service -- ${NGINX_BINARY} -t -q`;
}

/** Plain-data arguments of the renderer: the secret ids and where each one lands. */
export interface CertFetchArgs {
    readonly region: string;
    readonly secrets: readonly CertificateSecretSpec[];
}

function uniqueDirectories(secrets: readonly CertificateSecretSpec[]): string[] {
    return [...new Set(secrets.map((secret) => secret.path.slice(0, secret.path.lastIndexOf("/"))))].sort();
}

/** REGION and one `id|path|mode|owner|group` entry per secret, sourced by the script. */
export function renderCertFetchConfig(spec: HostSpec, args: CertFetchArgs): string {
    const { proxyGroup } = osProfile(spec.os);
    const entries = args.secrets.map((secret) => {
        const fields = secret.kind === "private-key"
            ? [secret.secretId, secret.path, PRIVATE_KEY_MODE, "root", proxyGroup]
            : [secret.secretId, secret.path, CERTIFICATE_MODE, "root", "root"];
        if (fields.some((field) => field.includes("|"))) {
            throw new Error(`aws.certificateSecrets: "|" is not allowed in ${secret.secretId} / ${secret.path}`);
        }
        const why = secret.kind === "private-key"
            ? cite("NIST SP 800-57: private key readable by root and the proxy group only")
            : cite("seed: PKI integration - certificate chain / client CA");
        return [why, `    ${shellQuote(fields.join("|"))}`];
    });
    return lines(
        "# Managed by api-proxy-security (components/host/cert-fetch.ts); sourced by apiproxy-fetch-certs.",
        `REGION=${shellQuote(args.region)}`,
        "# secret id | destination | mode | owner | group",
        "SECRETS=(",
        ...entries.flat(),
        ")",
    );
}

export function renderCertFetchScript(spec: HostSpec): string {
    return lines(
        "#!/usr/bin/env bash",
        "# Managed by api-proxy-security (components/host/cert-fetch.ts).",
        "set -euo pipefail",
        "# NIST SP 800-57: temp files holding key material are never readable by others",
        "umask 077",
        "",
        `# shellcheck source=${CERT_FETCH_CONFIG_PATH}`,
        `. ${CERT_FETCH_CONFIG_PATH}`,
        "changed=()",
        "staged=()",
        'cleanup() { local f; for f in "${staged[@]}"; do rm -f "$f"; done; }',
        "trap cleanup EXIT",
        "",
        "fetch() {",
        '    local secret_id="$1" dest="$2" mode="$3" owner="$4" group="$5" tmp',
        "    # atomic: temp file in the destination directory, renamed over the old file",
        '    tmp="$(mktemp "${dest}.apiproxy.XXXXXX")"',
        '    staged+=("$tmp")',
        '    aws --region "$REGION" secretsmanager get-secret-value --secret-id "$secret_id" \\',
        '        --query SecretString --output text >"$tmp"',
        '    grep -q -- "-----BEGIN " "$tmp" || { echo "apiproxy-fetch-certs: $secret_id is not PEM" >&2; exit 1; }',
        '    chown "$owner:$group" "$tmp"',
        '    chmod "$mode" "$tmp"',
        '    if [ -f "$dest" ] && cmp -s "$tmp" "$dest" && [ "$(stat -c %a:%U:%G "$dest")" = "${mode#0}:$owner:$group" ]; then',
        '        rm -f "$tmp"',
        "        return 0",
        "    fi",
        '    if [ -f "$dest" ]; then cp -p "$dest" "$dest.apiproxy-previous"; staged+=("$dest.apiproxy-previous"); fi',
        '    mv -f "$tmp" "$dest"',
        '    changed+=("$dest")',
        "}",
        "",
        'for entry in "${SECRETS[@]}"; do',
        "    IFS='|' read -r secret_id dest mode owner group <<<\"$entry\"",
        '    fetch "$secret_id" "$dest" "$mode" "$owner" "$group"',
        "done",
        "",
        '[ "${#changed[@]}" -gt 0 ] || exit 0',
        'if command -v restorecon >/dev/null; then restorecon "${changed[@]}"; fi',
        "",
        "# seed: validate before reload; as the proxy user (with CAP_NET_BIND_SERVICE, as its unit runs it), so root never creates files nginx cannot open",
        `if ! ${nginxConfigTest(spec.os)}; then`,
        '    echo "apiproxy-fetch-certs: nginx -t failed; restoring previous TLS material" >&2',
        "    for dest in \"${changed[@]}\"; do",
        '        if [ -f "$dest.apiproxy-previous" ]; then mv -f "$dest.apiproxy-previous" "$dest"; fi',
        "    done",
        "    exit 1",
        "fi",
        "# seed: rotation without downtime - reload (SIGHUP), never restart; before first start there is nothing to reload",
        "# Queued, not awaited: nginx.service is ordered after this unit, so its reload job runs once this one has finished",
        "# (waiting for it here would deadlock).",
        "if systemctl is-active --quiet nginx.service; then",
        "    systemctl reload --no-block nginx.service",
        "fi",
    );
}

export function renderCertFetchService(spec: HostSpec, args: CertFetchArgs): string {
    const { proxyUser, proxyGroup } = osProfile(spec.os);
    const directories = uniqueDirectories(args.secrets);
    return lines(
        "# Managed by api-proxy-security (components/host/cert-fetch.ts).",
        "[Unit]",
        "Description=Fetch API proxy TLS material from AWS Secrets Manager",
        "Wants=network-online.target",
        "After=network-online.target",
        "Before=nginx.service",
        "",
        "[Service]",
        "Type=oneshot",
        cite("least privilege: create the certificate directories outside the sandbox, owned root:<proxy group>"),
        ...directories.map((directory) => `ExecStartPre=+/usr/bin/install -d -m 0750 -o root -g ${proxyGroup} ${directory}`),
        cite("seed: validate before reload - `nginx -t` opens the pid file, in the runtime dir nginx.service makes only while nginx runs (RuntimeDirectory=nginx, 0750)"),
        `ExecStartPre=+/usr/bin/install -d -m 0750 -o ${proxyUser} -g ${proxyGroup} ${NGINX_RUNTIME_DIR}`,
        `ExecStart=${CERT_FETCH_SCRIPT_PATH}`,
        cite("seed: read-only OS; writable only the certificate dirs and what `nginx -t` opens"),
        "ProtectSystem=strict",
        // "-": systemd sets these up for every spawn, also ExecStartPre's, before it created the
        // certificate dirs on a fresh host (a missing path would fail the spawn, 226/NAMESPACE).
        `ReadWritePaths=${[...directories.map((d) => `-${d}`), NGINX_LOG_DIR, NGINX_STATE_DIR, `-${NGINX_RUNTIME_DIR}`].join(" ")}`,
        cite("NIST SP 800-53 AC-6"),
        "ProtectHome=yes",
        cite("NIST SP 800-53 SC-4"),
        "PrivateTmp=yes",
        cite("NIST SP 800-53 AC-6"),
        "PrivateDevices=yes",
        cite("NIST SP 800-53 CM-7"),
        "ProtectKernelTunables=yes",
        cite("NIST SP 800-53 CM-7"),
        "ProtectKernelModules=yes",
        cite("NIST SP 800-53 CM-7"),
        "ProtectControlGroups=yes",
        cite("NIST SP 800-53 SC-7: HTTPS to Secrets Manager/IMDS and D-Bus to systemd only"),
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        cite("NIST SP 800-53 AC-6"),
        "RestrictNamespaces=yes",
        cite("NIST SP 800-53 SI-16"),
        "LockPersonality=yes",
        cite("NIST SP 800-57: files created while fetching are private"),
        "UMask=0077",
    );
}

export function renderCertFetchTimer(): string {
    return lines(
        "# Managed by api-proxy-security (components/host/cert-fetch.ts).",
        "[Unit]",
        "Description=Periodic TLS material fetch (rotation by reload)",
        "",
        "[Timer]",
        cite("seed: automated certificate rotation"),
        "OnBootSec=5min",
        cite("seed: automated certificate rotation"),
        `OnUnitActiveSec=${CERT_FETCH_INTERVAL}`,
        `RandomizedDelaySec=${CERT_FETCH_RANDOM_DELAY}`,
        "Persistent=true",
        "",
        "[Install]",
        "WantedBy=timers.target",
    );
}

export function renderCertFetch(spec: HostSpec, args: CertFetchArgs): HostFile[] {
    if (args.secrets.length === 0) {
        return [];
    }
    return [
        file(CERT_FETCH_CONFIG_PATH, renderCertFetchConfig(spec, args), "0644", "none"),
        file(CERT_FETCH_SCRIPT_PATH, renderCertFetchScript(spec), "0750", "none"),
        file(CERT_FETCH_SERVICE_PATH, renderCertFetchService(spec, args), "0644", "systemd-daemon-reload"),
        file(CERT_FETCH_TIMER_PATH, renderCertFetchTimer(), "0644", "systemd-daemon-reload"),
    ];
}
