/**
 * Pure IPv4 CIDR arithmetic for carving the DMZ network (no Pulumi, no I/O).
 */

export interface Ipv4Cidr {
    /** Network address as an unsigned 32-bit integer. */
    readonly base: number;
    readonly prefix: number;
}

function ipToInt(ip: string): number | undefined {
    const parts = ip.split(".");
    if (parts.length !== 4) {
        return undefined;
    }
    let value = 0;
    for (const part of parts) {
        if (!/^\d{1,3}$/.test(part) || Number(part) > 255) {
            return undefined;
        }
        value = value * 256 + Number(part);
    }
    return value;
}

function intToIp(value: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Parses "a.b.c.d/p"; undefined when malformed or when host bits are set. */
export function parseIpv4Cidr(cidr: string): Ipv4Cidr | undefined {
    const [ip, prefixText, ...rest] = cidr.split("/");
    if (rest.length > 0 || prefixText === undefined || !/^\d{1,2}$/.test(prefixText)) {
        return undefined;
    }
    const prefix = Number(prefixText);
    const base = ip === undefined ? undefined : ipToInt(ip);
    if (base === undefined || prefix > 32) {
        return undefined;
    }
    const size = 2 ** (32 - prefix);
    return base % size === 0 ? { base, prefix } : undefined;
}

export function formatIpv4Cidr(cidr: Ipv4Cidr): string {
    return `${intToIp(cidr.base)}/${cidr.prefix}`;
}

/** The index-th subnet of `parent` that is `newBits` longer (like Terraform's cidrsubnet). */
export function subnetCidr(parent: string, newBits: number, index: number): string {
    const parsed = parseIpv4Cidr(parent);
    if (parsed === undefined) {
        throw new Error(`not an IPv4 CIDR: ${parent}`);
    }
    const prefix = parsed.prefix + newBits;
    if (prefix > 32 || index < 0 || index >= 2 ** newBits) {
        throw new Error(`subnet ${index} of ${parent} with ${newBits} new bits does not exist`);
    }
    return formatIpv4Cidr({ base: parsed.base + index * 2 ** (32 - prefix), prefix });
}

/** The Amazon-provided DNS resolver of a VPC sits at the VPC base address + 2. */
export function vpcResolverCidr(vpcCidr: string): string {
    const parsed = parseIpv4Cidr(vpcCidr);
    if (parsed === undefined) {
        throw new Error(`not an IPv4 CIDR: ${vpcCidr}`);
    }
    return `${intToIp(parsed.base + 2)}/32`;
}

/** True for a CIDR that matches every address ("0.0.0.0/0", "::/0", any "/0"). */
export function isOpenCidr(cidr: string): boolean {
    return cidr.trim().endsWith("/0");
}

/** True for an IPv6 CIDR (security-group rules take it in cidrIpv6, not cidrIpv4). */
export function isIpv6Cidr(cidr: string): boolean {
    return cidr.includes(":");
}

/** The DMZ VPC's subnet tiers: public, DMZ and private, one subnet per zone each, carved in that order. */
export function subnetTiers(vpcCidr: string, zoneCount: number): { newBits: number; public: string[]; dmz: string[]; private: string[] } {
    const newBits = Math.ceil(Math.log2(3 * zoneCount));
    const tier = (index: number) => Array.from({ length: zoneCount }, (_, i) => subnetCidr(vpcCidr, newBits, index * zoneCount + i));
    return { newBits, public: tier(0), dmz: tier(1), private: tier(2) };
}
