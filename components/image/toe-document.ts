/**
 * AWSTOE component documents for the golden image (pure: HostFiles in, YAML text out).
 *
 * FORMAT CONTRACT (the policy pack parses the text):
 *   - phase `build` has a step `InstallPackages` (ExecuteBash, first document only), a step
 *     `CreateDirectories` (ExecuteBash: the files' directories), then a step `WriteHostFiles`
 *     with `action: CreateFile` whose `inputs` is a list of exactly
 *     `{ path, content, permissions, owner, group }` (permissions is the HostFile mode string);
 *   - phase `validate` has a step `ValidateHostFiles` (ExecuteBash) checking modes/owners and
 *     running the offline syntax checks (`nft -c`, `sysctl -p`, `sshd -t`). `nginx -t` is not
 *     run at bake time: certificates arrive at boot from Secrets Manager.
 *   - a HostFile marked `secret` never appears (the component refuses it before rendering).
 * Image Builder caps a component's inline `data` at 16,000 characters; files are packed into
 * as few documents as fit, each with the same shape (packages are installed by the first).
 */
import { Scalar, stringify } from "yaml";
import type { HostFile } from "../core/host-file";
import { shellQuote } from "../core/shell";
import { AWS_HOST_EXTRA_PACKAGES, basePackages } from "../host/cloud-init";

/** Image Builder's limit on inline component data (CreateComponent `data`). */
export const COMPONENT_DATA_LIMIT = 16_000;

/** What first boot would otherwise install on the image's OS (Ubuntu 22.04): its baseline and the AWS host's extras. */
export const DEFAULT_IMAGE_PACKAGES: readonly string[] = [...basePackages("ubuntu-22.04"), ...AWS_HOST_EXTRA_PACKAGES];

export interface ToeOptions {
    readonly name: string;
    readonly description: string;
    readonly packages: readonly string[];
}

/** Head-room for the part suffix of the name ("-1-of-12") added once the part count is known. */
const NAME_SUFFIX_RESERVE = 64;

/** AWSTOE documents say `schemaVersion: 1.0`; a plain number would print as `1`. */
function schemaVersion(): Scalar<number> {
    const version = new Scalar(1);
    version.minFractionDigits = 1;
    return version;
}

const fits = (text: string): boolean => text.length <= COMPONENT_DATA_LIMIT - NAME_SUFFIX_RESERVE;


function validationCommands(files: readonly HostFile[]): string[] {
    const commands = ["set -euo pipefail"];
    for (const f of files) {
        // stat prints the mode without the leading zero ("0644" -> "644").
        const expected = `${f.mode.replace(/^0/, "")} ${f.owner}:${f.group}`;
        commands.push(`test "$(stat -c '%a %U:%G' ${shellQuote(f.path)})" = ${shellQuote(expected)}`);
    }
    for (const f of files.filter((file) => file.action === "sysctl-reload")) {
        commands.push(`sysctl -p ${shellQuote(f.path)} >/dev/null`);
    }
    if (files.some((f) => f.action === "firewall-reload")) {
        commands.push("nft -c -f /etc/nftables.conf");
    }
    if (files.some((f) => f.action === "sshd-reload")) {
        commands.push("mkdir -p /run/sshd", "sshd -t");
    }
    return commands;
}

function document(files: readonly HostFile[], opts: ToeOptions, part: number, parts: number): string {
    const build: object[] = [];
    if (part === 0) {
        build.push({
            name: "InstallPackages",
            action: "ExecuteBash",
            inputs: {
                commands: [
                    "set -euo pipefail",
                    "export DEBIAN_FRONTEND=noninteractive",
                    "apt-get update",
                    "apt-get -y -o Dpkg::Options::=--force-confold dist-upgrade",
                    `apt-get install -y --no-install-recommends ${opts.packages.map(shellQuote).join(" ")}`,
                    // Ubuntu ships nftables disabled; the baked ruleset must load on every boot.
                    ...(opts.packages.includes("nftables") ? ["systemctl enable nftables.service"] : []),
                ],
            },
        });
    }
    // CreateFile writes into an existing directory: the files' own (e.g. /etc/nginx/apiproxy) are
    // made first. mkdir -p leaves existing directories' owner and mode alone.
    build.push({
        name: "CreateDirectories",
        action: "ExecuteBash",
        inputs: { commands: ["set -euo pipefail", `mkdir -p -- ${[...new Set(files.map((f) => f.path.slice(0, f.path.lastIndexOf("/"))))].map(shellQuote).join(" ")}`] },
    });
    build.push({
        name: "WriteHostFiles",
        action: "CreateFile",
        inputs: files.map((f) => ({ path: f.path, content: f.content, permissions: f.mode, owner: f.owner, group: f.group })),
    });
    const doc = {
        name: parts === 1 ? opts.name : `${opts.name}-${part + 1}-of-${parts}`,
        description: opts.description,
        schemaVersion: schemaVersion(),
        phases: [
            { name: "build", steps: build },
            { name: "validate", steps: [{ name: "ValidateHostFiles", action: "ExecuteBash", inputs: { commands: validationCommands(files) } }] },
        ],
    };
    return stringify(doc, { lineWidth: 0 });
}

/**
 * One AWSTOE document when everything fits (the usual case), else the fewest that do.
 * Throws when a single file cannot fit any document.
 */
export function renderToeDocuments(files: readonly HostFile[], opts: ToeOptions): string[] {
    const groups: HostFile[][] = [];
    let current: HostFile[] = [];
    for (const file of files) {
        const candidate = [...current, file];
        if (fits(document(candidate, opts, groups.length, 2))) {
            current = candidate;
            continue;
        }
        if (current.length === 0) {
            throw new Error(`${file.path} does not fit an Image Builder component (${COMPONENT_DATA_LIMIT} characters)`);
        }
        groups.push(current);
        current = [file];
        if (!fits(document(current, opts, groups.length, 2))) {
            throw new Error(`${file.path} does not fit an Image Builder component (${COMPONENT_DATA_LIMIT} characters)`);
        }
    }
    groups.push(current);
    return groups.map((group, part) => document(group, opts, part, groups.length));
}
