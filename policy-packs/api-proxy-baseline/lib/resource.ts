/**
 * Small helpers every policy shares: resource type filtering, tag reading, tolerant property
 * access, and "does this resource point at that one" for stack policies.
 *
 * Nothing here knows the components: resource shapes are the AWS/TLS provider schemas.
 */
import type { PolicyResource, ReportViolation, ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";

/** Resource type tokens the pack inspects (provider schema names, not component classes). */
export const TYPES = {
    vpc: "aws:ec2/vpc:Vpc",
    subnet: "aws:ec2/subnet:Subnet",
    flowLog: "aws:ec2/flowLog:FlowLog",
    securityGroup: "aws:ec2/securityGroup:SecurityGroup",
    ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    egressRule: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    legacyRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
    instance: "aws:ec2/instance:Instance",
    launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
    autoScalingGroup: "aws:autoscaling/group:Group",
    autoScalingAttachment: "aws:autoscaling/attachment:Attachment",
    loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
    targetGroup: "aws:lb/targetGroup:TargetGroup",
    listener: "aws:lb/listener:Listener",
    targetGroupAttachment: "aws:lb/targetGroupAttachment:TargetGroupAttachment",
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
    locallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
    imageComponent: "aws:imagebuilder/component:Component",
    secret: "aws:secretsmanager/secret:Secret",
    remoteCopy: "command:remote:CopyToRemote",
    remoteCommand: "command:remote:Command",
} as const;

export const CERTIFICATE_TYPES: readonly string[] = [TYPES.selfSignedCert, TYPES.locallySignedCert];

/** Tag keys every taggable resource of the tier carries. */
export const TAG_ENVIRONMENT = "apiproxy:environment";
export const TAG_ROLE = "apiproxy:role";

export type Props = Record<string, unknown>;

/**
 * Wraps a validation so it runs only for the given resource types and marks the policy
 * not applicable otherwise (the same contract as @pulumi/policy's validateResourceOfType,
 * without loading the provider SDKs into the pack). A single type is attached as
 * `__pulumiType` so the engine can skip other types without calling us.
 */
export function forTypes(
    types: readonly string[],
    validate: (props: Props, args: ResourceValidationArgs, reportViolation: ReportViolation) => void | Promise<void>,
): ResourceValidation {
    const fn: ResourceValidation = (args, reportViolation) => {
        if (!types.includes(args.type)) {
            args.notApplicable(`Policy only applies to resources of type ${types.map((t) => `'${t}'`).join(", ")}`);
        }
        return validate(args.props as Props, args, reportViolation);
    };
    if (types.length === 1) {
        (fn as unknown as { __pulumiType: string }).__pulumiType = types[0];
    }
    return fn;
}

/**
 * Reads a value that may be unknown during preview. The engine wraps props in a proxy that
 * throws UnknownValueError on access to a computed value; here that means "no verdict".
 */
export function known<T>(read: () => T): T | undefined {
    try {
        return read();
    } catch (err) {
        if (isUnknownValueError(err)) {
            return undefined;
        }
        throw err;
    }
}

/** Matches @pulumi/policy's UnknownValueError without depending on which copy threw it. */
export function isUnknownValueError(err: unknown): boolean {
    return err instanceof Error && err.constructor.name === "UnknownValueError";
}

export function asRecord(value: unknown): Props | undefined {
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Props) : undefined;
}

export function asArray(value: unknown): unknown[] {
    return Array.isArray(value) ? value : [];
}

export function asString(value: unknown): string | undefined {
    return typeof value === "string" ? value : undefined;
}

/** Numbers arrive as numbers from the engine, but launch templates and older configs use strings. */
export function asNumber(value: unknown): number | undefined {
    if (typeof value === "number" && Number.isFinite(value)) {
        return value;
    }
    if (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value.trim())) {
        return Number(value);
    }
    return undefined;
}

/** Booleans: launch template EBS/network fields are strings ("true") in the AWS schema. */
export function asBoolean(value: unknown): boolean | undefined {
    if (typeof value === "boolean") {
        return value;
    }
    if (value === "true") {
        return true;
    }
    if (value === "false") {
        return false;
    }
    return undefined;
}

/** Tags as a map: most resources carry `tags` / `tagsAll` maps; Auto Scaling groups a list of
 *  `{ key, value, propagateAtLaunch }`. */
export function tagsOf(props: Props): Record<string, string> {
    const result: Record<string, string> = {};
    for (const key of ["tagsAll", "tags"]) {
        const raw = known(() => props[key]);
        if (Array.isArray(raw)) {
            for (const entry of raw) {
                const tag = known(() => asRecord(entry));
                const k = tag ? known(() => asString(tag.key)) : undefined;
                const value = tag ? known(() => asString(tag.value)) : undefined;
                if (k !== undefined && value !== undefined) {
                    result[k] = value;
                }
            }
            continue;
        }
        for (const [k, v] of Object.entries(asRecord(raw) ?? {})) {
            const value = known(() => v);
            if (typeof value === "string") {
                result[k] = value;
            }
        }
    }
    return result;
}

export function roleOf(props: Props): string | undefined {
    return tagsOf(props)[TAG_ROLE];
}

export function environmentOf(props: Props): string | undefined {
    return tagsOf(props)[TAG_ENVIRONMENT];
}

/** Identifiers other resources may hold to refer to this one (id, ARN). */
export function identifiersOf(resource: PolicyResource): string[] {
    const ids: string[] = [];
    for (const key of ["id", "arn"]) {
        const value = known(() => resource.props[key]);
        if (typeof value === "string" && value.length > 0) {
            ids.push(value);
        }
    }
    return ids;
}

/**
 * True when `from.props[prop]` refers to `target`: through the engine's property dependencies
 * (works during preview, when ids are unknown) or by comparing known ids/ARNs (the offline
 * review and updates). Array-valued properties match if any element does.
 */
export function refersTo(from: PolicyResource, prop: string, target: PolicyResource): boolean {
    const deps = from.propertyDependencies?.[prop];
    if (deps && deps.some((d) => d.urn === target.urn)) {
        return true;
    }
    const ids = identifiersOf(target);
    if (ids.length === 0) {
        return false;
    }
    const value = known(() => from.props[prop]);
    const values = Array.isArray(value) ? value.map((v) => known(() => v)) : [value];
    return values.some((v) => typeof v === "string" && ids.includes(v));
}

/** The resources `from.props[prop]` refers to, among `candidates`. */
export function referencedBy(from: PolicyResource, prop: string, candidates: readonly PolicyResource[]): PolicyResource[] {
    return candidates.filter((c) => refersTo(from, prop, c));
}

export function ofType(resources: readonly PolicyResource[], ...types: string[]): PolicyResource[] {
    return resources.filter((r) => types.includes(r.type));
}
