import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { shellQuote } from "../../core/shell";

/** host-control.sh beside this file: the imperative half of this component (create / delete). */
export const HOST_CONTROL = path.join(__dirname, "host-control.sh");

/** The segment every container is reachable on from this machine (SSH from the engine). */
export const MANAGEMENT_SEGMENT = "management";
/** The account delivery logs in as (sudo to root); the rendered sshd_config admits it alone (infra/spec/host-paths SSH_ADMIN_USERS). */
export const DEFAULT_ADMIN_USER = "apiproxy-admin";
/** Packages every container needs whatever its role: systemd to boot, sshd and sudo for delivery. */
export const BASE_PACKAGES: readonly string[] = ["systemd", "systemd-sysv", "dbus", "openssh-server", "sudo", "iproute2", "procps", "ca-certificates"];

export interface LocalHostSpec {
    /** Host name, also part of its network namespace name: [a-z][a-z0-9-]{0,15}. */
    readonly name: string;
    /** Interfaces by segment, address with prefix (e.g. { dmz: "198.18.2.10/24", management: "198.18.0.10/24" }). The first is the primary: its gateway is the default route. A container needs a management interface. */
    readonly interfaces: Readonly<Record<string, string>>;
}

export interface LocalHostsArgs {
    /** Prefix of every namespace and cgroup this component creates: [a-z][a-z0-9-]{0,11}, unique per stack on this machine. */
    readonly fabric: string;
    /** Segments by name, each with its gateway address and prefix in the fabric (e.g. { management: "198.18.0.1/24" }). Must include "management". */
    readonly segments: Readonly<Record<string, string>>;
    /** This machine's address on the management segment, with prefix (e.g. "198.18.0.254/24"). */
    readonly managementHostAddress: string;
    /** Debian suite of the containers. Default: "bookworm" (Debian 12) */
    readonly suite?: string;
    /** Debian packages in the rootfs besides BASE_PACKAGES (a change rebuilds it and replaces every container). */
    readonly packages: readonly string[];
    /** The delivery account (key-only, sudo to root). Default: "apiproxy-admin" */
    readonly adminUser?: string;
    /** Where the rootfs is cached between stacks and runs (it survives destroy, like any build cache). */
    readonly rootfsCacheDir: string;
    /** Where each container's overlay and console log live; removed with the container. */
    readonly stateDir: string;
    /** Containers: Debian booted with systemd, sshd on their management address. */
    readonly hosts: readonly LocalHostSpec[];
    /** Bare network namespaces on a segment (clients: no container, this machine's tools). */
    readonly namespaces?: readonly LocalHostSpec[];
    /** What may cross segments (new TCP flows; replies always return). Default: everything is
     *  routed. With rules, all other traffic between segments is dropped: the security groups' role. */
    readonly allow?: readonly FabricAllow[];
}

/** New TCP flows from a segment to an address (or CIDR) and ports. */
export interface FabricAllow {
    readonly from: string;
    readonly to: string;
    readonly ports: readonly number[];
}

/** What delivery needs to reach one container over SSH. */
export interface LocalHost {
    readonly name: string;
    /** The management address sshd listens on; known once the container is up (so a
     *  connection built from it waits for the container). */
    readonly sshAddress: pulumi.Output<string>;
    /** The container's SSH host key, authorized_keys form: pin it (command connection.hostKey).
     *  Resolves once the container is up, like sshAddress. */
    readonly hostKey: pulumi.Output<string>;
    /** `ip netns exec <namespace> …` runs a command inside the container's network. */
    readonly namespace: string;
}

const DEFAULT_SUITE = "bookworm";
const NAME = /^[a-z][a-z0-9-]{0,15}$/;
const FABRIC = /^[a-z][a-z0-9-]{0,11}$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

const bash = (...words: string[]): string => words.map(shellQuote).join(" ");

/**
 * `apiproxy:local:LocalHosts` — real Debian hosts on this machine for the `local` target:
 * systemd-nspawn containers booted on overlays of one cached debootstrap'd rootfs, each in its
 * own network namespace, wired to segment bridges in a fabric namespace that routes between the
 * segments. Each container gets its own SSH host key (pinned) and trusts one management key,
 * both generated here with @pulumi/tls; delivery then reaches them over SSH like any inventory
 * host. `pulumi destroy` stops every container and removes its overlay, namespaces, cgroups and
 * links; only the rootfs cache stays.
 */
export class LocalHosts extends pulumi.ComponentResource {
    /** Per host name. */
    public readonly hosts: Readonly<Record<string, LocalHost>>;
    /** The private key the containers' admin account accepts (OpenSSH PEM), a Pulumi secret. */
    public readonly managementPrivateKey: pulumi.Output<string>;
    /** Per bare namespace name: the namespace to `ip netns exec` in. */
    public readonly namespaces: Readonly<Record<string, string>>;
    /** The account to connect as (sudo to root). */
    public readonly adminUser: string;

    constructor(name: string, args: LocalHostsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("apiproxy:local:LocalHosts", name, {}, opts);
        validate(args, this);
        const suite = args.suite ?? DEFAULT_SUITE;
        const packages = [...new Set([...BASE_PACKAGES, ...args.packages])].sort();
        this.adminUser = args.adminUser ?? DEFAULT_ADMIN_USER;

        const managementKey = new tls.PrivateKey(`${name}-management-key`, { algorithm: "ED25519" }, { parent: this });
        this.managementPrivateKey = pulumi.secret(managementKey.privateKeyOpenssh);

        const rootfs = new command.local.Command(`${name}-rootfs`, {
            create: bash("bash", HOST_CONTROL, "rootfs", args.rootfsCacheDir, suite, ...packages),
            triggers: [suite, ...packages],
            logging: "stderr",
        }, { parent: this });
        const segmentArgs = [
            ...Object.entries(args.segments).map(([seg, cidr]) => `${seg}=${cidr}`),
            ...(args.allow ?? []).map((a) => `allow:${a.from}>${a.to.includes("/") ? a.to : `${a.to}/32`}:${a.ports.join(",")}`),
        ];
        const fabric = new command.local.Command(`${name}-fabric`, {
            create: bash("bash", HOST_CONTROL, "fabric-up", args.fabric, args.managementHostAddress, ...segmentArgs),
            delete: bash("bash", HOST_CONTROL, "fabric-down", args.fabric),
            triggers: [args.fabric, args.managementHostAddress, ...segmentArgs],
        }, { parent: this });

        const hosts: Record<string, LocalHost> = {};
        for (const host of args.hosts) {
            const hostKey = new tls.PrivateKey(`${name}-${host.name}-host-key`, { algorithm: "ED25519" }, { parent: this });
            const ifaces = Object.entries(host.interfaces).map(([seg, cidr]) => `${seg}=${cidr}`);
            const sshAddress = host.interfaces[MANAGEMENT_SEGMENT].split("/")[0];
            const up = new command.local.Command(`${name}-${host.name}`, {
                create: pulumi.interpolate`${bash("bash", HOST_CONTROL, "host-up", args.fabric, host.name, args.stateDir)} ${rootfs.stdout.apply(shellQuote)} ${bash(sshAddress, ...ifaces)}`,
                delete: bash("bash", HOST_CONTROL, "host-down", args.fabric, host.name, args.stateDir),
                stdin: hostKey.privateKeyOpenssh,
                environment: { AUTHORIZED_KEY: managementKey.publicKeyOpenssh.apply((k) => k.trim()), ADMIN_USER: this.adminUser },
                // A new rootfs, address plan or identity is a new container.
                triggers: [rootfs.stdout, args.stateDir, ...ifaces, hostKey.publicKeyOpenssh],
                logging: "stderr",
            }, { parent: this, dependsOn: [fabric] });
            // host-up prints the container's facts once sshd answers; deriving the connection
            // details from them orders every SSH step after the boot. Its stdout is secret only
            // because the host key went in on stdin: the facts themselves are not.
            const facts = pulumi.unsecret(up.stdout).apply((out) => JSON.parse(out) as { sshAddress: string });
            hosts[host.name] = {
                name: host.name, namespace: `${args.fabric}-${host.name}`,
                sshAddress: facts.apply((f) => f.sshAddress),
                hostKey: pulumi.all([facts, hostKey.publicKeyOpenssh]).apply(([, k]) => k.trim()),
            };
        }

        const namespaces: Record<string, string> = {};
        for (const ns of args.namespaces ?? []) {
            const ifaces = Object.entries(ns.interfaces).map(([seg, cidr]) => `${seg}=${cidr}`);
            new command.local.Command(`${name}-${ns.name}`, {
                create: bash("bash", HOST_CONTROL, "netns-up", args.fabric, ns.name, ...ifaces),
                delete: bash("bash", HOST_CONTROL, "netns-down", args.fabric, ns.name),
                triggers: ifaces,
            }, { parent: this, dependsOn: [fabric] });
            namespaces[ns.name] = `${args.fabric}-${ns.name}`;
        }

        this.hosts = hosts;
        this.namespaces = namespaces;
        this.registerOutputs({ hosts: this.hosts, namespaces: this.namespaces });
    }
}

function validate(args: LocalHostsArgs, resource: pulumi.Resource): void {
    (args.allow ?? []).forEach((a, i) => {
        if (!(a.from in args.segments)) throw new pulumi.ResourceError(`allow[${i}].from: no such segment "${a.from}"`, resource);
        if (!/^(\d{1,3}\.){3}\d{1,3}(\/\d{1,2})?$/.test(a.to)) throw new pulumi.ResourceError(`allow[${i}].to: must be an IPv4 address or CIDR, got "${a.to}"`, resource);
        if (a.ports.length === 0 || a.ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
            throw new pulumi.ResourceError(`allow[${i}].ports: must be TCP ports, got ${JSON.stringify(a.ports)}`, resource);
        }
    });
    const fail = (field: string, why: string): never => {
        throw new pulumi.ResourceError(`${field}: ${why}`, resource);
    };
    if (!FABRIC.test(args.fabric)) fail("fabric", `must match ${FABRIC} (it prefixes namespace names), got "${args.fabric}"`);
    if (!(MANAGEMENT_SEGMENT in args.segments)) fail("segments", `must include "${MANAGEMENT_SEGMENT}"`);
    const cidr = (field: string, value: string): void => {
        const m = CIDR.exec(value);
        if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 30) fail(field, `must be an IPv4 address with a prefix (≤ /30), got "${value}"`);
        // RFC 2544: the benchmarking range, never a range users run real networks on.
        if (!(Number(m![1]) === 198 && (Number(m![2]) === 18 || Number(m![2]) === 19))) fail(field, `must lie in 198.18.0.0/15 (RFC 2544), got "${value}"`);
    };
    for (const [seg, value] of Object.entries(args.segments)) cidr(`segments.${seg}`, value);
    cidr("managementHostAddress", args.managementHostAddress);
    const seen = new Set<string>();
    for (const [i, host] of [...args.hosts, ...(args.namespaces ?? [])].entries()) {
        const field = i < args.hosts.length ? `hosts[${i}]` : `namespaces[${i - args.hosts.length}]`;
        if (!NAME.test(host.name)) fail(`${field}.name`, `must match ${NAME}, got "${host.name}"`);
        if (seen.has(host.name)) fail(`${field}.name`, `"${host.name}" is used twice`);
        seen.add(host.name);
        if (Object.keys(host.interfaces).length === 0) fail(`${field}.interfaces`, "needs at least one interface");
        for (const [seg, value] of Object.entries(host.interfaces)) {
            if (!(seg in args.segments)) fail(`${field}.interfaces.${seg}`, `no such segment (known: ${Object.keys(args.segments).join(", ")})`);
            cidr(`${field}.interfaces.${seg}`, value);
        }
        if (i < args.hosts.length && !(MANAGEMENT_SEGMENT in host.interfaces)) {
            fail(`${field}.interfaces`, `a container needs a "${MANAGEMENT_SEGMENT}" interface (delivery reaches it over SSH there)`);
        }
    }
}
