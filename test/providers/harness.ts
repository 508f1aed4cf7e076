// Talks to the project's own provider plugins (engine/providers) over the Pulumi
// resource-provider gRPC protocol, the way the engine does, without an engine: the plugin
// starts in attach mode (no engine address), prints its port, and each call is a real RPC.
// Values use the engine's wire forms: secrets and assets as signature objects, unknowns as
// the sentinel string.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { repoRoot } from "../integration/engine-helpers";

/* eslint-disable @typescript-eslint/no-require-imports -- generated protobuf modules ship without ES exports */
const providerGrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const providerPb = require("@pulumi/pulumi/proto/provider_pb");
const structPb = require("google-protobuf/google/protobuf/struct_pb");
const emptyPb = require("google-protobuf/google/protobuf/empty_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

/** The property-value signatures of the Pulumi wire format (sdk/go/common/resource/sig). */
export const sig = {
    key: "4dabf18193072939515e22adb298388d",
    secret: "1b47061264138c4ac30d75fd1eb44270",
    asset: "c44067f5952c0a294b673a41bacd8c17",
    archive: "0def7320c3a5731c473e5ecbe6d01bc7",
    unknown: "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
} as const;

export type Props = Record<string, unknown>;

export const secret = (value: unknown): Props => ({ [sig.key]: sig.secret, value });
export const isSecret = (v: unknown): boolean =>
    typeof v === "object" && v !== null && (v as Props)[sig.key] === sig.secret;
/** The value inside a secret wrapper (or the value itself). */
export const reveal = <T = unknown>(v: unknown): T => (isSecret(v) ? (v as Props).value : v) as T;
export const fileAsset = (p: string): Props => ({ [sig.key]: sig.asset, path: p });
export const stringAsset = (text: string): Props => ({ [sig.key]: sig.asset, text });
export const fileArchive = (p: string): Props => ({ [sig.key]: sig.archive, path: p });

export interface CheckFailure { property: string; reason: string }

export interface DiffResult {
    changes: "unknown" | "none" | "some";
    replaces: string[];
    diffs: string[];
    detailedDiff: Record<string, string>;
}

const diffKinds = ["ADD", "ADD_REPLACE", "DELETE", "DELETE_REPLACE", "UPDATE", "UPDATE_REPLACE"];

/** The plugin version the installed SDK asks the engine for. */
export function sdkPluginVersion(name: "tls" | "command"): string {
    const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, "node_modules", "@pulumi", name, "package.json"), "utf8"));
    return manifest.pulumi.version as string;
}

/** The project's own build of a provider, as `npm run setup` leaves it. */
export function ownProviderBinary(name: "tls" | "command"): string {
    const binary = path.join(repoRoot, ".tools", "providers", `resource-${name}-v${sdkPluginVersion(name)}`, `pulumi-resource-${name}`);
    if (!fs.existsSync(binary)) throw new Error(`${path.relative(repoRoot, binary)} is missing: run npm run setup`);
    return binary;
}

function toStruct(props: Props): unknown {
    return structPb.Struct.fromJavaScript(JSON.parse(JSON.stringify(props)));
}

function fromStruct(s: { toJavaScript(): Props } | undefined): Props {
    return s ? s.toJavaScript() : {};
}

export class ProviderClient {
    private constructor(
        readonly name: "tls" | "command",
        private readonly child: ChildProcess,
        private readonly client: grpc.Client & Record<string, Function>,
        readonly stderr: () => string,
    ) {}

    /** Starts the plugin in attach mode in `cwd` (default: the repo) with extra environment. */
    static async start(name: "tls" | "command", options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ProviderClient> {
        const child = spawn(ownProviderBinary(name), [], {
            cwd: options.cwd ?? repoRoot, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
        const port = await new Promise<number>((resolve, reject) => {
            let out = "";
            const timer = setTimeout(() => reject(new Error(`${name} provider printed no port in 10 s; stderr: ${stderr}`)), 10_000);
            child.stdout!.on("data", (d: Buffer) => {
                out += d.toString();
                const line = out.split("\n")[0];
                if (out.includes("\n")) {
                    clearTimeout(timer);
                    resolve(Number(line.trim()));
                }
            });
            child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`${name} provider exited ${code}: ${stderr}`)); });
        });
        const client = new providerGrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        return new ProviderClient(name, child, client, () => stderr);
    }

    close(): void {
        this.client.close();
        this.child.kill("SIGINT");
    }

    private rpc<T>(method: string, request: unknown): Promise<T> {
        return new Promise((resolve, reject) => {
            this.client[method](request, (err: grpc.ServiceError | null, res: T) => (err ? reject(new Error(err.details || err.message)) : resolve(res)));
        });
    }

    static urn(type: string, name = "test"): string {
        return `urn:pulumi:test::providers::${type}::${name}`;
    }

    async pluginVersion(): Promise<string> {
        const info = await this.rpc<{ getVersion(): string }>("getPluginInfo", new emptyPb.Empty());
        return info.getVersion();
    }

    /** What the engine sends on Ctrl-C: the provider stops its running work. */
    async cancel(): Promise<void> {
        await this.rpc("cancel", new emptyPb.Empty());
    }

    async configure(args: Props): Promise<void> {
        const req = new providerPb.ConfigureRequest();
        req.setArgs(toStruct(args));
        req.setAcceptsecrets(true);
        req.setAcceptresources(true);
        await this.rpc("configure", req);
    }

    async check(type: string, news: Props, olds: Props = {}): Promise<{ inputs: Props; failures: CheckFailure[] }> {
        const req = new providerPb.CheckRequest();
        req.setUrn(ProviderClient.urn(type));
        req.setNews(toStruct(news));
        req.setOlds(toStruct(olds));
        const res = await this.rpc<{ getInputs(): { toJavaScript(): Props }; getFailuresList(): { getProperty(): string; getReason(): string }[] }>("check", req);
        return {
            inputs: fromStruct(res.getInputs()),
            failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
        };
    }

    /** Check, failing on any check failure: the inputs as the engine would store them. */
    async checked(type: string, news: Props): Promise<Props> {
        const { inputs, failures } = await this.check(type, news);
        if (failures.length > 0) throw new Error(`${type}: check failed: ${JSON.stringify(failures)}`);
        return inputs;
    }

    async diff(type: string, id: string, state: Props, news: Props, oldInputs?: Props): Promise<DiffResult> {
        const req = new providerPb.DiffRequest();
        req.setUrn(ProviderClient.urn(type));
        req.setId(id);
        req.setOlds(toStruct(state));
        req.setNews(toStruct(news));
        if (oldInputs) req.setOldInputs(toStruct(oldInputs));
        const res = await this.rpc<{
            getChanges(): number; getReplacesList(): string[]; getDiffsList(): string[];
            getDetaileddiffMap(): { forEach(fn: (value: { getKind(): number }, key: string) => void): void };
        }>("diff", req);
        return {
            changes: (["unknown", "none", "some"] as const)[res.getChanges()],
            replaces: res.getReplacesList(),
            diffs: res.getDiffsList(),
            detailedDiff: (() => {
                const out: Record<string, string> = {};
                res.getDetaileddiffMap().forEach((v, k) => (out[k] = diffKinds[v.getKind()]));
                return out;
            })(),
        };
    }

    async create(type: string, props: Props, preview = false, name = "test"): Promise<{ id: string; outputs: Props }> {
        const req = new providerPb.CreateRequest();
        req.setUrn(ProviderClient.urn(type, name));
        req.setProperties(toStruct(props));
        req.setPreview(preview);
        const res = await this.rpc<{ getId(): string; getProperties(): { toJavaScript(): Props } }>("create", req);
        return { id: res.getId(), outputs: fromStruct(res.getProperties()) };
    }

    async read(type: string, id: string, state: Props, inputs: Props): Promise<{ id: string; outputs: Props; inputs: Props }> {
        const req = new providerPb.ReadRequest();
        req.setUrn(ProviderClient.urn(type));
        req.setId(id);
        req.setProperties(toStruct(state));
        req.setInputs(toStruct(inputs));
        const res = await this.rpc<{ getId(): string; getProperties(): { toJavaScript(): Props }; getInputs(): { toJavaScript(): Props } }>("read", req);
        return { id: res.getId(), outputs: fromStruct(res.getProperties()), inputs: fromStruct(res.getInputs()) };
    }

    async update(type: string, id: string, state: Props, news: Props, oldInputs: Props, preview = false): Promise<Props> {
        const req = new providerPb.UpdateRequest();
        req.setUrn(ProviderClient.urn(type));
        req.setId(id);
        req.setOlds(toStruct(state));
        req.setNews(toStruct(news));
        req.setOldInputs(toStruct(oldInputs));
        req.setPreview(preview);
        const res = await this.rpc<{ getProperties(): { toJavaScript(): Props } }>("update", req);
        return fromStruct(res.getProperties());
    }

    async delete(type: string, id: string, state: Props, oldInputs: Props): Promise<void> {
        const req = new providerPb.DeleteRequest();
        req.setUrn(ProviderClient.urn(type));
        req.setId(id);
        req.setProperties(toStruct(state));
        req.setOldInputs(toStruct(oldInputs));
        await this.rpc("delete", req);
    }

    async invoke(tok: string, args: Props): Promise<{ ret: Props; failures: CheckFailure[] }> {
        const req = new providerPb.InvokeRequest();
        req.setTok(tok);
        req.setArgs(toStruct(args));
        const res = await this.rpc<{ getReturn(): { toJavaScript(): Props } | undefined; getFailuresList(): { getProperty(): string; getReason(): string }[] }>("invoke", req);
        return {
            ret: fromStruct(res.getReturn()),
            failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
        };
    }

    /** Check then create: what `pulumi up` does for a new resource. */
    async provision(type: string, news: Props, name = "test"): Promise<{ id: string; inputs: Props; outputs: Props }> {
        const inputs = await this.checked(type, news);
        const { id, outputs } = await this.create(type, inputs, false, name);
        return { id, inputs, outputs };
    }
}
