/**
 * Helpers for running the real validators (nft, sshd, systemd-analyze, apparmor_parser,
 * bash, logrotate) against rendered files in throwaway temp dirs. Nothing here touches
 * the live configuration: only check/parse modes are used.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { HostFile } from "../../../components/core/host-file";
import { CONTROL_PATTERN } from "../../../components/host/common";

export interface RunResult { readonly status: number; readonly stdout: string; readonly stderr: string }

export function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): RunResult {
    const result = spawnSync(command, args, { encoding: "utf8", cwd: options.cwd, env: options.env ?? process.env });
    if (result.error) {
        throw result.error;
    }
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** True when `tool` is on PATH (including /usr/sbin, which non-login shells may lack). */
export function have(tool: string): boolean {
    return spawnSync("bash", ["-c", `PATH="$PATH:/usr/sbin:/sbin" command -v ${tool}`], { encoding: "utf8" }).status === 0;
}

/** Runs `body` with a fresh temp dir and always removes it, also when the body throws. */
export function withTempDir<T>(body: (dir: string) => T): T {
    const dir = mkdtempSync(join(tmpdir(), "apiproxy-host-test-"));
    try {
        return body(dir);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/** Writes `content` below `dir` (creating parents) and returns the path. */
export function writeIn(dir: string, relativePath: string, content: string, executable = false): string {
    const path = join(dir, relativePath.replace(/^\/+/, ""));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    if (executable) {
        chmodSync(path, 0o755);
    }
    return path;
}

export function findFile(files: readonly HostFile[], path: string): HostFile {
    const found = files.find((f) => f.path === path);
    if (!found) {
        throw new Error(`no HostFile ${path} among ${files.map((f) => f.path).join(", ")}`);
    }
    return found;
}

/**
 * Lines (trimmed) that are directives, i.e. not blank and not comments, whose previous
 * line is not a comment citing a control. Empty result = every directive is cited.
 */
export function uncitedDirectives(content: string, isDirective: (line: string) => boolean = () => true): string[] {
    const all = content.split("\n").map((line) => line.trim());
    const uncited: string[] = [];
    all.forEach((line, index) => {
        if (line === "" || line.startsWith("#") || !isDirective(line)) {
            return;
        }
        const previous = all[index - 1] ?? "";
        if (!(previous.startsWith("#") && CONTROL_PATTERN.test(previous))) {
            uncited.push(line);
        }
    });
    return uncited;
}

/** The lines of one `[Section]` of a systemd unit. */
export function unitSection(content: string, section: string): string[] {
    const out: string[] = [];
    let inside = false;
    for (const line of content.split("\n")) {
        if (/^\[.*\]$/.test(line)) {
            inside = line === `[${section}]`;
            continue;
        }
        if (inside) {
            out.push(line);
        }
    }
    return out;
}

/** All values of a systemd directive (a directive may repeat). */
export function unitValues(content: string, key: string): string[] {
    return content.split("\n").filter((line) => line.startsWith(`${key}=`)).map((line) => line.slice(key.length + 1));
}
