// The HAProxy renderer: targeted assertions, the real `haproxy -c`, and a live HAProxy on
// loopback in front of two stand-in proxies that parse the PROXY v2 header it sends: the real
// client address arrives, one client stays on one proxy, and a proxy whose status endpoint
// fails is taken out within fall x interval.
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { HAPROXY_CONFIG_PATH, HEALTH_FALL, HEALTH_INTERVAL_SECONDS, HEALTH_RISE, haproxyNofile, renderHaproxy, type HaproxySpec } from "../../../components/haproxy/render-haproxy";

const spec: HaproxySpec = {
    bindAddress: "198.18.2.10",
    listeners: [{ name: "https", port: 443 }, { name: "mtls", port: 8443 }],
    proxies: [{ name: "proxy-a", address: "198.18.3.10" }, { name: "proxy-b", address: "198.18.3.11" }],
    health: { port: 8081, path: "/healthz" },
    maxConnections: 20000,
};

function haproxyCheck(content: string): { ok: boolean; out: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "haproxy-c-"));
    try {
        fs.writeFileSync(path.join(dir, "haproxy.cfg"), content);
        execFileSync("haproxy", ["-c", "-f", path.join(dir, "haproxy.cfg")], { encoding: "utf8", stdio: "pipe" });
        return { ok: true, out: "" };
    } catch (err) {
        const e = err as { stdout?: string; stderr?: string };
        return { ok: false, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("haproxy.cfg renderer", () => {
    const files = renderHaproxy(spec);
    const file = files.find((f) => f.path === HAPROXY_CONFIG_PATH)!;

    it("the config, validated by the real haproxy -c, and the nofile limit maxconn needs", () => {
        const dropIn = files.find((f) => f.path.endsWith("apiproxy-limits.conf"))!;
        assert.match(dropIn.content, new RegExp(`^LimitNOFILE=${haproxyNofile(20000)}$`, "m"));
        assert.ok(haproxyNofile(20000) >= 2 * 20000, "two descriptors per proxied connection");
        assert.equal(dropIn.action, "systemd-daemon-reload");
        assert.equal(file.path, "/etc/haproxy/haproxy.cfg");
        assert.equal(file.mode, "0644");
        assert.equal(file.action, "haproxy-reload");
        const check = haproxyCheck(file.content);
        assert.ok(check.ok, check.out);
    });

    it("TCP pass-through per listener, PROXY v2, source affinity, health checks on the status endpoint", () => {
        const c = file.content;
        assert.match(c, /^ {4}mode tcp {2}# /m);
        for (const port of [443, 8443]) assert.match(c, new RegExp(`bind 198\\.18\\.2\\.10:${port}\\n`));
        assert.match(c, /server proxy-a 198\.18\.3\.10:443\n/);
        assert.match(c, /server proxy-b 198\.18\.3\.11:8443\n/);
        assert.equal(c.match(/send-proxy-v2/g)?.length, 2);
        assert.equal(c.match(/balance source/g)?.length, 2);
        assert.match(c, /option httpchk GET \/healthz\n/);
        assert.match(c, /check port 8081 inter 2s fall 3 rise 2/);
        assert.match(c, /maxconn 20000/);
        assert.match(c, /^ {4}retries 3 {2}# /m);
        assert.match(c, /^ {4}option redispatch 1 {2}# /m);
    });

    it("refuses bad input by field", () => {
        assert.throws(() => renderHaproxy({ ...spec, proxies: [] }), /at least one proxy/);
        assert.throws(() => renderHaproxy({ ...spec, bindAddress: "lb.example" }), /bindAddress must be an IPv4 address/);
        assert.throws(() => renderHaproxy({ ...spec, proxies: [{ name: "Proxy A", address: "198.18.3.10" }] }), /proxy name/);
        assert.throws(() => renderHaproxy({ ...spec, health: { port: 8081, path: "/health z" } }), /health path/);
    });

    it("a broken edit fails haproxy -c (the check the delivery runs before activation)", () => {
        assert.equal(haproxyCheck(file.content.replace("balance source", "balance nonsense")).ok, false);
    });
});

/** A stand-in proxy: reads the PROXY v2 header, answers with the source address it carried. */
function standInProxy(name: string): Promise<{ port: number; server: net.Server }> {
    const server = net.createServer((socket) => {
        socket.once("data", (chunk: Buffer) => {
            const signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
            if (!chunk.subarray(0, 12).equals(signature)) {
                socket.end("no-proxy-v2\n");
                return;
            }
            const family = chunk[13];
            const source = family === 0x11 ? [...chunk.subarray(16, 20)].join(".") : "non-ipv4";
            socket.end(`${name} ${source}\n`);
        });
    });
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ port: (server.address() as net.AddressInfo).port, server })));
}

function ask(port: number, from: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = net.connect({ host: "127.0.0.1", port, localAddress: from }, () => socket.write("hello"));
        let data = "";
        socket.on("data", (d) => (data += d.toString()));
        socket.on("end", () => resolve(data.trim()));
        socket.on("error", reject);
        socket.setTimeout(5000, () => socket.destroy(new Error("timeout")));
    });
}

describe("live haproxy on loopback in front of two stand-in proxies", { timeout: 60_000 }, () => {
    let haproxy: ChildProcess | undefined;
    let dir = "";
    const servers: net.Server[] = [];
    let healthy = { a: true, b: true };
    let frontPort = 0;
    let haproxyLog = "";

    before(async () => {
        const a = await standInProxy("proxy-a");
        const b = await standInProxy("proxy-b");
        servers.push(a.server, b.server);
        // One status endpoint per stand-in, on its own port: haproxy checks `port` per server via the addresses below.
        const health = (key: "a" | "b") => http.createServer((_, res) => { res.statusCode = healthy[key] ? 200 : 503; res.end(); });
        const ha = health("a").listen(0, "127.0.0.2");
        const hb = health("b").listen(0, "127.0.0.3");
        await Promise.all([new Promise((r) => ha.once("listening", r)), new Promise((r) => hb.once("listening", r))]);
        servers.push(ha, hb);
        frontPort = await new Promise<number>((resolve) => {
            const probe = net.createServer().listen(0, "127.0.0.1", () => { const p = (probe.address() as net.AddressInfo).port; probe.close(() => resolve(p)); });
        });
        const file = renderHaproxy({ ...spec, bindAddress: "127.0.0.1", maxConnections: 1000, listeners: [{ name: "https", port: frontPort }],
            proxies: [{ name: "proxy-a", address: "127.0.0.2" }, { name: "proxy-b", address: "127.0.0.3" }],
            health: { port: (ha.address() as net.AddressInfo).port, path: "/healthz" } }).find((f) => f.path === HAPROXY_CONFIG_PATH)!;
        // The stand-ins listen on their own ports on 127.0.0.1; point each server line at it
        // (the renderer uses the listener port on every proxy, as the real proxies do).
        const config = file.content
            .replace(`server proxy-a 127.0.0.2:${frontPort}`, `server proxy-a 127.0.0.1:${(servers[0].address() as net.AddressInfo).port} addr 127.0.0.2 port ${(ha.address() as net.AddressInfo).port}`)
            .replace(`server proxy-b 127.0.0.3:${frontPort}`, `server proxy-b 127.0.0.1:${(servers[1].address() as net.AddressInfo).port} addr 127.0.0.3 port ${(hb.address() as net.AddressInfo).port}`)
            .replace(/^ {4}log .*$/gm, "").replace(/^ {4}chroot .*$/m, "").replace(/^ {4}stats socket .*$/m, "");
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "haproxy-live-"));
        fs.writeFileSync(path.join(dir, "haproxy.cfg"), config);
        haproxy = spawn("haproxy", ["-db", "-f", path.join(dir, "haproxy.cfg")], { stdio: ["ignore", "ignore", "pipe"] });
        haproxy.stderr!.on("data", (d: Buffer) => (haproxyLog += d.toString()));
        await new Promise((r) => setTimeout(r, 1500)); // first health checks
        assert.equal(haproxy.exitCode, null, `haproxy exited: ${haproxyLog}`);
    });

    after(() => {
        haproxy?.kill("SIGKILL");
        for (const s of servers) if (s.listening) s.close();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("the proxy receives the real client address; one client stays on one proxy", async () => {
        const answers = await Promise.all(Array.from({ length: 6 }, () => ask(frontPort, "127.0.0.9")));
        const [name, source] = answers[0].split(" ");
        assert.equal(source, "127.0.0.9", answers[0]);
        assert.ok(answers.every((a) => a === `${name} 127.0.0.9`), `source affinity: ${answers.join(", ")}`);
    });

    it(`a proxy failing its status endpoint is out within ${HEALTH_FALL} x ${HEALTH_INTERVAL_SECONDS} s and its clients move`, async () => {
        const first = (await ask(frontPort, "127.0.0.9")).split(" ")[0];
        healthy = first === "proxy-a" ? { a: false, b: true } : { a: true, b: false };
        const deadline = Date.now() + (HEALTH_FALL * HEALTH_INTERVAL_SECONDS + 3) * 1000;
        let now = first;
        while (now === first && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 250));
            now = (await ask(frontPort, "127.0.0.9")).split(" ")[0];
        }
        assert.notEqual(now, first, "the failing proxy was taken out");
        healthy = { a: true, b: true };
    });

    it("a proxy that refuses connections before its checks have marked it down: the connection is retried on the other proxy (no client sees it)", async () => {
        await new Promise((r) => setTimeout(r, (HEALTH_RISE * HEALTH_INTERVAL_SECONDS + 1) * 1000)); // both up again
        const first = (await ask(frontPort, "127.0.0.9")).split(" ")[0];
        const stopped = servers[first === "proxy-a" ? 0 : 1];
        await new Promise((r) => stopped.close(r)); // refuses connections now; its status endpoint still answers 200
        const answers = await Promise.all(Array.from({ length: 5 }, () => ask(frontPort, "127.0.0.9")));
        const other = first === "proxy-a" ? "proxy-b" : "proxy-a";
        assert.ok(answers.every((a) => a.startsWith(`${other} `)), `every connection answered by ${other}: ${answers.map((a) => a || "(closed, no answer)").join(", ")}`);
    });
});
