/**
 * Days to expiry of the server certificate: the one the load balancer's listener serves (client
 * view) and the one installed on each proxy (CERTIFICATE_PATHS.serverCertificate). Below
 * `minCertDays` a row fails; inside the renewal window it passes and says `pulumi up` is due
 * (the PKI rotates the certificate then: certificateRotation.earlyRenewalDays).
 */
import { X509Certificate } from "node:crypto";
import { CERTIFICATE_PATHS } from "../../spec/host-paths";
import { row, type CheckRow, type VerifyContext } from "../types";

const DAY_MS = 86_400_000;

function firstCertificate(pem: string): X509Certificate | undefined {
    const block = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
    if (!block) return undefined;
    try {
        return new X509Certificate(block);
    } catch {
        return undefined;
    }
}

function expiryRow(ctx: VerifyContext, host: string, source: string, pem: string | undefined, why: string, remediation: string): CheckRow {
    const cert = pem === undefined ? undefined : firstCertificate(pem);
    if (!cert) return row("certificate-expiry", host, "fail", `no server certificate from ${source}: ${why}`, remediation);
    const notAfter = new Date(cert.validTo);
    const days = Math.floor((notAfter.getTime() - Date.now()) / DAY_MS);
    const subject = cert.subject.split("\n").find((l) => l.startsWith("CN=")) ?? cert.subject;
    const renewal = ctx.outputs.certificateRotation.earlyRenewalDays;
    const note = days < renewal ? `; inside the ${renewal}-day renewal window: run bin/pulumi up -s ${ctx.stack} to rotate it` : "";
    const data = { days, notAfter: notAfter.toISOString(), subject, fingerprint256: cert.fingerprint256, source };
    return days < ctx.options.minCertDays
        ? row("certificate-expiry", host, "fail", `${subject} from ${source} expires in ${days} day(s) (${notAfter.toISOString()}), under the ${ctx.options.minCertDays}-day threshold`, remediation, data)
        : row("certificate-expiry", host, "pass", `${subject} from ${source}: ${days} days left (notAfter ${notAfter.toISOString()})${note}`, remediation, data);
}

export function certificateRows(ctx: VerifyContext): CheckRow[] {
    const remediation = `bin/pulumi up -s ${ctx.stack} renews the server certificate inside its renewal window and reloads nginx; a proxy still serving an old one after that was not reloaded (systemctl reload nginx)`;
    const { dnsName, httpsPort } = ctx.outputs.endpoints;
    const served = ctx.client.run(["openssl", "s_client", "-connect", `${dnsName}:${httpsPort}`, "-servername", ctx.tier.serverName, "-showcerts"], { timeoutMs: 10_000 });
    const rows = [expiryRow(ctx, ctx.client.label, `${dnsName}:${httpsPort}`, served.stdout, served.stderr.trim().split("\n").pop() ?? "", remediation)];
    for (const host of ctx.hosts.filter((h) => h.role === "proxy")) {
        const shell = ctx.hostShell(host.name);
        if (typeof shell === "string") {
            rows.push(row("certificate-expiry", host.name, "skip", shell, remediation));
            continue;
        }
        const file = shell(["cat", CERTIFICATE_PATHS.serverCertificate]);
        rows.push(expiryRow(ctx, host.name, CERTIFICATE_PATHS.serverCertificate, file.code === 0 ? file.stdout : undefined, file.stderr.trim(), remediation));
    }
    return rows;
}
