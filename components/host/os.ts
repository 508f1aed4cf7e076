/**
 * What differs between the supported operating systems, decided in one place.
 * Ubuntu 22.04 and Debian 12 share the nftables + AppArmor path; RHEL 8 uses firewalld +
 * SELinux (seed: "SELinux or AppArmor in enforcing mode"; "firewalld or iptables").
 */
import type { HostOs } from "./types";

interface OsProfileBase {
    /** Unprivileged account nginx runs as (the distribution's packaged nginx user). */
    readonly proxyUser: string;
    readonly proxyGroup: string;
    /** systemd unit name of the OpenSSH server. */
    readonly sshService: string;
    /** The nginx the OS ships (what the renderer may use): Ubuntu 22.04 1.18.0, Debian 12
     *  1.22.1, RHEL 8 the nginx:1.22 module stream the prepare step enables. */
    readonly nginxVersion: string;
}

export interface DebianFamilyProfile extends OsProfileBase {
    readonly family: "debian";
    readonly os: "ubuntu-22.04" | "debian-12";
    readonly firewall: "nftables";
    readonly mac: "apparmor";
}

export interface RhelFamilyProfile extends OsProfileBase {
    readonly family: "rhel";
    readonly os: "rhel-8";
    readonly firewall: "firewalld";
    readonly mac: "selinux";
}

export type OsProfile = DebianFamilyProfile | RhelFamilyProfile;

/** Compile-time exhaustiveness: a new HostOs or family that is not handled fails tsc here. */
export function assertNever(value: never, what: string): never {
    throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`);
}

export function osProfile(os: HostOs): OsProfile {
    switch (os) {
        case "ubuntu-22.04":
        case "debian-12":
            // Debian/Ubuntu package nginx to run workers as www-data.
            return {
                family: "debian", os, firewall: "nftables", mac: "apparmor", proxyUser: "www-data", proxyGroup: "www-data", sshService: "ssh",
                nginxVersion: os === "ubuntu-22.04" ? "1.18.0" : "1.22.1",
            };
        case "rhel-8":
            // The RHEL AppStream nginx package creates the nginx user.
            return { family: "rhel", os, firewall: "firewalld", mac: "selinux", proxyUser: "nginx", proxyGroup: "nginx", sshService: "sshd", nginxVersion: "1.22.1" };
        default:
            return assertNever(os, "HostOs");
    }
}
