/**
 * Shared assertions helpers for the AWS target's unit tests.
 */
import * as pulumi from "@pulumi/pulumi";
import type { RecordedResource, RecordingMocks } from "./mocks";

/** Resolves an Output's value (never assert inside apply: a thrown assertion escapes the test). */
export function unwrap<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => {
        resolve(value);
        return value;
    }));
}

/** Waits until the mocks have seen every registration the constructed components started. */
export async function settle(mocks: RecordingMocks): Promise<void> {
    let seen = -1;
    let quietRounds = 0;
    while (quietRounds < 3) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (mocks.resources.length === seen) {
            quietRounds += 1;
        } else {
            seen = mocks.resources.length;
            quietRounds = 0;
        }
    }
}

/** Resources whose logical name belongs to component `name` (children are named `${name}-...`). */
export function ownedBy(mocks: RecordingMocks, name: string): RecordedResource[] {
    return mocks.resources.filter((r) => r.name === name || r.name.startsWith(`${name}-`));
}

export function ofType(resources: readonly RecordedResource[], type: string): RecordedResource[] {
    return resources.filter((r) => r.type === type);
}

export function one(resources: readonly RecordedResource[], type: string, name: string): RecordedResource {
    const found = resources.filter((r) => r.type === type && r.name === name);
    if (found.length !== 1) {
        throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
    }
    return found[0]!;
}

/** AWS resource types in this target that take no tags. */
const UNTAGGABLE = new Set([
    "aws:ec2/route:Route",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/networkAclRule:NetworkAclRule",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:kms/alias:Alias",
    "aws:secretsmanager/secretVersion:SecretVersion",
    "aws:lb/targetGroupAttachment:TargetGroupAttachment",
    "aws:kms/grant:Grant",
]);

/** Tags as a map: Auto Scaling groups list theirs as `{ key, value, propagateAtLaunch }`. */
export function tagMap(tags: unknown): Record<string, string> {
    return Array.isArray(tags)
        ? Object.fromEntries((tags as { key: string; value: string }[]).map((t) => [t.key, t.value]))
        : (tags ?? {}) as Record<string, string>;
}

/** Problems with the tier tags on every taggable custom resource (empty = all good). */
export function tagProblems(resources: readonly RecordedResource[], environment: string, userTags: Record<string, string>): string[] {
    const roles = ["proxy", "upstream", "nlb", "network"];
    return resources
        .filter((r) => r.custom && !UNTAGGABLE.has(r.type))
        .flatMap((r) => {
            const tags = tagMap(r.inputs["tags"]);
            const problems: string[] = [];
            if (tags["apiproxy:environment"] !== environment) {
                problems.push(`${r.type} ${r.name}: apiproxy:environment is ${tags["apiproxy:environment"]}`);
            }
            if (!roles.includes(tags["apiproxy:role"] ?? "")) {
                problems.push(`${r.type} ${r.name}: apiproxy:role is ${tags["apiproxy:role"]}`);
            }
            for (const [key, value] of Object.entries(userTags)) {
                if (tags[key] !== value) {
                    problems.push(`${r.type} ${r.name}: user tag ${key} missing`);
                }
            }
            return problems;
        });
}

/** Whether `error` is a pulumi.ResourceError whose message matches. */
export function resourceError(pattern: RegExp): (error: unknown) => boolean {
    return (error: unknown) => error instanceof pulumi.ResourceError && pattern.test(error.message);
}

/** Parses a JSON policy document input. */
export function policy(resource: RecordedResource, input = "policy"): { Statement: any[] } {
    return JSON.parse(resource.inputs[input] as string) as { Statement: any[] };
}
