/**
 * How verify reaches what it measures: the client segment (`ip netns exec`), a host's whole
 * container (`nsenter -a`, as the integration test's inHost), or this machine's binaries in a
 * host's network namespace (`nsenter -n`). Every command is bounded in time; none runs through a
 * shell on this machine, and none carries a secret in its arguments.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface CommandResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
    readonly timedOut: boolean;
}

export type Runner = (argv: readonly string[], options?: { readonly input?: string; readonly timeoutMs?: number }) => CommandResult;

const DEFAULT_TIMEOUT_MS = 15_000;

function run(prefix: readonly string[], argv: readonly string[], options: { input?: string; timeoutMs?: number } = {}): CommandResult {
    const [command, ...args] = [...prefix, ...argv];
    const result = spawnSync(command, args, {
        encoding: "utf8", input: options.input ?? "", timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBuffer: 32 * 1024 * 1024,
    });
    const timedOut = (result.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT";
    return {
        code: result.status ?? (timedOut ? 124 : 1),
        stdout: result.stdout ?? "",
        stderr: `${result.stderr ?? ""}${result.error && !timedOut ? result.error.message : ""}${timedOut ? `timed out after ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms` : ""}`,
        timedOut,
    };
}

/** Commands on this machine. */
export const thisMachine: Runner = (argv, options) => run([], argv, options);

/** Commands in a network namespace of this machine (the local stack's client segment). */
export function inNamespace(namespace: string): Runner {
    return (argv, options) => run(["ip", "netns", "exec", namespace], argv, options);
}

/**
 * The init process of a local-stack container (`.tools/local-stacks/<fabric>/<host>/nspawn.pid`
 * is systemd-nspawn's; its child is the container's systemd), or why there is none.
 */
export function containerInit(stateDir: string, host: string): number | string {
    const pidFile = path.join(stateDir, host, "nspawn.pid");
    let nspawn: string;
    try {
        nspawn = fs.readFileSync(pidFile, "utf8").trim();
    } catch {
        return `container ${host} is not running (no ${pidFile})`;
    }
    try {
        const init = execFileSync("pgrep", ["-P", nspawn], { encoding: "utf8", timeout: 5000 }).trim().split("\n")[0];
        if (/^\d+$/.test(init)) return Number(init);
    } catch {
        // pgrep exits 1 when the container has no init
    }
    return `container ${host} is not running (systemd-nspawn ${nspawn} has no init process)`;
}

/** Commands inside a container (all its namespaces: its own binaries, files and systemd). */
export function inContainer(init: number): Runner {
    return (argv, options) => run(["nsenter", "-t", String(init), "-a"], argv, options);
}

/** This machine's binaries in a container's network namespace. */
export function inContainerNetwork(init: number): Runner {
    return (argv, options) => run(["nsenter", "-t", String(init), "-n"], argv, options);
}
