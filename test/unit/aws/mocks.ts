/**
 * Pulumi mocks for the AWS target's unit tests: record every resource registration (type,
 * name, inputs) and answer with plausible ids, ARNs and computed state; answer the invokes
 * the components use (region, caller identity, partition, SSM parameter).
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

export const ACCOUNT_ID = "123456789012";
export const REGION = "eu-west-1";
export const UBUNTU_AMI = "ami-0ubuntu2204amd64";
export const GOLDEN_AMI = "ami-0golden";

/** Pulumi's marker for a secret value in serialized properties. */
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly custom: boolean;
    /** Inputs with secret markers removed. */
    readonly inputs: Record<string, any>;
    /** Top-level input names that arrived as Pulumi secrets. */
    readonly secretInputs: readonly string[];
    readonly id: string;
}

export interface RecordedCall {
    readonly token: string;
    readonly inputs: Record<string, any>;
}

function isSecret(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

function unwrapSecrets(value: unknown): any {
    if (isSecret(value)) {
        return unwrapSecrets(value.value);
    }
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/**
 * A launch template's version as the mocks number it: derived from what the version carries,
 * with the owning component's name (the template is named `<component>-pair-<p>`) taken out, so
 * two components given the same arguments get the same version and a new AMI another one.
 */
export function launchTemplateVersion(name: string, inputs: Record<string, unknown>): number {
    const component = name.replace(/-pair-\d+$/, "");
    const { tags: _tags, tagsAll: _tagsAll, description: _description, ...content } = inputs;
    const text = JSON.stringify(content).split(component).join("<component>");
    return 1 + (parseInt(createHash("sha256").update(text).digest("hex").slice(0, 6), 16) % 9999);
}

/** "aws:ec2/instance:Instance" -> service "ec2", kind "instance". */
function arnFor(type: string, name: string): string {
    const [, module = "x", kind = "resource"] = /^aws:([^/]+)\/([^:]+):/.exec(type) ?? [];
    const service = module === "lb" ? "elasticloadbalancing" : module === "cloudwatch" ? "logs" : module;
    return `arn:aws:${service}:${REGION}:${ACCOUNT_ID}:${kind.toLowerCase()}/${name}`;
}

export class RecordingMocks implements pulumi.runtime.Mocks {
    public readonly resources: RecordedResource[] = [];
    public readonly calls: RecordedCall[] = [];
    private ipCounter = 10;

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
        const inputs = unwrapSecrets(args.inputs) as Record<string, any>;
        const secretInputs = Object.entries(args.inputs).filter(([, v]) => isSecret(v)).map(([k]) => k);
        const id = `${args.name}-id`;
        this.resources.push({ type: args.type, name: args.name, custom: args.custom ?? true, inputs, secretInputs, id });
        const physicalName = typeof inputs["name"] === "string" ? inputs["name"] : args.name;
        const state: Record<string, any> = { ...args.inputs, name: physicalName, arn: arnFor(args.type, physicalName) };
        switch (args.type) {
            case "aws:cloudwatch/logGroup:LogGroup":
                state["arn"] = `arn:aws:logs:${REGION}:${ACCOUNT_ID}:log-group:${physicalName}`;
                break;
            case "aws:kms/key:Key":
                state["keyId"] = `${args.name}-key-id`;
                state["arn"] = `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/${args.name}-key-id`;
                break;
            case "aws:secretsmanager/secret:Secret":
                state["arn"] = `arn:aws:secretsmanager:${REGION}:${ACCOUNT_ID}:secret:${args.name}-AbCdEf`;
                break;
            case "aws:ec2/instance:Instance":
                state["privateIp"] = `10.40.48.${this.ipCounter++}`;
                break;
            case "aws:lb/loadBalancer:LoadBalancer":
                state["dnsName"] = `${args.name}-0123456789.elb.${REGION}.amazonaws.com`;
                state["zoneId"] = "Z2IFOLAFXWLO4F";
                break;
            case "aws:ec2/vpcEndpoint:VpcEndpoint":
                state["prefixListId"] = "pl-6da54004";
                break;
            case "aws:ec2/launchTemplate:LaunchTemplate": {
                // EC2 numbers a template's versions; here a version is named by its content, so a
                // changed template (a new AMI) has another latestVersion and an unchanged one the same.
                const version = launchTemplateVersion(args.name, inputs);
                state["latestVersion"] = version;
                state["defaultVersion"] = version;
                break;
            }
            case "aws:imagebuilder/image:Image":
                state["outputResources"] = [{
                    amis: [{ image: GOLDEN_AMI, region: REGION, name: "golden", description: "", accountId: ACCOUNT_ID }],
                    containers: [],
                }];
                break;
            default:
                break;
        }
        return { id, state };
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        this.calls.push({ token: args.token, inputs: args.inputs });
        switch (args.token) {
            case "aws:index/getRegion:getRegion":
                return { id: REGION, name: REGION, region: REGION, description: "Europe (Ireland)", endpoint: `ec2.${REGION}.amazonaws.com` };
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return { id: ACCOUNT_ID, accountId: ACCOUNT_ID, arn: `arn:aws:iam::${ACCOUNT_ID}:user/test`, userId: "AIDTEST" };
            case "aws:index/getPartition:getPartition":
                return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
            case "aws:ec2/getAmi:getAmi":
                // The newest AMI of the golden image's family: its own build until a pipeline runs.
                return { id: GOLDEN_AMI, imageId: GOLDEN_AMI, ownerId: ACCOUNT_ID, state: "available", architecture: "x86_64" };
            case "aws:ssm/getParameter:getParameter":
                return { id: args.inputs["name"], name: args.inputs["name"], type: "String", value: UBUNTU_AMI, version: 1, arn: "arn", insecureValue: UBUNTU_AMI, withDecryption: true };
            default:
                throw new Error(`unmocked call ${args.token}`);
        }
    }
}

/** Installs fresh recording mocks; call before importing any component. */
export function installMocks(): RecordingMocks {
    const mocks = new RecordingMocks();
    pulumi.runtime.setMocks(mocks, "api-proxy-security", "test", false);
    return mocks;
}
