/**
 * Listening sockets inside each host (`ss -Hltnp` in the container): the daemon each role must
 * run, on the ports the stack config gives it. A row names what is missing and what (if
 * anything) holds the port instead.
 */
import { parseHostPort } from "../../config/units";
import { hostsNotNamed, row, type CheckRow, type VerifyContext, type VerifyHost } from "../types";

/** Redis on the key store: the packaged default, loopback only (infra/targets/inventory.ts KEYSTORE_REDIS). */
const KEYSTORE_REDIS_PORT = 6379;

interface Expected {
    readonly process: string;
    readonly port: number;
}

/** ss truncates process names to the kernel's 15-character comm. */
const comm = (name: string): string => name.slice(0, 15);

export function expectedSockets(ctx: VerifyContext, host: VerifyHost): Expected[] {
    const { ports } = ctx.tier;
    switch (host.role) {
        case "proxy":
            return [ports.https, ports.mtls, ports.health].map((port) => ({ process: "nginx", port }));
        case "lb":
            return [ports.https, ports.mtls].map((port) => ({ process: "haproxy", port }));
        case "keystore":
            return [
                { process: "apiproxy-keycheck", port: parseHostPort(ctx.tier.apiKeyService)!.port },
                { process: "redis-server", port: KEYSTORE_REDIS_PORT },
            ];
        case "upstream":
            return ctx.tier.upstreams.flatMap((pool) => pool.servers.map((s) => parseHostPort(s.address)!))
                .filter((hp) => hp.host === host.address)
                .map((hp) => ({ process: "apiproxy-demo-upstream", port: hp.port }));
    }
}

/** port -> the processes listening on it (TCP). */
export function parseListeners(ss: string): Map<number, Set<string>> {
    const listeners = new Map<number, Set<string>>();
    for (const line of ss.split("\n")) {
        const columns = line.trim().split(/\s+/);
        if (columns[0] !== "LISTEN" || columns.length < 5) continue;
        const port = Number(/:(\d+)$/.exec(columns[3])?.[1]);
        if (!Number.isInteger(port)) continue;
        const names = [...line.matchAll(/\("([^"]+)",pid=/g)].map((m) => m[1]);
        const set = listeners.get(port) ?? new Set<string>();
        for (const name of names) set.add(name);
        listeners.set(port, set);
    }
    return listeners;
}

export function socketRows(ctx: VerifyContext): CheckRow[] {
    if (ctx.hosts.length === 0) return hostsNotNamed(ctx, "sockets", "ss -ltnp on each instance (Session Manager), and the NLB target group's health");
    return ctx.hosts.map((host) => {
        const expected = expectedSockets(ctx, host);
        const want = expected.map((e) => `${e.process} on ${e.port}`).join(", ");
        const remediation = `ss -ltnp on ${host.name}; systemctl status ${[...new Set(expected.map((e) => e.process))].join(" ")}; journalctl -u <unit> says why a daemon is not listening`;
        const shell = ctx.hostShell(host.name);
        if (typeof shell === "string") return row("sockets", host.name, "skip", `${shell} (expected: ${want})`, remediation);
        const result = shell(["ss", "-Hltnp"]);
        if (result.code !== 0) return row("sockets", host.name, "fail", `ss failed: ${result.stderr.trim()}`, remediation);
        const listeners = parseListeners(result.stdout);
        const missing = expected.filter((e) => !listeners.get(e.port)?.has(comm(e.process)));
        const data = { expected, listening: Object.fromEntries([...listeners].map(([port, names]) => [port, [...names]])) };
        if (missing.length === 0) return row("sockets", host.name, "pass", want, remediation, data);
        const detail = missing.map((e) => {
            const holders = [...(listeners.get(e.port) ?? [])];
            return `${e.process} not listening on ${e.port}${holders.length ? ` (held by ${holders.join(", ")})` : ""}`;
        }).join("; ");
        return row("sockets", host.name, "fail", detail, remediation, data);
    });
}
