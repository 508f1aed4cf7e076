/**
 * Real-tool helpers for the nginx renderer tests: a temp tree standing in for /, throwaway
 * PKI made with openssl, and `nginx -t`. Everything stays under one temp directory.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { HostFile } from "../../../components/core/host-file";
import { nginxLayout } from "../../../components/nginx/layout";
import type { NginxSpec } from "../../../components/nginx/types";

export const NGINX_BINARY = "/usr/sbin/nginx";

export interface TempTree {
    readonly root: string;
    readonly pki: Pki;
    /** Points every path of the spec into the temp tree. */
    relocate(spec: NginxSpec): NginxSpec;
    writeFiles(files: readonly HostFile[]): void;
    remove(): void;
}

export interface Pki {
    readonly dir: string;
    readonly caCert: string;            // server CA (clients trust it)
    readonly serverChain: string;
    readonly serverKey: string;
    readonly clientCa: string;
    readonly clientCert: string;
    readonly clientKey: string;
    readonly rogueCert: string;         // self-signed client cert, not from the client CA
    readonly rogueKey: string;
    readonly upstreamCa: string;
}

function openssl(args: readonly string[], cwd: string): void {
    execFileSync("openssl", args, { cwd, stdio: "pipe" });
}

function ecKey(path: string, cwd: string): void {
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path], cwd);
}

function selfSignedCa(name: string, cn: string, cwd: string): void {
    ecKey(`${name}.key`, cwd);
    openssl(["req", "-x509", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-days", "2", "-out", `${name}.pem`,
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], cwd);
}

function leaf(name: string, cn: string, ca: string, extensions: string, cwd: string): void {
    ecKey(`${name}.key`, cwd);
    openssl(["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`], cwd);
    writeFileSync(join(cwd, `${name}.ext`), extensions);
    openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial",
        "-days", "2", "-extfile", `${name}.ext`, "-out", `${name}.pem`], cwd);
}

/** Throwaway PKI: server CA + server leaf (localhost), client CA + client leaf, a rogue client, upstream CA. */
export function generatePki(dir: string): Pki {
    mkdirSync(dir, { recursive: true });
    selfSignedCa("server-ca", "apiproxy test server CA", dir);
    leaf("server", "localhost", "server-ca",
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n", dir);
    selfSignedCa("client-ca", "apiproxy test client CA", dir);
    leaf("client", "test-client", "client-ca", "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n", dir);
    selfSignedCa("rogue", "rogue client", dir);
    selfSignedCa("upstream-ca", "apiproxy test upstream CA", dir);
    return {
        dir,
        caCert: join(dir, "server-ca.pem"),
        serverChain: join(dir, "server.pem"),
        serverKey: join(dir, "server.key"),
        clientCa: join(dir, "client-ca.pem"),
        clientCert: join(dir, "client.pem"),
        clientKey: join(dir, "client.key"),
        rogueCert: join(dir, "rogue.pem"),
        rogueKey: join(dir, "rogue.key"),
        upstreamCa: join(dir, "upstream-ca.pem"),
    };
}

export function makeTempTree(prefix = "apiproxy-nginx-"): TempTree {
    const root = mkdtempSync(join(tmpdir(), prefix));
    chmodSync(root, 0o755); // workers (nobody) must traverse to their temp dirs
    const pki = generatePki(join(root, "pki"));
    for (const sub of ["log", "run", "tmp"]) mkdirSync(join(root, sub), { recursive: true });
    return {
        root,
        pki,
        relocate: (spec) => ({
            ...spec,
            configRoot: join(root, "etc/nginx"),
            pidFile: join(root, "run/nginx.pid"),
            tempDirectory: join(root, "tmp"),
            logDirectory: join(root, "log"),
            certificates: {
                serverCertificate: pki.serverChain,
                serverKey: pki.serverKey,
                clientCa: pki.clientCa,
                upstreamCa: pki.upstreamCa,
            },
        }),
        writeFiles: (files) => {
            for (const file of files) {
                if (!file.path.startsWith(root + "/")) throw new Error(`file outside the temp tree: ${file.path}`);
                mkdirSync(dirname(file.path), { recursive: true });
                writeFileSync(file.path, file.content, { mode: parseInt(file.mode, 8) });
            }
        },
        remove: () => rmSync(root, { recursive: true, force: true }),
    };
}

export interface NginxTestResult {
    readonly ok: boolean;
    readonly output: string;
}

/** `nginx -t -c <conf> -p <prefix>`: the real parser and module checks (certs, upstreams, zones). */
export function nginxConfigTest(conf: string, prefix: string): NginxTestResult {
    const result = spawnSync(NGINX_BINARY, ["-t", "-q", "-c", conf, "-p", prefix + "/"], { encoding: "utf8", timeout: 20_000 });
    return { ok: result.status === 0, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

/** A free loopback TCP port (bound and released). */
export async function freePort(): Promise<number> {
    return await new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            if (address === null || typeof address === "string") return reject(new Error("no port"));
            server.close(() => resolve(address.port));
        });
    });
}

export const LOOPBACK = "127.0.0.1";

export interface Reply {
    readonly status: number;
    readonly headers: http.IncomingHttpHeaders;
    readonly body: string;
    readonly ms: number;
}

export interface RequestOptions {
    readonly method?: string;
    readonly headers?: Record<string, string>;
    readonly body?: Buffer;
    /** Client certificate for the mTLS listener: the client CA's, or the rogue self-signed one. */
    readonly cert?: "client" | "rogue";
}

/** One HTTPS request to the rendered nginx on loopback (own connection, server CA trusted, 10 s cap). */
export function httpsRequest(tree: TempTree, port: number, path: string, options: RequestOptions = {}): Promise<Reply> {
    const started = Date.now();
    const clientPki = options.cert === undefined ? {} : {
        cert: readFileSync(options.cert === "client" ? tree.pki.clientCert : tree.pki.rogueCert),
        key: readFileSync(options.cert === "client" ? tree.pki.clientKey : tree.pki.rogueKey),
    };
    return new Promise((resolve, reject) => {
        const req = https.request(
            {
                host: LOOPBACK, port, path, method: options.method ?? "GET", headers: options.headers,
                ca: readFileSync(tree.pki.caCert), servername: "localhost", agent: false, timeout: 10_000, ...clientPki,
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () =>
                    resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), ms: Date.now() - started }),
                );
            },
        );
        req.on("timeout", () => req.destroy(new Error(`timeout on ${path}`)));
        req.on("error", reject);
        req.end(options.body);
    });
}

/** Plain-HTTP GET (the health listener): the status. */
export function plainGet(port: number, path: string): Promise<number> {
    return new Promise((resolve, reject) => {
        const req = http.get({ host: LOOPBACK, port, path, agent: false, timeout: 5000 }, (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", reject);
    });
}

export interface RunningNginx {
    /** The master process (its children are the workers). */
    readonly pid: number;
    /** The tail of the error log, for assertion messages. */
    errorLog(): string;
    /** SIGTERM, SIGKILL after 5 s; resolves once nginx has exited. Safe to call twice. */
    stop(): Promise<void>;
}

/** Writes the rendered spec into the tree, checks it with `nginx -t`, runs nginx in the
 *  foreground and waits (5 s at most) until the health listener answers. */
export async function startNginx(tree: TempTree, spec: NginxSpec, files: readonly HostFile[]): Promise<RunningNginx> {
    tree.writeFiles(files);
    const conf = nginxLayout(spec).mainConf;
    const check = nginxConfigTest(conf, tree.root);
    if (!check.ok) throw new Error(`nginx -t failed: ${check.output}`);
    const child: ChildProcess = spawn(NGINX_BINARY, ["-c", conf, "-p", tree.root + "/", "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    const running: RunningNginx = {
        pid: child.pid ?? 0,
        errorLog: () => {
            try {
                return readFileSync(join(tree.root, "log/error.log"), "utf8").slice(-3000);
            } catch {
                return "(no error log)";
            }
        },
        stop: async () => {
            if (child.exitCode === null && child.signalCode === null) {
                child.kill("SIGTERM");
                const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
                await exited;
                clearTimeout(timer);
            }
        },
    };
    for (let attempt = 0; attempt < 50; attempt++) {
        if (child.exitCode !== null) break;
        const status = await plainGet(spec.health.port, spec.health.path).catch(() => 0);
        if (status === 200) return running;
        await new Promise((r) => setTimeout(r, 100));
    }
    await running.stop();
    throw new Error(`nginx did not come up: ${stderr}\n${running.errorLog()}`);
}

/** A spec served on loopback for live tests: unprivileged, this test's ports, relocated into the temp tree. */
export function loopbackSpec(tree: TempTree, base: NginxSpec, ports: { https: number; mtls: number; health: number; keys: number },
    parts: Pick<NginxSpec, "rateLimits" | "upstreams" | "routes">): NginxSpec {
    return tree.relocate({
        ...base,
        runUser: "nobody",
        runGroup: "nogroup",
        listenAddress: LOOPBACK,
        httpsPort: ports.https,
        mtlsPort: ports.mtls,
        health: { port: ports.health, path: "/healthz" },
        concurrencyTarget: 10_000,
        apiKeyService: { address: `${LOOPBACK}:${ports.keys}` },
        ...parts,
    });
}
