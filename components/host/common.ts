/**
 * Helpers shared by the host renderers: control citations and input validation.
 * Pure: node:net's address parsers do no I/O.
 */
import { isIPv4, isIPv6 } from "node:net";
import { hostFile, type HostAction, type HostFile } from "../core/host-file";
import type { HostSpec } from "./types";

/**
 * Every line that encodes a security decision carries a comment naming the control it
 * satisfies. Tests use this pattern to check that a citation is present.
 */
export const CONTROL_PATTERN = /(CIS (Ubuntu|RHEL|Debian)|DISA STIG|NIST SP|seed:|KSPP|CVE-\d|RFC \d|vendor:|least privilege:)/;

/** `# <why> (<control>)` comment line for formats whose comments must start the line. */
export function cite(control: string, why?: string): string {
    return why ? `# ${control}: ${why}` : `# ${control}`;
}

/** Addresses of one family, split because nftables sets are typed per family. */
export interface SplitCidrs { readonly v4: string[]; readonly v6: string[] }

/** Parses "a.b.c.d/n" or "x::/n" (a bare address counts as a host route). */
export function parseCidr(cidr: string, field: string): { family: 4 | 6; address: string; prefix: number } {
    const [address, prefixText, ...rest] = cidr.split("/");
    if (rest.length > 0 || address === undefined) {
        throw new Error(`${field}: invalid CIDR ${JSON.stringify(cidr)}`);
    }
    const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined;
    if (family === undefined) {
        throw new Error(`${field}: invalid CIDR ${JSON.stringify(cidr)}`);
    }
    const max = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText) || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
        throw new Error(`${field}: invalid prefix in ${JSON.stringify(cidr)}`);
    }
    return { family, address, prefix };
}

export function splitCidrs(cidrs: readonly string[], field: string): SplitCidrs {
    const v4: string[] = [];
    const v6: string[] = [];
    cidrs.forEach((cidr, index) => {
        const parsed = parseCidr(cidr, `${field}[${index}]`);
        (parsed.family === 4 ? v4 : v6).push(cidr);
    });
    return { v4, v6 };
}

export function isAnyAddress(cidr: string): boolean {
    const parsed = parseCidr(cidr, "cidr");
    return parsed.prefix === 0;
}

export function assertPort(port: number, field: string): void {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new Error(`${field}: port must be an integer in 1..65535, got ${port}`);
    }
}

const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const ABSOLUTE_PATH = /^\/[A-Za-z0-9._/-]*$/;

export function assertAbsolutePath(path: string, field: string): void {
    if (!ABSOLUTE_PATH.test(path) || path.split("/").includes("..")) {
        throw new Error(`${field}: must be an absolute path of [A-Za-z0-9._/-], got ${JSON.stringify(path)}`);
    }
}

/**
 * Checks everything the renderers interpolate into host files, so no spec value can inject
 * syntax into a firewall rule, a unit or a script. Throws naming the field.
 */
export function validateHostSpec(spec: HostSpec): void {
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(spec.hostname)) {
        throw new Error(`hostname: invalid host name ${JSON.stringify(spec.hostname)}`);
    }
    if (!Number.isInteger(spec.concurrencyTarget) || spec.concurrencyTarget < 1 || spec.concurrencyTarget > 1_000_000) {
        throw new Error(`concurrencyTarget: must be an integer in 1..1000000, got ${spec.concurrencyTarget}`);
    }
    for (const [name, port] of Object.entries(spec.ports)) {
        assertPort(port, `ports.${name}`);
    }
    const ports = Object.values(spec.ports);
    if (new Set(ports).size !== ports.length) {
        throw new Error(`ports: https, mtls, health and ssh must differ, got ${ports.join(", ")}`);
    }
    if (spec.managementCidrs.length === 0) {
        throw new Error("managementCidrs: at least one management CIDR is required (SSH is otherwise unreachable)");
    }
    spec.managementCidrs.forEach((cidr, index) => {
        if (isAnyAddress(cidr)) {
            // NIST SP 800-53 AC-17: remote administration only from the management network.
            throw new Error(`managementCidrs[${index}]: SSH must never be open to ${cidr}`);
        }
    });
    splitCidrs(spec.healthCheckCidrs, "healthCheckCidrs");
    splitCidrs(spec.trafficCidrs, "trafficCidrs");
    splitCidrs(spec.dnsResolvers ?? [], "dnsResolvers");
    spec.upstreamEndpoints.forEach((endpoint, index) => {
        parseCidr(endpoint.cidr, `upstreamEndpoints[${index}].cidr`);
        assertPort(endpoint.port, `upstreamEndpoints[${index}].port`);
    });
    spec.extraEgress.forEach((egress, index) => {
        parseCidr(egress.cidr, `extraEgress[${index}].cidr`);
        assertPort(egress.port, `extraEgress[${index}].port`);
        if (egress.protocol !== "tcp" && egress.protocol !== "udp") {
            throw new Error(`extraEgress[${index}].protocol: must be tcp or udp`);
        }
    });
    if (spec.logVolume) {
        if (!/^\/dev\/[A-Za-z0-9/_-]+$/.test(spec.logVolume.device)) {
            throw new Error(`logVolume.device: must be a /dev path, got ${JSON.stringify(spec.logVolume.device)}`);
        }
        assertAbsolutePath(spec.logVolume.mountPoint, "logVolume.mountPoint");
        if (spec.logVolume.mountPoint === "/" || spec.logVolume.mountPoint.startsWith("/var/log/nginx")) {
            throw new Error("logVolume.mountPoint: must be a dedicated directory (not / or inside /var/log/nginx)");
        }
    }
    if (!Number.isInteger(spec.logRetentionDays) || spec.logRetentionDays < 1 || spec.logRetentionDays > 3650) {
        throw new Error(`logRetentionDays: must be an integer in 1..3650, got ${spec.logRetentionDays}`);
    }
    if (spec.sshAllowUsers.length === 0) {
        throw new Error("sshAllowUsers: at least one admin user is required");
    }
    spec.sshAllowUsers.forEach((user, index) => {
        if (!USER_NAME.test(user) || user === "root") {
            throw new Error(`sshAllowUsers[${index}]: invalid or forbidden user ${JSON.stringify(user)}`);
        }
    });
    (spec.tlsReadPaths ?? []).forEach((path, index) => assertAbsolutePath(path, `tlsReadPaths[${index}]`));
    if (spec.aws) {
        if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(spec.aws.region)) {
            throw new Error(`aws.region: invalid region ${JSON.stringify(spec.aws.region)}`);
        }
        spec.aws.certificateSecrets.forEach((secret, index) => {
            if (!/^[A-Za-z0-9:/_+=.@-]{1,2048}$/.test(secret.secretId)) {
                throw new Error(`aws.certificateSecrets[${index}].secretId: invalid secret id`);
            }
            assertAbsolutePath(secret.path, `aws.certificateSecrets[${index}].path`);
        });
    }
}

/** Builds a HostFile and runs the shared invariants (components/core/host-file.ts). */
export function file(path: string, content: string, mode: string, action: HostAction, owner = "root", group = "root"): HostFile {
    return hostFile({ path, content, mode, owner, group, action });
}

/** Joins lines and guarantees exactly one trailing newline. */
export function lines(...parts: readonly (string | readonly string[])[]): string {
    return parts.flat().join("\n").replace(/\n*$/, "\n");
}
