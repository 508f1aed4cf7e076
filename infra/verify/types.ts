/**
 * The troubleshooting matrix as data: one row per check and host, each a real measurement on
 * the deployed stack. "skip" is only for a row this target gives verify no way to measure (the
 * row says why); it never counts as a pass and never hides a failure.
 */
import type { TierConfig } from "../config/load";
import type { FileFacts } from "../../components/targets/inventory/host-audit";
import type { InventoryRole } from "../../components/targets/inventory/roles";
import type { HostOs } from "../../components/host";
import type { Runner } from "./exec";

/** Lower-case for machines (`--json`, `.tools/verify/<stack>.json`, read by `npm run evidence`); the table prints them upper-case. */
export type Status = "pass" | "fail" | "skip";

export interface CheckRow {
    /** `<check>:<host>[:<qualifier>]`, stable for machines (e.g. `systemd-units:proxy-a`, `tls-handshake:client:8443`). */
    readonly id: string;
    /** The check's name: the live checks of the controls catalogue (components/core/controls.ts verifiedBy) are these. */
    readonly check: string;
    /** The host measured, or where the measurement was taken from (`client` = the client segment). */
    readonly host: string;
    readonly status: Status;
    /** What was measured (never a secret). */
    readonly detail: string;
    /** What to do when the row fails (shown for every row, so an operator knows where to look). */
    readonly remediation: string;
    /** Measured values for machines (--json). */
    readonly data?: Record<string, unknown>;
}

export interface VerifyHost {
    readonly name: string;
    readonly role: InventoryRole;
    readonly os: HostOs;
    /** The address the tier's traffic uses at this host. */
    readonly address: string;
}

/** The stack's plain outputs verify reads (outputs contract, infra/outputs.ts). */
export interface StackOutputs {
    readonly endpoints: { https: string; mtls: string; dnsName: string; httpsPort: number; mtlsPort: number };
    readonly caBundlePem: string;
    readonly routes: { name: string; path: string; exact: boolean; methods: string[]; protocol: string; listeners: string[]; apiKeyRequired: boolean }[];
    readonly health: { port: number; path: string; urls: string[] };
    readonly certificateRotation: { serverValidityDays: number; earlyRenewalDays: number };
    readonly deliveries?: Record<string, { notApplied: string[] }>;
    readonly local?: { clientNamespace: string };
}

export interface VerifyOptions {
    /** A server certificate with fewer days left fails its row. */
    readonly minCertDays: number;
}

export interface VerifyContext {
    readonly stack: string;
    readonly tier: TierConfig;
    readonly outputs: StackOutputs;
    readonly options: VerifyOptions;
    readonly hosts: readonly VerifyHost[];
    /** Per host: the HostAudit's expected facts from the stack state (local and inventory targets). */
    readonly audits: Readonly<Record<string, FileFacts>>;
    /** A private (0700) directory for the CA bundle and the header file holding the test API key (0600). */
    readonly workDir: string;
    readonly caFile: string;
    /** `-H @file` for curl: the test API key header, when the stack has one (never on a command line). */
    readonly apiKeyHeaderFile?: string;
    /** Where client-side rows run (the client segment of the local stack, else this machine), and what it is called in rows. */
    readonly client: { readonly run: Runner; readonly label: string };
    /** A shell inside a host, or why verify has none there. */
    readonly hostShell: (host: string) => Runner | string;
    /** This machine's binaries inside a host's network namespace, or why not. */
    readonly hostNetwork: (host: string) => Runner | string;
}

/** The row for a check whose hosts this target's stack config does not name (aws: instances of the pairs). */
export function hostsNotNamed(ctx: VerifyContext, check: string, howByHand: string): CheckRow[] {
    return [row(check, "proxies", "skip", `the ${ctx.tier.target} target's hosts are not named in the stack config and verify has no shell on them`, howByHand)];
}

export function row(check: string, host: string, status: Status, detail: string, remediation: string, data?: Record<string, unknown>, qualifier?: string): CheckRow {
    return { id: [check, host, qualifier].filter(Boolean).join(":"), check, host, status, detail, remediation, ...(data ? { data } : {}) };
}
