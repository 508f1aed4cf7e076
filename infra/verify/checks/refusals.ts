/**
 * Refusals probed live from the client segment, through the load balancer, each answered by the
 * proxy itself with the product's JSON error (never an upstream's answer):
 *   default-deny     an undeclared path -> 404 not_found
 *   request-checks   an API-key route without a key -> 401
 *   body-limit       a body one MiB over the tier's limit -> 413 payload_too_large
 *   header-buffers   one header larger than a header buffer (HTTP/1.1) -> 431
 *   encoded-paths    a route path with the servlet "..;" escape -> 400
 * And host settings read inside each proxy:
 *   sshd             sshd's effective configuration (sshd -T): no root, no passwords, no keyboard-interactive
 *   syn-flood        SYN cookies on in the proxy's network namespace
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { hostsNotNamed, row, type CheckRow, type VerifyContext } from "../types";

interface Probe {
    readonly check: string;
    readonly what: string;
    readonly expected: string;
    readonly error?: string;
    readonly remediation: string;
    readonly path: string;
    readonly args: readonly string[];
}

function probes(ctx: VerifyContext): Probe[] | string {
    const stamp = randomBytes(6).toString("hex");
    const publicRoutes = ctx.outputs.routes.filter((r) => r.listeners.includes("public") && r.protocol === "http");
    const keyRoute = publicRoutes.find((r) => r.apiKeyRequired && r.methods.includes("GET"));
    const prefixRoute = publicRoutes.find((r) => !r.exact && r.methods.includes("GET"));
    const postRoute = publicRoutes.find((r) => r.methods.includes("POST"));
    if (!keyRoute || !prefixRoute || !postRoute) return "the stack declares no public API-key GET route, prefix GET route and POST route to probe";
    const routePath = (r: { path: string; exact: boolean }) => (r.exact ? r.path : `${r.path}verify-${stamp}`);
    const limits = ctx.tier.limits;
    const body = path.join(ctx.workDir, "oversized-body");
    if (!fs.existsSync(body)) fs.writeFileSync(body, Buffer.alloc(limits.maxBodySize + 1024 * 1024, 0x61), { mode: 0o600 });
    return [
        {
            check: "default-deny", what: "an undeclared path", expected: "404", error: "not_found", path: `/apiproxy-verify-undeclared-${stamp}`, args: [],
            remediation: "servers.conf's `location / { return 404; }` is the catch-all; a route declared on / or a hand-added location would break it (bin/pulumi up re-delivers)",
        },
        {
            check: "request-checks", what: `route ${keyRoute.name} without its API key`, expected: "401", error: "unauthorized", path: routePath(keyRoute), args: [],
            remediation: "the route's auth_request to the key service is missing or the key service admits everything: check routes-public.conf and the key service's log",
        },
        {
            check: "body-limit", what: `a body of ${limits.maxBodySize + 1024 * 1024} bytes to route ${postRoute.name}`, expected: "413", error: "payload_too_large",
            path: routePath(postRoute), args: ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", `@${body}`],
            remediation: "client_max_body_size (request-limits.conf and the route) must be the tier's limit: bin/pulumi up re-delivers",
        },
        {
            check: "header-buffers", what: `a ${limits.largeHeaderBufferKb + 4} KiB header (HTTP/1.1)`, expected: "431", error: "request_header_fields_too_large",
            path: routePath(prefixRoute), args: ["--http1.1", "-H", `X-Apiproxy-Verify: ${"h".repeat((limits.largeHeaderBufferKb + 4) * 1024)}`],
            remediation: "large_client_header_buffers bounds headers (request-limits.conf); errors.conf maps 494 to the JSON 431",
        },
        {
            check: "encoded-paths", what: `${prefixRoute.path}..;/ (the servlet escape)`, expected: "400", error: "bad_request",
            path: `${prefixRoute.path}..;/verify-${stamp}`, args: ["--path-as-is"],
            remediation: "every route refuses ambiguous raw paths (route-maps.conf map $request_uri $apiproxy_suspicious_uri, if in each route): bin/pulumi up re-delivers",
        },
    ];
}

/** The probe rows of one check (each check is its own row of the matrix). */
export function refusalRows(check: string): (ctx: VerifyContext) => CheckRow[] {
    return (ctx) => {
        const list = probes(ctx);
        if (typeof list === "string") return [row(check, ctx.client.label, "skip", list, "declare such routes, or probe by hand with curl")];
        return list.filter((probe) => probe.check === check).map((probe) => runProbe(ctx, probe));
    };
}

function runProbe(ctx: VerifyContext, probe: Probe): CheckRow {
    const { dnsName, httpsPort } = ctx.outputs.endpoints;
    const serverName = ctx.tier.serverName;
    const result = ctx.client.run([
        "curl", "-sS", "--max-time", "15", "--cacert", ctx.caFile, "--connect-to", `${serverName}:${httpsPort}:${dnsName}:${httpsPort}`,
        "-w", "\n%{http_code}", ...probe.args, `https://${serverName}:${httpsPort}${probe.path}`,
    ], { timeoutMs: 20_000 });
    const lines = result.stdout.trimEnd().split("\n");
    const status = lines.pop() ?? "000";
    const body = lines.join("\n");
    const error = /"error":"([a-z_]+)"/.exec(body)?.[1];
    const ok = status === probe.expected && (probe.error === undefined || error === probe.error);
    const detail = ok
        ? `${probe.what}: ${status} ${error ?? ""} from the proxy`.trim()
        : `${probe.what}: ${status === "000" ? `no answer (${result.stderr.trim().split("\n").pop()})` : `${status} ${error ?? body.slice(0, 80)}`}, expected ${probe.expected} ${probe.error ?? ""}`.trim();
    return row(probe.check, ctx.client.label, ok ? "pass" : "fail", detail, probe.remediation, { status, error: error ?? null });
}

export function sshdRows(ctx: VerifyContext): CheckRow[] {
    if (ctx.hosts.length === 0) return hostsNotNamed(ctx, "sshd", "sshd -T on each instance (Session Manager)");
    return ctx.hosts.filter((h) => h.role === "proxy").map((host) => {
        const remediation = `sshd -T on ${host.name}; the rendered /etc/ssh/sshd_config sets PermitRootLogin no, PasswordAuthentication no and keyboard-interactive off (bin/pulumi up re-delivers, sshd -t checks it first)`;
        const shell = ctx.hostShell(host.name);
        if (typeof shell === "string") return row("sshd", host.name, "skip", shell, remediation);
        const result = shell(["sshd", "-T"]);
        const settings = new Map(result.stdout.split("\n").map((l) => l.trim().split(/\s+/, 2) as [string, string]).filter(([k]) => k));
        const wrong = [["permitrootlogin", "no"], ["passwordauthentication", "no"], ["kbdinteractiveauthentication", "no"]]
            .filter(([key, want]) => settings.has(key) ? settings.get(key) !== want : key !== "kbdinteractiveauthentication" || settings.get("challengeresponseauthentication") !== "no")
            .map(([key]) => `${key} ${settings.get(key) ?? "(not reported)"}`);
        if (result.code !== 0) return row("sshd", host.name, "fail", `sshd -T failed: ${result.stderr.trim().split("\n").pop()}`, remediation);
        return wrong.length === 0
            ? row("sshd", host.name, "pass", `sshd in force: permitrootlogin no, passwordauthentication no, keyboard-interactive off; allowusers ${settings.get("allowusers") ?? "?"}`, remediation)
            : row("sshd", host.name, "fail", `sshd in force: ${wrong.join(", ")}`, remediation);
    });
}

export function synFloodRows(ctx: VerifyContext): CheckRow[] {
    if (ctx.hosts.length === 0) return hostsNotNamed(ctx, "syn-flood", "sysctl net.ipv4.tcp_syncookies on each instance (Session Manager)");
    return ctx.hosts.filter((h) => h.role === "proxy").map((host) => {
        const remediation = `sysctl net.ipv4.tcp_syncookies net.ipv4.tcp_max_syn_backlog on ${host.name}; /etc/sysctl.d/zz-apiproxy.conf sets them (sysctl --system)`;
        const shell = ctx.hostShell(host.name);
        if (typeof shell === "string") return row("syn-flood", host.name, "skip", shell, remediation);
        const result = shell(["sysctl", "-n", "net.ipv4.tcp_syncookies", "net.ipv4.tcp_max_syn_backlog"]);
        const [cookies, backlog] = result.stdout.trim().split(/\s+/);
        return cookies === "1"
            ? row("syn-flood", host.name, "pass", `tcp_syncookies 1, tcp_max_syn_backlog ${backlog} in the proxy's network namespace`, remediation)
            : row("syn-flood", host.name, "fail", `tcp_syncookies ${cookies ?? "?"}${result.code !== 0 ? ` (${result.stderr.trim()})` : ""}`, remediation);
    });
}
