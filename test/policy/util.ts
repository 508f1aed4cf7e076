/**
 * Runs one policy the way the engine's analyzer does (policy-packs/.../index.ts is never
 * imported: constructing the PolicyPack starts a server):
 *  - props are wrapped in @pulumi/policy's own unknown-checking proxy, so a value marked
 *    UNKNOWN behaves exactly like a preview-unknown value (throws on access);
 *  - the type filter is real: `isType` compares the class's Pulumi type token with the resource
 *    type, and `notApplicable` throws, so a policy run on another type reports "not applicable"
 *    (awsguard's helper answered true for any type; this one does not);
 *  - violations are collected with the policy's name and level.
 */
import * as assert from "node:assert/strict";
import * as policyLib from "@pulumi/policy";
import type {
    PolicyResource, PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy,
} from "@pulumi/policy";

/** @pulumi/policy's sentinel for an unknown string during preview (proxy.js unknownStringValue). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Runtime exports @pulumi/policy ships but does not declare in its typings. */
const runtime = policyLib as unknown as {
    unknownCheckingProxy<T extends object>(value: T): T;
    UnknownValueError: new (...args: never[]) => Error;
};

export interface Violation {
    readonly policyName: string;
    readonly enforcementLevel: string;
    readonly message: string;
    readonly urn?: string;
}

export interface Outcome {
    readonly violations: Violation[];
    /** Set when the policy declared itself not applicable (type filter). */
    readonly notApplicable?: string;
    /** "can't run during preview" diagnostics, as the engine reports them (advisory). */
    readonly previewUnknown: string[];
}

class NotApplicable extends Error {}

const OPTIONS: PolicyResourceOptions = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
};

function isTypeOf(type: string, resourceClass: unknown): boolean {
    const token = (resourceClass as { __pulumiType?: unknown }).__pulumiType;
    return typeof token === "string" && token === type;
}

export function urnOf(type: string, name: string): string {
    return `urn:pulumi:test::api-proxy-security::${type}::${name}`;
}

function makeOutcome(): { outcome: Outcome & { notApplicable?: string }; onError: (err: unknown) => void } {
    const outcome: { violations: Violation[]; notApplicable?: string; previewUnknown: string[] } = { violations: [], previewUnknown: [] };
    const onError = (err: unknown): void => {
        if (err instanceof NotApplicable) {
            outcome.notApplicable = err.message;
        } else if (err instanceof runtime.UnknownValueError) {
            outcome.previewUnknown.push(err.message);
        } else {
            throw err;
        }
    };
    return { outcome, onError };
}

export function resourceArgs(type: string, props: Record<string, unknown>, config: object = {}, name = "subject"): ResourceValidationArgs {
    const proxied = runtime.unknownCheckingProxy(structuredClone(props));
    return {
        type,
        props: proxied,
        urn: urnOf(type, name),
        name,
        opts: OPTIONS,
        stackTags: new Map(),
        isType: (cls) => isTypeOf(type, cls),
        asType: ((cls: unknown) => (isTypeOf(type, cls) ? proxied : undefined)) as ResourceValidationArgs["asType"],
        getConfig: <T extends object>() => ({ ...config }) as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason ?? "not applicable");
        },
    };
}

/** Runs a resource policy on one resource of `type` with `props`. */
export async function runResource(
    policy: ResourceValidationPolicy, type: string, props: Record<string, unknown>, config: object = {},
): Promise<Outcome> {
    const args = resourceArgs(type, props, config);
    const { outcome, onError } = makeOutcome();
    const validations = policy.validateResource === undefined ? [] : Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
    assert.ok(validations.length > 0, `${policy.name} has no validateResource`);
    for (const validate of validations) {
        try {
            await validate(args, (message) => {
                outcome.violations.push({ policyName: policy.name, enforcementLevel: policy.enforcementLevel ?? "advisory", message, urn: args.urn });
            });
        } catch (err) {
            onError(err);
        }
    }
    return outcome;
}

export interface StackEntry {
    readonly type: string;
    readonly name: string;
    /** Outputs as the engine gives stack policies (include id/arn to link resources). */
    readonly props: Record<string, unknown>;
    /** property -> names of the resources it depends on. */
    readonly propertyDependencies?: Record<string, string[]>;
}

export async function runStack(policy: StackValidationPolicy, entries: readonly StackEntry[], config: object = {}): Promise<Outcome> {
    const byName = new Map<string, PolicyResource>();
    const resources = entries.map((e) => {
        const props = runtime.unknownCheckingProxy(structuredClone(e.props));
        const resource: PolicyResource = {
            type: e.type,
            name: e.name,
            urn: urnOf(e.type, e.name),
            props,
            opts: OPTIONS,
            dependencies: [],
            propertyDependencies: {},
            isType: (cls) => isTypeOf(e.type, cls),
            asType: ((cls: unknown) => (isTypeOf(e.type, cls) ? props : undefined)) as PolicyResource["asType"],
        };
        byName.set(e.name, resource);
        return resource;
    });
    entries.forEach((e, i) => {
        for (const [prop, names] of Object.entries(e.propertyDependencies ?? {})) {
            const deps = names.map((n) => byName.get(n)).filter((r): r is PolicyResource => r !== undefined);
            resources[i].propertyDependencies[prop] = deps;
            resources[i].dependencies.push(...deps);
        }
    });
    const { outcome, onError } = makeOutcome();
    try {
        await policy.validateStack({
            resources,
            stackTags: new Map(),
            getConfig: <T extends object>() => ({ ...config }) as T,
            notApplicable: (reason?: string): never => {
                throw new NotApplicable(reason ?? "not applicable");
            },
        }, (message, urn) => {
            outcome.violations.push({ policyName: policy.name, enforcementLevel: policy.enforcementLevel ?? "advisory", message, urn });
        });
    } catch (err) {
        onError(err);
    }
    return outcome;
}

/** Asserts the policy found nothing and did run (was applicable, no preview gap). */
export function assertCompliant(outcome: Outcome, what = ""): void {
    assert.equal(outcome.notApplicable, undefined, `${what} unexpectedly not applicable: ${outcome.notApplicable}`);
    assert.deepEqual(outcome.violations.map((v) => v.message), [], `${what} expected no violations`);
    assert.deepEqual(outcome.previewUnknown, [], `${what} expected no preview-unknown diagnostics`);
}

/** Asserts a violation of `policyName` whose message matches `pattern`; returns it (its urn names the resource blamed). */
export function assertViolation(outcome: Outcome, policyName: string, pattern: RegExp): Violation {
    assert.equal(outcome.notApplicable, undefined, `policy was not applicable: ${outcome.notApplicable}`);
    const hit = outcome.violations.find((v) => v.policyName === policyName && pattern.test(v.message));
    assert.ok(hit, `expected a ${policyName} violation matching ${pattern}, got:\n${outcome.violations.map((v) => `  ${v.policyName}: ${v.message}`).join("\n") || "  (none)"}`);
    return hit;
}

export function assertNotApplicable(outcome: Outcome): void {
    assert.ok(outcome.notApplicable, "expected the policy's type filter to reject this resource type");
    assert.deepEqual(outcome.violations, []);
}

/** structuredClone + a mutation, so each test breaks one field of the one valid fixture. */
export function broken<T>(valid: T, mutate: (copy: T) => void): T {
    const copy = structuredClone(valid);
    mutate(copy);
    return copy;
}
