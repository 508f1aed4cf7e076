/**
 * The nginx Ubuntu 22.04 ships (1.18.0, no ssl_conf_command) for real: Debian 11's nginx 1.18.0
 * in a cached bullseye rootfs (the local target's host-control.sh builds it), run under chroot
 * with the temp tree bind-mounted at its own path. The config rendered for 1.22 fails its
 * `nginx -t` (the defect this proves fixed); the one rendered for 1.18 passes, and a live
 * handshake shows the TLS 1.3 suites are enforced through openssl.cnf (OPENSSL_CONF): CHACHA20
 * refused, AES-GCM accepted; without the file CHACHA20 would pass (the control).
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { renderNginx } from "../../../components/nginx";
import { nginxLayout } from "../../../components/nginx/layout";
import type { NginxSpec } from "../../../components/nginx/types";
import { validSpec } from "./fixtures";
import { freePort, LOOPBACK, makeTempTree, plainGet, type TempTree } from "./harness";

const ROOT = resolve(__dirname, "..", "..", "..");
const canRun = process.getuid?.() === 0 && existsSync("/usr/sbin/debootstrap");

/** The cached bullseye rootfs with nginx-core 1.18 (built once, ~1-2 minutes). */
function bullseyeRootfs(): string {
    return execFileSync("bash", [join(ROOT, "components", "targets", "local", "host-control.sh"), "rootfs",
        join(ROOT, ".tools", "local-hosts"), "bullseye", "nginx-core", "openssl"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 600_000 }).trim();
}

/** `sh -c` inside a private mount namespace where the temp tree appears at its own path in the rootfs. */
function inChroot(rootfs: string, tree: TempTree, command: string): string[] {
    const mountPoint = `${rootfs}${tree.root}`;
    return ["-m", "sh", "-c", `mkdir -p '${mountPoint}' && mount --bind '${tree.root}' '${mountPoint}' && exec chroot '${rootfs}' ${command}`];
}

describe("nginx 1.18 (Ubuntu 22.04's version) from Debian 11, for real", { skip: !canRun && "needs root and debootstrap" }, () => {
    let rootfs = "";
    let tree: TempTree;
    let spec: NginxSpec;
    const running: ChildProcess[] = [];
    const ports = { https: 0, mtls: 0, health: 0 };

    before(async () => {
        rootfs = bullseyeRootfs();
        tree = makeTempTree("apiproxy-nginx118-");
        for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
        spec = tree.relocate({
            ...validSpec, nginxVersion: "1.18.0", runUser: "nobody", runGroup: "nogroup", listenAddress: LOOPBACK,
            httpsPort: ports.https, mtlsPort: ports.mtls, health: { port: ports.health, path: "/healthz" }, concurrencyTarget: 10_000,
        });
    });
    after(async () => {
        for (const child of running) {
            if (child.exitCode === null && child.signalCode === null) {
                const exited = new Promise((r) => child.once("exit", r));
                child.kill("SIGTERM");
                await exited;
            }
        }
        // The mount points were made inside the cached rootfs: leave it as it was.
        if (rootfs && tree) spawnSync("rmdir", [`${rootfs}${tree.root}`]);
        tree?.remove();
    });

    const nginxTest = (): { ok: boolean; output: string } => {
        const r = spawnSync("unshare", inChroot(rootfs, tree, `/usr/sbin/nginx -t -q -c '${nginxLayout(spec).mainConf}' -p '${tree.root}/'`), { encoding: "utf8" });
        return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
    };

    it("is nginx 1.18.0", () => {
        const r = spawnSync("chroot", [rootfs, "/usr/sbin/nginx", "-v"], { encoding: "utf8" });
        assert.match(r.stderr, /nginx\/1\.18\.0/);
    });

    it("refuses the config rendered for 1.22 (ssl_conf_command): the defect", () => {
        tree.writeFiles(renderNginx({ ...spec, nginxVersion: "1.22.1" }));
        const result = nginxTest();
        assert.equal(result.ok, false);
        assert.match(result.output, /unknown directive "(proxy_)?ssl_conf_command"/);
    });

    it("accepts the config rendered for 1.18: no ssl_conf_command, the TLS 1.3 suites in openssl.cnf", () => {
        const files = renderNginx(spec);
        assert.ok(!files.some((f) => /^\s*(proxy_|grpc_)?ssl_conf_command/m.test(f.content)));
        const openssl = files.find((f) => f.path === nginxLayout(spec).opensslConf);
        assert.ok(openssl, "openssl.cnf");
        assert.match(openssl.content, /^Ciphersuites = TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384$/m);
        tree.writeFiles(files);
        const result = nginxTest();
        assert.ok(result.ok, result.output);
    });

    it("serves TLS 1.3 with AES-GCM only once its unit loads openssl.cnf; without it CHACHA20 would pass", async () => {
        const handshake = (suite: string): boolean => spawnSync("openssl", ["s_client", "-connect", `${LOOPBACK}:${ports.https}`, "-tls1_3",
            "-ciphersuites", suite, "-servername", "localhost"], { input: "", encoding: "utf8", timeout: 10_000 }).stdout.includes(`Cipher is ${suite}`);
        const start = async (env: string): Promise<ChildProcess> => {
            const child = spawn("unshare", inChroot(rootfs, tree, `env ${env} /usr/sbin/nginx -c '${nginxLayout(spec).mainConf}' -p '${tree.root}/' -g 'daemon off;'`),
                { stdio: ["ignore", "ignore", "pipe"] });
            running.push(child);
            for (let i = 0; i < 50 && (await plainGet(ports.health, "/healthz").catch(() => 0)) !== 200; i++) await new Promise((r) => setTimeout(r, 100));
            assert.equal(await plainGet(ports.health, "/healthz"), 200, readFileSync(join(tree.root, "log", "error.log"), "utf8").slice(-2000));
            return child;
        };
        const stop = async (child: ChildProcess) => {
            const exited = new Promise((r) => child.once("exit", r));
            child.kill("SIGTERM");
            await exited;
        };
        tree.writeFiles(renderNginx(spec));
        const enforced = await start(`OPENSSL_CONF='${nginxLayout(spec).opensslConf}'`);
        assert.equal(handshake("TLS_AES_256_GCM_SHA384"), true, "AES-GCM accepted");
        assert.equal(handshake("TLS_CHACHA20_POLY1305_SHA256"), false, "CHACHA20 refused");
        await stop(enforced);
        const control = await start("APIPROXY_CONTROL=1");
        assert.equal(handshake("TLS_CHACHA20_POLY1305_SHA256"), true, "the control: without openssl.cnf nginx 1.18 accepts CHACHA20");
        await stop(control);
    });
});
