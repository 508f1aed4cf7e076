/**
 * The tier bench's outputs from its JSON report (pure: report -> text): the Markdown table the
 * README's Performance section carries, and an SVG bar chart of the ratios against the issue's
 * targets, which `renderPng` turns into a PNG with Debian's chromium-headless-shell.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { targetMet, type Target } from "./measure";
import type { EngineTimings, PairScaling, ReviewTiming } from "./iac";
import { perHandshakeByObject, type HandshakeCell, type HandshakeProfile, type IdleResult, type KeepaliveResult, type RateLimitResult, type ResumptionResult } from "./scenarios";

export interface TargetRow { id: string; label: string; value: number | null; target: Target; met: boolean | null; note?: string }

export interface TierBenchReport {
    date: string;
    mode: "quick" | "full";
    durationSeconds?: number;
    machine: { cpus: number; model: string; kernel: string; nginx: string; openssl: string };
    setup: string[];
    bound?: { sign: Record<string, number>; ecdh: Record<string, number>; core: number };
    handshakes?: HandshakeCell[];
    profile?: HandshakeProfile;
    /** The same profile of the stock twin: where the two differ per handshake. */
    profileStock?: HandshakeProfile;
    resumption?: ResumptionResult[];
    keepalive?: KeepaliveResult;
    idle?: IdleResult[];
    rateLimits?: RateLimitResult;
    validation?: { source: string; date?: string; perRequest: Record<string, { p50Ms: number; p99Ms: number; nginxCpuUsPerRequest: number; keyServiceCpuUsPerRequest: number }> };
    iac?: { reviews?: ReviewTiming[]; pairs?: PairScaling; engine?: EngineTimings };
    targets: TargetRow[];
    notes: string[];
}

const fmt = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined || !Number.isFinite(v) ? "n/a" : Number(v.toFixed(digits)).toLocaleString("en-US"));
const mark = (met: boolean | null): string => (met === null ? "not measured" : met ? "met" : "missed");

/** The issue's targets from the report's measurements (value null = not measured in this run). */
export function targetRows(r: Pick<TierBenchReport, "handshakes" | "keepalive" | "idle" | "rateLimits">): TargetRow[] {
    const rows: TargetRow[] = [];
    const add = (id: string, label: string, value: number | null, target: Target, note?: string) => rows.push({ id, label, value, target, met: targetMet(value, target), note });
    for (const c of r.handshakes ?? []) {
        const cell = `${c.key}, TLS ${c.tls}, ${c.client} client`;
        add(`handshakes-vs-stock:${c.key}:${c.tls}:${c.client}`, `Full handshakes per proxy-CPU-s vs stock (${cell})`, c.vsStock, { goal: ">= 1.2x stock", min: 1.2 });
        add(`handshakes-vs-bound:${c.key}:${c.tls}:${c.client}`, `Full handshakes per proxy-CPU-s vs openssl-speed bound (${cell})`, c.vsBound, { goal: ">= 0.3x bound", min: 0.3 });
    }
    if (r.keepalive) {
        add("keepalive-vs-stock", "Keepalive proxied requests per proxy-CPU-s vs stock", r.keepalive.vsStock, { goal: ">= 1.8x stock", min: 1.8 });
        add("keepalive-vs-204", "Keepalive proxied requests per proxy-CPU-s vs `return 204` on the same proxy", r.keepalive.vsBound204, { goal: ">= 0.5x bound", min: 0.5 });
        if (r.keepalive.poolSizedVsStock !== undefined) {
            add("keepalive-pool-vs-stock", `Keepalive, upstream pool sized (keepalive ${r.keepalive.poolSizedKeepalive}), vs stock`, r.keepalive.poolSizedVsStock, { goal: ">= 1.8x stock", min: 1.8 });
            add("keepalive-pool-vs-204", `Keepalive, upstream pool sized (keepalive ${r.keepalive.poolSizedKeepalive}), vs \`return 204\``, r.keepalive.poolSizedVsBound204, { goal: ">= 0.5x bound", min: 0.5 });
        }
    }
    const idle100k = (r.idle ?? []).filter((i) => i.variant === "provisioned").sort((a, b) => b.target - a.target)[0];
    if (idle100k) {
        const kb = idle100k.totalBytesPerConnection === null ? null : idle100k.totalBytesPerConnection / 1024;
        add("idle-100k", `Idle TLS connections: KB per connection at the largest count held (${idle100k.openWhenMeasured.toLocaleString("en-US")} of ${idle100k.target.toLocaleString("en-US")} asked)`,
            kb, { goal: "100k held at <= 40 KB each", max: 40 }, idle100k.target >= 100_000 && idle100k.reached ? undefined : "100k not held: see the idle table for where it stopped");
        if (!(idle100k.target >= 100_000 && idle100k.reached)) rows[rows.length - 1].met = false;
    }
    const ten = r.rateLimits?.paced.find((p) => p.multiple === 10);
    if (ten) add("limit-req-10x", "limit_req at 10x overload: accepted vs rate x time + burst", ten.deviation === null ? null : Math.abs(ten.deviation) * 100, { goal: "within 2 %", max: 2 });
    return rows;
}

export function renderMarkdown(r: TierBenchReport): string {
    const out: string[] = [];
    out.push(`Tier bench, ${r.mode} run of ${r.date}${r.durationSeconds ? ` (${Math.round(r.durationSeconds)} s)` : ""}: ${r.machine.cpus} cores (${r.machine.model}), kernel ${r.machine.kernel}, nginx ${r.machine.nginx}, ${r.machine.openssl}.`);
    out.push("");
    for (const s of r.setup) out.push(`- ${s}`);
    out.push("");
    out.push("| target | measured | goal | |", "| --- | ---: | --- | --- |");
    for (const t of r.targets) {
        const unit = t.id === "idle-100k" ? " KB" : t.id === "limit-req-10x" ? " %" : "x";
        out.push(`| ${t.label} | ${fmt(t.value)}${t.value === null ? "" : unit} | ${t.target.goal} | ${mark(t.met)}${t.note ? ` (${t.note})` : ""} |`);
    }
    if (r.handshakes?.length) {
        out.push("", "Full TLS handshakes (no resumption) per second of the proxy's own CPU time (median of the runs):", "");
        const withTierGroups = r.handshakes.some((c) => c.perCpuSecond.stockTierGroups != null);
        out.push(`| key | TLS | client offers | provisioned | stock |${withTierGroups ? " stock + the tier's groups |" : ""} bound (1/(1/sign+1/ECDH P-256)) | vs stock |${withTierGroups ? " the groups' cost to stock | vs stock + the tier's groups |" : ""} vs bound | stock vs its bound (X25519) |`,
            `| --- | --- | --- | ---: | ---: |${withTierGroups ? " ---: |" : ""} ---: | ---: |${withTierGroups ? " ---: | ---: |" : ""} ---: | ---: |`);
        for (const c of r.handshakes) {
            const tierGroups = (cells: string[]) => (withTierGroups ? cells.map((x) => ` ${x} |`).join("") : "");
            out.push(`| ${c.key} | ${c.tls} | ${c.client} | ${fmt(c.perCpuSecond.provisioned, 0)} | ${fmt(c.perCpuSecond.stock, 0)} |${tierGroups([fmt(c.perCpuSecond.stockTierGroups, 0)])} ${fmt(c.boundPerCpuSecond, 0)} | ${fmt(c.vsStock)} |${tierGroups([fmt(c.stockTierGroupsVsStock), fmt(c.vsStockTierGroups)])} ${fmt(c.vsBound)} | ${fmt(c.stockVsItsBound)} |`);
        }
        if (withTierGroups) out.push("", "\"stock + the tier's groups\" is the stock twin with one line added, the tier's own `ssl_ecdh_curve` (NIST SP 800-52r2: P-256/P-384, no X25519): its ratio to stock is what that control costs a handshake, and the tier against it is what everything else costs.");
    }
    if (r.profile?.byObject?.length) {
        out.push("", `Where the provisioned proxy's CPU goes in full handshakes (TLS 1.3, X25519-first clients; ${r.profile.note}): ${r.profile.byObject.slice(0, 8).map((o) => `${o.object} ${o.percent} %`).join(", ")}.`);
        if (r.profile.topSymbols?.length) out.push(`Top symbols: ${r.profile.topSymbols.slice(0, 8).map((s) => `${s.symbol} (${s.object}) ${s.percent} %`).join(", ")}.`);
        if (r.profileStock?.byObject?.length && r.profile.handshakes && r.profileStock.handshakes) {
            const rows = perHandshakeByObject({ provisioned: r.profile, stock: r.profileStock });
            const total = (p: HandshakeProfile) => fmt(((p.cpuSeconds ?? NaN) * 1e6) / (p.handshakes ?? NaN), 0);
            out.push("", `CPU per full handshake by object, provisioned vs stock (the same profiled run each: ${r.profile.handshakes} and ${r.profileStock.handshakes} handshakes; total ${total(r.profile)} µs vs ${total(r.profileStock)} µs):`, "");
            out.push("| object | provisioned µs | stock µs | difference µs |", "| --- | ---: | ---: | ---: |");
            for (const x of rows.slice(0, 8)) {
                const diff = x.provisionedUs !== null && x.stockUs !== null ? fmt(x.provisionedUs - x.stockUs, 1) : "";
                out.push(`| ${x.object} | ${fmt(x.provisionedUs, 1)} | ${fmt(x.stockUs, 1)} | ${diff} |`);
            }
        }
    } else if (r.profile) {
        out.push("", `Profile: ${r.profile.note}.`);
    }
    if (r.resumption?.length) {
        out.push("", "TLS 1.3 session resumption (one request per connection; resumed share as the client saw it (the proxy accepted the PSK) and as the provisioned proxy logged it (`tls_session_reused`, $ssl_session_reused, over the resumed runs)):", "");
        out.push("| proxy | full /CPU-s | resumed /CPU-s | gain | resumed share (client) | resumed share (proxy's log) |", "| --- | ---: | ---: | ---: | ---: | ---: |");
        for (const x of r.resumption) {
            const fromLog = x.logged ? `${fmt((x.logged.share ?? NaN) * 100, 1)} % (${x.logged.resumed} r, ${x.logged.full} .)` : "not logged (stock's format)";
            out.push(`| ${x.variant} | ${fmt(x.fullPerCpuSecond, 0)} | ${fmt(x.resumedPerCpuSecond, 0)} | ${fmt(x.gain)}x | ${fmt((x.resumedShare ?? NaN) * 100, 1)} % | ${fromLog} |`);
        }
    }
    if (r.keepalive) {
        const k = r.keepalive;
        out.push("", `Keepalive HTTPS GETs over ${k.connections} connections, proxied to the upstream's /healthz (bound: the same route answering \`return 204\`):`, "");
        out.push("| proxy | requests /CPU-s | requests/s | new upstream connections per request | non-2xx | errors |", "| --- | ---: | ---: | ---: | ---: | ---: |");
        for (const v of ["provisioned", "poolSized", "bound204", "stock"] as const) {
            const c = k.closedLoop[v];
            if (!c) continue;
            const name = v === "bound204" ? "provisioned, `return 204`" : v === "poolSized" ? `provisioned, upstream keepalive raised to ${k.poolSizedKeepalive}` : v;
            out.push(`| ${name} | ${fmt(c.requestsPerCpuSecond, 0)} | ${fmt(c.requestsPerSecond, 0)} | ${fmt(c.upstreamConnectionsPerRequest, 3)} | ${c.non2xx} | ${c.errors} |`);
        }
        out.push("", "Fixed request rates (64 connections; latency from each request's scheduled send time, in ms):", "");
        out.push("| % of stock's max | r/s | proxy | p50 | p99 | p99.9 | achieved r/s | errors |", "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |");
        for (const f of k.fixedRate) out.push(`| ${f.percentOfStockMax} | ${f.rate} | ${f.variant} | ${fmt(f.p50)} | ${fmt(f.p99)} | ${fmt(f.p999)} | ${fmt(f.achieved, 0)} | ${f.errors} |`);
        out.push("", `HTTP/2, 64 concurrent streams on one connection: provisioned ${fmt(k.http2.provisioned.requestsPerCpuSecond, 0)} /CPU-s (${fmt(k.http2.provisioned.requestsPerSecond, 0)} r/s, ${k.http2.provisioned.protocol}), stock ${fmt(k.http2.stock.requestsPerCpuSecond, 0)} /CPU-s (${fmt(k.http2.stock.requestsPerSecond, 0)} r/s, ${k.http2.stock.protocol}): ${fmt(k.http2VsStock)}x.`);
    }
    if (r.idle?.length) {
        out.push("", "Idle TLS connections (each sends one GET, then one every 7 s to stay under keepalive_timeout; memory while all are held):", "");
        out.push("| proxy | asked | held by the proxy | worker Pss per connection | socket queues (skmem) | kernel socket objects (slab sizes) | total | workers (nofile each) | first error |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |");
        for (const i of r.idle) {
            out.push(`| ${i.variant} | ${i.target.toLocaleString("en-US")} | ${i.openWhenMeasured.toLocaleString("en-US")} | ${fmt((i.workerBytesPerConnection ?? NaN) / 1024, 1)} KB | ${fmt((i.socketBytesPerConnection ?? NaN) / 1024, 2)} KB | ${fmt((i.kernelObjectBytesPerConnection ?? NaN) / 1024, 1)} KB | ${fmt((i.totalBytesPerConnection ?? NaN) / 1024, 1)} KB | ${i.workers} (${i.workerNofile.join(", ")}) | ${i.reached ? "" : `stopped short${i.firstError ? `: ${i.firstError.slice(0, 80)}` : " (nginx closed idle connections to make room)"}`} |`);
        }
    }
    if (r.rateLimits) {
        const l = r.rateLimits;
        out.push("", `limit_req fidelity, route ${l.route} at ${l.limit.ratePerSecond} r/s burst ${l.limit.burst}, one client address through the load balancer (paced, kept-alive):`, "");
        out.push("| offered | r/s | sent | accepted | expected (rate x window + burst) | deviation | 429 |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (const p of l.paced) out.push(`| ${p.multiple}x | ${p.rate} | ${p.sent} | ${p.ok} | ${p.expected} | ${fmt((p.deviation ?? NaN) * 100, 1)} % | ${p.limited} |`);
        if (l.manyClients) out.push("", `Many clients on one zone (${l.manyClients.zoneMegabytes} MB): ${l.manyClients.clients.toLocaleString("en-US")} addresses, one request each: ${l.manyClients.ok} accepted, ${l.manyClients.limited} limited, ${l.manyClients.other} other, ${l.manyClients.errors} errors.`);
    }
    if (r.validation) {
        const v = r.validation.perRequest;
        out.push("", `Request validation and JWT cost (${r.validation.source}${r.validation.date ? `, ${r.validation.date}` : ""}):`, "");
        const names = Object.keys(v);
        out.push(`| per request | ${names.join(" | ")} |`, `| --- |${names.map(() => " ---: |").join("")}`);
        out.push(`| p50 ms | ${names.map((n) => fmt(v[n].p50Ms, 3)).join(" | ")} |`);
        out.push(`| p99 ms | ${names.map((n) => fmt(v[n].p99Ms, 3)).join(" | ")} |`);
        out.push(`| nginx worker CPU µs | ${names.map((n) => fmt(v[n].nginxCpuUsPerRequest, 0)).join(" | ")} |`);
        out.push(`| key service CPU µs | ${names.map((n) => fmt(v[n].keyServiceCpuUsPerRequest, 0)).join(" | ")} |`);
    }
    if (r.iac) {
        if (r.iac.reviews?.length) {
            out.push("", "Offline review (fresh process each, median):", "");
            out.push("| stack | resources | wall | program | policy pack | pack / program |", "| --- | ---: | ---: | ---: | ---: | ---: |");
            for (const x of r.iac.reviews) out.push(`| ${x.stack} | ${x.resources} | ${fmt(x.medianWallMs / 1000)} s | ${fmt(x.medianProgramMs / 1000)} s | ${fmt(x.medianPolicyMs / 1000)} s | ${fmt(x.policyToProgramRatio)} |`);
        }
        if (r.iac.pairs) {
            const p = r.iac.pairs;
            out.push("", `Review time against proxy pairs (${p.note}): ${p.points.map((x) => `${x.pairs} pairs ${fmt((x.medianProgramMs + x.medianPolicyMs) / 1000)} s (${x.resources} resources)`).join(", ")}; linear fit ${fmt((p.fit.interceptMs ?? NaN) / 1000)} s + ${fmt(p.fit.msPerPair, 1)} ms per pair, R² ${fmt(p.fit.r2, 3)}.${(p.failures ?? []).map((f) => ` ${f.pairs} pairs: the program fails (${f.error}).`).join("")}`);
        }
        if (r.iac.engine) {
            const e = r.iac.engine;
            out.push("", `Engine on the local twin (${e.note}): first up ${fmt(e.firstUpMs / 1000, 1)} s, preview ${fmt(e.previewMs / 1000, 1)} s, no-op up ${fmt(e.noOpUpMs / 1000, 1)} s, preview with the policy pack ${fmt(e.policyPreviewMs / 1000, 1)} s (+${fmt(e.policyOverheadMs / 1000, 1)} s, exit ${e.policyPreviewExit})${e.destroyMs ? `, destroy ${fmt(e.destroyMs / 1000, 1)} s` : ""}.`);
        }
    }
    if (r.notes.length) {
        out.push("", "Notes:", "");
        for (const n of r.notes) out.push(`- ${n}`);
    }
    return `${out.join("\n")}\n`;
}

const escapeXml = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A horizontal bar per ratio target (value and goal on one scale), green when met, red when missed. */
export function renderSvg(r: TierBenchReport): string {
    const rows = r.targets.filter((t) => t.id !== "idle-100k" && t.id !== "limit-req-10x");
    const extra = r.targets.filter((t) => t.id === "idle-100k" || t.id === "limit-req-10x");
    const width = 1100;
    const rowHeight = 22;
    const left = 560;
    const barWidth = width - left - 90;
    const max = Math.max(2, ...rows.map((t) => t.value ?? 0), ...rows.map((t) => t.target.min ?? 0)) * 1.05;
    const x = (v: number) => left + (v / max) * barWidth;
    const top = 60;
    const height = top + (rows.length + 2 * extra.length) * rowHeight + 50;
    const parts = [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, sans-serif" font-size="12">`,
        `<rect width="100%" height="100%" fill="#fff"/>`,
        `<text x="10" y="22" font-size="15" font-weight="bold">${escapeXml(`Provisioned tier vs stock nginx and the bound, per proxy-CPU-second (${r.mode} run, ${r.date.slice(0, 10)})`)}</text>`,
        `<text x="10" y="42" fill="#555">${escapeXml("bar = measured ratio, black tick = target; green met, red missed")}</text>`,
    ];
    for (let g = 0; g <= Math.floor(max); g++) {
        parts.push(`<line x1="${x(g)}" y1="${top - 6}" x2="${x(g)}" y2="${top + rows.length * rowHeight}" stroke="#ddd"/>`, `<text x="${x(g) - 8}" y="${top - 8}" fill="#777">${g}x</text>`);
    }
    rows.forEach((t, i) => {
        const y = top + i * rowHeight;
        const label = t.label.replace(/^Full handshakes per proxy-CPU-s /, "Handshakes ").replace(/^Keepalive proxied requests per proxy-CPU-s /, "Keepalive RPS ");
        parts.push(`<text x="10" y="${y + 15}">${escapeXml(label.length > 86 ? `${label.slice(0, 85)}…` : label)}</text>`);
        if (t.value !== null) parts.push(`<rect x="${left}" y="${y + 4}" width="${Math.max(1, x(t.value) - left)}" height="${rowHeight - 8}" fill="${t.met ? "#3a9a4a" : "#c0392b"}"/>`, `<text x="${x(t.value) + 4}" y="${y + 15}">${fmt(t.value)}</text>`);
        if (t.target.min !== undefined) parts.push(`<line x1="${x(t.target.min)}" y1="${y + 1}" x2="${x(t.target.min)}" y2="${y + rowHeight - 1}" stroke="#000" stroke-width="2"/>`);
    });
    extra.forEach((t, i) => {
        const y = top + rows.length * rowHeight + 20 + i * 2 * rowHeight;
        const colour = t.met ? "#3a9a4a" : "#c0392b";
        parts.push(`<text x="10" y="${y + 15}" fill="${colour}">${escapeXml(`${t.label}: ${fmt(t.value)}${t.id === "idle-100k" ? " KB" : " %"} (goal ${t.target.goal}): ${mark(t.met)}`)}</text>`);
        if (t.note) parts.push(`<text x="30" y="${y + 15 + rowHeight - 4}" fill="${colour}">${escapeXml(t.note)}</text>`);
    });
    parts.push("</svg>");
    return parts.join("\n");
}

/** Renders the SVG to a PNG with chromium-headless-shell (no network, no npm package). */
export function renderPng(svg: string, pngFile: string): { ok: boolean; note: string } {
    const browser = "/usr/bin/chromium-headless-shell";
    if (!fs.existsSync(browser)) return { ok: false, note: `${browser} missing (scripts/install-deps.sh installs it)` };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tier-bench-chart-"));
    try {
        const width = Number(/width="(\d+)"/.exec(svg)?.[1] ?? 1100);
        const height = Number(/height="(\d+)"/.exec(svg)?.[1] ?? 800);
        const page = path.join(dir, "chart.html");
        fs.writeFileSync(page, `<!doctype html><html><body style="margin:0">${svg}</body></html>`);
        const shot = path.join(dir, "chart.png");
        const r = spawnSync(browser, ["--no-sandbox", "--disable-gpu", `--user-data-dir=${path.join(dir, "profile")}`, `--screenshot=${shot}`, `--window-size=${width},${height}`, "--hide-scrollbars", `file://${page}`],
            { encoding: "utf8", timeout: 60_000 });
        if (r.status !== 0 || !fs.existsSync(shot)) return { ok: false, note: `chromium exited ${r.status}: ${r.stderr.slice(-300)}` };
        fs.copyFileSync(shot, pngFile);
        return { ok: true, note: "" };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
