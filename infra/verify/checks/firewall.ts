/**
 * The proxies' host firewall, read from the kernel (`nft -j list ruleset` inside the host): the
 * default-deny input chain must be loaded with policy drop (NIST SP 800-53 SC-7(5)); the named
 * drop counters the rendered rules keep (AU-12) are reported as they stand.
 */
import { hostsNotNamed, row, type CheckRow, type VerifyContext } from "../types";

interface NftChain { family: string; table: string; name: string; hook?: string; policy?: string }
interface NftCounter { family: string; table: string; name: string; packets: number; bytes: number }

export function parseRuleset(json: string): { chains: NftChain[]; counters: NftCounter[] } {
    const items = (JSON.parse(json) as { nftables?: Record<string, unknown>[] }).nftables ?? [];
    const chains = items.filter((i) => "chain" in i).map((i) => i.chain as NftChain);
    const counters = items.filter((i) => "counter" in i).map((i) => i.counter as NftCounter);
    return { chains, counters };
}

export function firewallRows(ctx: VerifyContext): CheckRow[] {
    const proxies = ctx.hosts.filter((h) => h.role === "proxy");
    if (proxies.length === 0) return hostsNotNamed(ctx, "firewall", "nft list ruleset on each instance (Session Manager)");
    return proxies.map((host) => {
        const remediation = `nft list ruleset on ${host.name}; nft -c -f /etc/nftables.conf says why the rendered rules do not load; bin/pulumi up re-delivers and loads them`;
        const shell = ctx.hostShell(host.name);
        if (typeof shell === "string") return row("firewall", host.name, "skip", shell, remediation);
        const result = shell(["nft", "-j", "list", "ruleset"]);
        if (result.code !== 0) return row("firewall", host.name, "fail", `nft failed: ${result.stderr.trim()}`, remediation);
        let parsed: ReturnType<typeof parseRuleset>;
        try {
            parsed = parseRuleset(result.stdout);
        } catch {
            return row("firewall", host.name, "fail", "nft -j printed no JSON", remediation);
        }
        const hooked = parsed.chains.filter((c) => c.hook);
        const input = hooked.filter((c) => c.hook === "input");
        const denying = input.find((c) => c.policy === "drop");
        const policies = hooked.map((c) => `${c.hook} policy ${c.policy ?? "accept"} (${c.family} ${c.table})`).join(", ");
        const drops = parsed.counters.map((c) => `${c.name} ${c.packets} pkt`).join(", ");
        const data = { chains: hooked, counters: parsed.counters };
        if (!denying) {
            return row("firewall", host.name, "fail", `no input chain with policy drop loaded${policies ? ` (${policies})` : " (empty ruleset)"}`, remediation, data);
        }
        return row("firewall", host.name, "pass", `${policies}; drop counters: ${drops || "none"}`, remediation, data);
    });
}
