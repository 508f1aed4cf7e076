/**
 * The local target's network, mirroring the AWS DMZ layout: internet (clients) -> public (the
 * load balancer) -> dmz (the proxy pair) -> private (upstreams, key store), plus a management
 * segment that only SSH uses. Addresses come from 198.18.0.0/15, RFC 2544's benchmarking
 * range: never a range users run real networks on.
 */
import type { HostOs } from "../../host";
import { INVENTORY_ROLES, rolePackages } from "../inventory/roles";

/** Segment -> the fabric's gateway address with prefix. */
export const LOCAL_SEGMENTS = {
    management: "198.18.0.1/24",
    internet: "198.18.1.1/24",
    public: "198.18.2.1/24",
    dmz: "198.18.3.1/24",
    private: "198.18.4.1/24",
} as const;

export type LocalSegment = keyof typeof LOCAL_SEGMENTS;

/** This machine on the management segment: where the engine's SSH connections come from. */
export const THIS_MACHINE_MANAGEMENT = "198.18.0.254/24";
export const MANAGEMENT_CIDR = "198.18.0.0/24";
export const INTERNET_CIDR = "198.18.1.0/24";
/** Upstreams and the key store: their addresses are the stack config's (upstreams[].servers, apiKeyService). */
export const PRIVATE_CIDR = "198.18.4.0/24";

export const LOAD_BALANCER_ADDRESS = "198.18.2.10";
export const CLIENT_ADDRESS = "198.18.1.10";

/** The i-th proxy's DMZ address (proxy-a = 0). */
export function proxyAddress(index: number): string {
    return `198.18.3.${10 + index}`;
}

/** The management address of the k-th container. */
export function managementAddress(index: number): string {
    return `198.18.0.${10 + index}`;
}

/** The containers' OS. */
export const LOCAL_HOST_OS: HostOs = "debian-12";

/** Debian packages of every inventory role, baked into the one rootfs all containers share (as a
 *  golden image would be): the inventory's prepare step then finds them installed and needs no
 *  network (LocalHosts adds its base set). */
export const LOCAL_ROLE_PACKAGES: readonly string[] = [...new Set(INVENTORY_ROLES.flatMap((role) => rolePackages(role, LOCAL_HOST_OS)))];
