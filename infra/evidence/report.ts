/**
 * The evidence report of one stack: one row per control of the catalogue
 * (components/core/controls.ts) with its three proofs -
 *   provisioned  where the stack sets it (the rendered file and line, or the resource property),
 *   enforced     the policies that guard it and their verdict on this stack,
 *   verified     the live check that proved it on the running stack, its result and time,
 * and the totals per column. Pure: the caller gathers host files, resources, verdicts and the
 * last verify results; this module only judges and formats (Markdown, a standalone HTML page,
 * JSON).
 */
import { CONTROLS, type Control, type FileProvision, type Provision } from "../../components/core/controls";
import type { HostFile } from "../../components/core/host-file";

export interface EvidenceInput {
    readonly stack: string;
    readonly target: string;
    readonly generatedAt: string;
    /** Host name -> the files it receives. */
    readonly hostFiles: Readonly<Record<string, readonly HostFile[]>>;
    /** The stack's resources (type + inputs). */
    readonly resources: readonly { readonly type: string; readonly props: Record<string, unknown> }[];
    /** Policy name -> its verdict on this stack ("pass" | "fail"); absent: not evaluated. */
    readonly verdicts: Readonly<Record<string, "pass" | "fail">>;
    /** Live check id -> its last result from `npm run verify -- <stack> --json`; absent: not run. */
    readonly liveChecks?: Readonly<Record<string, { readonly status: "pass" | "fail"; readonly at: string; readonly detail?: string }>>;
}

export interface ProvisionEvidence {
    readonly where: string;
    readonly found: boolean;
    /** Nothing to provision: the stack does not use the feature the control guards (Control.onlyWhen). */
    readonly notApplicable?: string;
}

export interface EvidenceRow {
    readonly id: string;
    readonly title: string;
    readonly level: Control["level"];
    readonly sources: readonly string[];
    readonly provisioned: readonly ProvisionEvidence[];
    readonly enforced: readonly { readonly policy: string; readonly verdict: "pass" | "fail" | "not evaluated" }[];
    readonly verified:
        | { readonly kind: "check"; readonly check: string; readonly status: "pass" | "fail" | "not run"; readonly at?: string; readonly detail?: string }
        | { readonly kind: "not live"; readonly reason: string };
    /** Each column's outcome for this control. */
    readonly columns: { readonly provisioned: boolean; readonly enforced: boolean; readonly verified: boolean };
}

export interface Evidence {
    readonly stack: string;
    readonly target: string;
    readonly generatedAt: string;
    readonly rows: readonly EvidenceRow[];
    readonly totals: { readonly controls: number; readonly provisioned: number; readonly enforced: number; readonly verified: number };
}

/** The value at a dotted property path ("metadataOptions.httpTokens", "blockDeviceMappings.0.ebs.encrypted"). */
export function propertyAt(props: Record<string, unknown>, dotted: string): unknown {
    return dotted.split(".").reduce<unknown>((value, key) => (value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined), props);
}

function fileEvidence(p: FileProvision, hostFiles: EvidenceInput["hostFiles"]): ProvisionEvidence {
    const pattern = new RegExp(p.pattern, "m");
    for (const [host, files] of Object.entries(hostFiles)) {
        const file = files.find((f) => f.path === p.file);
        const match = file ? pattern.exec(file.content) : null;
        if (file && match) {
            const line = file.content.slice(0, match.index).split("\n").length;
            return { where: `${host}:${p.file}:${line}`, found: true };
        }
    }
    return { where: p.file, found: false };
}

function provisionEvidence(p: Provision, input: EvidenceInput): ProvisionEvidence {
    if ("file" in p) return fileEvidence(p, input.hostFiles);
    const found = input.resources.some((r) => r.type === p.resource && propertyAt(r.props, p.property) !== undefined);
    return { where: `${p.resource} ${p.property}`, found };
}

export function buildEvidence(input: EvidenceInput): Evidence {
    const rows = CONTROLS.map((control): EvidenceRow => {
        const found = control.provisioned.map((p) => provisionEvidence(p, input));
        // An AWS resource's control has nothing to provision on the local and inventory targets.
        const awsOnly = control.provisioned.every((p) => "resource" in p && p.resource.startsWith("aws:"));
        const provisioned = awsOnly && input.target !== "aws"
            ? found.map((p) => ({ ...p, notApplicable: `an AWS resource; this stack's target is ${input.target}` }))
            : control.onlyWhen !== undefined && found.every((p) => !p.found)
                ? found.map((p) => ({ ...p, notApplicable: `only when ${control.onlyWhen}; this stack does not` }))
                : found;
        const enforced = control.enforcedBy.map((policy) => ({ policy, verdict: input.verdicts[policy] ?? ("not evaluated" as const) }));
        const verified: EvidenceRow["verified"] = "check" in control.verifiedBy
            ? (() => {
                const check = control.verifiedBy.check;
                const result = input.liveChecks?.[check];
                return result
                    ? { kind: "check" as const, check, status: result.status, at: result.at, ...(result.detail ? { detail: result.detail } : {}) }
                    : { kind: "check" as const, check, status: "not run" as const };
            })()
            : { kind: "not live", reason: control.verifiedBy.notLive };
        return {
            id: control.id, title: control.title, level: control.level,
            sources: control.sources.map((s) => (s.checked ? s.ref : `${s.ref} (unverified)`)),
            provisioned, enforced, verified,
            columns: {
                provisioned: provisioned.every((p) => p.found || p.notApplicable !== undefined),
                // An advisory policy reports by design (e.g. each declared public route): its control is enforced when the policy ran.
                enforced: enforced.every((e) => e.verdict === "pass" || (control.level === "advisory" && e.verdict === "fail")),
                verified: verified.kind === "check" && verified.status === "pass",
            },
        };
    });
    const count = (column: keyof EvidenceRow["columns"]) => rows.filter((r) => r.columns[column]).length;
    return {
        stack: input.stack, target: input.target, generatedAt: input.generatedAt, rows,
        totals: { controls: rows.length, provisioned: count("provisioned"), enforced: count("enforced"), verified: count("verified") },
    };
}

export function percent(part: number, whole: number): string {
    return whole === 0 ? "0%" : `${Math.round((100 * part) / whole)}%`;
}

function verifiedText(row: EvidenceRow): string {
    if (row.verified.kind === "not live") return `not live: ${row.verified.reason}`;
    return `${row.verified.check}: ${row.verified.status}${row.verified.at ? ` (${row.verified.at})` : ""}`;
}

const mdCell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function renderMarkdown(evidence: Evidence): string {
    const t = evidence.totals;
    const lines = [
        `# Evidence: stack \`${evidence.stack}\` (target ${evidence.target})`,
        "",
        `Generated ${evidence.generatedAt} from the controls catalogue (components/core/controls.ts).`,
        "",
        `| | provisioned | enforced | verified live |`,
        `| --- | ---: | ---: | ---: |`,
        `| controls (${t.controls}) | ${t.provisioned} (${percent(t.provisioned, t.controls)}) | ${t.enforced} (${percent(t.enforced, t.controls)}) | ${t.verified} (${percent(t.verified, t.controls)}) |`,
        "",
        "| control | level | sources | provisioned | enforced by (verdict) | verified |",
        "| --- | --- | --- | --- | --- | --- |",
        ...evidence.rows.map((r) => `| ${mdCell(`${r.id}: ${r.title}`)} | ${r.level} | ${mdCell(r.sources.join("; "))} | ${mdCell(r.provisioned.map((p) => (p.notApplicable ? `n/a (${p.notApplicable})` : `${p.found ? "yes" : "MISSING"} ${p.where}`)).join("; "))} | ${mdCell(r.enforced.map((e) => `${e.policy} (${e.verdict})`).join("; "))} | ${mdCell(verifiedText(r))} |`),
        "",
    ];
    return lines.join("\n");
}

const html = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function renderHtml(evidence: Evidence): string {
    const t = evidence.totals;
    const mark = (ok: boolean) => (ok ? `<span class="ok">&#10003;</span>` : `<span class="no">&#10007;</span>`);
    const rows = evidence.rows.map((r) => `<tr data-control="${html(r.id)}" data-provisioned="${r.columns.provisioned}" data-enforced="${r.columns.enforced}" data-verified="${r.columns.verified}">
<td><b>${html(r.id)}</b><br>${html(r.title)}</td><td>${r.level}</td><td>${r.sources.map(html).join("<br>")}</td>
<td>${mark(r.columns.provisioned)} ${r.provisioned.map((p) => html(p.notApplicable ? `n/a (${p.notApplicable})` : p.where)).join("<br>")}</td>
<td>${mark(r.columns.enforced)} ${r.enforced.map((e) => `${html(e.policy)} (${e.verdict})`).join("<br>")}</td>
<td>${r.verified.kind === "not live" ? `<span class="na">&#8211;</span>` : mark(r.columns.verified)} ${html(verifiedText(r))}</td></tr>`).join("\n");
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evidence: ${html(evidence.stack)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.35rem .5rem;vertical-align:top;text-align:left}
th{background:#f3f3f3}.ok{color:#17753a;font-weight:bold}.no{color:#b3261e;font-weight:bold}.na{color:#777}
</style></head><body>
<h1>Evidence: stack <code>${html(evidence.stack)}</code> (target ${html(evidence.target)})</h1>
<p>Generated ${html(evidence.generatedAt)} from the controls catalogue.</p>
<table id="totals"><thead><tr><th></th><th>provisioned</th><th>enforced</th><th>verified live</th></tr></thead>
<tbody><tr><td>controls (<span id="total-controls">${t.controls}</span>)</td>
<td><span id="total-provisioned">${t.provisioned}</span> (${percent(t.provisioned, t.controls)})</td>
<td><span id="total-enforced">${t.enforced}</span> (${percent(t.enforced, t.controls)})</td>
<td><span id="total-verified">${t.verified}</span> (${percent(t.verified, t.controls)})</td></tr></tbody></table>
<h2>Controls</h2>
<table id="controls"><thead><tr><th>control</th><th>level</th><th>sources</th><th>provisioned</th><th>enforced by (verdict)</th><th>verified</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<p id="computed">Counted in the browser from the rows above: not counted (scripts off).</p>
<script>
// Recounts the totals from the rows, so a reader (and the test in a real browser) sees that
// the table and the totals agree.
(function () {
  var rows = document.querySelectorAll("#controls tbody tr[data-control]");
  var count = function (column) { return Array.prototype.filter.call(rows, function (r) { return r.getAttribute("data-" + column) === "true"; }).length; };
  var p = document.getElementById("computed");
  var totals = { controls: rows.length, provisioned: count("provisioned"), enforced: count("enforced"), verified: count("verified") };
  Object.keys(totals).forEach(function (k) { p.setAttribute("data-" + k, String(totals[k])); });
  p.textContent = "Counted in the browser from the rows above: " + totals.controls + " controls, " + totals.provisioned + " provisioned, " + totals.enforced + " enforced, " + totals.verified + " verified live.";
})();
</script>
</body></html>
`;
}
