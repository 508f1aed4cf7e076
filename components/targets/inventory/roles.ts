/**
 * What each inventory role needs on a host, per OS: the packages the prepare step installs when
 * missing (every package a host needs is installed by the product, never assumed) and the names
 * that differ between OS families. Pure data; infra/targets/inventory.ts applies it.
 */
import { osProfile, type HostOs } from "../../host";
import { basePackages } from "../../host/cloud-init";

export const INVENTORY_ROLES = ["proxy", "lb", "upstream", "keystore"] as const;
export type InventoryRole = (typeof INVENTORY_ROLES)[number];

/** Where request validation (njs in nginx) is available and tested: Debian 12 (nginx 1.22.1, njs 0.7.9). */
export const NJS_OS: readonly HostOs[] = ["debian-12"];

/** Packages a host of this role needs (the Go services are static binaries copied by delivery). */
export function rolePackages(role: InventoryRole, os: HostOs): string[] {
    const family = osProfile(os).family;
    switch (role) {
        case "proxy":
            // Debian 12's njs (request validation); the other OS profiles do not validate yet.
            return [...basePackages(os), ...(NJS_OS.includes(os) ? ["libnginx-mod-http-js"] : [])];
        case "lb":
            return ["haproxy"];
        case "keystore":
            return [family === "debian" ? "redis-server" : "redis"];
        case "upstream":
            return [];
    }
}

/** The systemd unit of Redis as the OS packages it. */
export function redisUnit(os: HostOs): string {
    return osProfile(os).family === "debian" ? "redis-server" : "redis";
}
