/**
 * The tier bench's pure arithmetic (no processes, no files): medians and percentiles, CPU
 * accounting parsed from /proc and cgroup v2, the handshake bound from `openssl speed -mr`,
 * and the ratios the targets are stated in. Unit-tested in measure.test.ts.
 */

export function median(values: readonly number[]): number {
    if (values.length === 0) return Number.NaN;
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
    if (values.length === 0) return Number.NaN;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length - 1e-9) - 1))];
}

/** `usage_usec` of a cgroup v2 cpu.stat: CPU time of every process that ever ran in it (exited ones included). */
export function parseCgroupCpuUsec(cpuStat: string): number {
    const match = /^usage_usec (\d+)$/m.exec(cpuStat);
    if (!match) throw new Error("cpu.stat has no usage_usec line");
    return Number(match[1]);
}

export interface ProcStat {
    pid: number;
    comm: string;
    ppid: number;
    /** utime + stime, in clock ticks (USER_HZ). */
    ticks: number;
}

/** /proc/<pid>/stat: the command may contain spaces and parentheses, so fields are read after the last ')'. */
export function parseProcStat(text: string): ProcStat {
    const open = text.indexOf("(");
    const close = text.lastIndexOf(")");
    if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
    const fields = text.slice(close + 2).trim().split(/\s+/);
    // After the comm: state(0) ppid(1) ... utime(11) stime(12).
    return { pid: Number(text.slice(0, open).trim()), comm: text.slice(open + 1, close), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

export interface SpeedResult {
    /** Signatures per second for the named key. */
    sign: Record<string, number>;
    /** ECDH derivations per second per group. */
    ecdh: Record<string, number>;
}

/**
 * `openssl speed -mr` summary lines: +F2:<i>:<bits>:<sign/s>:<verify/s> (RSA),
 * +F4:<i>:<bits>:<sign/s>:<verify/s> (ECDSA), +F5:<i>:<bits>:<op/s>:<s/op> (ECDH).
 * ECDH 253 bits is X25519, 256 P-256, 384 P-384.
 */
export function parseOpensslSpeed(text: string): SpeedResult {
    const out: SpeedResult = { sign: {}, ecdh: {} };
    const curveOf = (bits: number): string => (bits === 253 ? "X25519" : bits === 256 ? "P-256" : bits === 384 ? "P-384" : `ecdh-${bits}`);
    for (const line of text.split("\n")) {
        const f = line.trim().split(":");
        if (f[0] === "+F2") out.sign[`RSA-${f[2]}`] = Number(f[3]);
        else if (f[0] === "+F4") out.sign[`ECDSA-${f[2] === "256" ? "P-256" : f[2] === "384" ? "P-384" : f[2]}`] = Number(f[3]);
        else if (f[0] === "+F5") out.ecdh[curveOf(Number(f[2]))] = Number(f[3]);
    }
    return out;
}

/**
 * Full handshakes one core could complete if it did nothing but the server's two private-key
 * operations (one signature, one ECDH): 1 / (1/sign + 1/ecdh).
 */
export function handshakeBound(signPerSecond: number, ecdhPerSecond: number): number {
    return 1 / (1 / signPerSecond + 1 / ecdhPerSecond);
}

/** Work per second of the proxy's own CPU time (the normalisation). */
export function perCpuSecond(count: number, cpuSeconds: number): number {
    return cpuSeconds > 0 ? count / cpuSeconds : Number.NaN;
}

export function ratio(numerator: number, denominator: number): number {
    return denominator > 0 && Number.isFinite(numerator) ? numerator / denominator : Number.NaN;
}

/** Rounds for reports: 3 significant digits below 1,000 (whole numbers above), NaN kept as null in JSON. */
export function round(value: number, digits = 3): number | null {
    if (!Number.isFinite(value)) return null;
    if (value === 0) return 0;
    const magnitude = Math.floor(Math.log10(Math.abs(value)));
    const factor = 10 ** Math.max(0, digits - 1 - magnitude);
    return Math.round(value * factor) / factor;
}

export interface Target {
    /** The wording of the goal. */
    goal: string;
    /** met when value >= min (or <= max). */
    min?: number;
    max?: number;
}

export function targetMet(value: number | null, target: Target): boolean | null {
    if (value === null || !Number.isFinite(value)) return null;
    if (target.min !== undefined && value < target.min) return false;
    if (target.max !== undefined && value > target.max) return false;
    return true;
}

/** Accepted requests expected from a paced client over a window: rate x seconds + burst (nodelay), never above what was sent. */
export function expectedAccepted(ratePerSecond: number, burst: number, windowSeconds: number, sent: number): number {
    return Math.min(sent, Math.floor(ratePerSecond * windowSeconds) + burst + 1);
}

/** Bytes per connection from a before/after pair of totals. */
export function bytesPerConnection(before: number, after: number, connections: number): number {
    return connections > 0 ? (after - before) / connections : Number.NaN;
}

/** Sum of the allocated socket memory `ss -tm` reports (skmem: r=receive queue, t=transmit, f=forward alloc, w=write queue, ...). */
export function parseSsSocketMemory(ssOutput: string): { sockets: number; bytes: number } {
    let sockets = 0;
    let bytes = 0;
    for (const match of ssOutput.matchAll(/skmem:\(([^)]*)\)/g)) {
        sockets++;
        const fields = Object.fromEntries(match[1].split(",").map((kv) => {
            const m = /^([a-z_]+?)(\d+)$/.exec(kv);
            return m ? [m[1], Number(m[2])] : [kv, 0];
        }));
        // r + t: memory allocated to the receive and send queues; f: forward-allocated; w: queued writes; o: options, bl: backlog.
        bytes += (fields.r ?? 0) + (fields.t ?? 0) + (fields.f ?? 0) + (fields.w ?? 0) + (fields.o ?? 0) + (fields.bl ?? 0);
    }
    return { sockets, bytes };
}

/** Linear fit y = a + b*x and its R^2 (how linearly review time grows with proxy pairs). */
export function linearFit(xs: readonly number[], ys: readonly number[]): { intercept: number; slope: number; r2: number } {
    const n = xs.length;
    const mx = xs.reduce((a, b) => a + b, 0) / n;
    const my = ys.reduce((a, b) => a + b, 0) / n;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < n; i++) {
        sxy += (xs[i] - mx) * (ys[i] - my);
        sxx += (xs[i] - mx) ** 2;
        syy += (ys[i] - my) ** 2;
    }
    const slope = sxx > 0 ? sxy / sxx : Number.NaN;
    return { intercept: my - slope * mx, slope, r2: sxx > 0 && syy > 0 ? (sxy * sxy) / (sxx * syy) : 1 };
}

/**
 * The provisioned access log's verdict on TLS sessions: lines whose `tls_session_reused` is "r"
 * (nginx's $ssl_session_reused: resumed) and "." (a full handshake). Lines without the field
 * (plain HTTP, a partial line at the cut) are not counted.
 */
export function countSessionReuse(accessLogLines: string): { resumed: number; full: number } {
    let resumed = 0;
    let full = 0;
    for (const line of accessLogLines.split("\n")) {
        const m = /"tls_session_reused":"([^"]*)"/.exec(line);
        if (m?.[1] === "r") resumed++;
        else if (m?.[1] === ".") full++;
    }
    return { resumed, full };
}
