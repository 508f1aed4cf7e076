// `target: inventory` for real: the project's own program (infra/) with a stack file listing an
// existing host, its pinned host key and the delivery account's key in secret config, exactly
// as a site would write it. The "existing" host is a Debian container a throwaway LocalHosts
// stack creates first (the site's server). Proves: a host whose OS is not the declared one stops
// at prepare, naming the field, before anything is delivered; the proxy role provisions a
// serving, hardened nginx (TLS with the stack's CA, default deny, the key service failing closed,
// sshd admitting the inventory's account); a second up changes nothing; refresh sees a hand edit.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import * as YAML from "yaml";
import { deploymentGate, makeTempDir, removeDir, repoRoot, requireEngine, runPulumi, runPulumiOk, runUpdate } from "./engine-helpers";
import { testPackages, ThrowawayStack } from "./throwaway-project";

const { problem: statusProblem, skipReason } = deploymentGate();
const fabric = "apxinv";
const siteHost = "198.18.40.10";
const stack = "inventory-it";
const serverName = "api.site.test";

const siteProgram = (stateDir: string): string => `import * as pulumi from "@pulumi/pulumi";
import { LocalHosts } from ${JSON.stringify(path.join(repoRoot, "components", "targets", "local", "local-hosts"))};
const site = new LocalHosts("site", {
    fabric: ${JSON.stringify(fabric)},
    segments: { management: "198.18.40.1/24" },
    managementHostAddress: "198.18.40.254/24",
    packages: ${JSON.stringify(testPackages)},
    rootfsCacheDir: ${JSON.stringify(path.join(repoRoot, ".tools", "local-hosts"))},
    stateDir: ${JSON.stringify(stateDir)},
    hosts: [{ name: "edge-1", interfaces: { management: "${siteHost}/24" } }],
});
export const sshAddress = site.hosts["edge-1"].sshAddress;
export const hostKey = site.hosts["edge-1"].hostKey;
export const user = site.adminUser;
export const privateKey = site.managementPrivateKey;
`;

/** The site's stack file: one proxy, the key service somewhere it is not (so it fails closed). */
const stackFile = (os: string, hostKey: string, user: string): string => YAML.stringify({
    config: {
        "api-proxy-security:tier": {
            environment: "site-it",
            target: "inventory",
            serverName,
            managementCidrs: ["198.18.40.0/24"],
            trafficCidrs: ["198.18.40.0/24"],
            logRetentionDays: 30,
            pki: { serverValidityDays: 30, earlyRenewalDays: 10 },
            apiKeyService: "198.18.40.20:8090",
            upstreams: [{ name: "historian", servers: [{ address: "198.18.40.31:8080" }] }],
            routes: [{ name: "historian", path: "/api/v1/historian/", methods: ["GET"], upstream: "historian" }],
            inventory: { hosts: [{ name: "edge-1", role: "proxy", os, address: siteHost, ssh: { user, hostKey } }] },
        },
    },
});

describe("target: inventory through the project's program, on an existing Debian host", { timeout: 900_000 }, () => {
    let site: ThrowawayStack | undefined;
    let work: string | undefined;
    let configFile = "";
    let opts = { cwd: repoRoot, env: {} as NodeJS.ProcessEnv, timeoutMs: 600_000 };
    let created = false;

    after(async () => {
        try {
            if (created) await runPulumi(["destroy", "--yes", "--skip-preview", "--stack", stack], opts);
        } finally {
            if (configFile) fs.rmSync(configFile, { force: true });
            removeDir(work);
            await site?.cleanup();
        }
    });

    it("stops at prepare on the wrong OS; provisions a serving proxy; no-op second up; refresh sees a hand edit",
        { skip: skipReason || false }, async () => {
            if (statusProblem) throw new Error(statusProblem);
            requireEngine(path.join(repoRoot, ".pulumi"));
            const current = new ThrowawayStack("inventory-site", "site", (w) => siteProgram(path.join(w, "local-hosts-state")));
            site = current;
            await current.init();
            assert.equal((await current.update(["up"])).result, "succeeded");
            const siteOut = JSON.parse((await current.run(["stack", "output", "--json", "--show-secrets"])).stdout) as
                { hostKey: string; user: string; privateKey: string };

            work = makeTempDir("inventory-stack");
            configFile = path.join(repoRoot, "stacks", `Pulumi.${stack}.yaml`);
            opts = {
                cwd: repoRoot, timeoutMs: 600_000,
                env: { PULUMI_BACKEND_URL: `file://${work}`, PULUMI_CONFIG_PASSPHRASE: "inventory-stack-test-only", PULUMI_CONFIG_PASSPHRASE_FILE: undefined },
            };
            const pulumi = (args: string[]) => runPulumiOk([...args, "--stack", stack], opts);
            // Declared wrong on purpose first: the host runs Debian 12.
            fs.writeFileSync(configFile, stackFile("ubuntu-22.04", siteOut.hostKey, siteOut.user));
            await runPulumiOk(["stack", "init", stack], opts);
            created = true;
            const keyFile = path.join(work, "delivery.key");
            fs.writeFileSync(keyFile, siteOut.privateKey, { mode: 0o600 });
            // As docs/inventory.md says: the key goes in as secret config, read from its file.
            execFileSync("bash", ["-c", `"$0" config set --secret api-proxy-security:sshPrivateKey --stack ${stack} -- "$(cat "$1")"`,
                path.join(repoRoot, "bin", "pulumi"), keyFile], { cwd: repoRoot, env: { ...process.env, ...opts.env } as NodeJS.ProcessEnv });

            const wrongOs = await runPulumi(["up", "--yes", "--skip-preview", "--stack", stack], opts);
            assert.notEqual(wrongOs.code, 0, "up must fail on an OS mismatch");
            assert.match(`${wrongOs.stdout}\n${wrongOs.stderr}`, /declares os: ubuntu-22\.04; correct inventory\.hosts\[\]\.os/);
            // The site host's systemd (the container's PID 1) and its nginx.conf, seen from this machine.
            const initPid = (): string => {
                const pid = fs.readFileSync(path.join(current.work, "local-hosts-state", "edge-1", "nspawn.pid"), "utf8").trim();
                return execFileSync("pgrep", ["-P", pid], { encoding: "utf8" }).trim().split("\n")[0];
            };
            const nginxConf = (): string => execFileSync("nsenter", ["-t", initPid(), "-a", "cat", "/etc/nginx/nginx.conf"], { encoding: "utf8" });
            assert.doesNotMatch(nginxConf(), /apiproxy/, "nothing was delivered after the failed prepare");

            fs.writeFileSync(configFile, fs.readFileSync(configFile, "utf8").replace("os: ubuntu-22.04", "os: debian-12"));
            const first = await runUpdate(["up", "--yes", "--skip-preview", "--stack", stack], opts, stack);
            assert.equal(first.result, "succeeded");
            const out = JSON.parse((await pulumi(["stack", "output", "--json"])).stdout) as {
                caBundlePem: string; deliveries: Record<string, { changed: string[]; notApplied: string[] }>;
            };
            assert.ok(out.deliveries["edge-1"].changed.includes("/etc/nginx/nginx.conf"));
            assert.ok(out.deliveries["edge-1"].notApplied.some((n) => n.startsWith("sysctl kernel.")), "a container's limits are reported");
            const ca = path.join(work, "ca.pem");
            fs.writeFileSync(ca, out.caBundlePem);
            const curl = (urlPath: string, extra: string[] = []): string => spawnSync("curl", ["-sS", "--max-time", "10", "--cacert", ca,
                "--resolve", `${serverName}:443:${siteHost}`, "-o", "/dev/null", "-w", "%{http_code}", ...extra, `https://${serverName}${urlPath}`],
                { encoding: "utf8" }).stdout;
            assert.equal(spawnSync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", `http://${siteHost}:8081/healthz`],
                { encoding: "utf8" }).stdout, "200", "health endpoint");
            assert.equal(curl("/undeclared"), "404", "default deny");
            // The key service is unreachable: every API-key route fails closed, with or without a key.
            assert.equal(curl("/api/v1/historian/1"), "500");
            assert.equal(curl("/api/v1/historian/1", ["-H", "X-API-Key: some-key-some-key-some-key-some-key"]), "500");
            assert.match(nginxConf(), /include \/etc\/nginx\/apiproxy\//);
            const sshd = spawnSync("nsenter", ["-t", initPid(), "-a", "sshd", "-T"], { encoding: "utf8" }).stdout;
            assert.match(sshd, new RegExp(`^allowusers .*${siteOut.user}`, "m"), "sshd admits the inventory's account");

            const again = await runUpdate(["up", "--yes", "--skip-preview", "--stack", stack], opts, stack);
            assert.deepEqual(Object.keys(again.resourceChanges), ["same"], JSON.stringify(again.resourceChanges));

            spawnSync("nsenter", ["-t", initPid(), "-a", "sh", "-c", "echo '# site edit' >> /etc/nginx/nginx.conf"]);
            const refreshed = await runUpdate(["refresh", "--yes", "--skip-preview", "--stack", stack], opts, stack);
            assert.equal(refreshed.resourceChanges.update, 1, JSON.stringify(refreshed.resourceChanges));
            const repaired = await runUpdate(["up", "--yes", "--skip-preview", "--stack", stack], opts, stack);
            assert.equal(repaired.result, "succeeded");
            assert.doesNotMatch(nginxConf(), /# site edit/, "the next up delivered the rendered file again");

            const destroyed = await runUpdate(["destroy", "--yes", "--skip-preview", "--stack", stack], opts, stack);
            assert.equal(destroyed.result, "succeeded");
            created = false;
        });
});
