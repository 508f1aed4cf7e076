// The local target's hosts for real: LocalHosts boots Debian containers (systemd-nspawn on an
// overlay of the cached rootfs, each in its own network namespace) through the engine and the
// project's command provider, the same program reaches them over SSH with the pinned host key,
// a second up changes nothing, and destroy leaves no container, namespace, link, mount or cgroup.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { deploymentGate, repoRoot, requireEngine } from "./engine-helpers";
import { testPackages, ThrowawayStack } from "./throwaway-project";

const { problem: statusProblem, skipReason } = deploymentGate();

const stack = "hosts";
const fabric = "apxtest";
// Segments 198.18.20-22.0/24: disjoint from the local stack's plan (198.18.0-4) and the delivery test's (198.18.30-31), which may run beside it.

const program = (stateDir: string): string => `import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { LocalHosts } from ${JSON.stringify(path.join(repoRoot, "components", "targets", "local", "local-hosts"))};

const local = new LocalHosts("lab", {
    fabric: ${JSON.stringify(fabric)},
    segments: { management: "198.18.20.1/24", internet: "198.18.21.1/24", dmz: "198.18.22.1/24" },
    managementHostAddress: "198.18.20.254/24",
    packages: ${JSON.stringify(testPackages)},
    rootfsCacheDir: ${JSON.stringify(path.join(repoRoot, ".tools", "local-hosts"))},
    stateDir: ${JSON.stringify(stateDir)},
    hosts: [
        { name: "proxy-a", interfaces: { dmz: "198.18.22.10/24", management: "198.18.20.10/24" } },
        { name: "proxy-b", interfaces: { dmz: "198.18.22.11/24", management: "198.18.20.11/24" } },
    ],
    namespaces: [{ name: "client", interfaces: { internet: "198.18.21.10/24" } }],
});

export const facts: Record<string, pulumi.Output<string>> = {};
for (const [name, host] of Object.entries(local.hosts)) {
    const probe = new command.remote.Command(\`probe-\${name}\`, {
        connection: { host: host.sshAddress, user: local.adminUser, privateKey: local.managementPrivateKey, hostKey: host.hostKey, dialErrorLimit: 3 },
        create: "echo \\"$(hostname) $(systemctl is-system-running) $(ip -4 -o addr show | awk '{print $4}' | sort | tr '\\\\n' ' ')\\"",
    });
    facts[name] = probe.stdout;
}
export const namespaces = local.namespaces;
`;

/** What this machine holds of the fabric: namespaces, veth/bridge links, overlay mounts, cgroups, nspawn processes. */
function leftovers(hostState = "/nonexistent"): string[] {
    const out: string[] = [];
    const netns = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    if (netns.includes(fabric)) out.push(`namespaces: ${netns.trim()}`);
    const mounts = fs.readFileSync("/proc/mounts", "utf8").split("\n").filter((l) => l.includes("overlay") && (l.includes(hostState) || l.includes(`/${fabric}-`)));
    if (mounts.length) out.push(`mounts: ${mounts.join("; ")}`);
    for (const h of ["systemd", "unified"]) {
        const dir = `/sys/fs/cgroup/${h}/api-proxy-security`;
        if (fs.existsSync(dir) && fs.readdirSync(dir).some((e) => e.startsWith(fabric))) out.push(`cgroups under ${dir}`);
    }
    const ps = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).split("\n").filter((l) => l.includes(`--machine=${fabric}-`));
    if (ps.length) out.push(`processes: ${ps.join("; ")}`);
    return out;
}

describe("LocalHosts: Debian containers on this machine through the real engine", { timeout: 600_000 }, () => {
    let lab: ThrowawayStack | undefined;
    after(() => lab?.cleanup());

    it("boots two containers and a client namespace, reaches them over SSH with pinned host keys, no-op second up, destroy leaves nothing",
        { skip: skipReason || false }, async () => {
            if (statusProblem) throw new Error(statusProblem);
            requireEngine(path.join(repoRoot, ".pulumi"));
            assert.deepEqual(leftovers(), [], "a previous run left the fabric behind");
            lab = new ThrowawayStack("local-hosts", stack, (work) => program(path.join(work, "local-hosts-state")));
            const hostState = path.join(lab.work, "local-hosts-state");

            await lab.init();
            const first = await lab.update(["up"]);
            assert.equal(first.result, "succeeded");

            const out = JSON.parse((await lab.run(["stack", "output", "--json", "--show-secrets"])).stdout) as {
                facts: Record<string, string>; namespaces: Record<string, string>;
            };
            assert.equal(out.facts["proxy-a"], "proxy-a running 127.0.0.1/8 198.18.20.10/24 198.18.22.10/24 ");
            assert.equal(out.facts["proxy-b"], "proxy-b running 127.0.0.1/8 198.18.20.11/24 198.18.22.11/24 ");
            assert.equal(out.namespaces.client, `${fabric}-client`);
            // The fabric routes between segments: the client reaches a proxy's DMZ address.
            execFileSync("ip", ["netns", "exec", `${fabric}-client`, "ping", "-c", "1", "-W", "2", "198.18.22.10"]);
            // Each container has its own identity: different host keys, its own machine id.
            // The delivery account exists with the management key and sudo to root; root has no key.
            assert.ok(fs.existsSync(path.join(hostState, "proxy-a", "root", "home", "apiproxy-admin", ".ssh", "authorized_keys")));
            assert.ok(!fs.existsSync(path.join(hostState, "proxy-a", "root", "root", ".ssh", "authorized_keys")));
            const ids = ["proxy-a", "proxy-b"].map((h) => fs.readFileSync(path.join(hostState, h, "root", "etc", "ssh", "ssh_host_ed25519_key.pub"), "utf8"));
            assert.notEqual(ids[0], ids[1]);

            const again = await lab.update(["up"]);
            assert.deepEqual(Object.keys(again.resourceChanges), ["same"], JSON.stringify(again.resourceChanges));

            const destroyed = await lab.remove();
            assert.equal(destroyed.result, "succeeded");
            assert.deepEqual(leftovers(hostState), []);
            assert.ok(!fs.existsSync(hostState), "the host state directory is removed");
        });
});
