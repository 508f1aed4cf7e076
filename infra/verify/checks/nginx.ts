/**
 * nginx on each proxy. Rate-limit events: the 429 answers in the access log since it was last
 * rotated (sampled: each line stands for its sample_rate refusals), split by what refused them
 * (limit_req, limit_conn, the key service's per-key limit) - informational, the row passes with
 * the counts. Open files: the limits in force for the master
 * (/proc/<pid>/limits) against the unit's LimitNOFILE, and for each worker against
 * worker_rlimit_nofile. A master under LimitNOFILE passes only where the delivery reported
 * exactly that shortfall as not applicable on the host (a container under this machine's hard
 * limit), and the row says so.
 */
import * as path from "node:path";
import { LOG_DIRECTORY } from "../../spec/host-paths";
import { hostsNotNamed, row, type CheckRow, type VerifyContext, type VerifyHost } from "../types";

function proxies(ctx: VerifyContext): VerifyHost[] {
    return ctx.hosts.filter((h) => h.role === "proxy");
}

function noProxies(ctx: VerifyContext, check: string): CheckRow[] {
    return hostsNotNamed(ctx, check, "run the row's command on each instance (Session Manager)");
}

export function rateLimitRows(ctx: VerifyContext): CheckRow[] {
    if (proxies(ctx).length === 0) return noProxies(ctx, "rate-limit-events");
    const accessLog = path.posix.join(LOG_DIRECTORY, "access.log");
    return proxies(ctx).map((host) => {
        const remediation = `grep '"status":"429"' ${accessLog} on ${host.name} names the client (each line stands for sample_rate refusals); many from one client is abuse or a too-low limits.rateLimitPerIp`;
        const shell = ctx.hostShell(host.name);
        if (typeof shell === "string") return row("rate-limit-events", host.name, "skip", shell, remediation);
        // Each 429 line stands for sample_rate refusals (logging.conf samples them); which limit refused it is in limit_req/limit_conn.
        const script = [
            'test -r "$1" || { echo "no $1" >&2; exit 3; }',
            `awk -F'"sample_rate":"' '/"status":"429"/ { n++; split($2, a, /"/); w = a[1] + 0; if (w < 1) w = 1; est += w;`
            + ` if ($0 ~ /"limit_req":"REJECTED/) req += w; else if ($0 ~ /"limit_conn":"REJECTED/) conn += w; else key += w }`
            + ` END { printf "%d %d %d %d %d\\n", n, est, req, conn, key }' "$1"`,
        ].join("\n");
        const result = shell(["sh", "-c", script, "count", accessLog]);
        const [lines, estimated, byIp, byConnections, byKey] = result.stdout.trim().split(" ").map(Number);
        if (result.code !== 0 || !Number.isInteger(lines)) {
            return row("rate-limit-events", host.name, "fail", `cannot read ${accessLog}: ${result.stderr.trim() || `exit ${result.code}`}`, `nginx logs to ${accessLog}; check the log directory exists and nginx -t passes on ${host.name}`);
        }
        return row("rate-limit-events", host.name, "pass",
            `${lines} sampled 429 line(s) in ${accessLog} stand for about ${estimated} refusal(s): ${byIp} by limit_req, ${byConnections} by limit_conn, ${byKey} by the per-key limit`, remediation,
            { sampledLines: lines, estimatedRefusals: estimated, limitReq: byIp, limitConn: byConnections, perKey: byKey });
    });
}

export function nofileRows(ctx: VerifyContext): CheckRow[] {
    if (proxies(ctx).length === 0) return noProxies(ctx, "nofile");
    return proxies(ctx).map((host) => {
        const remediation = `systemctl show -p LimitNOFILE nginx and /proc/<pid>/limits on ${host.name}; a raised LimitNOFILE needs systemctl restart nginx (a reload keeps the master's limit); above the host's hard limit, raise it there`;
        const shell = ctx.hostShell(host.name);
        if (typeof shell === "string") return row("nofile", host.name, "skip", shell, remediation);
        const script = [
            'main="$(systemctl show -p MainPID --value nginx)"',
            'echo "want $(systemctl show -p LimitNOFILE --value nginx)"',
            'echo "rlimit $(awk \'$1 == "worker_rlimit_nofile" { sub(";", "", $2); print $2; exit }\' /etc/nginx/nginx.conf)"',
            '[ "${main:-0}" -gt 0 ] || exit 0',
            'echo "master $main $(awk \'/^Max open files/ { print $4, $5 }\' /proc/$main/limits)"',
            'for p in $(pgrep -P "$main"); do echo "worker $p $(awk \'/^Max open files/ { print $4, $5 }\' /proc/$p/limits)"; done',
        ].join("\n");
        const result = shell(["sh", "-c", script]);
        const lines = result.stdout.trim().split("\n");
        const value = (key: string) => lines.find((l) => l.startsWith(`${key} `))?.split(" ")[1];
        const want = Number(value("want"));
        const rlimit = Number(value("rlimit"));
        const procs = lines.filter((l) => /^(master|worker) /.test(l)).map((l) => {
            const [kind, pid, soft, hard] = l.split(" ");
            return { kind, pid: Number(pid), soft: Number(soft), hard: Number(hard) };
        });
        const master = procs.find((p) => p.kind === "master");
        const workers = procs.filter((p) => p.kind === "worker");
        const data = { limitNofile: want, workerRlimitNofile: rlimit, processes: procs };
        if (!master) return row("nofile", host.name, "fail", "nginx is not running (no main PID)", remediation, data);
        const problems: string[] = [];
        let note = "";
        if (!(master.soft >= want)) {
            const reported = (ctx.outputs.deliveries?.[host.name]?.notApplied ?? []).some((n) => n === `nginx LimitNOFILE=${want}: runs with ${master.soft} (this host's hard limit)`);
            if (reported) note = ` (under LimitNOFILE=${want}: this host's hard limit, reported by the delivery as not applied)`;
            else problems.push(`master ${master.pid}: ${master.soft} open files, the unit asks LimitNOFILE=${want}`);
        }
        if (workers.length === 0) problems.push("no worker processes");
        for (const w of workers.filter((w) => w.soft !== rlimit)) problems.push(`worker ${w.pid}: ${w.soft} open files, worker_rlimit_nofile is ${rlimit}`);
        const summary = `master ${master.soft}/${master.hard}${note}; ${workers.length} worker(s) at ${[...new Set(workers.map((w) => w.soft))].join(", ")} = worker_rlimit_nofile ${rlimit}`;
        return problems.length === 0
            ? row("nofile", host.name, "pass", summary, remediation, data)
            : row("nofile", host.name, "fail", problems.join("; "), remediation, data);
    });
}
