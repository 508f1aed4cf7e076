/**
 * Host hardening: renderHost(spec) assembles every renderer in components/host for the
 * spec's OS. Pure: plain data in, HostFiles out.
 */
import type { HostFile } from "../core/host-file";
import { validateHostSpec } from "./common";
import { renderAppArmor } from "./apparmor";
import { CERT_FETCH_SERVICE, renderCertFetch } from "./cert-fetch";
import { renderFirewalld } from "./firewall-firewalld";
import { renderNftables } from "./firewall-nftables";
import { renderLimits } from "./limits";
import { LOG_VOLUME_SERVICE, renderLogVolume } from "./log-volume";
import { renderLogrotate } from "./logrotate";
import { assertNever, osProfile } from "./os";
import { renderSelinux } from "./selinux";
import { renderSshd } from "./sshd";
import { renderSysctl } from "./sysctl";
import { renderNginxUnit } from "./systemd-unit";
import type { HostSpec } from "./types";

export type { HostSpec, HostOs, CertificateSecretSpec, AwsHostSpec } from "./types";
export { osProfile, type OsProfile } from "./os";
export { nofileFor } from "./limits";
export { backlogFor } from "./sysctl";
export { renderCloudInit, type CloudInitOptions } from "./cloud-init";
export * from "./paths";

/** Throws if two renderers claim the same path (the later one would silently win on the host). */
export function assertUniquePaths(files: readonly HostFile[]): void {
    const seen = new Set<string>();
    for (const f of files) {
        if (seen.has(f.path)) {
            throw new Error(`renderHost: duplicate path ${f.path}`);
        }
        seen.add(f.path);
    }
}

export function renderHost(spec: HostSpec): HostFile[] {
    validateHostSpec(spec);
    const profile = osProfile(spec.os);
    const certSecrets = spec.aws?.certificateSecrets ?? [];
    const files: HostFile[] = [
        ...renderSysctl(spec),
        ...renderLimits(spec),
        ...renderSshd(spec),
        ...renderLogVolume(spec),
        ...renderLogrotate(spec),
        ...(spec.aws ? renderCertFetch(spec, { region: spec.aws.region, secrets: certSecrets }) : []),
        ...renderNginxUnit(spec, {
            ...(spec.logVolume ? { logVolumeService: LOG_VOLUME_SERVICE } : {}),
            ...(spec.aws && certSecrets.length > 0 ? { certFetchService: CERT_FETCH_SERVICE } : {}),
        }),
    ];
    switch (profile.family) {
        case "debian":
            files.push(...renderNftables(spec), ...renderAppArmor(spec));
            break;
        case "rhel":
            files.push(...renderFirewalld(spec), ...renderSelinux(spec));
            break;
        default:
            assertNever(profile, "OS family");
    }
    assertUniquePaths(files);
    return files;
}

/** Alias kept for callers that name the output after what it is. */
export const renderHostFiles = renderHost;
