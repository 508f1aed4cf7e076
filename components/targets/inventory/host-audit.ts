/**
 * `HostAudit` — what makes `pulumi refresh` notice drift on a delivered host. @pulumi/command's
 * Command has no read (refresh keeps whatever state says), so delivery alone cannot see an
 * edited nginx.conf. This Pulumi dynamic resource records, per delivered path, the content
 * digest, mode and owner the host should have; its read (run by `pulumi refresh` or
 * `up --refresh`) fetches the same facts from the host over SSH (`ssh`, pinned host key, sudo),
 * so a drifted file shows as a change of `observed`. The next `up` sees observed != expected,
 * counts a repair, and the delivery (which takes `repairs` as a trigger) runs again: it installs
 * the rendered file, validates and reloads. Create and update never touch the host.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import type { HostFile } from "../../core/host-file";

/** "<sha256> <mode> <owner>:<group>" per path, as the host reports it (`absent` when missing). */
export type FileFacts = Record<string, string>;

interface AuditState {
    host: string;
    port: number;
    user: string;
    hostKey: string;
    privateKey: string;
    expected: FileFacts;
    observed: FileFacts;
    repairs: number;
}

/** What each delivered file should look like on the host. */
export function expectedFacts(files: readonly HostFile[]): FileFacts {
    const facts: FileFacts = {};
    for (const f of files) {
        facts[f.path] = `${createHash("sha256").update(f.content).digest("hex")} ${parseInt(f.mode, 8).toString(8)} ${f.owner}:${f.group}`;
    }
    return facts;
}

/** The paths whose facts differ between two records (in either). */
export function driftedPaths(expected: FileFacts, observed: FileFacts): string[] {
    const paths = new Set([...Object.keys(expected), ...Object.keys(observed)]);
    return [...paths].filter((p) => expected[p] !== observed[p]).sort();
}

/** Reads the facts of the given paths on the host (runs inside the dynamic provider). */
function observe(state: AuditState): FileFacts {
    // Everything this function uses is required here: it runs serialized in the provider process.
    const childProcess = require("node:child_process");
    const fs = require("node:fs");
    const os = require("node:os");
    const path = require("node:path");
    const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-audit-"));
    try {
        const key = path.join(dir, "key");
        const knownHosts = path.join(dir, "known_hosts");
        fs.writeFileSync(key, state.privateKey.endsWith("\n") ? state.privateKey : `${state.privateKey}\n`, { mode: 0o600 });
        fs.writeFileSync(knownHosts, `${state.port === 22 ? state.host : `[${state.host}]:${state.port}`} ${state.hostKey}\n`);
        const paths = Object.keys(state.expected).sort();
        const script = 'for f in "$@"; do if [ -f "$f" ]; then printf "%s %s %s\\n" "$f" "$(sha256sum < "$f" | cut -d" " -f1)" "$(stat -c "%a %U:%G" "$f")"; '
            + 'else printf "%s absent\\n" "$f"; fi; done';
        const remote = `${state.user === "root" ? "" : "sudo -n "}sh -c ${quote(script)} audit ${paths.map(quote).join(" ")}`;
        const result = childProcess.spawnSync("ssh", [
            "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
            "-p", String(state.port), "-l", state.user, state.host, "--", remote,
        ], { encoding: "utf8", timeout: 60_000 });
        if (result.error || result.status !== 0) {
            throw new Error(`audit of ${state.user}@${state.host}:${state.port} failed: ${result.error?.message ?? (result.stderr || `exit ${result.status}`).trim()}`);
        }
        const facts: FileFacts = {};
        for (const line of String(result.stdout).split("\n")) {
            const m = /^(\S+) (.+)$/.exec(line);
            if (m && paths.includes(m[1])) facts[m[1]] = m[2];
        }
        return facts;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const sameFacts = (a: FileFacts, b: FileFacts): boolean => {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => a[k] === b[k]);
};

const auditProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: AuditState) {
        // Delivery runs after this: what it installs is what is expected.
        return { id: `${inputs.user}@${inputs.host}:${inputs.port}`, outs: { ...inputs, observed: inputs.expected, repairs: 0 } };
    },
    async read(id: string, props: AuditState) {
        return { id, props: { ...props, observed: observe(props) } };
    },
    async diff(_id: string, olds: AuditState, news: AuditState) {
        const connection = ["host", "port", "user", "hostKey", "privateKey"] as const;
        const changes = !sameFacts(olds.observed, news.expected) || !sameFacts(olds.expected, news.expected)
            || connection.some((k) => olds[k] !== news[k]);
        return { changes, deleteBeforeReplace: false };
    },
    async update(_id: string, olds: AuditState, news: AuditState) {
        // A refresh recorded facts that differ from what was delivered: one more repair.
        const drifted = !sameFacts(olds.observed, olds.expected);
        return { outs: { ...news, observed: news.expected, repairs: olds.repairs + (drifted ? 1 : 0) } };
    },
};

export interface HostAuditArgs {
    readonly host: pulumi.Input<string>;
    readonly port: pulumi.Input<number>;
    readonly user: pulumi.Input<string>;
    readonly hostKey: pulumi.Input<string>;
    readonly privateKey: pulumi.Input<string>;
    readonly expected: pulumi.Input<FileFacts>;
}

export class HostAudit extends pulumi.dynamic.Resource {
    /** Facts as last seen (refresh) or as delivered (create/update). */
    public readonly observed!: pulumi.Output<FileFacts>;
    public readonly expected!: pulumi.Output<FileFacts>;
    /** How many times drift was repaired: the delivery re-runs when it grows. */
    public readonly repairs!: pulumi.Output<number>;

    constructor(name: string, args: HostAuditArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(auditProvider, name, { ...args, observed: undefined, repairs: undefined }, {
            ...opts, additionalSecretOutputs: ["privateKey"],
        }, "apiproxy", "HostAudit");
    }
}
