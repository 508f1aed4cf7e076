/**
 * The offline review command end to end, as a reviewer runs it: `npm run review -- <stack>`.
 * Plan, verdicts and host files for every stack; invalid config writes nothing; the written
 * prod nginx configuration passes the real `nginx -t` once certificates exist at its paths.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const CLI = path.join(ROOT, "infra", "review", "cli.ts");

function review(args: string[]): { status: number; stdout: string; stderr: string } {
    const result = spawnSync(TSX, [CLI, ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

let work: string;
before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-review-"));
});
after(() => {
    fs.rmSync(work, { recursive: true, force: true });
});

describe("review of the shipped stacks", () => {
    for (const stack of ["dev", "staging", "prod"]) {
        test(`${stack}: plan, all policies pass, host files written`, () => {
            const out = path.join(work, stack);
            const result = review([stack, "--out", out, "--json"]);
            assert.equal(result.status, 0, result.stderr + result.stdout.slice(-3000));
            const report = JSON.parse(result.stdout);
            const types = new Set(report.resources.map((r: { type: string }) => r.type));
            for (const type of ["aws:ec2/vpc:Vpc", "aws:ec2/launchTemplate:LaunchTemplate", "aws:autoscaling/group:Group", "aws:lb/loadBalancer:LoadBalancer", "aws:ec2/flowLog:FlowLog", "tls:index/locallySignedCert:LocallySignedCert"]) {
                assert.ok(types.has(type), `plan lacks ${type}`);
            }
            assert.ok(report.verdicts.length > 0, "policies were evaluated");
            const failures = report.verdicts.filter((v: { status: string; enforcementLevel: string }) => v.status === "fail" && v.enforcementLevel === "mandatory");
            assert.deepEqual(failures, []);
            const hosts = Object.keys(report.hosts);
            const tier = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8")).config["api-proxy-security:tier"];
            // Both proxies of a pair launch from one template: one file set per pair.
            assert.deepEqual(hosts, Array.from({ length: tier.aws.pairCount ?? 1 }, (_, p) => `proxy-${String.fromCharCode(97 + p)}`));
            for (const host of hosts) {
                for (const file of report.hosts[host]) {
                    const onDisk = path.join(out, host, file.path);
                    assert.ok(fs.existsSync(onDisk), `${onDisk} missing`);
                    assert.equal((fs.statSync(onDisk).mode & 0o777).toString(8).padStart(4, "0"), file.mode, `${file.path} mode`);
                }
            }
            assert.doesNotMatch(result.stdout, /BEGIN [A-Z ]*PRIVATE KEY/, "no key material in the report");
        });
    }

    test("the text report lists resources and verdicts and says PASS", () => {
        const result = review(["staging"]);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /Resource plan for stack "staging"/);
        assert.match(result.stdout, /aws:ec2\/launchTemplate:LaunchTemplate\s+proxy-pair-0/);
        assert.match(result.stdout, /aws:autoscaling\/group:Group\s+proxy-pair-0/);
        assert.match(result.stdout, /Policy verdicts/);
        assert.match(result.stdout, /^PASS: 0 mandatory violation/m);
    });
});

describe("bad input", () => {
    test("invalid config: exit 2, every field error, nothing written", () => {
        const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.prod.yaml"), "utf8"));
        doc.config["api-proxy-security:tier"].aws.instanceType = "c7gd.xlarge";
        doc.config["api-proxy-security:tier"].managementCidrs = ["0.0.0.0/0"];
        const file = path.join(work, "Pulumi.broken.yaml");
        fs.writeFileSync(file, YAML.stringify(doc));
        const out = path.join(work, "broken-out");
        const result = review(["broken", "--stack-file", file, "--out", out]);
        assert.equal(result.status, 2);
        assert.match(result.stderr, /tier\.aws\.instanceType: "c7gd\.xlarge"/);
        assert.match(result.stderr, /tier\.managementCidrs\[0\]/);
        assert.match(result.stderr, /Nothing was registered or written/);
        assert.equal(fs.existsSync(out), false);
    });

    test("unknown stack and bad arguments are refused with usage", () => {
        assert.equal(review(["nosuchstack"]).status, 2);
        const bad = review(["prod", "--frobnicate"]);
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /usage: npm run review/);
    });
});

describe("the reviewed prod configuration is what nginx accepts", () => {
    test("nginx -t passes on the written files once certificates exist at their paths", (t) => {
        const out = path.join(work, "prod-nginx");
        const result = review(["prod", "--out", out]);
        assert.equal(result.status, 0, result.stderr);
        const host = path.join(out, "proxy-a");
        // Throwaway certificates at exactly the paths the configuration names.
        const ssl = path.join(host, "etc", "ssl", "apiproxy");
        fs.mkdirSync(path.join(ssl, "private"), { recursive: true });
        const openssl = (args: string[]) => {
            const r = spawnSync("openssl", args, { encoding: "utf8" });
            assert.equal(r.status, 0, r.stderr);
        };
        openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=api.example.com",
            "-keyout", path.join(ssl, "private", "server.key"), "-out", path.join(ssl, "server-chain.pem")]);
        // The review's CA bundle is the mock runtime's stand-in PEM: replace it with a real one too.
        fs.copyFileSync(path.join(ssl, "server-chain.pem"), path.join(ssl, "client-ca.pem"));
        assert.ok(fs.existsSync(path.join(ssl, "upstream-ca.pem")), "prod verifies TLS upstreams: the review wrote their CA file");
        fs.copyFileSync(path.join(ssl, "server-chain.pem"), path.join(ssl, "upstream-ca.pem"));
        // A private mount namespace puts the written tree at the real absolute paths, so nginx
        // reads exactly the files the host receives (nothing on this machine is changed).
        const script = [
            "set -e",
            `mount --bind ${host}/etc/nginx /etc/nginx`,
            "mount -t tmpfs tmpfs /etc/ssl",
            `mkdir -p /etc/ssl/apiproxy && mount --bind ${ssl} /etc/ssl/apiproxy`,
            "mkdir -p /var/log/nginx && mount -t tmpfs tmpfs /var/log/nginx",
            "mount -t tmpfs tmpfs /run && mkdir -p /run/nginx",
            "nginx -t -c /etc/nginx/nginx.conf",
        ].join("\n");
        const check = spawnSync("unshare", ["--mount", "--propagation", "private", "bash", "-c", script], { encoding: "utf8" });
        if (check.error || /unshare failed|Operation not permitted/.test(check.stderr)) {
            t.skip(`no mount namespace here: ${check.stderr || check.error?.message}`);
            return;
        }
        assert.equal(check.status, 0, check.stderr);
        assert.match(check.stderr, /syntax is ok[\s\S]*test is successful/);
    });
});

describe("recorded inputs", () => {
    test("secret wrappers are removed, as the engine hands inputs to policies", async () => {
        const { revealSecrets } = await import("../../../infra/review/mocks");
        const wrapped = { a: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: ["x", { b: 1 }] }, c: "plain" };
        assert.deepEqual(revealSecrets(wrapped), { a: ["x", { b: 1 }], c: "plain" });
    });
});
