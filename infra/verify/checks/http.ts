/**
 * HTTP rows. Headers: from the client segment through the load balancer, on a proxied answer of
 * the first public GET route (200 with the stack's test API key, else that route's 401) and on
 * a default-deny 404: no version in Server, no X-Powered-By, and HSTS, X-Content-Type-Options,
 * X-Frame-Options and Content-Security-Policy on each (OWASP ASVS 14.4, 14.3.3). Health: each
 * proxy's status endpoint, from the load balancer's own network (the only place allowed to
 * reach it), as the load balancer's health check sees it.
 */
import { randomBytes } from "node:crypto";
import type { CommandResult } from "../exec";
import { hostsNotNamed, row, type CheckRow, type VerifyContext } from "../types";

interface Answer {
    readonly what: string;
    readonly path: string;
    readonly expected: string;
    readonly withKey: boolean;
}

/** Header block of the last response curl printed (`-D -`), names lower-cased. */
function parseHeaders(result: CommandResult): { status: string; headers: Map<string, string> } {
    const blocks = result.stdout.split(/\r?\n\r?\n/).filter((b) => /^HTTP\//.test(b));
    const last = blocks.at(-1) ?? "";
    const [statusLine, ...lines] = last.split(/\r?\n/);
    const headers = new Map<string, string>();
    for (const line of lines) {
        const at = line.indexOf(":");
        if (at > 0) headers.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
    }
    return { status: /^HTTP\/[\d.]+ (\d{3})/.exec(statusLine ?? "")?.[1] ?? "000", headers };
}

/** What is wrong with one answer's headers (empty when all is well). */
export function headerProblems(headers: ReadonlyMap<string, string>): string[] {
    const problems: string[] = [];
    const server = headers.get("server");
    if (server !== undefined && /\d/.test(server)) problems.push(`Server discloses a version (${server})`);
    if (headers.has("x-powered-by")) problems.push("X-Powered-By present");
    const hsts = /max-age=(\d+)/.exec(headers.get("strict-transport-security") ?? "");
    if (!hsts || Number(hsts[1]) < 31_536_000) problems.push("Strict-Transport-Security missing or under a year");
    if ((headers.get("x-content-type-options") ?? "").toLowerCase() !== "nosniff") problems.push("X-Content-Type-Options nosniff missing");
    if (!/^(deny|sameorigin)$/i.test(headers.get("x-frame-options") ?? "")) problems.push("X-Frame-Options missing");
    if (!headers.get("content-security-policy")) problems.push("Content-Security-Policy missing");
    return problems;
}

export function headersRow(ctx: VerifyContext): CheckRow {
    const { dnsName, httpsPort } = ctx.outputs.endpoints;
    const serverName = ctx.tier.serverName;
    const route = ctx.outputs.routes.find((r) => r.listeners.includes("public") && r.protocol === "http" && r.methods.includes("GET"));
    const answers: Answer[] = [
        { what: "default deny", path: `/apiproxy-verify-${randomBytes(6).toString("hex")}`, expected: "404", withKey: false },
    ];
    if (route) {
        const withKey = route.apiKeyRequired && ctx.apiKeyHeaderFile !== undefined;
        answers.unshift({
            what: `route ${route.name}`, path: route.exact ? route.path : `${route.path}1`,
            // Without the test key an API-key route answers 401 locally: still an answer to check.
            expected: !route.apiKeyRequired || withKey ? "200" : "401", withKey,
        });
    }
    const problems: string[] = [];
    const seen: string[] = [];
    const data: Record<string, unknown> = {};
    for (const answer of answers) {
        const result = ctx.client.run([
            "curl", "-sS", "-o", "/dev/null", "-D", "-", "--max-time", "10", "--cacert", ctx.caFile,
            "--connect-to", `${serverName}:${httpsPort}:${dnsName}:${httpsPort}`,
            ...(answer.withKey ? ["-H", `@${ctx.apiKeyHeaderFile}`] : []),
            `https://${serverName}:${httpsPort}${answer.path}`,
        ], { timeoutMs: 15_000 });
        const { status, headers } = parseHeaders(result);
        data[answer.what] = { status, server: headers.get("server") ?? null };
        if (result.code !== 0 && status === "000") {
            problems.push(`${answer.what}: no answer (${result.stderr.trim().split("\n").pop()})`);
            continue;
        }
        if (status !== answer.expected) problems.push(`${answer.what}: ${status}, expected ${answer.expected}`);
        const wrong = headerProblems(headers);
        if (wrong.length) problems.push(`${answer.what} (${status}): ${wrong.join(", ")}`);
        else seen.push(`${status} (${answer.what})`);
    }
    const remediation = "security-headers.conf is included at server level only: a location with its own add_header drops them; server_tokens off hides the version; proxy_hide_header X-Powered-By on proxied routes (bin/pulumi up re-delivers the rendered files)";
    return problems.length === 0
        ? row("response-headers", ctx.client.label, "pass", `no Server version, no X-Powered-By, HSTS + X-Content-Type-Options + X-Frame-Options + CSP on ${seen.join(" and ")}`, remediation, data)
        : row("response-headers", ctx.client.label, "fail", problems.join("; "), remediation, data);
}

export function healthRows(ctx: VerifyContext): CheckRow[] {
    const proxies = ctx.hosts.filter((h) => h.role === "proxy");
    const lb = ctx.hosts.find((h) => h.role === "lb");
    const { port, path } = ctx.outputs.health;
    const rows: CheckRow[] = [];
    if (proxies.length === 0) return hostsNotNamed(ctx, "health", "aws elbv2 describe-target-health --target-group-arn <the pair's target groups>: the NLB's own health checks of each proxy");
    for (const proxy of proxies) {
        const remediation = `curl http://${proxy.address}:${port}${path} from the load balancer; systemctl status nginx on ${proxy.name}; the proxy's firewall admits the health port from the load balancer only`;
        const network = lb ? ctx.hostNetwork(lb.name) : "no load balancer host in this stack";
        if (typeof network === "string") {
            rows.push(row("health", proxy.name, "skip", network, remediation));
            continue;
        }
        const result = network(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3", `http://${proxy.address}:${port}${path}`], { timeoutMs: 6000 });
        const status = result.stdout.trim();
        rows.push(status === "200"
            ? row("health", proxy.name, "pass", `http://${proxy.address}:${port}${path} answers 200 from ${lb!.name}`, remediation, { status })
            : row("health", proxy.name, "fail", `http://${proxy.address}:${port}${path} from ${lb!.name}: ${status === "000" || !status ? result.stderr.trim().split("\n").pop() : status}`, remediation, { status }));
    }
    return rows;
}
