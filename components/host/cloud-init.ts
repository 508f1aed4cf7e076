/**
 * cloud-init user data for AWS hosts: every HostFile as a write_files entry, packages, and
 * a runcmd that applies the files' actions in ACTION_ORDER, validates nginx, then starts it.
 *
 * FORMAT CONTRACT (the policy pack parses the rendered text, not this module):
 *   - first line is exactly `#cloud-config`;
 *   - `write_files:` is a YAML list; each entry has `path` (absolute), `content` (the file's
 *     text, verbatim, as a YAML string - a block literal for multi-line files, so the file
 *     stays readable and the whole document compresses well), `permissions` ("0NNN"),
 *     `owner` ("user:group") and `defer: true`; no `encoding` (plain text);
 *   - the document may be delivered gzip-compressed (gzipUserData): cloud-init detects the
 *     gzip magic; a reader must gunzip before parsing;
 *   - a HostFile marked `secret` is refused (throws): private keys never enter user data,
 *     they come from Secrets Manager (components/host/cert-fetch.ts);
 *   - nginx configuration files (/etc/nginx/**.conf) travel without their comments (the control
 *     citations): AWS caps user data at 16 KiB even gzipped, and the comments are half of it.
 *     Every directive is kept byte for byte; the golden image and SSH deliveries carry the
 *     files verbatim (compactForUserData).
 * `defer: true` writes the files after packages are installed (cloud-init >= 22.1), so the
 * proxy user exists for `owner` and the package's conffiles do not overwrite ours.
 */
import { gzipSync } from "zlib";
import * as YAML from "yaml";
import { ACTION_ORDER, type HostAction, type HostFile } from "../core/host-file";
import { assertNever, osProfile } from "./os";
import { nginxConfigTest } from "./cert-fetch";
import type { HostOs } from "./types";

/** A public key line: type, base64 key, optional comment (no newlines, no options). */
const AUTHORIZED_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;

/** AWS limit on raw user data; larger documents must be gzipped by the delivery target. */
export const USER_DATA_LIMIT_BYTES = 16_384;

export interface CloudInitOptions {
    readonly os: HostOs;
    readonly hostname: string;
    /** Packages beyond the OS baseline (e.g. xfsprogs, awscli). */
    readonly extraPackages?: readonly string[];
    /** Files a golden image already carries: not written again, but their first-boot actions
     *  (daemon-reload, enabling the log-volume and certificate-fetch units, firewall, ...) still
     *  run, so an image host boots exactly like a stock one. Default: [] (DEFAULT_BAKED_FILES). */
    readonly bakedFiles?: readonly HostFile[];
    /** The admin account sshd's AllowUsers names, created at first boot with these public keys
     *  (key-only, passwordless sudo). Without it nobody can log in over SSH (SSM still works). */
    readonly admin?: { readonly name: string; readonly authorizedKeys: readonly string[] };
    /** Whether first boot installs the packages (a stock image). A golden image carries them:
     *  its first boot must not need a mirror its security group does not reach (apt would fail
     *  and leave cloud-init in error). Default: true (DEFAULT_INSTALL_PACKAGES) */
    readonly installPackages?: boolean;
    /** The apt archives first boot installs from (the declared package mirror, the one the
     *  security group admits), replacing the image's sources. Default: the image's own sources. */
    readonly aptMirror?: { readonly primary: string; readonly security: string };
}

/** Stock images install at first boot. */
export const DEFAULT_INSTALL_PACKAGES = true;

/** nginx's own comment forms as the nginx renderer writes them: a whole comment line, or
 *  "<directive>;  # control" / "<block> {  # control" (components/nginx/lines.ts). */
const NGINX_COMMENT_LINE = /^\s*#.*$\n?/gm;
const NGINX_TRAILING_COMMENT = /([;{])  # .*$/gm;

/** A file as user data carries it: nginx configuration without comments, anything else verbatim. */
export function compactForUserData(file: HostFile): HostFile {
    if (!/^\/etc\/nginx\/.*\.conf$/.test(file.path)) return file;
    return { ...file, content: file.content.replace(NGINX_TRAILING_COMMENT, "$1").replace(NGINX_COMMENT_LINE, "") };
}

/** Stock hosts: every file travels in user data. */
export const DEFAULT_BAKED_FILES: readonly HostFile[] = [];

/** Packages every host needs, per OS (firewall and MAC tooling follow the OS profile). */
export function basePackages(os: HostOs): string[] {
    const profile = osProfile(os);
    switch (profile.family) {
        case "debian":
            return ["nginx", "nftables", "apparmor", "openssh-server", "logrotate"];
        case "rhel":
            // semanage comes from policycoreutils-python-utils on RHEL 8.
            return ["nginx", "firewalld", "policycoreutils-python-utils", "openssh-server", "logrotate"];
        default:
            return assertNever(profile, "OS family");
    }
}

/** What an AWS host needs beyond its OS baseline: the AWS CLI the certificate fetch calls
 *  (cert-fetch.ts runs `aws secretsmanager get-secret-value` under `set -eu`) and mkfs.xfs for the
 *  NVMe log volume. */
export const AWS_HOST_EXTRA_PACKAGES: readonly string[] = ["awscli", "xfsprogs"];

function commandsFor(action: HostAction, files: readonly HostFile[], os: HostOs): string[] {
    const profile = osProfile(os);
    const paths = files.filter((f) => f.action === action).map((f) => f.path);
    switch (action) {
        case "sysctl-reload":
            return ["sysctl --system"];
        case "selinux-apply":
            return paths.filter((path) => path.startsWith("/usr/local/sbin/")).map((path) => path);
        case "apparmor-reload":
            return paths.map((path) => `apparmor_parser -r ${path}`);
        case "systemd-daemon-reload": {
            const units = paths.map((path) => path.slice(path.lastIndexOf("/") + 1)).filter((unit) => unit !== "nginx.service");
            return [
                "systemctl daemon-reload",
                ...units.filter((unit) => unit.endsWith(".timer")).map((unit) => `systemctl enable --now ${unit}`),
                // One-shot prerequisites of nginx (log volume, first certificate fetch) run now.
                ...units.filter((unit) => unit.endsWith(".service")).flatMap((unit) => [`systemctl enable ${unit}`, `systemctl start ${unit}`]),
            ];
        }
        case "firewall-reload":
            switch (profile.family) {
                case "debian":
                    return ["nft -c -f /etc/nftables.conf", "nft -f /etc/nftables.conf", "systemctl enable nftables.service"];
                case "rhel":
                    return ["systemctl enable --now firewalld.service", "firewall-cmd --check-config", "firewall-cmd --reload"];
                default:
                    return assertNever(profile, "OS family");
            }
        case "sshd-reload":
            return ["sshd -t", `systemctl reload ${profile.sshService}.service`];
        case "service-restart":
            return paths.flatMap((path) => {
                const unit = path.slice(path.lastIndexOf("/") + 1);
                return ["systemctl daemon-reload", `systemctl enable ${unit}`, `systemctl restart ${unit}`];
            });
        case "haproxy-reload":
            return ["haproxy -c -f /etc/haproxy/haproxy.cfg", "systemctl enable haproxy.service", "systemctl reload-or-restart haproxy.service"];
        case "nginx-reload":
        case "none":
            return [];
        default:
            return assertNever(action, "HostAction");
    }
}

/**
 * Renders `#cloud-config` user data. Throws on a secret HostFile or a duplicate path.
 */
export function renderCloudInit(files: readonly HostFile[], opts: CloudInitOptions): string {
    const seen = new Set<string>();
    for (const f of files) {
        if (f.secret) {
            throw new Error(`renderCloudInit: ${f.path} is secret; private keys never go into user data (use Secrets Manager)`);
        }
        if (seen.has(f.path)) {
            throw new Error(`renderCloudInit: duplicate path ${f.path}`);
        }
        seen.add(f.path);
    }
    const packages = [...new Set([...basePackages(opts.os), ...(opts.extraPackages ?? [])])];
    const onHost = [...(opts.bakedFiles ?? DEFAULT_BAKED_FILES).filter((b) => !seen.has(b.path)), ...files];
    const actions = ACTION_ORDER.flatMap((action) =>
        onHost.some((f) => f.action === action) ? commandsFor(action, onHost, opts.os) : []);
    const runcmd = [
        "set -eu",
        ...actions,
        // seed: validate before starting, as the proxy user (root would create log files nginx cannot reopen).
        nginxConfigTest(opts.os),
        "systemctl enable nginx.service",
        // First boot only (runcmd runs once per instance, before the instance is in service):
        // the package started nginx with its vendor unit; the hardened unit needs a fresh start.
        // Every later change is a reload (SIGHUP), never a restart.
        "systemctl restart nginx.service",
    ];
    if (opts.admin && (opts.admin.authorizedKeys.length === 0 || opts.admin.authorizedKeys.some((k) => !AUTHORIZED_KEY.test(k)))) {
        throw new Error("renderCloudInit: admin.authorizedKeys must be one or more public keys in authorized_keys form");
    }
    const document = {
        hostname: opts.hostname.split(".")[0] ?? opts.hostname,
        fqdn: opts.hostname,
        // CIS Ubuntu 22.04 5.2: the named admin only, key-only (no password), sudo without a password prompt.
        ...(opts.admin ? {
            users: [{
                name: opts.admin.name, shell: "/bin/bash", lock_passwd: true, sudo: "ALL=(ALL) NOPASSWD:ALL",
                ssh_authorized_keys: [...opts.admin.authorizedKeys],
            }],
        } : {}),
        // seed: packages from the declared mirror only (NIST SP 800-53 SC-7(5): egress to named destinations)
        ...(opts.aptMirror ? {
            apt: {
                // Debian's cloud images preserve the image's sources by default: the mirror must replace them.
                preserve_sources_list: false,
                primary: [{ arches: ["default"], uri: opts.aptMirror.primary }],
                security: [{ arches: ["default"], uri: opts.aptMirror.security }],
            },
        } : {}),
        ...(opts.installPackages ?? DEFAULT_INSTALL_PACKAGES ? { package_update: true, packages } : {}),
        write_files: files.map(compactForUserData).map((f) => ({
            path: f.path,
            content: f.content,
            permissions: f.mode,
            owner: `${f.owner}:${f.group}`,
            defer: true,
        })),
        // One shell script so `set -eu` stops at the first failing step.
        runcmd: [["bash", "-c", runcmd.join("\n")]],
    };
    return [
        "#cloud-config",
        "# Managed by api-proxy-security (components/host/cloud-init.ts). Format contract: see that file.",
        YAML.stringify(document, { lineWidth: 0, blockQuote: "literal" }),
    ].join("\n");
}

/**
 * gzip + base64 for EC2 `userDataBase64`: AWS caps user data at 16 KiB (raw), and a full
 * host's files exceed that uncompressed. Throws when even the compressed form does not fit.
 */
export function gzipUserData(userData: string): string {
    const compressed = gzipSync(Buffer.from(userData, "utf8"), { level: 9 });
    if (compressed.length > USER_DATA_LIMIT_BYTES) {
        throw new Error(`user data is ${compressed.length} bytes gzipped, over the AWS limit of ${USER_DATA_LIMIT_BYTES}: bake the files into the golden image (aws.image: golden)`);
    }
    return compressed.toString("base64");
}
