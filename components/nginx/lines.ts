/**
 * Tiny text builder shared by the nginx renderers: every directive that encodes a security
 * decision is emitted with the control it satisfies as a trailing `# <control>` comment.
 */

const INDENT = "    ";

/** A directive line, terminated by `;`, with an optional control comment. */
export function directive(text: string, control?: string): string {
    return control === undefined ? `${text};` : `${text};  # ${control}`;
}

/** A block `header { ... }` with its body indented one level. */
export function block(header: string, body: readonly string[], control?: string): string[] {
    const open = control === undefined ? `${header} {` : `${header} {  # ${control}`;
    return [open, ...indent(body), "}"];
}

export function indent(lines: readonly string[]): string[] {
    return lines.map((line) => (line === "" ? "" : INDENT + line));
}

export function comment(text: string): string {
    return `# ${text}`;
}

/** Joins rendered lines into file content with a trailing newline and a provenance header. */
export function fileContent(title: string, lines: readonly string[]): string {
    return [
        `# ${title}`,
        "# Rendered by components/nginx (api-proxy-security). Do not edit on the host:",
        "# changes are overwritten on the next deployment.",
        "",
        ...lines,
        "",
    ].join("\n");
}

/** nginx size literal from bytes: whole megabytes as "Nm", whole kilobytes as "Nk", else bytes. */
export function sizeLiteral(bytes: number): string {
    if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}m`;
    if (bytes % 1024 === 0) return `${bytes / 1024}k`;
    return String(bytes);
}

/** nginx-safe identifier from a [a-z0-9-]+ name ("orders-v1" -> "orders_v1"). */
export function identifier(name: string): string {
    return name.replace(/-/g, "_");
}
