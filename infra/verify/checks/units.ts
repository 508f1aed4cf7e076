/**
 * systemd unit state inside each host: the role's daemons (nginx on proxies, haproxy on the
 * load balancer, the key service and Redis on the key store) and every service unit the stack
 * delivered there (from the host's HostAudit record: the upstream units, the key service).
 * Each must be active (running) and enabled, so a reboot brings it back. nginx must also run
 * with the sandbox its unit declares, as systemd applied it (not only as rendered): an
 * unprivileged User, CapabilityBoundingSet cap_net_bind_service only, NoNewPrivileges,
 * ProtectSystem=strict.
 */
import { redisUnit } from "../../../components/targets/inventory/roles";
import { hostsNotNamed, row, type CheckRow, type VerifyContext, type VerifyHost } from "../types";

function roleUnits(host: VerifyHost): string[] {
    switch (host.role) {
        case "proxy":
            return ["nginx.service"];
        case "lb":
            return ["haproxy.service"];
        case "keystore":
            return ["apiproxy-keycheck.service", `${redisUnit(host.os)}.service`];
        case "upstream":
            return [];
    }
}

export function unitsOf(ctx: VerifyContext, host: VerifyHost): string[] {
    const delivered = Object.keys(ctx.audits[host.name] ?? {})
        .map((p) => /^\/etc\/systemd\/system\/([^/]+\.service)$/.exec(p)?.[1])
        .filter((u): u is string => u !== undefined);
    return [...new Set([...roleUnits(host), ...delivered])].sort();
}

/** `systemctl show` blocks (blank-line separated) -> properties per unit Id. */
export function parseShow(text: string): Map<string, Record<string, string>> {
    const units = new Map<string, Record<string, string>>();
    for (const block of text.split(/\n\s*\n/)) {
        const props: Record<string, string> = {};
        for (const line of block.split("\n")) {
            const at = line.indexOf("=");
            if (at > 0) props[line.slice(0, at)] = line.slice(at + 1);
        }
        if (props.Id) units.set(props.Id, props);
    }
    return units;
}

/** What systemd applied to nginx that is weaker than its hardened unit. */
export function sandboxProblems(p: Record<string, string>): string[] {
    const problems: string[] = [];
    if (!p.User || p.User === "root" || p.User === "0") problems.push(`nginx runs as ${p.User || "root"}`);
    if (p.NoNewPrivileges !== "yes") problems.push(`nginx NoNewPrivileges=${p.NoNewPrivileges ?? "?"}`);
    if (p.ProtectSystem !== "strict") problems.push(`nginx ProtectSystem=${p.ProtectSystem ?? "?"}`);
    if ((p.CapabilityBoundingSet ?? "").trim() !== "cap_net_bind_service") problems.push(`nginx CapabilityBoundingSet=${p.CapabilityBoundingSet ?? "?"}`);
    return problems;
}

export function unitRows(ctx: VerifyContext): CheckRow[] {
    if (ctx.hosts.length === 0) return hostsNotNamed(ctx, "systemd-units", "systemctl status nginx on each instance (Session Manager)");
    return ctx.hosts.map((host) => {
        const units = unitsOf(ctx, host);
        const remediation = `systemctl status ${units.join(" ")} and journalctl -u <unit> on ${host.name}; systemctl enable --now <unit> (bin/pulumi up re-runs the delivery, which does)`;
        const shell = ctx.hostShell(host.name);
        if (typeof shell === "string") return row("systemd-units", host.name, "skip", `${shell} (units: ${units.join(", ")})`, remediation);
        const result = shell(["systemctl", "show", "--property=Id,ActiveState,SubState,UnitFileState,NRestarts,User,NoNewPrivileges,ProtectSystem,CapabilityBoundingSet", ...units]);
        const shown = parseShow(result.stdout);
        const states = units.map((unit) => {
            const p = shown.get(unit) ?? {};
            return { unit, active: p.ActiveState ?? "unknown", sub: p.SubState ?? "unknown", enabled: p.UnitFileState ?? "unknown", restarts: Number(p.NRestarts ?? 0) };
        });
        const bad = states.filter((s) => s.active !== "active" || s.sub !== "running" || s.enabled !== "enabled");
        const describe = (s: (typeof states)[number]) => `${s.unit.replace(/\.service$/, "")} ${s.active} (${s.sub}), ${s.enabled}${s.restarts ? `, ${s.restarts} restart(s)` : ""}`;
        const sandbox = host.role === "proxy" ? sandboxProblems(shown.get("nginx.service") ?? {}) : [];
        const detail = [...(bad.length === 0 ? states : bad).map(describe), ...(host.role === "proxy" && sandbox.length === 0 ? ["nginx sandbox in force (unprivileged user, cap_net_bind_service only, NoNewPrivileges, ProtectSystem=strict)"] : sandbox)].join("; ");
        return bad.length === 0 && sandbox.length === 0
            ? row("systemd-units", host.name, "pass", detail, remediation, { units: states })
            : row("systemd-units", host.name, "fail", detail, remediation, { units: states });
    });
}
