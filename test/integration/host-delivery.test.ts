// The inventory target's delivery for real, on a local container: HostDelivery installs files
// with their modes and owners, validates with nginx -t, reloads (same master process), reports
// the controls the host cannot apply, changes nothing on a second up, and refuses a broken
// configuration while the old one keeps serving.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { deploymentGate, repoRoot, requireEngine } from "./engine-helpers";
import { testPackages, ThrowawayStack } from "./throwaway-project";

const { problem: statusProblem, skipReason } = deploymentGate();

const stack = "delivery";
const fabric = "apxdeliv";

const program = (stateDir: string): string => `import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { LocalHosts } from ${JSON.stringify(path.join(repoRoot, "components", "targets", "local", "local-hosts"))};
import { HostDelivery } from ${JSON.stringify(path.join(repoRoot, "components", "targets", "inventory", "host-delivery"))};

const config = new pulumi.Config();
const body = config.require("body");
const broken = config.getBoolean("broken") ?? false;

const local = new LocalHosts("lab", {
    fabric: ${JSON.stringify(fabric)},
    segments: { management: "198.18.30.1/24", dmz: "198.18.31.1/24" },
    managementHostAddress: "198.18.30.254/24",
    packages: ${JSON.stringify(testPackages)},
    rootfsCacheDir: ${JSON.stringify(path.join(repoRoot, ".tools", "local-hosts"))},
    stateDir: ${JSON.stringify(stateDir)},
    hosts: [{ name: "proxy-a", interfaces: { dmz: "198.18.31.10/24", management: "198.18.30.10/24" } }],
});
const host = local.hosts["proxy-a"];
const key = new tls.PrivateKey("tls-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });

const nginxConf = [
    "user www-data;", "pid /run/nginx.pid;", "events {}", "http {",
    "    server {", "        listen 8080;", \`        location / { return 200 "\${body}\\\\n"; }\`, "    }",
    broken ? "    this_is_not_a_directive on;" : "", "}", "",
].join("\\n");

const delivery = new HostDelivery("proxy-a", {
    host: { name: "proxy-a", address: host.sshAddress, hostKey: host.hostKey, user: local.adminUser },
    privateKey: local.managementPrivateKey,
    files: key.privateKeyPem.apply((pem) => [
        { path: "/etc/nginx/nginx.conf", content: nginxConf, mode: "0644", owner: "root", group: "root", action: "nginx-reload" as const },
        { path: "/etc/sysctl.d/90-delivery-test.conf", content: "net.ipv4.tcp_syncookies = 1\\nkernel.kptr_restrict = 2\\n", mode: "0644", owner: "root", group: "root", action: "sysctl-reload" as const },
        { path: "/etc/ssl/private/delivery-test.key", content: pem, mode: "0600", owner: "root", group: "root", action: "nginx-reload" as const, secret: true },
    ]),
});
export const report = delivery.report;
`;

describe("HostDelivery: rendered files delivered over SSH to a real Debian host", { timeout: 600_000 }, () => {
    let lab: ThrowawayStack | undefined;
    after(() => lab?.cleanup());

    it("installs, validates and reloads; reports what it could not apply; no-op second up; a broken config is refused while the old one serves",
        { skip: skipReason || false }, async () => {
            if (statusProblem) throw new Error(statusProblem);
            requireEngine(path.join(repoRoot, ".pulumi"));
            const current = new ThrowawayStack("host-delivery", stack, (work) => program(path.join(work, "local-hosts-state")));
            lab = current;
            const root = path.join(lab.work, "local-hosts-state", "proxy-a", "root");
            const get = (): string => execFileSync("curl", ["-s", "--max-time", "5", "http://198.18.30.10:8080/"], { encoding: "utf8" });
            const report = async (): Promise<{ changed: string[]; actions: string[]; notApplied: string[] }> =>
                JSON.parse((await current.run(["stack", "output", "report", "--json"])).stdout);
            // The container's nginx master, seen from this machine: the one in the container's network namespace.
            const masterPid = (): string => {
                const netns = fs.statSync(`/run/netns/${fabric}-proxy-a`).ino;
                for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
                    try {
                        if (fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("nginx: master") && fs.statSync(`/proc/${pid}/ns/net`).ino === netns) return pid;
                    } catch { /* gone */ }
                }
                throw new Error("no nginx master in the container");
            };

            await lab.init();
            await lab.run(["config", "set", "body", "v1"]);
            const first = await lab.update(["up"]);
            assert.equal(first.result, "succeeded");
            assert.equal(get(), "v1\n");
            const r1 = await report();
            assert.deepEqual([...r1.changed].sort(), ["/etc/nginx/nginx.conf", "/etc/ssl/private/delivery-test.key", "/etc/sysctl.d/90-delivery-test.conf"]);
            assert.ok(r1.actions.includes("sysctl"), JSON.stringify(r1));
            assert.ok(r1.notApplied.some((n) => n.startsWith("sysctl kernel.kptr_restrict=2")), `kernel-global sysctl reported: ${JSON.stringify(r1.notApplied)}`);
            assert.ok(!r1.notApplied.some((n) => n.includes("tcp_syncookies")), "per-namespace net.* applies inside the container");
            const key = fs.statSync(path.join(root, "etc", "ssl", "private", "delivery-test.key"));
            assert.equal(key.mode & 0o777, 0o600);
            assert.equal(key.uid, 0);
            const pid = masterPid();

            const again = await lab.update(["up"]);
            assert.deepEqual(Object.keys(again.resourceChanges), ["same"], JSON.stringify(again.resourceChanges));

            await lab.run(["config", "set", "body", "v2"]);
            const changed = await lab.update(["up"]);
            // The delivery and its audit (what the host should now have).
            assert.deepEqual(changed.resourceChanges, { ...changed.resourceChanges, update: 2 });
            assert.equal(get(), "v2\n");
            const r2 = await report();
            assert.deepEqual(r2.changed, ["/etc/nginx/nginx.conf"], "only what differs is installed");
            assert.deepEqual(r2.actions, ["systemctl reload nginx"]);
            assert.equal(masterPid(), pid, "reloaded, not restarted: the same master process");

            await lab.run(["config", "set", "broken", "true"]);
            const refused = await lab.attempt(["up", "--yes", "--skip-preview"]);
            assert.notEqual(refused.code, 0);
            const text = `${refused.stdout}\n${refused.stderr}`;
            assert.match(text, /nginx -t refused the new configuration; the previous files were restored and keep serving/);
            assert.match(text, /unknown directive "this_is_not_a_directive"/);
            assert.equal(get(), "v2\n", "the old configuration keeps serving");
            assert.doesNotMatch(fs.readFileSync(path.join(root, "etc", "nginx", "nginx.conf"), "utf8"), /this_is_not_a_directive/);
            assert.equal(masterPid(), pid);

            await lab.run(["config", "set", "broken", "false"]);
            await lab.remove();
        });
});
