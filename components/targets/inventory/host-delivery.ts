import * as fs from "node:fs";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { HostFile } from "../../core/host-file";
import { shellQuote } from "../../core/shell";
import { encodeBundle } from "./bundle";
import { expectedFacts, HostAudit } from "./host-audit";

/** The script that installs, validates and activates a bundle on the host (bash, coreutils, base64). */
const APPLY_SCRIPT = fs.readFileSync(path.join(__dirname, "apply-host-files.sh"), "utf8");

/** Where delivery reaches a host over SSH. */
export interface DeliveryHost {
    readonly name: string;
    /** Address (or resolvable name) of the host's sshd. */
    readonly address: pulumi.Input<string>;
    /** Default: 22 */
    readonly port?: number;
    /** Default: "root". Any other account runs the delivery through `sudo -n` (it installs root-owned files and reloads daemons). */
    readonly user?: string;
    /** The host's SSH host key, authorized_keys form; the connection refuses any other. */
    readonly hostKey: pulumi.Input<string>;
}

export interface HostDeliveryArgs {
    readonly host: DeliveryHost;
    /** OpenSSH private key of the delivery user (a Pulumi secret). */
    readonly privateKey: pulumi.Input<string>;
    /** Every file the host receives. */
    readonly files: pulumi.Input<readonly HostFile[]>;
}

/** What one delivery did on the host (apply-host-files.sh's report). */
export interface DeliveryReport {
    readonly changed: string[];
    readonly actions: string[];
    /** Rendered controls this host could not apply, each with the reason: never a silent skip. */
    readonly notApplied: string[];
}

/**
 * `apiproxy:inventory:HostDelivery` — delivers rendered HostFiles to one existing host over SSH
 * (@pulumi/command remote.Command, pinned host key). The files travel as the command's stdin,
 * so a change of any file is an update of this one command, which installs only what differs,
 * checks it with the daemon's own validator (`nginx -t`, `sshd -t`, `nft -c`), restores the
 * previous files if the check fails (the old configuration keeps serving and `up` fails with
 * the validator's message), then reloads: never a restart. Identical content is no change at
 * all, so a second `pulumi up` does nothing. Delivered files stay on the host at destroy.
 * Its HostAudit lets `pulumi refresh` see files edited on the host; the next `up` delivers again.
 */
export class HostDelivery extends pulumi.ComponentResource {
    public readonly report: pulumi.Output<DeliveryReport>;
    /** Per path: what the host should have and what refresh last saw (content digest, mode, owner). */
    public readonly audit: HostAudit;

    constructor(name: string, args: HostDeliveryArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("apiproxy:inventory:HostDelivery", name, {}, opts);
        const bundle = pulumi.output(args.files).apply((files) => encodeBundle(files));
        const user = args.host.user ?? "root";
        const apply = `${user === "root" ? "" : "sudo -n "}bash -c ${shellQuote(APPLY_SCRIPT)}`;
        this.audit = new HostAudit(`${name}-audit`, {
            host: args.host.address, port: args.host.port ?? 22, user, hostKey: args.host.hostKey, privateKey: pulumi.secret(args.privateKey),
            // Digests, modes and owners only: no content, so not secret even when a file is.
            expected: pulumi.unsecret(pulumi.output(args.files).apply((files) => expectedFacts(files))),
        }, { parent: this });
        const delivery = new command.remote.Command(`${name}-apply`, {
            connection: {
                host: args.host.address,
                port: args.host.port ?? 22,
                user,
                privateKey: args.privateKey,
                hostKey: args.host.hostKey,
                dialErrorLimit: 5,
            },
            create: apply,
            update: apply,
            // Always a secret: a bundle may carry private keys whatever the caller marked.
            stdin: pulumi.secret(bundle),
            logging: "stderr",
            // The report is all this step needs from its previous run.
            addPreviousOutputInEnv: false,
            // Drift that refresh found and the audit counted: deliver again.
            triggers: [this.audit.repairs],
        }, { parent: this });
        // The report names paths and actions only, never content: it need not stay secret.
        this.report = pulumi.unsecret(delivery.stdout).apply((out) => JSON.parse(out) as DeliveryReport);
        this.registerOutputs({ report: this.report, observed: this.audit.observed });
    }
}
