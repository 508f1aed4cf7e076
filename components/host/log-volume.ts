/**
 * NVMe instance-store log volume (seed: "50 GB NVMe (High IOPS for logging)"):
 * /usr/local/sbin/apiproxy-log-volume (idempotent) + apiproxy-log-volume.service, which
 * nginx.service Requires=. The instance store is blank after every stop/start, so the
 * script runs on every boot: find the device, mkfs only when it carries no signature at
 * all, mount nodev,nosuid,noexec,noatime, bind <mountPoint>/nginx onto /var/log/nginx.
 * No fstab entry: a missing device must not drop the host into emergency mode.
 */
import { cite, file, lines } from "./common";
import { osProfile } from "./os";
import { NGINX_LOG_DIR } from "./paths";
import { shellQuote } from "../core/shell";
import type { HostFile } from "../core/host-file";
import type { HostSpec } from "./types";

export const LOG_VOLUME_SCRIPT_PATH = "/usr/local/sbin/apiproxy-log-volume";
export const LOG_VOLUME_SERVICE = "apiproxy-log-volume.service";
export const LOG_VOLUME_SERVICE_PATH = `/etc/systemd/system/${LOG_VOLUME_SERVICE}`;
/** CIS Ubuntu 22.04 1.1.x: a log partition carries no devices, setuid binaries or executables. */
export const LOG_MOUNT_OPTIONS = "nodev,nosuid,noexec,noatime";
/** How AWS Nitro names instance-store NVMe devices under /dev/disk/by-id (EBS volumes differ). */
export const INSTANCE_STORE_BY_ID_GLOB = "/dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_*";

export function renderLogVolumeScript(spec: HostSpec): string {
    const volume = spec.logVolume;
    if (!volume) {
        throw new Error("logVolume: renderLogVolumeScript needs spec.logVolume");
    }
    const { proxyUser, proxyGroup } = osProfile(spec.os);
    const mkfs = volume.filesystem === "xfs" ? "mkfs.xfs -q" : "mkfs.ext4 -q -F";
    return lines(
        "#!/usr/bin/env bash",
        "# Managed by api-proxy-security (components/host/log-volume.ts). Idempotent: runs on every boot.",
        "set -euo pipefail",
        "",
        `DEVICE_HINT=${shellQuote(volume.device)}`,
        `MOUNT_POINT=${shellQuote(volume.mountPoint)}`,
        `FILESYSTEM=${shellQuote(volume.filesystem)}`,
        `LOG_DIR=${shellQuote(NGINX_LOG_DIR)}`,
        "",
        "find_device() {",
        "    # Nitro instance store first: NVMe names (nvme1n1...) are not stable across boots.",
        "    local link",
        `    for link in ${INSTANCE_STORE_BY_ID_GLOB}; do`,
        '        case "$link" in *-part*|*_[0-9]) continue ;; esac',
        '        [ -e "$link" ] && { readlink -f "$link"; return 0; }',
        "    done",
        '    [ -b "$DEVICE_HINT" ] && { readlink -f "$DEVICE_HINT"; return 0; }',
        "    return 1",
        "}",
        "",
        'device="$(find_device)" || { echo "apiproxy-log-volume: no instance-store device (hint $DEVICE_HINT)" >&2; exit 1; }',
        "",
        "# NIST SP 800-53 SC-28: never format a device that is mounted or partitioned",
        'if findmnt -rn -S "$device" >/dev/null; then',
        '    current="$(findmnt -rn -S "$device" -o TARGET | head -n1)"',
        '    [ "$current" = "$MOUNT_POINT" ] || { echo "apiproxy-log-volume: $device is mounted at $current" >&2; exit 1; }',
        "fi",
        'if [ "$(lsblk -nr -o NAME "$device" | wc -l)" -gt 1 ]; then',
        '    echo "apiproxy-log-volume: $device has partitions; refusing to touch it" >&2; exit 1',
        "fi",
        "",
        "# seed: mkfs only when blkid finds no signature at all (exit 2); any existing filesystem is kept",
        "set +e",
        'existing="$(blkid -p -o value -s TYPE "$device")"; probe=$?',
        "set -e",
        'case "$probe" in',
        `    2) ${mkfs} "$device" ;;`,
        '    0) [ "$existing" = "$FILESYSTEM" ] || { echo "apiproxy-log-volume: $device holds ${existing:-an unknown signature}, expected $FILESYSTEM" >&2; exit 1; } ;;',
        '    *) echo "apiproxy-log-volume: blkid failed on $device ($probe)" >&2; exit 1 ;;',
        "esac",
        "",
        'install -d -m 0755 "$MOUNT_POINT"',
        `# CIS Ubuntu 22.04 1.1.x: ${LOG_MOUNT_OPTIONS} on a log filesystem`,
        'if ! mountpoint -q "$MOUNT_POINT"; then',
        `    mount -t "$FILESYSTEM" -o ${LOG_MOUNT_OPTIONS} "$device" "$MOUNT_POINT"`,
        "fi",
        `# NIST SP 800-53 AU-9: log dir owned by the proxy user, not world-readable`,
        `install -d -m 0750 -o ${proxyUser} -g ${proxyGroup} "$MOUNT_POINT/nginx"`,
        'install -d -m 0750 "$LOG_DIR"',
        "# seed: nginx keeps logging to /var/log/nginx; the bytes land on the NVMe volume",
        'if ! mountpoint -q "$LOG_DIR"; then',
        '    mount --bind "$MOUNT_POINT/nginx" "$LOG_DIR"',
        `    mount -o remount,bind,${LOG_MOUNT_OPTIONS} "$LOG_DIR"`,
        "fi",
        "# seed: correct labeling after the volume is re-created (RHEL)",
        'if command -v restorecon >/dev/null; then restorecon -R "$MOUNT_POINT" "$LOG_DIR"; fi',
    );
}

export function renderLogVolumeService(): string {
    return lines(
        "# Managed by api-proxy-security (components/host/log-volume.ts).",
        "[Unit]",
        "Description=API proxy log volume (NVMe instance store) for /var/log/nginx",
        "DefaultDependencies=no",
        "After=local-fs.target systemd-udev-settle.service",
        "Before=nginx.service",
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        cite("seed: idempotent format+mount on every boot (instance store is blank after stop/start)"),
        `ExecStart=${LOG_VOLUME_SCRIPT_PATH}`,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    );
}

export function renderLogVolume(spec: HostSpec): HostFile[] {
    if (!spec.logVolume) {
        return [];
    }
    return [
        file(LOG_VOLUME_SCRIPT_PATH, renderLogVolumeScript(spec), "0750", "none"),
        file(LOG_VOLUME_SERVICE_PATH, renderLogVolumeService(), "0644", "systemd-daemon-reload"),
    ];
}
