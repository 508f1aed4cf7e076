/**
 * Pulumi mock runtime for the offline review and the unit tests: records every resource the
 * program registers and answers with plausible, deterministic ids and attributes, so the
 * program runs with no cloud, no credentials and no engine.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    /** Inputs as the program passed them, unwrapped (secrets unwrapped too; never printed). */
    readonly props: Record<string, unknown>;
    readonly provider?: string;
    readonly custom: boolean;
    /** The id the mock assigned and the state it answered (what the engine would report as outputs). */
    readonly id: string;
    readonly outputs: Record<string, unknown>;
}

export interface RecordedCall {
    readonly token: string;
    readonly args: Record<string, unknown>;
}

/** The runtime's marker for a secret value (a wrapper object with this key and signature). */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Inputs as the engine hands them to providers and policies: secret wrappers removed. */
export function revealSecrets(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(revealSecrets);
    }
    if (typeof value === "object" && value !== null) {
        const record = value as Record<string, unknown>;
        if (record[SECRET_SIG_KEY] === SECRET_SIG) {
            return revealSecrets(record.value);
        }
        return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, revealSecrets(v)]));
    }
    return value;
}

function shortHash(value: string): string {
    return createHash("sha256").update(value).digest("hex").slice(0, 17);
}

/** Attributes AWS would compute that components read back (ids, ARNs, DNS names). */
function computedState(type: string, name: string, inputs: Record<string, unknown>, region: string): Record<string, unknown> {
    const id = shortHash(`${type}:${name}`);
    const account = "123456789012";
    const service = type.split(":")[1]?.split("/")[0] ?? "x";
    const state: Record<string, unknown> = {
        ...inputs,
        arn: `arn:aws:${service}:${region}:${account}:${name}-${id}`,
    };
    switch (type) {
        case "aws:lb/loadBalancer:LoadBalancer":
            state.dnsName = `${name}-${id.slice(0, 8)}.elb.${region}.amazonaws.com`;
            state.zoneId = "Z2IFOLAFXWLO4F";
            break;
        case "aws:ec2/instance:Instance":
            state.privateIp = `10.0.${parseInt(id.slice(0, 2), 16) % 250}.${(parseInt(id.slice(2, 4), 16) % 250) + 4}`;
            state.publicIp = "";
            break;
        case "aws:kms/key:Key":
            state.keyId = id;
            break;
        case "aws:imagebuilder/image:Image":
            state.outputResources = [{ amis: [{ image: `ami-${id}`, region }] }];
            break;
        case "aws:ec2/launchTemplate:LaunchTemplate":
            // A new template's first version; the groups launch from this number.
            state.latestVersion = 1;
            state.defaultVersion = 1;
            break;
        case "aws:autoscaling/group:Group":
            state.name = inputs.name ?? `${name}-${id.slice(0, 7)}`;
            break;
        case "aws:iam/role:Role":
            state.name = inputs.name ?? `${name}-${id.slice(0, 7)}`;
            break;
        case "aws:cloudwatch/logGroup:LogGroup":
            state.name = inputs.name ?? `${name}-${id.slice(0, 7)}`;
            break;
        case "aws:ec2/vpc:Vpc":
            state.defaultNetworkAclId = `acl-${id}`;
            state.defaultSecurityGroupId = `sg-${id}`;
            state.mainRouteTableId = `rtb-${id}`;
            break;
        case "tls:index/privateKey:PrivateKey": {
            // Deterministic stand-ins: the review never needs real key material.
            state.privateKeyPem = `-----BEGIN PRIVATE KEY-----\nMOCK-${id}\n-----END PRIVATE KEY-----\n`;
            state.publicKeyPem = `-----BEGIN PUBLIC KEY-----\nMOCK-${id}\n-----END PUBLIC KEY-----\n`;
            break;
        }
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            state.certPem = `-----BEGIN CERTIFICATE-----\nMOCK-${id}\n-----END CERTIFICATE-----\n`;
            state.validityEndTime = "2027-02-27T00:00:00Z";
            break;
        case "tls:index/certRequest:CertRequest":
            state.certRequestPem = `-----BEGIN CERTIFICATE REQUEST-----\nMOCK-${id}\n-----END CERTIFICATE REQUEST-----\n`;
            break;
        default:
            break;
    }
    return state;
}

/** Answers for data-source calls the program makes; `resources` are those registered so far. */
function callResult(token: string, args: Record<string, unknown>, region: string, resources: readonly RecordedResource[]): Record<string, unknown> {
    switch (token) {
        case "aws:ec2/getAmi:getAmi": {
            // The newest AMI of an image family is the stack's own build until a pipeline runs.
            const built = resources.filter((r) => r.type === "aws:imagebuilder/image:Image")
                .map((r) => (r.outputs.outputResources as { amis: { image: string }[] }[] | undefined)?.[0]?.amis[0]?.image)
                .filter((ami): ami is string => ami !== undefined);
            const ami = built.at(-1) ?? `ami-${shortHash(JSON.stringify(args))}`;
            return { id: ami, imageId: ami, ownerId: "123456789012", state: "available" };
        }
        case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return { names: ["a", "b", "c"].map((s) => `${region}${s}`), zoneIds: ["1", "2", "3"].map((s) => `euw1-az${s}`) };
        case "aws:ssm/getParameter:getParameter":
            return { name: args.name, value: `ami-${shortHash(String(args.name))}`, type: "String" };
        case "aws:iam/getPolicyDocument:getPolicyDocument":
            return { json: JSON.stringify({ Version: "2012-10-17", Statement: args.statements ?? [] }) };
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: "123456789012", arn: "arn:aws:iam::123456789012:user/review", userId: "REVIEW" };
        case "aws:index/getRegion:getRegion":
            return { name: region, region };
        case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com" };
        default:
            return args;
    }
}

export class RecordingMocks implements pulumi.runtime.Mocks {
    readonly resources: RecordedResource[] = [];
    readonly calls: RecordedCall[] = [];

    constructor(private readonly region = "eu-west-1", private readonly stack = "review") {}

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, unknown> } {
        const inputs = revealSecrets(args.inputs ?? {}) as Record<string, unknown>;
        const id = `${args.type.split(":").pop()?.toLowerCase() ?? "r"}-${shortHash(`${args.type}:${args.name}`)}`;
        const state = computedState(args.type, args.name, inputs, this.region);
        this.resources.push({
            type: args.type,
            name: args.name,
            urn: `urn:pulumi:${this.stack}::api-proxy-security::${args.type}::${args.name}`,
            props: inputs,
            provider: args.provider,
            custom: args.custom ?? true,
            id,
            outputs: state,
        });
        return { id, state };
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        const callArgs = (args.inputs ?? {}) as Record<string, unknown>;
        this.calls.push({ token: args.token, args: callArgs });
        return callResult(args.token, callArgs, this.region, this.resources);
    }

    ofType(type: string): RecordedResource[] {
        return this.resources.filter((r) => r.type === type);
    }
}

/** Installs recording mocks; must run before any resource is constructed. */
export async function installMocks(stack: string, region?: string): Promise<RecordingMocks> {
    const mocks = new RecordingMocks(region, stack);
    await pulumi.runtime.setMocks(mocks, "api-proxy-security", stack, false);
    return mocks;
}

/** Resolves an Output (or plain value) to its value without asserting inside apply. */
export function unwrap<T>(value: pulumi.Input<T>): Promise<T> {
    return new Promise<T>((resolve) => pulumi.output(value).apply((v) => {
        resolve(v as T);
        return v;
    }));
}
