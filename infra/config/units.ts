/** Small parsers for human-friendly config values. Pure; used only by the config schema. */

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 };

/** Parses an nginx-style size ("2m", "512k", "1g", or a byte count) into bytes; undefined if malformed. */
export function parseSize(value: string | number): number | undefined {
    if (typeof value === "number") {
        return Number.isInteger(value) && value >= 0 ? value : undefined;
    }
    const match = /^(\d+)\s*([kmg]?)$/i.exec(value.trim());
    if (!match) {
        return undefined;
    }
    return Number(match[1]) * SIZE_UNITS[match[2].toLowerCase()];
}

/** Parses an IPv4 CIDR syntactically (host bits allowed, so the schema can say which problem it is). */
export function parseIpv4Cidr(cidr: string): { network: number; prefix: number } | undefined {
    const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
    if (!match) {
        return undefined;
    }
    const octets = match.slice(1, 5).map(Number);
    const prefix = Number(match[5]);
    if (octets.some((o) => o > 255) || prefix > 32) {
        return undefined;
    }
    const address = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
    return { network: address, prefix };
}

/** True when the CIDR's address has no bits set beyond its prefix (10.0.0.0/16, not 10.0.1.0/16). */
export function isCanonicalIpv4Cidr(cidr: string): boolean {
    const parsed = parseIpv4Cidr(cidr);
    if (!parsed) {
        return false;
    }
    const hostBits = 32 - parsed.prefix;
    const mask = hostBits === 32 ? 0 : (0xffffffff << hostBits) >>> 0;
    return (parsed.network & ~mask) >>> 0 === 0;
}

/** host:port where host is an IPv4 address or a DNS name; undefined if malformed. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
    const match = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
    if (!match) {
        return undefined;
    }
    const port = Number(match[2]);
    if (port < 1 || port > 65535) {
        return undefined;
    }
    return { host: match[1], port };
}

/** True for a dotted-quad IPv4 literal (not a DNS name). */
export function isIpv4(host: string): boolean {
    return parseIpv4Cidr(`${host}/32`) !== undefined;
}
