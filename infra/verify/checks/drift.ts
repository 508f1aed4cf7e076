/**
 * Drift of delivered files: the HostAudit record in the stack state holds, per file, the
 * digest, mode and owner the host should have (what the delivery installed); the same facts
 * are read inside the host now (sha256sum, stat) and compared file by file - what `pulumi
 * refresh` would see, without touching the state.
 */
import { driftedPaths, type FileFacts } from "../../../components/targets/inventory/host-audit";
import { row, type CheckRow, type VerifyContext } from "../types";

/** The same facts HostAudit's read collects: "<sha256> <mode> <owner>:<group>", or "absent". */
const FACTS_SCRIPT = 'for f in "$@"; do if [ -f "$f" ]; then printf "%s %s %s\\n" "$f" "$(sha256sum < "$f" | cut -d" " -f1)" "$(stat -c "%a %U:%G" "$f")"; '
    + 'else printf "%s absent\\n" "$f"; fi; done';

export function driftRows(ctx: VerifyContext): CheckRow[] {
    if (ctx.tier.target === "aws") {
        return [row("drift", "proxies", "skip", "aws target: no HostAudit records (instances are built from the golden image or user data, never delivered to over SSH)",
            "rebuild drifted instances from the image (instance refresh) rather than repairing them by hand")];
    }
    return ctx.hosts.map((host) => {
        const expected: FileFacts = ctx.audits[host.name] ?? {};
        const remediation = `bin/pulumi refresh -s ${ctx.stack} records the drift and bin/pulumi up -s ${ctx.stack} delivers the rendered files again (validated, then reloaded); find who edited the host`;
        const paths = Object.keys(expected).sort();
        if (paths.length === 0) return row("drift", host.name, "fail", `no HostAudit record for ${host.name} in the stack state`, `bin/pulumi up -s ${ctx.stack} creates it`);
        const shell = ctx.hostShell(host.name);
        if (typeof shell === "string") return row("drift", host.name, "skip", `${shell} (${paths.length} files recorded)`, remediation);
        const result = shell(["sh", "-c", FACTS_SCRIPT, "facts", ...paths]);
        const observed: FileFacts = {};
        for (const line of result.stdout.split("\n")) {
            const m = /^(\S+) (.+)$/.exec(line);
            if (m && paths.includes(m[1])) observed[m[1]] = m[2];
        }
        const drifted = driftedPaths(expected, observed);
        const describe = (p: string) => {
            const [want, got] = [expected[p] ?? "absent", observed[p] ?? "absent"];
            if (got === "absent") return `${p} missing`;
            const [ws, wm, wo] = want.split(" ");
            const [gs, gm, go] = got.split(" ");
            return `${p} (${[ws !== gs ? "content" : "", wm !== gm ? `mode ${gm}, want ${wm}` : "", wo !== go ? `owner ${go}, want ${wo}` : ""].filter(Boolean).join(", ")})`;
        };
        return drifted.length === 0
            ? row("drift", host.name, "pass", `${paths.length} delivered file(s) match the rendered digest, mode and owner`, remediation, { files: paths.length })
            : row("drift", host.name, "fail", `${drifted.length} of ${paths.length} drifted: ${drifted.map(describe).join("; ")}`, remediation, { drifted });
    });
}
