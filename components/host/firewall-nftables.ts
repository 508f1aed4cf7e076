/**
 * Host firewall for Ubuntu/Debian -> /etc/nftables.conf (loaded by nftables.service).
 * Only `table inet apiproxy` is replaced (declare, delete, re-create in one atomic
 * transaction); other tables are left alone, and since a drop in any base chain is final,
 * their accept rules cannot re-open what this table drops.
 */
import { citeControl } from "../core/controls";
import { splitCidrs, file, lines } from "./common";
import { egressRules, type EgressRule } from "./egress";
import type { HostFile } from "../core/host-file";
import type { HostSpec } from "./types";

export const NFTABLES_PATH = "/etc/nftables.conf";
export const NFT_TABLE = "apiproxy";
/** Log at most this many dropped packets per minute per chain: drops stay visible without a log flood (DoS on the log volume). */
export const DROP_LOG_RATE_PER_MINUTE = 10;
/** Burst allowance for the drop log. */
export const DROP_LOG_BURST = 20;
/** ICMP echo requests answered per second: enough for diagnostics, useless for floods. */
export const ICMP_ECHO_RATE_PER_SECOND = 10;

const INDENT = "    ";

function set(name: string, type: "ipv4_addr" | "ipv6_addr", elements: readonly string[], control: string): string[] {
    const body = elements.length > 0 ? ` elements = { ${elements.join(", ")} }` : "";
    return [`${INDENT}# ${control}`, `${INDENT}set ${name} { type ${type}; flags interval;${body} }`];
}

function rule(control: string, text: string): string[] {
    return [`${INDENT}${INDENT}# ${control}`, `${INDENT}${INDENT}${text}`];
}

function dropLog(counter: string, prefix: string): string[] {
    return rule(
        "NIST SP 800-53 AU-12: count every drop, log a rate-limited sample",
        `counter name "${counter}" limit rate ${DROP_LOG_RATE_PER_MINUTE}/minute burst ${DROP_LOG_BURST} packets log prefix "${prefix}: " level warn`,
    );
}

function egressRule(egress: EgressRule): string[] {
    const owner = egress.uid === undefined ? "" : `meta skuid ${egress.uid} `;
    const address = egress.family === 4 ? "ip daddr" : "ip6 daddr";
    return rule(egress.control, `${owner}${address} ${egress.cidr} ${egress.protocol} dport ${egress.port} ct state new accept`);
}

export function renderNftables(spec: HostSpec): HostFile[] {
    const traffic = splitCidrs(spec.trafficCidrs, "trafficCidrs");
    const health = splitCidrs(spec.healthCheckCidrs, "healthCheckCidrs");
    const management = splitCidrs(spec.managementCidrs, "managementCidrs");
    const { https, mtls, health: healthPort, ssh } = spec.ports;

    const input = [
        rule(citeControl("host-firewall-default-deny", "NIST SP 800-53 SC-7(5): deny by default, allow by exception"), "type filter hook input priority filter; policy drop;"),
        rule("CIS Ubuntu 22.04 3.5.2.8: replies to connections this host accepted or opened", "ct state established,related accept"),
        rule("CIS Ubuntu 22.04 3.5.2.8: drop packets conntrack cannot place", 'ct state invalid counter name "invalid_dropped" drop'),
        rule("CIS Ubuntu 22.04 3.5.2.7: loopback traffic", 'iif "lo" accept'),
        rule("CIS Ubuntu 22.04 3.5.2.7: loopback source on a real interface is spoofed", 'iif != "lo" ip saddr 127.0.0.0/8 counter name "invalid_dropped" drop'),
        rule("CIS Ubuntu 22.04 3.5.2.7: loopback source on a real interface is spoofed", 'iif != "lo" ip6 saddr ::1 counter name "invalid_dropped" drop'),
        rule("seed: SYN flood mitigation - a new connection must start with a bare SYN", 'tcp flags & (fin|syn|rst|ack) != syn ct state new counter name "invalid_dropped" drop'),
        rule("RFC 1122 3.2.2: ICMP errors (PMTU discovery) are needed for TCP to work", "icmp type { destination-unreachable, time-exceeded, parameter-problem } accept"),
        rule("RFC 1122 3.2.2.6: answer echo, rate limited against floods", `icmp type echo-request limit rate ${ICMP_ECHO_RATE_PER_SECOND}/second burst ${ICMP_ECHO_RATE_PER_SECOND * 2} packets accept`),
        rule("RFC 4890 4.3.1: ICMPv6 errors incl. packet-too-big must pass", "icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } accept"),
        rule("RFC 4890 4.3.1: neighbor discovery, only from on-link (hop limit 255)", "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } ip6 hoplimit 255 accept"),
        rule("RFC 4890 4.3.1: answer echo, rate limited against floods", `icmpv6 type echo-request limit rate ${ICMP_ECHO_RATE_PER_SECOND}/second burst ${ICMP_ECHO_RATE_PER_SECOND * 2} packets accept`),
        rule("seed: 443 (HTTPS) and 8443 (mTLS) only from the traffic CIDRs; NIST SP 800-53 SC-7", `ip saddr @traffic_v4 tcp dport { ${https}, ${mtls} } ct state new accept`),
        rule("seed: 443 (HTTPS) and 8443 (mTLS) only from the traffic CIDRs; NIST SP 800-53 SC-7", `ip6 saddr @traffic_v6 tcp dport { ${https}, ${mtls} } ct state new accept`),
        rule("seed: health endpoint only for the load balancer subnets; NIST SP 800-53 SC-7", `ip saddr @health_v4 tcp dport ${healthPort} ct state new accept`),
        rule("seed: health endpoint only for the load balancer subnets; NIST SP 800-53 SC-7", `ip6 saddr @health_v6 tcp dport ${healthPort} ct state new accept`),
        rule("seed: SSH management only from the management CIDRs; NIST SP 800-53 AC-17", `ip saddr @management_v4 tcp dport ${ssh} ct state new accept`),
        rule("seed: SSH management only from the management CIDRs; NIST SP 800-53 AC-17", `ip6 saddr @management_v6 tcp dport ${ssh} ct state new accept`),
        dropLog("input_dropped", "apiproxy-in-drop"),
    ].flat();

    const forward = [
        rule("CIS Ubuntu 22.04 3.2.2; NIST SP 800-53 SC-7: a proxy never forwards packets", "type filter hook forward priority filter; policy drop;"),
        dropLog("forward_dropped", "apiproxy-fwd-drop"),
    ].flat();

    const output = [
        rule("NIST SP 800-53 SC-7(5): egress deny by default (a compromised proxy cannot reach arbitrary hosts)", "type filter hook output priority filter; policy drop;"),
        rule("CIS Ubuntu 22.04 3.5.2.8: replies on accepted connections", "ct state established,related accept"),
        rule("CIS Ubuntu 22.04 3.5.2.8: drop packets conntrack cannot place", 'ct state invalid counter name "invalid_dropped" drop'),
        rule("CIS Ubuntu 22.04 3.5.2.7: loopback (local key service, auth_request)", 'oif "lo" accept'),
        rule("RFC 4890 4.3.1: neighbor/router discovery from this host", "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } ip6 hoplimit 255 accept"),
        rule("RFC 4890 4.3.1: ICMPv6 errors this host generates", "icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } accept"),
        rule("RFC 1122 3.2.2: ICMP errors this host generates", "icmp type { destination-unreachable, time-exceeded, parameter-problem } accept"),
        egressRules(spec).flatMap(egressRule),
        dropLog("output_dropped", "apiproxy-out-drop"),
    ].flat();

    const sets = [
        set("traffic_v4", "ipv4_addr", traffic.v4, "seed: clients allowed on 443/8443"),
        set("traffic_v6", "ipv6_addr", traffic.v6, "seed: clients allowed on 443/8443"),
        set("health_v4", "ipv4_addr", health.v4, "seed: load balancer health checks"),
        set("health_v6", "ipv6_addr", health.v6, "seed: load balancer health checks"),
        set("management_v4", "ipv4_addr", management.v4, "seed: SSH management network; NIST SP 800-53 AC-17"),
        set("management_v6", "ipv6_addr", management.v6, "seed: SSH management network; NIST SP 800-53 AC-17"),
    ].flat();

    const counters = ["input_dropped", "output_dropped", "forward_dropped", "invalid_dropped"].map(
        (name) => `${INDENT}counter ${name} { comment "NIST SP 800-53 AU-12: dropped packet count" }`,
    );

    const content = lines(
        "#!/usr/sbin/nft -f",
        `# Managed by api-proxy-security (components/host/firewall-nftables.ts).`,
        "# Check with `nft -c -f /etc/nftables.conf`; counters: `nft list counters table inet apiproxy`.",
        "",
        "# Idempotent replace of this table only: declare (no-op if present), delete, re-create.",
        `table inet ${NFT_TABLE}`,
        `delete table inet ${NFT_TABLE}`,
        "",
        `table inet ${NFT_TABLE} {`,
        counters,
        "",
        sets,
        "",
        `${INDENT}chain input {`,
        input,
        `${INDENT}}`,
        "",
        `${INDENT}chain forward {`,
        forward,
        `${INDENT}}`,
        "",
        `${INDENT}chain output {`,
        output,
        `${INDENT}}`,
        "}",
    );
    return [file(NFTABLES_PATH, content, "0644", "firewall-reload")];
}
