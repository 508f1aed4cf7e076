/**
 * The AWS target's host delivery, booted for real (issue 9, deliverable 1). Nothing here is the
 * AWS target under mocks: each instance is a Debian container (systemd-nspawn --boot) that
 * cloud-init configures from a NoCloud seed holding the exact user data the aws target renders
 * (infra/targets/aws.ts renderAwsUserData, gzipped as the launch template carries it), and the AWS
 * APIs its first boot calls are moto's server: instance metadata (IMDSv2 token + role
 * credentials) at 169.254.169.254 and Secrets Manager behind a DMZ "interface endpoint" that the
 * VPC resolver (dnslib at VPC base + 2) names. Stock hosts install their packages from the
 * declared mirror (apt-cacher-ng); the golden path runs the Image Builder component documents'
 * build and validate phases on a build instance, and boots the result.
 *
 * Per instance the test proves: cloud-init finished without an error; TLS 1.2 and 1.3 on 443
 * with the certificate fetched from the emulator (fingerprint compared); the host firewall lets
 * DNS to the resolver the rendered config names and the upstream port through, and refuses
 * everything else it is tried with (each refusal next to a control showing the destination
 * answers from elsewhere); after the secret is rotated in the emulator, the certificate fetch
 * the timer runs makes nginx serve the new certificate without a restart (same master PID).
 *
 * What a container cannot be is simulated, and only that (test/integration/aws-boot/): kernel-
 * global sysctls get per-container files (kernel-shadow.sh: the real sysctl writes them, the test
 * reads the values back), AppArmor profiles are compiled but not loaded where this machine's
 * kernel has no AppArmor, and the instance-store disk is a loop device.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as YAML from "yaml";
import { TIER_CONFIG_KEY, validateTierConfig, type AwsTierConfig } from "../../infra/config/load";
import { awsHostNetwork, renderAwsHostFiles, renderAwsImageFiles, renderAwsUserData, type AwsCertificateSecretArns } from "../../infra/targets/aws";
import { gzipUserData } from "../../components/host/cloud-init";
import { SYSCTL_PATH } from "../../components/host/sysctl";
import { goldenImageDocuments } from "../../components/image/golden-image";
import type { HostFile } from "../../components/core/host-file";
import { repoRoot } from "./engine-helpers";
import {
    dnsAnswers, fabricDown, fabricUp, FABRIC, FIXTURES, Instance, InstanceStore, leftovers, mirrorUrl, PLAN, rootPortOpen, run, Services, setup,
    tcpConnects, waitFor, waitForPort, type SetupPaths,
} from "./aws-boot-env";
import { fingerprint, TestPki, type Issued } from "./aws-boot-pki";
import { runToeDocument, TOE_WORK_DIR } from "./aws-boot-toe";

const canRun = process.getuid?.() === 0 && fs.existsSync("/usr/sbin/debootstrap") && fs.existsSync("/usr/bin/systemd-nspawn");
const SERVER_NAME = "api.dev.example.com";
/** The instance's name on the AWS target (proxyHostNames: pair 0). */
const HOSTNAME = "proxy-a";
const KERNEL_HAS_APPARMOR = (() => {
    try {
        return fs.readFileSync("/sys/module/apparmor/parameters/enabled", "utf8").trim() === "Y";
    } catch {
        return false;
    }
})();

/** The dev stack's tier, placed in this test's VPC (198.19.0.0/16) with its mirror, upstream and networks. */
function devLikeTier(image: "stock" | "golden"): AwsTierConfig {
    const raw = YAML.parse(fs.readFileSync(path.join(repoRoot, "stacks", "Pulumi.dev.yaml"), "utf8")).config[TIER_CONFIG_KEY];
    const { packageMirror: _, ...aws } = raw.aws;
    const tier = validateTierConfig({
        ...raw,
        managementCidrs: [PLAN.managementCidr],
        trafficCidrs: [PLAN.trafficCidr],
        apiKeyService: PLAN.keyService,
        upstreams: raw.upstreams.map((u: { servers: unknown[] }) => ({ ...u, servers: [{ address: `${PLAN.upstream}:${PLAN.upstreamPort}` }] })),
        aws: {
            ...aws,
            vpcCidr: PLAN.vpcCidr,
            image,
            ...(image === "stock" ? { packageMirror: { url: mirrorUrl("debian"), securityUrl: mirrorUrl("debian-security") } } : {}),
        },
    }, "dev");
    if (!tier.aws) throw new Error("dev is an aws stack");
    return tier as AwsTierConfig;
}

/** A step of the user data's script the container cannot pass, for a reason of the container's, not the target's. */
interface ExpectedGap {
    /** What cloud-init's output shows. */
    readonly failure: RegExp;
    /** The script's steps after the failing one, run by the test. */
    readonly rest: readonly string[];
}

interface Certificates {
    readonly awsCa: Issued;
    readonly tierCa: Issued;
    readonly clientCa: Issued;
    readonly client: Issued;
    readonly server: Issued;
    readonly rotated: Issued;
}

describe("AWS host delivery booted for real: cloud-init user data and Image Builder documents, AWS APIs from moto", { skip: !canRun && "needs root, debootstrap and systemd-nspawn", timeout: 5_400_000 }, () => {
    let work = "";
    let paths: SetupPaths;
    let services: Services;
    let pki: Certificates;
    let ca: TestPki;
    const instances: Instance[] = [];
    const stores: InstanceStore[] = [];
    let rootBundles: Record<string, string> = {};
    /** Per instance: rendered sysctl keys whose effective value after boot differs (a later sysctl.d file won). */
    const sysctlOverrides = new Map<string, string[]>();

    const python = () => path.join(paths.venv, "bin", "python");
    const secrets = (action: "create" | "put", secret: string, file: string): string =>
        run("ip", ["netns", "exec", `${FABRIC}-aws`, python(), path.join(FIXTURES, "secrets.py"), `https://${PLAN.endpoint}`, pki.awsCa.certFile, action, secret, file]).trim();

    before(async () => {
        paths = setup();
        assert.deepEqual(leftovers(), [], "a previous run left the fabric behind");
        work = fs.mkdtempSync(path.join(os.tmpdir(), "apx-awsboot-"));
        services = new Services(work);
        ca = new TestPki(path.join(work, "pki"));
        const awsCa = ca.ca("aws-ca", "/CN=Boot test stand-in for Amazon's public CA");
        const tierCa = ca.ca("tier-ca", "/CN=apiproxy dev tier CA");
        const clientCa = ca.ca("client-ca", "/CN=apiproxy dev client CA");
        pki = {
            awsCa, tierCa, clientCa,
            client: ca.leaf("client", clientCa, "/CN=orders-admin", { client: true }),
            server: ca.leaf("server-1", tierCa, `/CN=${SERVER_NAME}`, { sans: [`DNS:${SERVER_NAME}`] }),
            rotated: ca.leaf("server-2", tierCa, `/CN=${SERVER_NAME}`, { sans: [`DNS:${SERVER_NAME}`] }),
        };
        const endpoint = ca.leaf("endpoint", awsCa, `/CN=${PLAN.secretsManagerName}`, { sans: [`DNS:${PLAN.secretsManagerName}`, `IP:${PLAN.endpoint}`] });

        fabricUp();
        const moto = path.join(paths.venv, "bin", "moto_server");
        // Instance metadata (IMDSv2 token, role credentials) and Secrets Manager: two moto servers.
        services.start("imds", "aws", moto, ["-H", PLAN.imds, "-p", "80"]);
        services.start("secretsmanager", "aws", moto, ["-H", PLAN.endpoint, "-p", "443", "-c", endpoint.certFile, "-k", endpoint.keyFile]);
        const zone = ca.write("vpc.zone", `${PLAN.secretsManagerName}. 60 IN A ${PLAN.endpoint}\n`);
        services.start("resolver", "dns", python(), ["-m", "dnslib.zoneresolver", "--zone", zone, "--address", "0.0.0.0", "--port", "53", "--tcp"]);
        // The upstream: answers on the declared port and on one that is not declared, at two addresses.
        const site = path.join(work, "upstream");
        fs.mkdirSync(path.join(site, "api", "v1", "admin", "orders"), { recursive: true });
        fs.writeFileSync(path.join(site, "api", "v1", "admin", "orders", "index.html"), "orders-upstream\n");
        for (const port of [PLAN.upstreamPort, PLAN.undeclaredPort]) {
            services.start(`upstream-${port}`, "upstream", "python3", ["-m", "http.server", "--directory", site, "--bind", "0.0.0.0", String(port)]);
        }
        // The declared package mirror on this machine's management address (apt-cacher-ng, cache kept between runs).
        const acngCache = path.join(repoRoot, ".tools", "aws-boot", "apt-cache");
        fs.mkdirSync(acngCache, { recursive: true });
        const acngConf = path.join(work, "acng");
        fs.mkdirSync(acngConf);
        fs.writeFileSync(path.join(acngConf, "acng.conf"), "");
        services.start("mirror", undefined, path.join(paths.aptCacherNg, "usr", "sbin", "apt-cacher-ng"), [
            "-c", acngConf, "ForeGround=1", `Port=${PLAN.mirrorPort}`, `BindAddress=${PLAN.mirror}`, `CacheDir=${acngCache}`, `LogDir=${work}`,
            `SupportDir=${path.join(paths.aptCacherNg, "usr", "lib", "apt-cacher-ng")}`, `PidFile=${path.join(work, "acng.pid")}`,
            `SocketPath=${path.join(work, "acng.socket")}`, "ExThreshold=0",
        ], { LD_LIBRARY_PATH: path.join(paths.aptCacherNg, "usr", "lib", "x86_64-linux-gnu") });

        await waitForPort("client", PLAN.endpoint, 443, 30_000, () => services.log("secretsmanager"));
        await waitForPort("client", PLAN.upstream, PLAN.upstreamPort, 30_000, () => services.log(`upstream-${PLAN.upstreamPort}`));
        await waitFor("the metadata service", 30_000, () => tcpConnects("aws", PLAN.imds, 80), () => services.log("imds"));
        await waitFor("the resolver", 30_000, () => dnsAnswers(paths.venv, "client", PLAN.resolver, "udp"), () => services.log("resolver"));
        await waitFor("the mirror", 30_000, () => rootPortOpen(PLAN.mirror, PLAN.mirrorPort), () => services.log("mirror"));
        // The image's CA bundle plus the stand-in for Amazon's CA (what update-ca-certificates would make).
        rootBundles = Object.fromEntries((["bookworm", "bullseye"] as const).map((suite) => {
            const bundle = paths[suite].map((layer) => path.join(layer, "etc", "ssl", "certs", "ca-certificates.crt")).find((f) => fs.existsSync(f));
            return [suite, `${bundle ? fs.readFileSync(bundle, "utf8") : ""}${pki.awsCa.cert}`];
        }));
    });

    after(async () => {
        for (const instance of instances) instance.down();
        await services?.stopAll();
        fabricDown(["aws", "dns", "upstream", "client"]);
        for (const store of stores) store.detach();
        if (work) fs.rmSync(work, { recursive: true, force: true });
        assert.deepEqual(leftovers(work || "/nonexistent"), [], "the test leaves no namespace, mount or container behind");
    });

    /** The tier's TLS secrets in the emulator, as TlsSecrets stores them; their ARNs. */
    function createSecrets(prefix: string): AwsCertificateSecretArns {
        const chain = ca.write(`${prefix}-chain.pem`, `${pki.server.cert}${pki.tierCa.cert}`);
        const key = ca.write(`${prefix}-key.pem`, pki.server.key);
        const clientCa = ca.write(`${prefix}-client-ca.pem`, pki.clientCa.cert);
        return {
            chain: secrets("create", `apiproxy-dev-${prefix}-server-chain`, chain),
            key: secrets("create", `apiproxy-dev-${prefix}-server-key`, key),
            clientCa: secrets("create", `apiproxy-dev-${prefix}-client-ca`, clientCa),
        };
    }

    /** What turns a container into an instance of this test's VPC (never part of the user data). */
    function instanceScaffolding(suite: "bookworm" | "bullseye", hostFiles: readonly HostFile[]): Record<string, string | Buffer> {
        const sysctl = hostFiles.find((f) => f.path === SYSCTL_PATH)?.content ?? "";
        const keys = sysctl.split("\n").map((l) => /^\s*([a-z0-9_.]+)\s*=/.exec(l)?.[1]).filter((k): k is string => !!k);
        return {
            // The VPC's DHCP hands out the resolver at base + 2.
            "etc/resolv.conf": `nameserver ${PLAN.resolver}\n`,
            // Amazon's CA is in every image's trust store; this is the stand-in that signed the endpoint.
            "usr/local/share/ca-certificates/apx-boot-test-aws.crt": pki.awsCa.cert,
            "etc/ssl/certs/ca-certificates.crt": rootBundles[suite],
            "etc/apx-boot-test/kernel-keys": `${keys.join("\n")}\n`,
            "usr/local/lib/apx-boot-test/kernel-shadow.sh": fs.readFileSync(path.join(FIXTURES, "kernel-shadow.sh")),
            "etc/systemd/system/apx-boot-test-kernel.service": [
                "[Unit]",
                "Description=Boot test: kernel-global sysctls this container cannot own (aws-boot/kernel-shadow.sh)",
                "DefaultDependencies=no",
                "After=local-fs.target",
                "Before=sysinit.target cloud-init-local.service systemd-sysctl.service",
                "[Service]",
                "Type=oneshot",
                "RemainAfterExit=yes",
                "ExecStart=/bin/bash /usr/local/lib/apx-boot-test/kernel-shadow.sh",
                "",
            ].join("\n"),
            "usr/local/sbin/sysctl": fs.readFileSync(path.join(FIXTURES, "sysctl")),
            // What Ubuntu's cloud images carry: the locale cloud-init's locale module sets (Debian's locale-gen reads this file).
            "etc/locale.gen": "en_US.UTF-8 UTF-8\n",
            ...(KERNEL_HAS_APPARMOR ? {} : {
                // This machine's kernel has no AppArmor: the profile is compiled for real, not loaded.
                "usr/local/sbin/apparmor_parser": "#!/bin/sh\n# boot test: no AppArmor in this kernel; compile the profile, skip loading it\nexec /usr/sbin/apparmor_parser --skip-kernel-load \"$@\"\n",
            }),
        };
    }

    /** Debian 11's backports suite left the archive (404): the image's apt template without it, so
     *  `apt-get update` from the mirror can succeed (Ubuntu's template names no such suite). */
    function archivedSuite(suite: "bookworm" | "bullseye"): Record<string, string> {
        if (suite !== "bullseye") return {};
        const template = paths.bullseye.map((layer) => path.join(layer, "etc", "cloud", "templates", "sources.list.debian.tmpl")).find((f) => fs.existsSync(f));
        if (!template) throw new Error("the Debian 11 image has no cloud-init sources template");
        return { "etc/cloud/templates/sources.list.debian.tmpl": fs.readFileSync(template, "utf8").split("\n").filter((l) => !l.includes("-backports")).join("\n") };
    }

    function seed(instanceId: string, userData: string | Buffer): Record<string, string | Buffer> {
        return {
            "etc/cloud/cloud.cfg.d/05-apx-boot-test.cfg": "# boot test: the NoCloud seed instead of EC2's metadata; the address is set, as DHCP would\ndatasource_list: [NoCloud]\nnetwork: {config: disabled}\n",
            "var/lib/cloud/seed/nocloud/meta-data": `instance-id: ${instanceId}\nlocal-hostname: ${HOSTNAME}\n`,
            "var/lib/cloud/seed/nocloud/user-data": userData,
        };
    }

    /** Boots an instance on image layers with an instance-store disk; files land in its own layer. */
    function boot(name: string, layers: readonly string[], files: Record<string, string | Buffer>): Instance {
        const instance = new Instance(name, path.join(work, "instances"), PLAN.proxy);
        instances.push(instance);
        const store = new InstanceStore(path.join(work, `${name}-nvme.img`));
        stores.push(store);
        instance.boot({
            layers, files,
            nspawnArgs: [`--bind=${store.device}:/dev/nvme1n1`],
            executables: ["usr/local/lib/apx-boot-test/kernel-shadow.sh", "usr/local/sbin/apparmor_parser", "usr/local/sbin/sysctl"],
            enable: { "apx-boot-test-kernel.service": "sysinit.target" },
        });
        return instance;
    }

    /** Waits for cloud-init's final stage and returns its result; throws with the instance's logs on error. */
    async function cloudInitResult(instance: Instance, timeoutMs: number, expectedGap?: ExpectedGap): Promise<void> {
        const logs = () => [
            `--- cloud-init-output.log\n${instance.tryExec("tail -n 40 /var/log/cloud-init-output.log").out}`,
            `--- failed units\n${instance.tryExec("systemctl --failed --no-legend --no-pager; for u in $(systemctl --failed --no-legend --plain | awk '{print $1}'); do journalctl -u $u -n 25 --no-pager; done").out}`,
        ].join("\n");
        // Finished: its result written, or a stage already reported an error (later stages may still run).
        await waitFor(`${instance.name}: cloud-init to finish`, timeoutMs, () => instance.running() &&
            /status: (done|error)/.test(instance.tryExec("test -f /run/cloud-init/result.json && echo 'status: done' || cloud-init status").out), logs);
        const status = instance.tryExec("cloud-init status --long");
        if (expectedGap) {
            // Exactly this failure and no other: the user data's script stopped at the named step.
            assert.match(status.out, /status: error/, status.out);
            assert.deepEqual([...status.out.matchAll(/^\('([a-z-]+)'/gm)].map((m) => m[1]), ["scripts-user"], status.out);
            assert.match(instance.exec("tail -n 20 /var/log/cloud-init-output.log"), expectedGap.failure, logs());
            instance.exec(`set -eu\n${expectedGap.rest.join("\n")}`, 180_000);
            return;
        }
        assert.match(status.out, /status: done/, `cloud-init reported errors\n${status.out}\n${logs()}`);
        const result = JSON.parse(instance.exec("cat /run/cloud-init/result.json")) as { v1: { errors: string[] } };
        assert.deepEqual(result.v1.errors, [], `cloud-init reported errors\n${status.out}\n${logs()}`);
    }

    /** Everything the issue asks of a booted proxy. */
    async function assertServes(instance: Instance, hostFiles: readonly HostFile[], arns: AwsCertificateSecretArns, failedUnits: readonly string[] = []): Promise<void> {
        const units = instance.exec("systemctl is-active nginx.service apiproxy-fetch-certs.timer apiproxy-log-volume.service || true").trim().split("\n");
        assert.deepEqual(units, ["active", "active", "active"], instance.exec("systemctl --failed --no-legend || true"));
        // First boot loads the ruleset itself (nft -f); the unit loads it on every later boot.
        assert.equal(instance.exec("systemctl is-enabled nftables.service").trim(), "enabled");
        assert.deepEqual(instance.exec("systemctl --failed --no-legend --plain | awk '{print $1}'").split("\n").filter(Boolean), failedUnits);
        // The log volume is the instance-store disk, formatted and mounted as rendered.
        assert.match(instance.exec("findmnt -n -o FSTYPE,OPTIONS /srv/apiproxy-logs"), /^xfs\s+\S*nodev/);
        // The kernel settings the rendered sysctl file asks for, as `sysctl --system` left them (container-owned or shadowed).
        const sysctl = hostFiles.find((f) => f.path === SYSCTL_PATH)!.content;
        const absent = instance.exec("cat /run/apx-boot-test/kernel/absent").split("\n").filter(Boolean);
        for (const key of absent) {
            // Only what a container cannot have: a key of the initial network namespace, or of a kernel module this machine lacks.
            const onThisMachine = fs.existsSync(`/proc/sys/${key.replace(/\./g, "/")}`);
            assert.ok(onThisMachine || (key.startsWith("kernel.yama.") && !fs.existsSync("/proc/sys/kernel/yama")), `${key} exists nowhere: a misspelt key?`);
        }
        const overridden: string[] = [];
        for (const [, key, value] of sysctl.matchAll(/^\s*([a-z0-9_.]+)\s*=\s*(.+?)\s*$/gm)) {
            if (absent.includes(key)) continue;
            const effective = instance.exec(`/usr/sbin/sysctl -n ${key}`).trim().replace(/\s+/g, " ");
            if (effective !== value.replace(/\s+/g, " ")) overridden.push(`${key} = ${effective} (rendered ${value})`);
        }
        sysctlOverrides.set(instance.name, overridden);

        // ---- TLS on 443 with the certificate fetched from the emulator ----
        const handshake = (version: "-tls1_2" | "-tls1_3" | "-tls1_1"): string => spawnSync("ip", ["netns", "exec", `${FABRIC}-client`, "openssl", "s_client",
            "-connect", `${PLAN.proxy}:443`, "-servername", SERVER_NAME, version, "-CAfile", pki.tierCa.certFile, "-verify_return_error", "-showcerts"],
        { input: "", encoding: "utf8", timeout: 15_000 }).stdout;
        const served = (out: string) => /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out)?.[0] ?? "";
        for (const version of ["-tls1_2", "-tls1_3"] as const) {
            const out = handshake(version);
            assert.match(out, /Verify return code: 0 \(ok\)/, `${version}: ${out.slice(-1500)}`);
            assert.equal(fingerprint(served(out)), fingerprint(pki.server.cert), `${version}: the certificate stored in Secrets Manager`);
        }
        // TLS 1.1 offered by a client that would accept it (security level 0): refused by the server.
        const tls11 = spawnSync("ip", ["netns", "exec", `${FABRIC}-client`, "openssl", "s_client", "-connect", `${PLAN.proxy}:443`, "-servername", SERVER_NAME,
            "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"], { input: "", encoding: "utf8", timeout: 15_000 });
        assert.match(`${tls11.stdout}${tls11.stderr}`, /Cipher is \(NONE\)|alert protocol version|no protocols available|handshake failure/, "TLS 1.1 is refused");
        // The fetched key is the proxy group's only (0640 root:www-data), the chain public.
        assert.equal(instance.exec("stat -c '%a %U:%G' /etc/ssl/apiproxy/private/server.key /etc/ssl/apiproxy/server-chain.pem").trim(),
            "640 root:www-data\n644 root:root");

        // ---- through nginx (as www-data) to the upstream, on the mTLS listener with a client certificate ----
        const curl = (url: string, extra: string[] = []) => spawnSync("ip", ["netns", "exec", `${FABRIC}-client`, "curl", "-sS", "--max-time", "10",
            "--resolve", `${SERVER_NAME}:8443:${PLAN.proxy}`, "--cacert", pki.tierCa.certFile, ...extra, url], { encoding: "utf8", timeout: 20_000 });
        const proxied = curl(`https://${SERVER_NAME}:8443/api/v1/admin/orders/`, ["--cert", pki.client.certFile, "--key", pki.client.keyFile]);
        assert.equal(proxied.stdout, "orders-upstream\n", `${proxied.stdout}${proxied.stderr}`);

        // ---- the firewall: DNS to the rendered resolver and the upstream port, nothing else ----
        const nft = instance.exec("nft list ruleset");
        assert.match(nft, new RegExp(`ip daddr ${PLAN.resolver.replace(/\./g, "\\.")} udp dport 53 ct state new accept`), "the rendered resolver");
        const dropped = () => Number(/counter output_dropped \{[^}]*packets (\d+)/.exec(instance.exec("nft list counter inet apiproxy output_dropped"))?.[1] ?? "0");
        const droppedBefore = dropped();
        const proxyNs = instance.name;
        assert.ok(dnsAnswers(paths.venv, proxyNs, PLAN.resolver, "udp"), "DNS over UDP to the VPC resolver");
        assert.ok(dnsAnswers(paths.venv, proxyNs, PLAN.resolver, "tcp"), "DNS over TCP to the VPC resolver");
        assert.ok(tcpConnects(proxyNs, PLAN.upstream, PLAN.upstreamPort), "the declared upstream");
        assert.ok(tcpConnects(proxyNs, PLAN.endpoint, 443), "Secrets Manager's endpoint in the DMZ subnets");
        assert.ok(tcpConnects(proxyNs, PLAN.imds, 80), "instance metadata, as root");
        const refused: [string, () => boolean, () => boolean][] = [
            ["DNS to another resolver (UDP)", () => dnsAnswers(paths.venv, proxyNs, PLAN.otherResolver, "udp"), () => dnsAnswers(paths.venv, "client", PLAN.otherResolver, "udp")],
            ["DNS to another resolver (TCP)", () => dnsAnswers(paths.venv, proxyNs, PLAN.otherResolver, "tcp"), () => dnsAnswers(paths.venv, "client", PLAN.otherResolver, "tcp")],
            ["the upstream on an undeclared port", () => tcpConnects(proxyNs, PLAN.upstream, PLAN.undeclaredPort), () => tcpConnects("client", PLAN.upstream, PLAN.undeclaredPort)],
            ["another address on the upstream port", () => tcpConnects(proxyNs, PLAN.otherUpstream, PLAN.upstreamPort), () => tcpConnects("client", PLAN.otherUpstream, PLAN.upstreamPort)],
            ["instance metadata as the proxy user", () => tcpConnects(proxyNs, PLAN.imds, 80, 33), () => tcpConnects(proxyNs, PLAN.imds, 80, 0)],
            ["the package mirror after first boot", () => tcpConnects(proxyNs, PLAN.mirror, PLAN.mirrorPort), () => tcpConnects("aws", PLAN.mirror, PLAN.mirrorPort)],
        ];
        for (const [what, attempt, control] of refused) {
            assert.ok(control(), `${what}: the control (the destination answers from elsewhere) failed`);
            assert.equal(attempt(), false, `${what}: the firewall let it through`);
        }
        assert.ok(dropped() > droppedBefore, "the refusals were counted by the output chain's drop counter");
        // Ingress: SSH and the health port only from their networks.
        assert.ok(await rootPortOpen(PLAN.proxy, 22), "SSH from the management network (this machine)");
        assert.equal(tcpConnects("client", PLAN.proxy, 22), false, "SSH from a client network");
        assert.equal(tcpConnects("client", PLAN.proxy, 8081), false, "the health port from a client network");
        assert.ok(tcpConnects("dns", PLAN.proxy, 8081), "the health port from the NLB (public) subnets");

        // ---- rotation: a new secret version, the timer's fetch, a reload (same master) ----
        const master = instance.exec("cat /run/nginx/nginx.pid").trim();
        secrets("put", arns.chain, ca.write(`rotated-chain-${instance.name}.pem`, `${pki.rotated.cert}${pki.tierCa.cert}`));
        secrets("put", arns.key, ca.write(`rotated-key-${instance.name}.pem`, pki.rotated.key));
        assert.match(instance.exec("systemctl cat apiproxy-fetch-certs.timer"), /Unit=apiproxy-fetch-certs\.service|\[Timer\]/);
        instance.exec("systemctl start apiproxy-fetch-certs.service", 120_000);
        await waitFor("the rotated certificate to be served", 30_000, () => fingerprint(served(handshake("-tls1_3")) || pki.server.cert) === fingerprint(pki.rotated.cert),
            () => instance.tryExec("journalctl -u apiproxy-fetch-certs.service -n 30 --no-pager").out);
        assert.equal(instance.exec("cat /run/nginx/nginx.pid").trim(), master, "nginx reloaded (SIGHUP), not restarted");
        assert.ok(instance.tryExec(`kill -0 ${master}`).ok, "the same master process still runs");
    }

    async function bootStock(suite: "bookworm" | "bullseye", name: string, nginxVersion: RegExp, gap?: { failure: RegExp; stepsAfter: RegExp }): Promise<void> {
        const tier = devLikeTier("stock");
        const network = awsHostNetwork(tier);
        const arns = createSecrets(name);
        const hostFiles = renderAwsHostFiles(tier, network, HOSTNAME, arns, "");
        // Exactly what the launch template carries (base64 of gzip): IMDS serves the decoded bytes.
        const document = renderAwsUserData(tier, HOSTNAME, hostFiles, []);
        const userData = Buffer.from(gzipUserData(document), "base64");
        const instance = boot(name, paths[suite], { ...instanceScaffolding(suite, hostFiles), ...archivedSuite(suite), ...seed(`i-${name}`, userData) });
        let expectedGap: ExpectedGap | undefined;
        if (gap) {
            const script = ((YAML.parse(document) as { runcmd: string[][] }).runcmd[0][2]).split("\n");
            const at = script.findIndex((line) => gap.stepsAfter.test(line));
            assert.ok(at > 0, `no step ${gap.stepsAfter} in the user data's script`);
            expectedGap = { failure: gap.failure, rest: script.slice(at + 1) };
        }
        await cloudInitResult(instance, 1_500_000, expectedGap);
        assert.match(instance.exec("nginx -v 2>&1"), nginxVersion);
        // Where the script stopped at an expected gap, cloud-final records it (and nothing else fails).
        await assertServes(instance, hostFiles, arns, gap ? ["cloud-final.service"] : []);
        instance.down();
    }

    it("stock host, Debian 12 (nginx 1.22): the dev user data boots, serves the fetched certificate, firewalls, rotates by reload", async () => {
        await bootStock("bookworm", "stock12", /nginx\/1\.22\./);
    });

    it("stock host, Debian 11 (nginx 1.18, Ubuntu 22.04's version): the same user data boots and serves", async () => {
        // Debian 11 stands in for Ubuntu 22.04's nginx, not its OpenSSH: 8.4 here, 8.9 there. The
        // rendered sshd_config offers sntrup761x25519 (OpenSSH 8.5+), so `sshd -t` stops the script
        // here and only here; the test asserts exactly that, then runs the script's remaining steps.
        await bootStock("bullseye", "stock11", /nginx\/1\.18\./, {
            failure: /Bad SSH2 KexAlgorithms 'sntrup761x25519-sha512@openssh\.com/,
            stepsAfter: /^systemctl reload ssh\.service$/,
        });
    });

    // Before the file sorted last (60-apiproxy.conf, then 99-zz-apiproxy.conf), Debian's procps
    // /usr/lib/sysctl.d/99-protect-links.conf (Debian 12) and protect-links.conf (Debian 11) set
    // fs.protected_fifos back to 1 at every boot.
    it("every rendered sysctl value is the effective one after boot", () => {
        assert.ok(sysctlOverrides.size > 0, "no instance booted");
        assert.deepEqual(Object.fromEntries(sysctlOverrides), Object.fromEntries([...sysctlOverrides.keys()].map((k) => [k, []])));
    });

    it("golden host, Debian 12: the Image Builder documents' build and validate phases on a build instance, then first boot from the image", async () => {
        const tier = devLikeTier("golden");
        const network = awsHostNetwork(tier);
        const imageFiles = renderAwsImageFiles(tier, network);
        const documents = goldenImageDocuments(tier.environment, imageFiles);
        // The build instance: the parent image, its apt reaching the archive through the mirror
        // (the build subnet's NAT path), cloud-init off (the build's own first boot is not ours).
        const builder = boot("build", paths.bookworm, {
            ...instanceScaffolding("bookworm", imageFiles),
            "etc/cloud/cloud-init.disabled": "",
            "etc/apt/apt.conf.d/00apx-boot-test-proxy": `Acquire::http::Proxy "http://${PLAN.mirror}:${PLAN.mirrorPort}";\n`,
        });
        await waitFor("the build instance's systemd", 120_000, () => builder.systemdUp(), () => builder.console());
        // The parent AMI's own first boot (cloud-init) gave the build instance its SSH host keys.
        builder.exec("ssh-keygen -A");
        // The build stage: every component's build phase, in recipe order, then every validate phase.
        for (const phase of ["build", "validate"]) {
            for (const document of documents) await runToeDocument(builder, document, [phase]);
        }
        console.log(`# golden image: ${documents.length} component document(s), ${imageFiles.length} files`);
        builder.down(true);
        // Image Builder's sanitising before the snapshot: the build's own identity and settings go.
        const image = builder.upper;
        for (const leftover of ["etc/cloud/cloud-init.disabled", "etc/apt/apt.conf.d/00apx-boot-test-proxy", "var/lib/cloud", TOE_WORK_DIR,
            "etc/apx-boot-test", "usr/local/lib/apx-boot-test", "etc/systemd/system/apx-boot-test-kernel.service", "usr/local/sbin/apparmor_parser",
            "etc/resolv.conf", "etc/ssl/certs/ca-certificates.crt", "usr/local/share/ca-certificates/apx-boot-test-aws.crt"]) {
            fs.rmSync(path.join(image, leftover), { recursive: true, force: true });
        }
        for (const key of fs.readdirSync(path.join(image, "etc", "ssh")).filter((f) => f.startsWith("ssh_host_"))) fs.rmSync(path.join(image, "etc", "ssh", key));

        const arns = createSecrets("golden");
        const hostFiles = renderAwsHostFiles(tier, network, HOSTNAME, arns, "");
        const userData = renderAwsUserData(tier, HOSTNAME, hostFiles, imageFiles);
        const instance = boot("golden", [image, ...paths.bookworm], { ...instanceScaffolding("bookworm", hostFiles), ...seed("i-golden", userData) });
        await cloudInitResult(instance, 900_000);
        await assertServes(instance, hostFiles, arns);
        instance.down();
    });
});
