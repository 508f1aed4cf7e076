/** Presentation of a review: the plan table, policy verdicts, and host files on disk. */
import * as fs from "fs";
import * as path from "path";
import type { ReviewedHostFile } from "./run";

export interface PlanEntry {
    readonly type: string;
    readonly name: string;
    /** A few properties a reviewer looks at first, rendered as short strings (secrets redacted). */
    readonly key: Record<string, string>;
}

export interface ReviewVerdict {
    readonly policy: string;
    readonly enforcementLevel: string;
    readonly status: "pass" | "fail";
    readonly message?: string;
    readonly resource?: string;
}

/** Properties worth a reviewer's first look, by resource type. */
const KEY_PROPERTIES: Record<string, readonly string[]> = {
    "aws:ec2/vpc:Vpc": ["cidrBlock"],
    "aws:ec2/subnet:Subnet": ["cidrBlock", "availabilityZone", "mapPublicIpOnLaunch"],
    "aws:ec2/instance:Instance": ["instanceType", "availabilityZone", "associatePublicIpAddress", "metadataOptions"],
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ["cidrIpv4", "fromPort", "toPort", "ipProtocol", "description"],
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ["cidrIpv4", "fromPort", "toPort", "ipProtocol", "description"],
    "aws:lb/loadBalancer:LoadBalancer": ["loadBalancerType", "internal", "enableCrossZoneLoadBalancing", "enableDeletionProtection"],
    "aws:lb/listener:Listener": ["port", "protocol"],
    "aws:lb/targetGroup:TargetGroup": ["port", "protocol", "preserveClientIp", "healthCheck"],
    "aws:ec2/flowLog:FlowLog": ["trafficType", "logDestinationType"],
    "aws:cloudwatch/logGroup:LogGroup": ["retentionInDays"],
    "aws:kms/key:Key": ["enableKeyRotation", "deletionWindowInDays"],
    "aws:secretsmanager/secret:Secret": ["name", "recoveryWindowInDays"],
    "tls:index/privateKey:PrivateKey": ["algorithm", "ecdsaCurve", "rsaBits"],
    "tls:index/selfSignedCert:SelfSignedCert": ["isCaCertificate", "validityPeriodHours", "earlyRenewalHours"],
    "tls:index/locallySignedCert:LocallySignedCert": ["isCaCertificate", "validityPeriodHours", "earlyRenewalHours"],
    "aws:imagebuilder/imagePipeline:ImagePipeline": ["name"],
};

const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g;

/** Never print key material, whatever property it hides in. */
export function redact(text: string): string {
    return text.replace(PRIVATE_KEY, "[REDACTED PRIVATE KEY]");
}

function short(value: unknown): string {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    return redact(text ?? "").slice(0, 80);
}

export function planEntry(type: string, name: string, props: Record<string, unknown>): PlanEntry {
    const key: Record<string, string> = {};
    for (const prop of KEY_PROPERTIES[type] ?? []) {
        if (props[prop] !== undefined) {
            key[prop] = short(props[prop]);
        }
    }
    return { type, name, key };
}

export function formatPlan(stack: string, plan: readonly PlanEntry[]): string {
    const lines = [`Resource plan for stack "${stack}" (${plan.length} resources, mock runtime: nothing was created)`, ""];
    const typeWidth = Math.min(60, Math.max(...plan.map((p) => p.type.length), 4));
    for (const entry of plan) {
        const key = Object.entries(entry.key).map(([k, v]) => `${k}=${v}`).join(" ");
        lines.push(`  ${entry.type.padEnd(typeWidth)}  ${entry.name}${key ? `  ${key}` : ""}`);
    }
    return `${lines.join("\n")}\n`;
}

export function formatVerdicts(verdicts: readonly ReviewVerdict[]): string {
    if (verdicts.length === 0) {
        return "";
    }
    const lines = ["", `Policy verdicts (api-proxy-baseline, ${verdicts.length})`, ""];
    for (const v of verdicts) {
        const mark = v.status === "pass" ? "PASS" : v.enforcementLevel === "mandatory" ? "FAIL" : "WARN";
        lines.push(`  ${mark.padEnd(4)}  ${v.policy} [${v.enforcementLevel}]${v.message ? `: ${redact(v.message)}` : ""}${v.resource ? ` (${v.resource})` : ""}`);
    }
    return `${lines.join("\n")}\n`;
}

/** Writes DIR/<host>/<absolute path on the host>; refuses paths that would escape DIR. */
export function writeHostFiles(outDir: string, hosts: Record<string, readonly ReviewedHostFile[]>): void {
    const root = path.resolve(outDir);
    for (const [host, files] of Object.entries(hosts)) {
        if (!/^[A-Za-z0-9_.-]+$/.test(host)) {
            throw new Error(`refusing host name ${host}`);
        }
        for (const file of files) {
            const target = path.resolve(root, host, `.${file.path}`);
            if (!target.startsWith(path.join(root, host) + path.sep)) {
                throw new Error(`refusing to write ${file.path} outside ${root}/${host}`);
            }
            fs.mkdirSync(path.dirname(target), { recursive: true });
            fs.writeFileSync(target, file.content, { mode: parseInt(file.mode, 8) });
        }
    }
}
