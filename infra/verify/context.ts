/**
 * What verify knows about a deployed stack: its validated config (stacks/Pulumi.<stack>.yaml),
 * its outputs (`bin/pulumi stack output --json --show-secrets`) and the HostAudit records in
 * its state (`bin/pulumi stack export`). Secrets stay in this process or in 0600 files of a
 * private temp directory, removed on exit: the one secret kept is the local stack's test API
 * key (for a proxied 200 answer in the header check), the rest of the secret outputs is dropped
 * as soon as it is parsed. Nothing here prints the CLI's output.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { FileFacts } from "../../components/targets/inventory/host-audit";
import { ConfigError, loadStackFile, stackFilePath, type InventoryTierConfig, type LocalTierConfig, type TierConfig } from "../config/load";
import { localPlan } from "../targets/local";
import { LOCAL_HOST_OS } from "../../components/targets/local/address-plan";
import { containerInit, inContainer, inContainerNetwork, inNamespace, thisMachine, type Runner } from "./exec";
import type { StackOutputs, VerifyContext, VerifyHost, VerifyOptions } from "./types";

/** A problem that stops verify before any row (exit 2): no stack, no config, no deployment. */
export class VerifyError extends Error {}

const PULUMI_TIMEOUT_MS = 120_000;

/** bin/pulumi with `--non-interactive`; its stdout is returned to the caller only, never printed. */
function pulumi(root: string, args: readonly string[]): string {
    const result = spawnSync(path.join(root, "bin", "pulumi"), [...args, "--non-interactive"], {
        cwd: root, encoding: "utf8", timeout: PULUMI_TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024,
    });
    if (result.status !== 0) {
        // stderr carries the CLI's error message, never an output value.
        const why = (result.stderr || result.error?.message || `exit ${result.status}`).trim().split("\n").slice(-5).join("\n");
        throw new VerifyError(`bin/pulumi ${args.filter((a) => a !== "--show-secrets").join(" ")} failed: ${why}`);
    }
    return result.stdout;
}

/** The plain outputs verify uses, and the test API key (the only secret kept). */
function readOutputs(root: string, stack: string): { outputs: StackOutputs; testApiKey?: string } {
    let all: Record<string, unknown>;
    try {
        all = JSON.parse(pulumi(root, ["stack", "output", "--json", "--show-secrets", "-s", stack])) as Record<string, unknown>;
    } catch (err) {
        if (err instanceof VerifyError) throw err;
        throw new VerifyError(`stack ${stack}: its outputs are not JSON`);
    }
    if (typeof all.caBundlePem !== "string" || typeof all.endpoints !== "object") {
        throw new VerifyError(`stack ${stack} has no deployment to verify (outputs caBundlePem/endpoints missing): bin/pulumi up -s ${stack} first`);
    }
    const outputs: StackOutputs = {
        endpoints: all.endpoints as StackOutputs["endpoints"],
        caBundlePem: all.caBundlePem,
        routes: (all.routes ?? []) as StackOutputs["routes"],
        health: all.health as StackOutputs["health"],
        certificateRotation: all.certificateRotation as StackOutputs["certificateRotation"],
        ...(all.deliveries ? { deliveries: all.deliveries as StackOutputs["deliveries"] } : {}),
        ...(all.local ? { local: all.local as StackOutputs["local"] } : {}),
    };
    const testApiKey = typeof all.testApiKey === "string" && all.testApiKey !== "" ? all.testApiKey : undefined;
    return { outputs, ...(testApiKey ? { testApiKey } : {}) };
}

/** The HostAudit records of the state: per host, the digest, mode and owner each delivered file should have. */
function readAudits(root: string, stack: string): Record<string, FileFacts> {
    const state = JSON.parse(pulumi(root, ["stack", "export", "-s", stack])) as {
        deployment?: { resources?: { urn: string; type: string; outputs?: { expected?: FileFacts } }[] };
    };
    const audits: Record<string, FileFacts> = {};
    for (const resource of state.deployment?.resources ?? []) {
        const match = /::([a-z][a-z0-9-]*)-audit$/.exec(resource.urn);
        if (match && resource.type.endsWith(":HostAudit") && resource.outputs?.expected) audits[match[1]] = resource.outputs.expected;
    }
    return audits;
}

function hostsOf(tier: TierConfig): VerifyHost[] {
    switch (tier.target) {
        case "local":
            return localPlan(tier as LocalTierConfig).hosts.map((h) => ({ name: h.name, role: h.role, os: LOCAL_HOST_OS, address: h.address }));
        case "inventory":
            return (tier as InventoryTierConfig).inventory.hosts.map((h) => ({ name: h.name, role: h.role, os: h.os, address: h.address }));
        case "aws":
            // Instances of an Auto Scaling pair: the stack config names none.
            return [];
        default: {
            const unknown: never = tier.target;
            throw new VerifyError(`unknown target ${String(unknown)}`);
        }
    }
}

/** Why a target gives verify no shell on its hosts (undefined for local). */
function noShellReason(tier: TierConfig): string | undefined {
    switch (tier.target) {
        case "local":
            return undefined;
        case "inventory":
            return "inventory hosts: verify has no shell there (it would need SSH as the delivery account with the stack's secret sshPrivateKey; not implemented) - run the row's command over SSH by hand";
        case "aws":
            return "aws target: the instances take no SSH pushes and verify has no SSM Session Manager client - run the row's command in a Session Manager shell";
        default:
            return "unknown target";
    }
}

export interface LoadedContext extends VerifyContext {
    /** Removes the private temp directory (the CA file and the API-key header file). */
    readonly cleanup: () => void;
}

export function loadContext(root: string, stack: string, options: VerifyOptions): LoadedContext {
    let tier: TierConfig;
    try {
        tier = loadStackFile(stackFilePath(root, stack));
    } catch (err) {
        if (err instanceof ConfigError) throw new VerifyError(err.message);
        throw err;
    }
    const { outputs, testApiKey } = readOutputs(root, stack);
    const audits = tier.target === "aws" ? {} : readAudits(root, stack);
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-verify-"));
    fs.chmodSync(workDir, 0o700);
    const cleanup = () => fs.rmSync(workDir, { recursive: true, force: true });
    try {
        const caFile = path.join(workDir, "ca.pem");
        fs.writeFileSync(caFile, outputs.caBundlePem, { mode: 0o600 });
        let apiKeyHeaderFile: string | undefined;
        if (testApiKey) {
            apiKeyHeaderFile = path.join(workDir, "api-key.header");
            fs.writeFileSync(apiKeyHeaderFile, `X-API-Key: ${testApiKey}\n`, { mode: 0o600 });
        }
        const shellMissing = noShellReason(tier);
        const stateDir = tier.target === "local" ? path.join(root, ".tools", "local-stacks", (tier as LocalTierConfig).local.fabric) : "";
        const container = (host: string, make: (init: number) => Runner): Runner | string => {
            if (shellMissing) return shellMissing;
            const init = containerInit(stateDir, host);
            return typeof init === "string" ? init : make(init);
        };
        const clientNamespace = outputs.local?.clientNamespace;
        return {
            stack, tier, outputs, options, hosts: hostsOf(tier), audits, workDir, caFile,
            ...(apiKeyHeaderFile ? { apiKeyHeaderFile } : {}),
            client: clientNamespace
                ? { run: inNamespace(clientNamespace), label: "client" }
                : { run: thisMachine, label: "this-machine" },
            hostShell: (host) => container(host, inContainer),
            hostNetwork: (host) => container(host, inContainerNetwork),
            cleanup,
        };
    } catch (err) {
        cleanup();
        throw err;
    }
}
