/**
 * The inventory target: its configuration (docs/inventory.md's example passes; each bad host
 * entry is refused naming the field) and its wiring under mocks (per host a prepare step, one
 * delivery and its audit; proxies behind the load balancer trust its PROXY protocol only, admit
 * the delivery account in sshd; the keystore gets the keys as a secret).
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { TIER_CONFIG_KEY, validateTierConfig, type TierConfig } from "../../../infra/config/load";
import { problemsOf } from "./config-problems";
import { expectedFacts } from "../../../components/targets/inventory/host-audit";
import { RecordingMocks, revealSecrets } from "../../../infra/review/mocks";

const ROOT = path.resolve(__dirname, "..", "..", "..");

/** The tier object of docs/inventory.md's example. */
function exampleTier(): Record<string, any> {
    const doc = fs.readFileSync(path.join(ROOT, "docs", "inventory.md"), "utf8");
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)![1];
    return structuredClone(YAML.parse(yaml).config[TIER_CONFIG_KEY]);
}

const refused = (mutate: (t: Record<string, any>) => void, field: string, reason: RegExp): void => {
    const tier = exampleTier();
    mutate(tier);
    const problems = problemsOf(tier);
    assert.ok(problems.some((p) => p.path === field && reason.test(p.message)), `${field}: ${JSON.stringify(problems)}`);
};

describe("the inventory target's configuration", () => {
    test("docs/inventory.md's example is valid", () => {
        assert.deepEqual(problemsOf(exampleTier()), []);
    });
    test("the section is required for the target and refused on others", () => {
        refused((t) => { delete t.inventory; }, "tier.inventory", /is required for target "inventory"/);
        refused((t) => { t.target = "local"; t.local = {}; }, "tier.inventory", /only applies to target "inventory"/);
    });
    test("each host field is checked and named", () => {
        refused((t) => { t.inventory.hosts[1].ssh.user = "root"; }, "tier.inventory.hosts[1].ssh.user", /must not be root/);
        refused((t) => { t.inventory.hosts[1].ssh.hostKey = "not a key"; }, "tier.inventory.hosts[1].ssh.hostKey", /host key in authorized_keys form/);
        refused((t) => { t.inventory.hosts[1].os = "centos-7"; }, "tier.inventory.hosts[1].os", /debian-12, ubuntu-22.04, rhel-8/);
        refused((t) => { t.inventory.hosts[1].role = "bastion"; }, "tier.inventory.hosts[1].role", /proxy, lb, upstream, keystore/);
        refused((t) => { t.inventory.hosts[1].address = "proxy-1.plant7"; }, "tier.inventory.hosts[1].address", /IPv4/);
        refused((t) => { t.inventory.hosts[1].ssh.port = 0; }, "tier.inventory.hosts[1].ssh.port", /TCP port/);
        refused((t) => { t.inventory.hosts[1].ssh.password = "x"; }, "tier.inventory.hosts[1].ssh", /unknown field/);
    });
    test("roles must fit together", () => {
        refused((t) => { t.inventory.hosts[2].name = "proxy-1"; }, "tier.inventory.hosts[2].name", /listed twice/);
        refused((t) => { t.inventory.hosts[2].address = "10.70.3.10"; }, "tier.inventory.hosts[2].address", /listed twice/);
        refused((t) => { t.inventory.hosts = t.inventory.hosts.filter((h: any) => h.role !== "proxy"); }, "tier.inventory.hosts", /no host with role proxy/);
        refused((t) => { t.environment = "prod"; t.inventory.hosts.splice(2, 1); }, "tier.inventory.hosts", /needs an HA pair/);
        refused((t) => { t.inventory.hosts.push({ ...t.inventory.hosts[0], name: "lb-2", address: "10.70.2.11" }); }, "tier.inventory.hosts[4].role", /a second lb/);
        refused((t) => { t.apiKeyService = "10.70.4.21:8090"; }, "tier.inventory.hosts[3].address", /must be 10\.70\.4\.21/);
        refused((t) => { t.inventory.hosts.push({ ...t.inventory.hosts[3], name: "app-1", role: "upstream", address: "10.70.4.99" }); },
            "tier.inventory.hosts[4].address", /no upstream pool has a server at 10\.70\.4\.99/);
        refused((t) => { t.upstreams[0].servers[0].address = "historian.plant7.example.com:8443"; }, "tier.inventory.upstreamNetworkCidrs", /named by DNS/);
        refused((t) => { t.upstreams[0].servers[0].address = "historian.plant7.example.com:8443"; }, "tier.inventory.dnsResolvers", /opens port 53 to the declared resolvers only/);
    });
});

describe("the inventory target's wiring (mocks)", () => {
    interface Registered { type: string; name: string; inputs: Record<string, any>; secretInputs: string[] }
    const registered: Registered[] = [];
    let hostFiles: Record<string, { path: string; content: string }[]>;
    let tier: TierConfig;

    before(async () => {
        // The review's mocks (PEMs for the PKI) plus what the hosts' commands print.
        class InventoryMocks extends RecordingMocks {
            override newResource(args: pulumi.runtime.MockResourceArgs) {
                const result = super.newResource(args);
                const secretInputs = Object.entries(args.inputs ?? {})
                    .filter(([, v]) => (v as Record<string, unknown> | null)?.["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270").map(([k]) => k);
                registered.push({ type: args.type, name: args.name, inputs: revealSecrets(args.inputs) as Record<string, any>, secretInputs });
                if (args.type === "command:remote:Command") {
                    result.state.stdout = args.name.endsWith("-prepare")
                        ? JSON.stringify({ os: "ubuntu-22.04", nofileCeiling: 1048576, installed: [] })
                        : JSON.stringify({ changed: [], actions: [], notApplied: [] });
                }
                return result;
            }
        }
        await pulumi.runtime.setMocks(new InventoryMocks(), "api-proxy-security", "plant-7", false);
        tier = validateTierConfig(exampleTier(), "docs/inventory.md");
        const { deployTier } = await import("../../../infra/program");
        const deployment = deployTier(tier, { sshPrivateKey: pulumi.secret("-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n"),
            apiKeys: pulumi.secret({ keys: [{ id: "historian-client", key: "k".repeat(40) }] }) });
        hostFiles = await new Promise((resolve) => deployment.hostFiles.apply(resolve));
        await new Promise((resolve) => deployment.deliveries!.apply(resolve));
    });

    test("per host: prepare with the declared OS, one delivery, its audit", () => {
        for (const host of ["lb-1", "proxy-1", "proxy-2", "keys-1"]) {
            const prepare = registered.find((r) => r.name === `${host}-prepare`);
            assert.ok(prepare, `${host}-prepare`);
            assert.ok(registered.some((r) => r.type === "apiproxy:inventory:HostDelivery" && r.name === host), `${host} delivery`);
            assert.ok(registered.some((r) => r.name === `${host}-apply`), `${host}-apply`);
            assert.ok(registered.some((r) => r.name === `${host}-audit`), `${host}-audit`);
        }
        assert.match(JSON.stringify(registered.find((r) => r.name === "proxy-1-prepare")!.inputs.create), /EXPECT_OS=rhel-8/);
        assert.match(JSON.stringify(registered.find((r) => r.name === "proxy-1-prepare")!.inputs.create), /firewalld/);
        assert.match(JSON.stringify(registered.find((r) => r.name === "keys-1-prepare")!.inputs.create), /redis-server/);
    });

    test("proxies trust the load balancer's PROXY protocol only and admit the delivery account", () => {
        const files = hostFiles["proxy-1"];
        const all = files.map((f) => f.content).join("\n");
        assert.match(all, /set_real_ip_from 10\.70\.2\.10;/);
        assert.match(all, /AllowUsers .*apiproxy-admin/);
        assert.ok(files.some((f) => f.path.includes("firewalld")), "RHEL 8 gets firewalld, not nftables");
        const lb = hostFiles["lb-1"].map((f) => f.content).join("\n");
        assert.match(lb, /server proxy-1 10\.70\.3\.10:443/);
        assert.match(lb, /send-proxy-v2/);
    });

    test("the keystore serves at apiKeyService and receives the keys as a secret stdin", async () => {
        assert.match(hostFiles["keys-1"].map((f) => f.content).join("\n"), /--listen 10\.70\.4\.20:8090/);
        const keys = registered.find((r) => r.name === "keys-1-keys")!;
        assert.deepEqual(JSON.parse(keys.inputs.stdin), { keys: [{ id: "historian-client", key: "k".repeat(40) }] });
        assert.ok(keys.secretInputs.includes("stdin"), "the keys travel as a secret");
        assert.ok(registered.find((r) => r.name === "proxy-1-apply")!.secretInputs.includes("stdin"), "bundles are secrets");
    });

    test("the audit expects what delivery installs: digest, octal mode, owner", () => {
        const facts = expectedFacts([{ path: "/etc/x", content: "abc", mode: "0640", owner: "root", group: "nginx" }] as never);
        assert.equal(facts["/etc/x"], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 640 root:nginx");
    });
});
