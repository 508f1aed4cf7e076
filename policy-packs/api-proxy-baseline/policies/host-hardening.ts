/**
 * Host hardening a proxy host carries besides nginx: the default-deny firewall, the sandboxed
 * nginx unit with its open-file limit, sshd, and mandatory access control. Each reads the
 * rendered files of every host file set that carries an nginx configuration (a proxy host),
 * from user data, image components or SSH deliveries alike (lib/file-sets.ts). The paths come
 * from the host renderer (components/host), so they cannot drift apart.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { NGINX_CONF } from "../lib/carriers";
import { hostFileSets, type HostFileSet } from "../lib/file-sets";
import { APPARMOR_PROFILE_PATH } from "../../../components/host/apparmor";
import { FIREWALLD_ZONE_PATH } from "../../../components/host/firewall-firewalld";
import { NFTABLES_PATH } from "../../../components/host/firewall-nftables";
import { SELINUX_APPLY_PATH } from "../../../components/host/selinux";
import { SSHD_CONFIG_PATH } from "../../../components/host/sshd";
import { NGINX_UNIT_PATH } from "../../../components/host/systemd-unit";
import { KEYCHECK_UNIT } from "../../../components/services/render-units";
import { configSchemaFor, readConfig } from "./config";

type Report = (message: string, urn?: string) => void;

/** Runs `check` on every proxy host's file set (one that carries nginx.conf). */
function onProxyHosts(check: (set: HostFileSet, report: Report) => void): StackValidationPolicy["validateStack"] {
    return async (args, reportViolation) => {
        for (const set of await hostFileSets(args.resources)) {
            if (!set.files.has(NGINX_CONF)) continue;
            check(set, (message, urn) => reportViolation(`${set.label}: ${message}`, urn ?? set.origin.get(NGINX_CONF)?.urn));
        }
    };
}

/** The value of each `Key=value` line of a systemd unit (last one wins, as systemd reads them). */
function unitSettings(text: string): Map<string, string[]> {
    const settings = new Map<string, string[]>();
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#") || line.startsWith(";") || line.startsWith("[")) continue;
        const eq = line.indexOf("=");
        if (eq < 0) continue;
        const key = line.slice(0, eq).trim();
        settings.set(key, [...(settings.get(key) ?? []), line.slice(eq + 1).replace(/\s+#.*$/, "").trim()]);
    }
    return settings;
}

/** `chain <name> { ... type filter hook <hook> ... policy <verdict>; }` verdicts of an nftables ruleset. */
function nftHookPolicies(text: string): Map<string, string> {
    const policies = new Map<string, string>();
    for (const match of text.matchAll(/type\s+filter\s+hook\s+(input|forward|output)\s+priority\s+[^;]+;\s*policy\s+(accept|drop)\s*;/g)) {
        policies.set(match[1], match[2]);
    }
    return policies;
}

export const hostFirewallDefaultDeny: StackValidationPolicy = {
    name: "host-firewall-default-deny",
    description: "Checks that every proxy host carries a default-deny firewall: nftables input, forward and output chains with policy drop (Debian/Ubuntu), or a firewalld zone whose target is DROP (RHEL).",
    enforcementLevel: "mandatory",
    validateStack: onProxyHosts((set, report) => {
        const nft = set.files.get(NFTABLES_PATH);
        const zone = set.files.get(FIREWALLD_ZONE_PATH);
        if (nft === undefined && zone === undefined) {
            report(`carries no host firewall (${NFTABLES_PATH} or ${FIREWALLD_ZONE_PATH}).`);
            return;
        }
        if (nft !== undefined) {
            const hooks = nftHookPolicies(nft);
            for (const hook of ["input", "forward", "output"]) {
                if (hooks.get(hook) !== "drop") {
                    report(`${NFTABLES_PATH} ${hooks.has(hook) ? `has policy ${hooks.get(hook)} on its ${hook} hook` : `has no ${hook} chain`}; it must drop by default.`, set.origin.get(NFTABLES_PATH)?.urn);
                }
            }
        }
        if (zone !== undefined && !/<zone[^>]*\starget="DROP"/.test(zone)) {
            report(`${FIREWALLD_ZONE_PATH} does not set target="DROP"; the zone must drop by default.`, set.origin.get(FIREWALLD_ZONE_PATH)?.urn);
        }
    }),
};

export const nginxUnitSandboxed: StackValidationPolicy = {
    name: "nginx-unit-sandboxed",
    description: "Checks that the proxy's nginx unit runs sandboxed (unprivileged user, CAP_NET_BIND_SERVICE only, NoNewPrivileges, ProtectSystem=strict) with an open-file limit at least nginx's worker_rlimit_nofile.",
    enforcementLevel: "mandatory",
    validateStack: onProxyHosts((set, report) => {
        const unit = set.files.get(NGINX_UNIT_PATH);
        const urn = set.origin.get(NGINX_UNIT_PATH)?.urn;
        if (unit === undefined) {
            report(`carries no hardened nginx unit (${NGINX_UNIT_PATH}).`);
            return;
        }
        const s = unitSettings(unit);
        const last = (key: string) => s.get(key)?.at(-1);
        const user = last("User");
        if (user === undefined || user === "root" || user === "0") report(`${NGINX_UNIT_PATH} runs nginx as ${user ?? "root (no User=)"}; it must run as the unprivileged proxy user.`, urn);
        const caps = s.get("CapabilityBoundingSet") ?? [];
        if (caps.length === 0 || caps.some((c) => c.split(/\s+/).some((cap) => cap !== "CAP_NET_BIND_SERVICE" && cap !== ""))) {
            report(`${NGINX_UNIT_PATH} CapabilityBoundingSet is ${caps.join(" ") || "unset (all)"}; it must be CAP_NET_BIND_SERVICE only.`, urn);
        }
        if (last("NoNewPrivileges") !== "yes") report(`${NGINX_UNIT_PATH} sets NoNewPrivileges=${last("NoNewPrivileges") ?? "(unset)"}; it must be yes.`, urn);
        if (last("ProtectSystem") !== "strict") report(`${NGINX_UNIT_PATH} sets ProtectSystem=${last("ProtectSystem") ?? "(unset)"}; it must be strict.`, urn);
        const nofile = Number(last("LimitNOFILE"));
        const wanted = Number(/worker_rlimit_nofile\s+(\d+)\s*;/.exec(set.files.get(NGINX_CONF) ?? "")?.[1] ?? NaN);
        if (!Number.isInteger(nofile) || (Number.isInteger(wanted) && nofile < wanted)) {
            report(`${NGINX_UNIT_PATH} LimitNOFILE=${last("LimitNOFILE") ?? "(unset)"} is below nginx's worker_rlimit_nofile ${wanted} ("Too many open files" under load).`, urn);
        }
    }),
};

export const sshdHardened: StackValidationPolicy = {
    name: "sshd-hardened",
    description: "Checks that every proxy host's sshd refuses root and passwords and admits only named accounts (AllowUsers).",
    enforcementLevel: "mandatory",
    validateStack: onProxyHosts((set, report) => {
        const text = set.files.get(SSHD_CONFIG_PATH);
        const urn = set.origin.get(SSHD_CONFIG_PATH)?.urn;
        if (text === undefined) {
            report(`carries no ${SSHD_CONFIG_PATH}.`);
            return;
        }
        // sshd uses the first value of each keyword (sshd_config(5)).
        const first = new Map<string, string>();
        for (const raw of text.split("\n")) {
            const line = raw.replace(/#.*$/, "").trim();
            if (line === "" || /^Match\s/i.test(line)) {
                if (/^Match\s/i.test(line)) break;
                continue;
            }
            const [key, ...rest] = line.split(/\s+/);
            if (!first.has(key.toLowerCase())) first.set(key.toLowerCase(), rest.join(" "));
        }
        const expect = (key: string, value: string) => {
            if (first.get(key.toLowerCase())?.toLowerCase() !== value) report(`${SSHD_CONFIG_PATH} sets ${key} ${first.get(key.toLowerCase()) ?? "(unset: the default)"}; it must be ${value}.`, urn);
        };
        expect("PermitRootLogin", "no");
        expect("PasswordAuthentication", "no");
        // OpenSSH 8.0 (RHEL 8) spells keyboard-interactive ChallengeResponseAuthentication.
        if (first.get("kbdinteractiveauthentication")?.toLowerCase() !== "no" && first.get("challengeresponseauthentication")?.toLowerCase() !== "no") {
            report(`${SSHD_CONFIG_PATH} leaves keyboard-interactive (PAM password prompts) on; set KbdInteractiveAuthentication no (ChallengeResponseAuthentication no on OpenSSH 8.0).`, urn);
        }
        if (!first.get("allowusers")) report(`${SSHD_CONFIG_PATH} has no AllowUsers: every account could log in.`, urn);
    }),
};

export const macProfilePresent: StackValidationPolicy = {
    name: "mac-profile-present",
    description: "Checks that every proxy host confines nginx with mandatory access control: an enforcing AppArmor profile (Debian/Ubuntu) or the SELinux apply script (RHEL).",
    enforcementLevel: "mandatory",
    validateStack: onProxyHosts((set, report) => {
        const profile = set.files.get(APPARMOR_PROFILE_PATH);
        if (profile === undefined && !set.files.has(SELINUX_APPLY_PATH)) {
            report(`carries neither an AppArmor profile (${APPARMOR_PROFILE_PATH}) nor the SELinux script (${SELINUX_APPLY_PATH}).`);
            return;
        }
        if (profile !== undefined && /flags=\([^)]*complain/.test(profile)) {
            report(`${APPARMOR_PROFILE_PATH} is in complain mode; it must enforce.`, set.origin.get(APPARMOR_PROFILE_PATH)?.urn);
        }
    }),
};


const KEYCHECK_UNIT_PATH = `/etc/systemd/system/${KEYCHECK_UNIT}`;

export const keyServiceRateLimited: StackValidationPolicy = {
    name: "key-service-rate-limited",
    description: "Checks that the key service the stack runs (apiproxy-keycheck) limits every API key: its unit starts it with --rate-per-second and --burst within the ceilings (the seed's per-API-key rate limit; nginx cannot key on the verified key id).",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("rateLimitCeilingPerSecond"),
    validateStack: async (args, reportViolation) => {
        const cfg = readConfig(args);
        for (const set of await hostFileSets(args.resources)) {
            const unit = set.files.get(KEYCHECK_UNIT_PATH);
            if (unit === undefined) continue;
            const exec = unitSettings(unit).get("ExecStart")?.at(-1) ?? "";
            const rate = Number(/--rate-per-second\s+(\d+)/.exec(exec)?.[1]);
            const burst = Number(/--burst\s+(\d+)/.exec(exec)?.[1]);
            const urn = set.origin.get(KEYCHECK_UNIT_PATH)?.urn;
            if (!Number.isInteger(rate) || rate < 1 || rate > cfg.rateLimitCeilingPerSecond) {
                reportViolation(`${set.label}: ${KEYCHECK_UNIT_PATH} starts the key service ${/--rate-per-second/.test(exec) ? `with --rate-per-second ${rate}` : "without --rate-per-second"}; every API key needs a limit of 1-${cfg.rateLimitCeilingPerSecond} requests/second.`, urn);
            }
            if (!Number.isInteger(burst) || burst < 0) {
                reportViolation(`${set.label}: ${KEYCHECK_UNIT_PATH} starts the key service without a --burst.`, urn);
            }
        }
    },
};

export const hostHardeningPolicies = [hostFirewallDefaultDeny, nginxUnitSandboxed, sshdHardened, macProfilePresent, keyServiceRateLimited];
