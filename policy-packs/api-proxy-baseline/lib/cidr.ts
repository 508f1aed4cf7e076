/**
 * IPv4/IPv6 CIDR parsing and containment, so "22 only from management CIDRs" is a real
 * subnet check ("10.20.30.0/24 is inside 10.20.0.0/16"), not string equality.
 */

export interface Cidr {
    readonly family: 4 | 6;
    /** Network address as a big integer (host bits cleared). */
    readonly network: bigint;
    readonly prefix: number;
}

function parseIpv4(text: string): bigint | undefined {
    const parts = text.split(".");
    if (parts.length !== 4) {
        return undefined;
    }
    let value = 0n;
    for (const part of parts) {
        if (!/^\d{1,3}$/.test(part) || Number(part) > 255) {
            return undefined;
        }
        value = (value << 8n) | BigInt(Number(part));
    }
    return value;
}

function parseIpv6(text: string): bigint | undefined {
    if (!/^[0-9a-fA-F:.]+$/.test(text) || text.split("::").length > 2) {
        return undefined;
    }
    let groups: string[];
    const [head, tail] = text.split("::");
    const headGroups = head ? head.split(":") : [];
    const tailGroups = tail !== undefined && tail !== "" ? tail.split(":") : [];
    // An embedded dotted IPv4 tail (::ffff:10.0.0.1) counts as two groups.
    const expand = (gs: string[]): string[] | undefined => {
        const last = gs[gs.length - 1];
        if (last !== undefined && last.includes(".")) {
            const v4 = parseIpv4(last);
            if (v4 === undefined) {
                return undefined;
            }
            return [...gs.slice(0, -1), (v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16)];
        }
        return gs;
    };
    const h = expand(headGroups);
    const t = expand(tailGroups);
    if (!h || !t) {
        return undefined;
    }
    if (tail === undefined) {
        groups = h;
    } else {
        const missing = 8 - h.length - t.length;
        if (missing < 1) {
            return undefined;
        }
        groups = [...h, ...Array<string>(missing).fill("0"), ...t];
    }
    if (groups.length !== 8) {
        return undefined;
    }
    let value = 0n;
    for (const g of groups) {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) {
            return undefined;
        }
        value = (value << 16n) | BigInt(parseInt(g, 16));
    }
    return value;
}

/** Parses "a.b.c.d/n", "x::/n" or a bare address (a /32 or /128). Host bits are cleared. */
export function parseCidr(text: string): Cidr | undefined {
    const [addr, prefixText, extra] = text.trim().split("/");
    if (extra !== undefined || addr === undefined) {
        return undefined;
    }
    const family: 4 | 6 = addr.includes(":") ? 6 : 4;
    const bits = family === 4 ? 32 : 128;
    const address = family === 4 ? parseIpv4(addr) : parseIpv6(addr);
    if (address === undefined) {
        return undefined;
    }
    const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) {
        return undefined;
    }
    const hostBits = BigInt(bits - prefix);
    const network = (address >> hostBits) << hostBits;
    return { family, network, prefix };
}

/** True when every address of `inner` is inside `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
    if (outer.family !== inner.family || inner.prefix < outer.prefix) {
        return false;
    }
    const bits = outer.family === 4 ? 32 : 128;
    const shift = BigInt(bits - outer.prefix);
    return (inner.network >> shift) === (outer.network >> shift);
}

/** True when `candidate` parses and lies inside at least one of `allowed`. */
export function containedInAny(candidate: string, allowed: readonly string[]): boolean {
    const inner = parseCidr(candidate);
    if (!inner) {
        return false;
    }
    return allowed.some((a) => {
        const outer = parseCidr(a);
        return outer !== undefined && cidrContains(outer, inner);
    });
}

/** 0.0.0.0/0, ::/0 (or any other spelling of "the whole address family"). */
export function isAnywhere(text: string): boolean {
    const cidr = parseCidr(text);
    return cidr !== undefined && cidr.prefix === 0;
}
