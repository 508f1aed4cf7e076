/**
 * Host firewall for RHEL 8 (firewalld, nftables backend):
 *  - /etc/firewalld/zones/apiproxy.xml: the default zone, target DROP, ingress as rich rules;
 *  - /etc/firewalld/policies/apiproxy-egress.xml: HOST -> ANY policy, target DROP, egress
 *    allow-list as rich rules (policy objects need firewalld >= 0.9, RHEL 8.4+);
 *  - /etc/firewalld/direct.xml (AWS only): the one rule rich rules cannot express, IMDS for root only;
 *  - /etc/firewalld/firewalld.conf: default zone, nftables backend, fail closed.
 * XML comments carry the controls; values are validated before interpolation.
 */
import { parseCidr, splitCidrs, file, lines } from "./common";
import { egressRules, AWS_IMDS_ADDRESS } from "./egress";
import { DROP_LOG_RATE_PER_MINUTE, ICMP_ECHO_RATE_PER_SECOND } from "./firewall-nftables";
import type { HostFile } from "../core/host-file";
import type { HostSpec } from "./types";

export const FIREWALLD_ZONE = "apiproxy";
export const FIREWALLD_ZONE_PATH = `/etc/firewalld/zones/${FIREWALLD_ZONE}.xml`;
export const FIREWALLD_EGRESS_POLICY_PATH = "/etc/firewalld/policies/apiproxy-egress.xml";
export const FIREWALLD_DIRECT_PATH = "/etc/firewalld/direct.xml";
export const FIREWALLD_CONF_PATH = "/etc/firewalld/firewalld.conf";
/** Priority of the catch-all log+drop rich rule: the last rule evaluated (firewalld maximum). */
export const LOG_DROP_PRIORITY = 32767;

const XML_HEADER = '<?xml version="1.0" encoding="utf-8"?>';

function xmlComment(text: string): string {
    // "--" is not allowed inside an XML comment.
    return `<!-- ${text.replace(/-{2,}/g, "-")} -->`;
}

function familyOf(cidr: string): "ipv4" | "ipv6" {
    return parseCidr(cidr, "cidr").family === 4 ? "ipv4" : "ipv6";
}

function sourcePortRule(cidr: string, port: number, control: string): string[] {
    return [
        `  ${xmlComment(control)}`,
        `  <rule family="${familyOf(cidr)}"><source address="${cidr}"/><port port="${port}" protocol="tcp"/><accept/></rule>`,
    ];
}

function logDropRule(prefix: string): string[] {
    return [
        `  ${xmlComment("NIST SP 800-53 AU-12: log a rate-limited sample of what the DROP target discards")}`,
        `  <rule priority="${LOG_DROP_PRIORITY}"><log prefix="${prefix}: " level="warning"><limit value="${DROP_LOG_RATE_PER_MINUTE}/m"/></log><drop/></rule>`,
    ];
}

export function renderFirewalldZone(spec: HostSpec): string {
    const { https, mtls, health, ssh } = spec.ports;
    splitCidrs(spec.trafficCidrs, "trafficCidrs");
    const traffic = spec.trafficCidrs.flatMap((cidr) => [https, mtls].flatMap((port) =>
        sourcePortRule(cidr, port, `seed: ${port === https ? "443 (HTTPS)" : "8443 (mTLS)"} only from the traffic CIDRs; NIST SP 800-53 SC-7`)));
    const healthRules = spec.healthCheckCidrs.flatMap((cidr) =>
        sourcePortRule(cidr, health, "seed: health endpoint only for the load balancer subnets; NIST SP 800-53 SC-7"));
    const management = spec.managementCidrs.flatMap((cidr) =>
        sourcePortRule(cidr, ssh, "seed: SSH management only from the management CIDRs; NIST SP 800-53 AC-17"));
    const icmpErrors = ["destination-unreachable", "packet-too-big", "time-exceeded", "parameter-problem"].flatMap((type) => [
        `  ${xmlComment("RFC 1122 3.2.2; RFC 4890 4.3.1: ICMP errors (PMTU discovery) are needed for TCP to work")}`,
        `  <rule><icmp-type name="${type}"/><accept/></rule>`,
    ]);
    const neighbourDiscovery = ["neighbour-solicitation", "neighbour-advertisement", "router-advertisement"].flatMap((type) => [
        `  ${xmlComment("RFC 4890 4.3.1: IPv6 neighbour discovery")}`,
        `  <rule><icmp-type name="${type}"/><accept/></rule>`,
    ]);
    return lines(
        XML_HEADER,
        xmlComment(`Managed by api-proxy-security (components/host/firewall-firewalld.ts) for ${spec.hostname}.`),
        xmlComment("NIST SP 800-53 SC-7(5): deny by default (target DROP), allow by exception"),
        `<zone target="DROP">`,
        `  <short>${FIREWALLD_ZONE}</short>`,
        "  <description>API proxy DMZ: 443/8443 from traffic CIDRs, health from load balancers, SSH from management only.</description>",
        traffic,
        healthRules,
        management,
        icmpErrors,
        neighbourDiscovery,
        `  ${xmlComment("RFC 1122 3.2.2.6: answer echo, rate limited against floods")}`,
        `  <rule><icmp-type name="echo-request"/><accept><limit value="${ICMP_ECHO_RATE_PER_SECOND}/s"/></accept></rule>`,
        logDropRule("apiproxy-in-drop"),
        "</zone>",
    );
}

export function renderFirewalldEgressPolicy(spec: HostSpec): string {
    const allow = egressRules(spec)
        .flatMap((egress) => [
            // Rich rules cannot match the socket owner: direct.xml drops non-root IMDS traffic
            // in its own table, and a drop there is final whatever this policy accepts.
            `  ${xmlComment(egress.uid === undefined ? egress.control : `${egress.control} (uid enforced in direct.xml)`)}`,
            `  <rule family="${egress.family === 4 ? "ipv4" : "ipv6"}"><destination address="${egress.cidr}"/><port port="${egress.port}" protocol="${egress.protocol}"/><accept/></rule>`,
        ]);
    return lines(
        XML_HEADER,
        xmlComment("Managed by api-proxy-security (components/host/firewall-firewalld.ts). Needs firewalld >= 0.9 (policy objects)."),
        xmlComment("NIST SP 800-53 SC-7(5): egress deny by default; established/related and loopback are accepted by firewalld before policies"),
        `<policy target="DROP" priority="-1">`,
        "  <short>apiproxy-egress</short>",
        "  <description>Connections this host opens: only declared upstreams, resolvers and endpoints.</description>",
        `  <ingress-zone name="HOST"/>`,
        `  <egress-zone name="ANY"/>`,
        allow,
        `  ${xmlComment("RFC 4890 4.3.1: neighbour discovery from this host")}`,
        `  <rule><icmp-type name="neighbour-solicitation"/><accept/></rule>`,
        `  <rule><icmp-type name="neighbour-advertisement"/><accept/></rule>`,
        `  <rule><icmp-type name="router-solicitation"/><accept/></rule>`,
        logDropRule("apiproxy-out-drop"),
        "</policy>",
    );
}

/** AWS only: IMDS (instance-role credentials) for root only; an SSRF through the proxy user cannot reach it. */
export function renderFirewalldDirect(): string {
    return lines(
        XML_HEADER,
        xmlComment("Managed by api-proxy-security (components/host/firewall-firewalld.ts)."),
        "<direct>",
        `  ${xmlComment("NIST SP 800-53 AC-6: instance metadata (role credentials) for root only, never the proxy user (SSRF)")}`,
        `  <rule ipv="ipv4" table="filter" chain="OUTPUT" priority="0">-d ${AWS_IMDS_ADDRESS}/32 -p tcp --dport 80 -m owner ! --uid-owner 0 -j DROP</rule>`,
        "</direct>",
    );
}

export function renderFirewalldConf(): string {
    return lines(
        "# Managed by api-proxy-security (components/host/firewall-firewalld.ts).",
        "# Keys not listed keep firewalld's built-in defaults.",
        "# NIST SP 800-53 SC-7(5): every interface lands in the DROP-target apiproxy zone",
        `DefaultZone=${FIREWALLD_ZONE}`,
        "# vendor: RHEL 8 default backend; matches the nftables path on Ubuntu",
        "FirewallBackend=nftables",
        "# NIST SP 800-53 SC-7(18): fail closed - keep the rules when firewalld stops",
        "CleanupOnExit=no",
        "# CIS RHEL 8 3.4.2: no zone drifting (a source-bound zone must not fall through to the default zone)",
        "AllowZoneDrifting=no",
        "# NIST SP 800-53 AU-12: drops are logged by the rate-limited rich rules, not per packet",
        "LogDenied=off",
        "# NIST SP 800-53 SC-7: reverse-path filter for IPv6",
        "IPv6_rpfilter=yes",
    );
}

export function renderFirewalld(spec: HostSpec): HostFile[] {
    const files = [
        file(FIREWALLD_CONF_PATH, renderFirewalldConf(), "0644", "firewall-reload"),
        file(FIREWALLD_ZONE_PATH, renderFirewalldZone(spec), "0644", "firewall-reload"),
        file(FIREWALLD_EGRESS_POLICY_PATH, renderFirewalldEgressPolicy(spec), "0644", "firewall-reload"),
    ];
    if (spec.aws) {
        files.push(file(FIREWALLD_DIRECT_PATH, renderFirewalldDirect(), "0644", "firewall-reload"));
    }
    return files;
}
