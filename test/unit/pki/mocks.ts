/**
 * Self-contained Pulumi mocks for the PKI tests: every newResource call is recorded
 * (type, name, resolved inputs) and tls resources get fake but distinguishable PEMs,
 * so a test can follow which key and certificate flowed into which input.
 */
import * as pulumi from "@pulumi/pulumi";

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    /** Inputs with secret wrappers removed, for comparing values. */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly inputs: Record<string, any>;
    /** Top-level input names that reached the engine marked secret. */
    readonly secretInputs: readonly string[];
}

/** How the runtime serializes a secret value (pulumi/sdk/nodejs/runtime/rpc.ts specialSecretSig). */
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

function isSecretWrapper(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

function reveal(value: unknown): unknown {
    if (isSecretWrapper(value)) return reveal(value.value);
    if (Array.isArray(value)) return value.map(reveal);
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
    }
    return value;
}

export const TYPES = {
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
    certRequest: "tls:index/certRequest:CertRequest",
    locallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
} as const;

/** The fake PEMs the mocks hand out, by resource name. */
export const fakeKeyPem = (name: string): string => `-----BEGIN PRIVATE KEY-----\nkey:${name}\n-----END PRIVATE KEY-----\n`;
export const fakePublicKeyPem = (name: string): string => `-----BEGIN PUBLIC KEY-----\npub:${name}\n-----END PUBLIC KEY-----\n`;
export const fakeCertPem = (name: string): string => `-----BEGIN CERTIFICATE-----\ncert:${name}\n-----END CERTIFICATE-----\n`;
export const fakeCsrPem = (name: string): string => `-----BEGIN CERTIFICATE REQUEST-----\ncsr:${name}\n-----END CERTIFICATE REQUEST-----\n`;

export class Recorder {
    readonly resources: RecordedResource[] = [];

    /** Recorded resources of `type` whose name starts with `prefix`. */
    ofType(type: string, prefix = ""): RecordedResource[] {
        return this.resources.filter((r) => r.type === type && r.name.startsWith(prefix));
    }

    /** The one recorded resource named `name` (any type when `type` is omitted). */
    named(name: string, type?: string): RecordedResource {
        const found = this.resources.filter((r) => r.name === name && (type === undefined || r.type === type));
        if (found.length !== 1) {
            throw new Error(`expected one resource named ${name}, found ${found.length}: ${this.resources.map((r) => r.name).join(", ")}`);
        }
        return found[0]!;
    }
}

/** Installs the mocks; call before importing or constructing any component. */
export function setupMocks(): Recorder {
    const recorder = new Recorder();
    pulumi.runtime.setMocks({
        newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
            const secretInputs = Object.entries(args.inputs).filter(([, v]) => isSecretWrapper(v)).map(([k]) => k);
            const inputs = reveal(args.inputs) as Record<string, unknown>;
            recorder.resources.push({ type: args.type, name: args.name, inputs, secretInputs });
            // Echo inputs as plain values: like the engine without additionalSecretOutputs, so
            // only the component's own pulumi.secret can make an output secret.
            const state: Record<string, unknown> = { ...inputs };
            switch (args.type) {
                case TYPES.privateKey:
                    state["privateKeyPem"] = fakeKeyPem(args.name);
                    state["privateKeyPemPkcs8"] = fakeKeyPem(args.name);
                    state["publicKeyPem"] = fakePublicKeyPem(args.name);
                    break;
                case TYPES.certRequest:
                    state["certRequestPem"] = fakeCsrPem(args.name);
                    break;
                case TYPES.selfSignedCert:
                case TYPES.locallySignedCert:
                    state["certPem"] = fakeCertPem(args.name);
                    break;
                default:
                    break;
            }
            return { id: `${args.name}-id`, state };
        },
        call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
            return args.inputs;
        },
    }, "api-proxy-security", "test", false);
    return recorder;
}

/** Resolves an Output's value outside of apply, so assertions run in the test's own stack. */
export function unwrap<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise<T>((resolve) => { output.apply((value) => { resolve(value); return value; }); });
}

/** Lets in-flight registrations reach the mock monitor. */
export async function settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
