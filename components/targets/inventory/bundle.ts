/**
 * The wire form of HostFiles for apply-host-files.sh: one header line per file
 * (FILE, path, mode, owner, group, action, tab-separated) then its content as one base64 line.
 * Pure; the delivery sends it as the remote command's stdin, so secret file contents travel
 * only inside the SSH channel and are never part of a command line.
 */
import { ACTION_ORDER, hostFile, type HostFile } from "../../core/host-file";

const NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

export function encodeBundle(files: readonly HostFile[]): string {
    const seen = new Set<string>();
    return files.map((file) => {
        hostFile(file);
        if (/[\t\n\r]/.test(file.path)) throw new Error(`HostFile path must not contain tabs or newlines: ${JSON.stringify(file.path)}`);
        if (!NAME.test(file.owner) || !NAME.test(file.group)) throw new Error(`HostFile ${file.path}: owner/group must be user names, got ${file.owner}:${file.group}`);
        if (!ACTION_ORDER.includes(file.action)) throw new Error(`HostFile ${file.path}: unknown action ${file.action}`);
        if (seen.has(file.path)) throw new Error(`HostFile ${file.path} appears twice in one delivery`);
        seen.add(file.path);
        const content = Buffer.from(file.content, "utf8").toString("base64");
        return `FILE\t${file.path}\t${file.mode}\t${file.owner}\t${file.group}\t${file.action}\n${content}\n`;
    }).join("");
}
