/** Runs every group of checks in the matrix's order; a check that throws becomes a failing row, never a crash. */
import { certificateRows } from "./checks/certificates";
import { driftRows } from "./checks/drift";
import { firewallRows } from "./checks/firewall";
import { headersRow, healthRows } from "./checks/http";
import { pathMtuRow } from "./checks/network";
import { refusalRows, sshdRows, synFloodRows } from "./checks/refusals";
import { nofileRows, rateLimitRows } from "./checks/nginx";
import { socketRows } from "./checks/sockets";
import { tlsRows } from "./checks/tls";
import { unitRows } from "./checks/units";
import { row, type CheckRow, type VerifyContext } from "./types";

const GROUPS: readonly [string, (ctx: VerifyContext) => CheckRow | CheckRow[]][] = [
    ["tls-handshake", tlsRows],
    ["sockets", socketRows],
    ["response-headers", headersRow],
    ["default-deny", refusalRows("default-deny")],
    ["request-checks", refusalRows("request-checks")],
    ["body-limit", refusalRows("body-limit")],
    ["header-buffers", refusalRows("header-buffers")],
    ["encoded-paths", refusalRows("encoded-paths")],
    ["sshd", sshdRows],
    ["syn-flood", synFloodRows],
    ["health", healthRows],
    ["firewall", firewallRows],
    ["rate-limit-events", rateLimitRows],
    ["certificate-expiry", certificateRows],
    ["nofile", nofileRows],
    ["path-mtu", pathMtuRow],
    ["systemd-units", unitRows],
    ["drift", driftRows],
];

/** Every check's name, in the matrix's order (the controls catalogue's live checks are among them). */
export const CHECK_NAMES: readonly string[] = GROUPS.map(([name]) => name);

export function runChecks(ctx: VerifyContext): CheckRow[] {
    return GROUPS.flatMap(([name, check]) => {
        try {
            return check(ctx);
        } catch (err) {
            return [row(name, "verify", "fail", `the check itself failed: ${(err as Error).message.split("\n")[0]}`, "a bug in infra/verify or a host answering unexpectedly: run the check's command by hand")];
        }
    });
}
