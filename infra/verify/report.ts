/** The table for people and the JSON for machines; neither ever holds a secret (rows carry measurements only). */
import type { CheckRow, Status } from "./types";

export interface VerifyReport {
    readonly stack: string;
    readonly target: string;
    /** When the rows were measured (ISO 8601). */
    readonly at: string;
    /** True when no row failed (skipped rows are listed, never counted as passes). */
    readonly ok: boolean;
    readonly summary: Record<Status, number>;
    readonly rows: readonly CheckRow[];
}

export function buildReport(stack: string, target: string, rows: readonly CheckRow[]): VerifyReport {
    const summary: Record<Status, number> = { pass: 0, fail: 0, skip: 0 };
    for (const r of rows) summary[r.status]++;
    return { stack, target, at: new Date().toISOString(), ok: summary.fail === 0, summary, rows };
}

export function formatTable(report: VerifyReport): string {
    const header = ["STATUS", "CHECK", "HOST", "DETAIL"];
    const cells = report.rows.map((r) => [r.status.toUpperCase(), r.check, r.id.slice(r.check.length + 1), r.detail]);
    const widths = header.slice(0, 3).map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c: readonly string[]) => [...c.slice(0, 3).map((v, i) => v.padEnd(widths[i])), c[3]].join("  ").trimEnd();
    const out = [`verify ${report.stack} (target ${report.target}), ${report.at}`, "", line(header)];
    for (const [i, r] of report.rows.entries()) {
        out.push(line(cells[i]));
        // The fix where it is needed; --json carries every row's remediation.
        if (r.status !== "pass") out.push(`${" ".repeat(widths[0] + 2)}-> ${r.remediation}`);
    }
    out.push("", `${report.summary.pass} passed, ${report.summary.fail} failed, ${report.summary.skip} not measurable on this target (SKIP)`,
        report.ok ? "verify: OK" : `verify: FAILED (${report.rows.filter((r) => r.status === "fail").map((r) => r.id).join(", ")})`);
    return `${out.join("\n")}\n`;
}
