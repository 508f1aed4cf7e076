/**
 * The proxies under test, all in proxy-a's container (same kernel, network namespace, address,
 * firewall, nginx binary and certificate), one at a time on 443:
 * - `provisioned`: the tier's own nginx.service as delivered (its hardened unit, its config);
 * - `bound204`: the same service with the bench route's `proxy_pass` replaced by `return 204`
 *   (the no-upstream bound, reloaded, restored afterwards);
 * - `poolSized`: the same service with the bench pool's `keepalive` raised to
 *   POOL_SIZED_KEEPALIVE (what a stack gets by setting upstreams[].keepalive; the local stack keeps the default, 32);
 * - `stock`: Debian's default nginx.conf (checked unmodified against the package with dpkg -V
 *   on this machine, same nginx version as the container's) plus one server: `listen 443 ssl
 *   http2`, the same certificate, `location / { proxy_pass http://<upstream>; }`, run as the
 *   transient unit apx-bench-stock.service so its CPU time is its cgroup's.
 * The RSA runs swap an RSA-3072 certificate into the provisioned certificate's files (both
 * variants read the same files) and restore the original afterwards.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    PROXY_UNDER_TEST, SERVER_NAME, containerPath, inHost, pinStack, unitCpuSeconds, unitPids, unpinStack, waitListening,
} from "./stack";

export type Variant = "provisioned" | "poolSized" | "bound204" | "stock" | "stockTierGroups";

/** The stock twin, as Debian ships it (`stock`) or with only the tier's key-exchange groups added (`stockTierGroups`). */
export function isStock(variant: Variant | undefined): boolean {
    return variant === "stock" || variant === "stockTierGroups";
}

/** The upstream keepalive pool of the `poolSized` variant: idle connections cached per worker, at least the client connections a worker serves here. */
export const POOL_SIZED_KEEPALIVE = 64;
export type KeyKind = "ECDSA-P256" | "RSA-3072";

const STOCK_UNIT = "apx-bench-stock.service";
const PROVISIONED_UNIT = "nginx.service";
const STOCK_DIR = "/var/lib/apx-bench/stock";
const HOST = PROXY_UNDER_TEST;

export function unitOf(variant: Variant): string {
    return isStock(variant) ? STOCK_UNIT : PROVISIONED_UNIT;
}

/** Debian's default nginx.conf as this machine's package installed it (verified unmodified), pointed at the bench's own files. */
export function stockNginxConf(debianDefault: string): string {
    return debianDefault
        .replace(/^pid .*$/m, "pid /run/apx-bench-stock.pid;")
        .replace(/^error_log .*$/m, `error_log ${STOCK_DIR}/error.log;`)
        .replace(/access_log \/var\/log\/nginx\/access\.log;/, `access_log ${STOCK_DIR}/access.log;`)
        .replace(/include \/etc\/nginx\/conf\.d\/\*\.conf;/, `include ${STOCK_DIR}/conf.d/*.conf;`)
        .replace(/include \/etc\/nginx\/mime\.types;/, `include ${STOCK_DIR}/mime.types;`)
        .replace(/^\s*include \/etc\/nginx\/sites-enabled\/\*;\s*$/m, "");
}

export function stockServer(cert: string, key: string, upstream: string, groups?: string): string {
    return [
        "server {",
        "    listen 443 ssl http2;",
        `    server_name ${SERVER_NAME};`,
        `    ssl_certificate ${cert};`,
        `    ssl_certificate_key ${key};`,
        ...(groups ? [`    ssl_ecdh_curve ${groups};`] : []),
        "    location / {",
        `        proxy_pass http://${upstream};`,
        "    }",
        "}",
        "",
    ].join("\n");
}

export class ProxyUnderTest {
    readonly cert: string;
    readonly key: string;
    readonly routesFile: string;
    readonly upstreamsFile: string;
    readonly upstream: string;
    /** The tier's key-exchange groups, as its rendered ssl_ecdh_curve says (the `stockTierGroups` variant adds them to stock). */
    readonly tierGroups: string;
    readonly stockSource: { dpkgVerify: string; hostVersion: string; containerVersion: string };
    private current: Variant | undefined;
    private keyKind: KeyKind = "ECDSA-P256";
    private readonly originals = new Map<string, { content: Buffer; mode: number; uid: number; gid: number }>();

    constructor() {
        const conf = inHost(HOST, ["bash", "-c", "grep -rh 'ssl_certificate\\(_key\\)\\? ' $(dirname $(grep -rl '# route bench: ' /etc/nginx | head -1)) | head -2"]);
        this.cert = /ssl_certificate (\S+);/.exec(conf)?.[1] ?? "";
        this.key = /ssl_certificate_key (\S+);/.exec(conf)?.[1] ?? "";
        this.routesFile = inHost(HOST, ["bash", "-c", "grep -rl '# route bench: ' /etc/nginx | head -1"]).trim();
        this.upstreamsFile = inHost(HOST, ["bash", "-c", "grep -rl 'upstream pool_orders ' /etc/nginx | head -1"]).trim();
        const upstreams = fs.readFileSync(containerPath(HOST, this.upstreamsFile), "utf8");
        this.upstream = /upstream pool_orders \{[^}]*?server (\S+) /s.exec(upstreams)?.[1] ?? "";
        this.tierGroups = /^\s*ssl_ecdh_curve\s+([^;\s]+)\s*;/m.exec(inHost(HOST, ["bash", "-c", "cat $(grep -rl '^ *ssl_ecdh_curve ' /etc/nginx) /dev/null"]))?.[1] ?? "";
        if (!this.cert || !this.key || !this.routesFile || !this.upstream || !this.tierGroups) {
            throw new Error(`proxy-a's config: certificate ${this.cert}, key ${this.key}, bench route in ${this.routesFile}, upstream ${this.upstream}, groups ${this.tierGroups}`);
        }
        // The stock twin's nginx.conf is Debian's, verified unmodified on this machine (same package version as the container's).
        const verify = spawnSync("dpkg", ["-V", "nginx-common"], { encoding: "utf8" });
        const hostVersion = execFileSync("dpkg-query", ["-W", "-f", "${Version}", "nginx"], { encoding: "utf8" });
        const containerVersion = inHost(HOST, ["dpkg-query", "-W", "-f", "${Version}", "nginx"]);
        this.stockSource = { dpkgVerify: `${verify.stdout}${verify.stderr}`.trim(), hostVersion, containerVersion };
        if (this.stockSource.dpkgVerify.includes("/etc/nginx/nginx.conf")) throw new Error("this machine's /etc/nginx/nginx.conf differs from Debian's: no stock reference");
        const dir = containerPath(HOST, STOCK_DIR);
        fs.mkdirSync(path.join(dir, "conf.d"), { recursive: true });
        fs.writeFileSync(path.join(dir, "nginx.conf"), stockNginxConf(fs.readFileSync("/etc/nginx/nginx.conf", "utf8")));
        fs.copyFileSync("/etc/nginx/mime.types", path.join(dir, "mime.types"));
        fs.writeFileSync(path.join(dir, "conf.d", "bench.conf"), stockServer(this.cert, this.key, this.upstream));
        // A known start: no stock twin left from an interrupted run, the provisioned service running.
        inHost(HOST, ["systemctl", "stop", STOCK_UNIT], { allowFail: true });
        inHost(HOST, ["systemctl", "reset-failed", STOCK_UNIT], { allowFail: true });
        inHost(HOST, ["systemctl", "start", PROVISIONED_UNIT]);
        this.current = "provisioned";
    }

    get variant(): Variant | undefined {
        return this.current;
    }

    get key_(): KeyKind {
        return this.keyKind;
    }

    private remember(file: string): void {
        if (this.originals.has(file)) return;
        const p = containerPath(HOST, file);
        const st = fs.statSync(p);
        this.originals.set(file, { content: fs.readFileSync(p), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
    }

    private write(file: string, content: string | Buffer): void {
        this.remember(file);
        const o = this.originals.get(file)!;
        const p = containerPath(HOST, file);
        fs.writeFileSync(p, content);
        fs.chmodSync(p, o.mode);
        fs.chownSync(p, o.uid, o.gid);
    }

    private reloadProvisioned(): void {
        const before = unitPids(HOST, PROVISIONED_UNIT).length;
        inHost(HOST, ["systemctl", "reload", PROVISIONED_UNIT]);
        // Old workers finish and exit; wait for the process count to settle back.
        const deadline = Date.now() + 15_000;
        spawnSync("sleep", ["0.5"]);
        while (Date.now() < deadline && unitPids(HOST, PROVISIONED_UNIT).length > before) spawnSync("sleep", ["0.2"]);
    }

    /** Routes file with the bench route's proxy_pass replaced by `return 204`. */
    private boundRoutes(original: string): string {
        const start = original.indexOf("# route bench: ");
        const end = original.indexOf("# route ", start + 10);
        const section = original.slice(start, end < 0 ? undefined : end);
        const replaced = section.replace(/proxy_pass [^;]+;/, "return 204;  # tier bench: the no-upstream bound");
        if (replaced === section) throw new Error("bench route: no proxy_pass to replace");
        return original.slice(0, start) + replaced + (end < 0 ? "" : original.slice(end));
    }

    /** Upstreams file with the bench pool's keepalive raised to POOL_SIZED_KEEPALIVE. */
    private sizedPool(original: string): string {
        const replaced = original.replace(/(upstream pool_orders \{[^}]*?keepalive )\d+;/s, `$1${POOL_SIZED_KEEPALIVE};`);
        if (replaced === original) throw new Error("pool_orders: no keepalive to raise");
        return replaced;
    }

    use(variant: Variant): void {
        if (variant !== this.current) {
            if (isStock(variant)) {
                fs.writeFileSync(path.join(containerPath(HOST, STOCK_DIR), "conf.d", "bench.conf"),
                    stockServer(this.cert, this.key, this.upstream, variant === "stockTierGroups" ? this.tierGroups : undefined));
                inHost(HOST, ["systemctl", "stop", isStock(this.current) ? STOCK_UNIT : PROVISIONED_UNIT], { allowFail: isStock(this.current) });
                inHost(HOST, ["systemctl", "reset-failed", STOCK_UNIT], { allowFail: true });
                inHost(HOST, ["systemd-run", `--unit=${STOCK_UNIT}`, "--property=Type=forking", "--property=PIDFile=/run/apx-bench-stock.pid",
                    "/usr/sbin/nginx", "-c", `${STOCK_DIR}/nginx.conf`]);
            } else {
                if (isStock(this.current)) inHost(HOST, ["systemctl", "stop", STOCK_UNIT], { allowFail: true });
                this.remember(this.routesFile);
                this.remember(this.upstreamsFile);
                const original = this.originals.get(this.routesFile)!.content.toString("utf8");
                this.write(this.routesFile, variant === "bound204" ? this.boundRoutes(original) : original);
                const upstreams = this.originals.get(this.upstreamsFile)!.content.toString("utf8");
                this.write(this.upstreamsFile, variant === "poolSized" ? this.sizedPool(upstreams) : upstreams);
                if (isStock(this.current) || this.current === undefined) inHost(HOST, ["systemctl", "start", PROVISIONED_UNIT]);
                else this.reloadProvisioned();
            }
            this.current = variant;
        }
        waitListening();
        pinStack(unitOf(variant));
    }

    /** Swaps the certificate both variants serve (RSA-3072: a self-signed one made here; ECDSA: the stack's own). */
    setKey(kind: KeyKind): void {
        if (kind === this.keyKind) return;
        if (kind === "RSA-3072") {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tier-bench-rsa-"));
            try {
                execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:3072", "-nodes", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"),
                    "-days", "2", "-subj", `/CN=${SERVER_NAME}`, "-addext", `subjectAltName=DNS:${SERVER_NAME}`], { stdio: "ignore" });
                this.write(this.cert, fs.readFileSync(path.join(dir, "cert.pem")));
                this.write(this.key, fs.readFileSync(path.join(dir, "key.pem")));
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        } else {
            this.write(this.cert, this.originals.get(this.cert)!.content);
            this.write(this.key, this.originals.get(this.key)!.content);
        }
        this.keyKind = kind;
        const variant = this.current;
        if (variant && isStock(variant)) {
            inHost(HOST, ["systemctl", "stop", STOCK_UNIT], { allowFail: true });
            this.current = undefined;
            inHost(HOST, ["systemctl", "start", PROVISIONED_UNIT]);
            this.current = "provisioned";
            this.use(variant);
        } else {
            this.reloadProvisioned();
            if (variant) this.use(variant);
        }
    }

    cpuSeconds(variant: Variant): number {
        return unitCpuSeconds(HOST, unitOf(variant));
    }

    pids(variant: Variant): number[] {
        return unitPids(HOST, unitOf(variant));
    }

    /** Back to the delivered files and the provisioned service, the stock twin's files gone, every process on every core. */
    restore(): void {
        try {
            if (isStock(this.current)) inHost(HOST, ["systemctl", "stop", STOCK_UNIT], { allowFail: true });
        } finally {
            for (const [file, o] of this.originals) {
                const p = containerPath(HOST, file);
                fs.writeFileSync(p, o.content);
                fs.chmodSync(p, o.mode);
                fs.chownSync(p, o.uid, o.gid);
            }
            inHost(HOST, ["systemctl", "restart", PROVISIONED_UNIT], { allowFail: true });
            this.current = "provisioned";
            this.keyKind = "ECDSA-P256";
            fs.rmSync(containerPath(HOST, path.dirname(STOCK_DIR)), { recursive: true, force: true });
            // After the restart, so that the new workers inherit an unpinned master.
            unpinStack();
        }
    }
}
