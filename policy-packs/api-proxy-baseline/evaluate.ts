/**
 * Runs the pack's policies — the same objects index.ts gives the engine — against resources
 * recorded from a mock run, without the PolicyPack server. Used by the offline review
 * (`npm run review -- <stack>`).
 *
 * What matches the engine: resource policies see each resource's props, stack policies see all
 * resources with parent/dependency links resolved, a policy's type filter marks it not
 * applicable, a preview-unknown value yields an advisory "can't run during preview" verdict.
 * What differs: the engine gives stack policies *outputs*; recorded resources carry inputs plus
 * the `id` the mock assigned, which is what stack policies use to link resources.
 */
import type {
    EnforcementLevel, PolicyResource, PolicyResourceOptions, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy,
    StackValidationArgs, StackValidationPolicy,
} from "@pulumi/policy";
import { isUnknownValueError } from "./lib/resource";
import { allPolicies, type BaselinePolicy } from "./policies/all";
import type { BaselineConfig } from "./policies/config";

export { allPolicies } from "./policies/all";
export type { BaselinePolicy } from "./policies/all";
export { DEFAULT_CONFIG, type BaselineConfig } from "./policies/config";

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    /** Inputs as the program passed them (unwrapped). */
    readonly props: Record<string, unknown>;
    /** URN of the parent resource. */
    readonly parent?: string;
    /** URNs this resource depends on. */
    readonly dependencies?: readonly string[];
    /** Property name -> URNs that property's value came from. */
    readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
    /** The id the (mock) provider assigned; lets stack policies match `vpcId`, `targetId`... */
    readonly id?: string;
    /**
     * Outputs the (mock) provider returned (e.g. `arn`). Stack policies see these outputs and
     * `id` overlaid with props, as the engine gives them outputs; resource policies see props only.
     */
    readonly outputs?: Record<string, unknown>;
}

export interface Verdict {
    readonly policyName: string;
    readonly enforcementLevel: EnforcementLevel;
    /** "fail" for a reported violation, "pass" once per policy that found nothing. */
    readonly status: "pass" | "fail";
    readonly message: string;
    /** The resource in violation (resource policies always; stack policies when they name one). */
    readonly urn?: string;
}

class NotApplicable extends Error {
    constructor(readonly reason?: string) {
        super(reason ?? "not applicable");
    }
}

const OPTIONS: PolicyResourceOptions = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
};

type TypedClass = { __pulumiType?: string; isInstance?: (o: unknown) => boolean };

/** The engine's isTypeOf: compares the class's Pulumi type token with the resource's type. */
function isTypeOf(type: string, resourceClass: unknown): boolean {
    const cls = resourceClass as TypedClass;
    if (typeof cls.__pulumiType === "string" && cls.__pulumiType.length > 0) {
        return cls.__pulumiType === type;
    }
    return typeof cls.isInstance === "function" && cls.isInstance({ __pulumiType: type }) === true;
}

/**
 * Outputs add what the provider computes (id, arn, AMI ids); the declared inputs win where both
 * exist. The mock's outputs echo the inputs of the run that recorded them, so a caller that
 * edits `props` (a weakened copy of a stack) must have the edit judged by the stack policies
 * too — the host-config checks are stack policies and read component `data` from here.
 */
function stackPropsOf(resource: RecordedResource): Record<string, unknown> {
    const props: Record<string, unknown> = { ...(resource.outputs ?? {}), ...resource.props };
    if (resource.id !== undefined) {
        props.id = resource.id;
    }
    return props;
}

function toPolicyResources(resources: readonly RecordedResource[]): PolicyResource[] {
    const byUrn = new Map<string, PolicyResource>();
    const built = resources.map((r) => {
        const props = stackPropsOf(r);
        const resource: PolicyResource = {
            type: r.type,
            name: r.name,
            urn: r.urn,
            props,
            opts: r.parent ? { ...OPTIONS, parent: r.parent } : OPTIONS,
            dependencies: [],
            propertyDependencies: {},
            isType: (cls) => isTypeOf(r.type, cls),
            asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as PolicyResource["asType"],
        };
        byUrn.set(r.urn, resource);
        return resource;
    });
    resources.forEach((r, i) => {
        const resource = built[i];
        const parent = r.parent ? byUrn.get(r.parent) : undefined;
        if (parent) {
            resource.parent = parent;
        }
        resource.dependencies = (r.dependencies ?? []).map((u) => byUrn.get(u)).filter((d): d is PolicyResource => d !== undefined);
        for (const [prop, urns] of Object.entries(r.propertyDependencies ?? {})) {
            resource.propertyDependencies[prop] = urns.map((u) => byUrn.get(u)).filter((d): d is PolicyResource => d !== undefined);
        }
    });
    return built;
}

function throwNotApplicable(reason?: string): never {
    throw new NotApplicable(reason);
}

function levelOf(policy: BaselinePolicy): EnforcementLevel {
    return policy.enforcementLevel ?? "mandatory";
}

function isStackPolicy(policy: BaselinePolicy): policy is StackValidationPolicy {
    return typeof (policy as StackValidationPolicy).validateStack === "function";
}

/**
 * Evaluates every policy (or `policies`) on the recorded resources. `config` applies to every
 * policy (each reads only its own keys); defaults fill the rest.
 */
export async function evaluatePolicies(
    resources: readonly RecordedResource[],
    config: Partial<BaselineConfig> = {},
    policies: readonly BaselinePolicy[] = allPolicies,
): Promise<Verdict[]> {
    const verdicts: Verdict[] = [];
    const stackResources = toPolicyResources(resources);
    const getConfig = <T extends object>(): T => ({ ...config }) as T;

    for (const policy of policies) {
        const level = levelOf(policy);
        if (level === "disabled") {
            continue;
        }
        const found: Verdict[] = [];
        const collect = (urn?: string): ReportViolation => (message, violationUrn) => {
            found.push({ policyName: policy.name, enforcementLevel: level, status: "fail", message, urn: urn ?? violationUrn });
        };
        const onError = (err: unknown, urn?: string): void => {
            if (err instanceof NotApplicable) {
                return;
            }
            if (isUnknownValueError(err)) {
                found.push({
                    policyName: policy.name, enforcementLevel: "advisory", status: "fail", urn,
                    message: `can't run policy '${policy.name}' during preview: ${(err as Error).message}`,
                });
                return;
            }
            throw new Error(`policy ${policy.name} failed${urn ? ` on ${urn}` : ""}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        };

        if (isStackPolicy(policy)) {
            const args: StackValidationArgs = {
                resources: stackResources,
                stackTags: new Map(),
                getConfig,
                notApplicable: throwNotApplicable,
            };
            try {
                await policy.validateStack(args, collect());
            } catch (err) {
                onError(err);
            }
        } else {
            const validations = validationsOf(policy);
            for (const [index, resource] of stackResources.entries()) {
                const inputs = resources[index].props;
                const args: ResourceValidationArgs = {
                    type: resource.type,
                    props: inputs,
                    urn: resource.urn,
                    name: resource.name,
                    opts: resource.opts,
                    stackTags: new Map(),
                    isType: resource.isType,
                    asType: ((cls: unknown) => (isTypeOf(resource.type, cls) ? inputs : undefined)) as ResourceValidationArgs["asType"],
                    getConfig,
                    notApplicable: throwNotApplicable,
                };
                for (const validate of validations) {
                    try {
                        await validate(args, collect(resource.urn));
                    } catch (err) {
                        onError(err, resource.urn);
                    }
                }
            }
        }
        verdicts.push(...(found.length > 0 ? found : [{
            policyName: policy.name, enforcementLevel: level, status: "pass" as const, message: "no violations",
        }]));
    }
    return verdicts;
}

function validationsOf(policy: ResourceValidationPolicy) {
    const v = policy.validateResource;
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
