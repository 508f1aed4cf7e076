/**
 * TLS rows, measured from the client segment with openssl s_client against the load balancer
 * (the way a client connects): each listener completes a handshake at the configured protocols
 * only, the chain verifies against the stack's own CA output (caBundlePem) for serverName, and
 * TLS 1.1 / 1.0 are refused by the server itself (its protocol_version alert: a client that
 * never offered them would prove nothing). NIST SP 800-52r2 3.1.
 */
import type { CommandResult } from "../exec";
import { row, type CheckRow, type VerifyContext } from "../types";

const MODERN = ["TLSv1.2", "TLSv1.3"] as const;
const LEGACY = [["TLSv1.1", "-tls1_1"], ["TLSv1", "-tls1"]] as const;

function sClient(ctx: VerifyContext, port: number, extra: readonly string[]): CommandResult {
    const { dnsName } = ctx.outputs.endpoints;
    return ctx.client.run([
        "openssl", "s_client", "-connect", `${dnsName}:${port}`, "-servername", ctx.tier.serverName, "-CAfile", ctx.caFile,
        "-verify_hostname", ctx.tier.serverName, "-verify_return_error", "-brief", ...extra,
    ], { timeoutMs: 10_000 });
}

function field(output: string, name: string): string | undefined {
    return new RegExp(`^${name}: (.+)$`, "m").exec(output)?.[1]?.trim();
}

export function tlsRow(ctx: VerifyContext, port: number): CheckRow {
    const problems: string[] = [];
    const seen: string[] = [];
    const configured = new Set<string>(ctx.tier.tls.protocols);
    // The default offer (the newest the client and server share), then each approved version alone.
    const negotiated = sClient(ctx, port, []);
    const output = `${negotiated.stdout}${negotiated.stderr}`;
    const protocol = field(output, "Protocol version");
    if (negotiated.code !== 0 || field(output, "Verification") !== "OK") {
        problems.push(`handshake or chain verification failed: ${output.split("\n").filter((l) => /error|verif/i.test(l)).slice(0, 2).join("; ") || `exit ${negotiated.code}`}`);
    } else if (!protocol || !configured.has(protocol)) {
        problems.push(`negotiated ${protocol ?? "no protocol"}, not one of ${[...configured].join(", ")}`);
    } else {
        seen.push(`negotiated ${protocol}, chain verified for ${field(output, "Verified peername") ?? ctx.tier.serverName} against caBundlePem`);
    }
    const alone: string[] = [];
    for (const version of MODERN) {
        const flag = version === "TLSv1.2" ? "-tls1_2" : "-tls1_3";
        const attempt = sClient(ctx, port, [flag]);
        const text = `${attempt.stdout}${attempt.stderr}`;
        const accepted = attempt.code === 0 && field(text, "Protocol version") === version && field(text, "Verification") === "OK";
        if (configured.has(version) && !accepted) problems.push(`${version} (configured) refused`);
        if (!configured.has(version) && accepted) problems.push(`${version} (not configured) accepted`);
        if (accepted) alone.push(`${version} ${field(text, "Ciphersuite") ?? ""}`.trim());
    }
    if (alone.length) seen.push(`each offered alone: ${alone.join(", ")}`);
    const refused: string[] = [];
    for (const [version, flag] of LEGACY) {
        // SECLEVEL=0: this machine's OpenSSL would otherwise not offer these versions at all.
        const attempt = sClient(ctx, port, [flag, "-cipher", "DEFAULT@SECLEVEL=0"]);
        const text = `${attempt.stdout}${attempt.stderr}`;
        if (attempt.code === 0 && /CONNECTION ESTABLISHED/.test(text)) {
            problems.push(`${version} accepted`);
        } else if (/alert protocol version|unsupported protocol|wrong version number|protocol version/i.test(text)) {
            refused.push(version);
        } else {
            problems.push(`${version}: no verdict from the server (${text.split("\n").find((l) => /error/.test(l))?.trim() ?? `exit ${attempt.code}`})`);
        }
    }
    if (refused.length) seen.push(`${refused.join(", ")} refused by the server (protocol_version alert)`);
    const remediation = `openssl s_client -connect ${ctx.outputs.endpoints.dnsName}:${port} -servername ${ctx.tier.serverName} -CAfile <caBundlePem> from the client side; ` +
        "check the proxies' ssl_protocols (tls.conf) and that the served chain is the stack's (bin/pulumi up re-delivers it); a refused handshake on every version means nginx or the load balancer is down";
    return problems.length === 0
        ? row("tls-handshake", ctx.client.label, "pass", seen.join("; "), remediation, { port, protocol, accepted: alone, refused }, String(port))
        : row("tls-handshake", ctx.client.label, "fail", [...problems, ...seen].join("; "), remediation, { port, protocol, problems }, String(port));
}

export function tlsRows(ctx: VerifyContext): CheckRow[] {
    return [ctx.outputs.endpoints.httpsPort, ctx.outputs.endpoints.mtlsPort].map((port) => tlsRow(ctx, port));
}
