/**
 * The package mirror stock-image proxies install from at first boot (pure). A stock Ubuntu AMI
 * boots without nginx, nftables or the AWS CLI, so cloud-init installs them with apt; the
 * proxies' security group opens no egress to anywhere (sg-egress-least-privilege), so the mirror
 * (an apt mirror or a caching proxy such as apt-cacher-ng, reachable from the DMZ subnets) is
 * declared and the security group, the DMZ network ACL and the user data's apt sources all name
 * the same one. Golden-image hosts install nothing at boot and need none.
 */

export interface PackageMirror {
    /** The apt archive, e.g. http://10.42.5.10:3142/archive.ubuntu.com/ubuntu. */
    readonly url: string;
    /** The security archive. Default: url (PackageMirror.url serves both). */
    readonly securityUrl?: string;
    /** Where the mirror lives when a url names it by DNS: the egress rules need addresses. */
    readonly cidrs?: readonly string[];
}

/** One egress destination the mirror needs. */
export interface PackageMirrorEgress {
    readonly cidr: string;
    readonly port: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** host and port of an http(s) mirror URL; a problem sentence when it is not one. */
export function parseMirrorUrl(url: string): { host: string; port: number; literal: boolean } | string {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        return `"${url}" is not a URL (http://host[:port]/path)`;
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return `"${url}" must be http:// or https:// (apt verifies the archive's signatures either way)`;
    if (parsed.username || parsed.password) return `"${url}" must not carry credentials: user data is readable by anyone on the instance`;
    if (parsed.search || parsed.hash) return `"${url}" must be a plain archive URL (no query or fragment)`;
    const host = parsed.hostname;
    const literal = IPV4.test(host);
    if (literal && host.split(".").some((o) => Number(o) > 255)) return `"${url}": ${host} is not an IPv4 address`;
    if (host.startsWith("[")) return `"${url}": IPv6 mirrors are not supported (the proxies' egress is IPv4)`;
    const port = parsed.port ? Number(parsed.port) : parsed.protocol === "https:" ? 443 : 80;
    return { host, port, literal };
}

/** The mirror's egress: each URL's address (a literal as /32, a DNS name as the declared cidrs) and port. */
export function packageMirrorEgress(mirror: PackageMirror): PackageMirrorEgress[] {
    const seen = new Set<string>();
    const out: PackageMirrorEgress[] = [];
    for (const url of [mirror.url, mirror.securityUrl ?? mirror.url]) {
        const parsed = parseMirrorUrl(url);
        if (typeof parsed === "string") throw new Error(`packageMirror: ${parsed}`);
        const cidrs = parsed.literal ? [`${parsed.host}/32`] : [...(mirror.cidrs ?? [])];
        if (cidrs.length === 0) throw new Error(`packageMirror: ${url} names its host by DNS; cidrs must say where it is`);
        for (const cidr of cidrs) {
            const key = `${cidr}:${parsed.port}`;
            if (!seen.has(key)) {
                seen.add(key);
                out.push({ cidr, port: parsed.port });
            }
        }
    }
    return out;
}

/** Problems of a declared mirror, by field below `packageMirror` ("" = the mirror itself). */
export function packageMirrorProblems(mirror: PackageMirror): { field: string; message: string }[] {
    const problems: { field: string; message: string }[] = [];
    const urls: [string, string | undefined][] = [["url", mirror.url], ["securityUrl", mirror.securityUrl]];
    let named = false;
    for (const [field, url] of urls) {
        if (url === undefined) continue;
        const parsed = parseMirrorUrl(url);
        if (typeof parsed === "string") problems.push({ field, message: parsed });
        else if (!parsed.literal) named = true;
    }
    if (named && (mirror.cidrs ?? []).length === 0) {
        problems.push({ field: "cidrs", message: "is required when url or securityUrl names the mirror by DNS: the proxies' security group admits addresses, not names" });
    }
    (mirror.cidrs ?? []).forEach((cidr, i) => {
        if (cidr.trim().endsWith("/0")) problems.push({ field: `cidrs[${i}]`, message: `${cidr} is everywhere: the proxies' egress names the mirror's own network (least privilege)` });
    });
    return problems;
}
