// The surface of @pulumi/tls and @pulumi/command as the installed SDK packages declare it:
// every resource type token with its input and output properties, the fields of the nested
// input types, and every function token with its argument and result fields. Conformance
// tests walk this, so a new SDK version cannot add a property the providers silently ignore.
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../integration/engine-helpers";

export type TsType = "string" | "number" | "boolean" | "string[]" | "map" | "any[]" | "object" | "asset";

export interface SdkProperty {
    name: string;
    type: TsType;
    /** For "object": the declared interface (e.g. remote.ConnectionArgs). */
    objectType?: string;
}

export interface SdkResource {
    token: string;
    file: string;
    inputs: SdkProperty[];
    /** Properties the SDK declares as computed outputs (not inputs). */
    outputs: string[];
}

export interface SdkFunction {
    token: string;
    args: SdkProperty[];
    results: string[];
}

const pkgDir = (name: string): string => path.join(repoRoot, "node_modules", "@pulumi", name);

function walk(dir: string, out: string[] = []): string[] {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory() && entry.name !== "node_modules") walk(p, out);
        else if (entry.isFile()) out.push(p);
    }
    return out;
}

function classifyType(text: string): { type: TsType; objectType?: string } {
    const t = text.replace(/\s/g, "").replace(/pulumi\.Input</g, "").replace(/>/g, "").replace(/\|undefined/g, "");
    if (/Asset|Archive/.test(t)) return { type: "asset" };
    if (t === "string[]") return { type: "string[]" };
    if (t.startsWith("{[key:string]")) return { type: "map" };
    if (t.includes("any[]")) return { type: "any[]" };
    if (t === "string" || /^enums\./.test(t)) return { type: "string" };
    if (t === "number") return { type: "number" };
    if (t === "boolean") return { type: "boolean" };
    if (/^outputs\./.test(t)) return { type: "object", objectType: t };
    const obj = /inputs\.([\w.]+)/.exec(t);
    if (obj) return { type: "object", objectType: obj[1] };
    throw new Error(`unclassified SDK type ${text}`);
}

/** Fields of `export interface NAME {` … `}` in a .d.ts text (declared with `name?: type;`). */
export function interfaceFields(dts: string, name: string): SdkProperty[] {
    const start = dts.search(new RegExp(`interface ${name} \\{`));
    if (start < 0) throw new Error(`interface ${name} not found`);
    const body = dts.slice(dts.indexOf("{", start) + 1);
    const fields: SdkProperty[] = [];
    let depth = 0;
    for (const line of body.split("\n")) {
        const trimmed = line.trim();
        if (depth === 0 && trimmed === "}") break;
        const m = /^(\w+)\??: (.*);$/.exec(trimmed);
        if (depth === 0 && m) fields.push({ name: m[1], ...classifyType(m[2]) });
        else if (depth === 0 && /^(\w+)\??: (.*)\{$/.exec(trimmed)) {
            const n = /^(\w+)/.exec(trimmed)![1];
            fields.push({ name: n, type: "map" }); // pulumi.Input<{ [key: string]: … }>
        }
        depth += (trimmed.match(/\{/g) ?? []).length - (trimmed.match(/\}/g) ?? []).length;
    }
    return fields;
}

export function sdkResources(pkg: "tls" | "command"): SdkResource[] {
    const out: SdkResource[] = [];
    for (const file of walk(pkgDir(pkg)).filter((f) => f.endsWith(".js"))) {
        const js = fs.readFileSync(file, "utf8");
        const token = /__pulumiType = '([^']+)'/.exec(js)?.[1];
        if (!token || !token.includes(":")) continue; // the provider resource itself ('tls', 'command')
        const all = new Set<string>();
        const inputs = new Set<string>();
        for (const m of js.matchAll(/resourceInputs\["(\w+)"\] = (.*);/g)) {
            all.add(m[1]);
            if (/\bargs\b/.test(m[2])) inputs.add(m[1]);
        }
        const dts = fs.readFileSync(file.replace(/\.js$/, ".d.ts"), "utf8");
        const argsName = /export interface (\w+Args) \{/.exec(dts)![1];
        const typed = interfaceFields(dts, argsName);
        for (const name of inputs) {
            if (!typed.some((p) => p.name === name)) throw new Error(`${token}: input ${name} missing from ${argsName}`);
        }
        out.push({
            token, file: path.relative(repoRoot, file),
            inputs: typed.filter((p) => inputs.has(p.name)),
            outputs: [...all].filter((n) => !inputs.has(n)).sort(),
        });
    }
    return out.sort((a, b) => a.token.localeCompare(b.token));
}

/** Fields of a nested input type such as `remote.ConnectionArgs` or `SelfSignedCertSubject`. */
export function sdkInputType(pkg: "tls" | "command", qualified: string): SdkProperty[] {
    const dts = fs.readFileSync(path.join(pkgDir(pkg), "types", "input.d.ts"), "utf8");
    return interfaceFields(dts, qualified.split(".").pop()!);
}

export function sdkFunctions(pkg: "tls" | "command"): SdkFunction[] {
    const out: SdkFunction[] = [];
    for (const file of walk(pkgDir(pkg)).filter((f) => f.endsWith(".js"))) {
        const js = fs.readFileSync(file, "utf8");
        const token = /invoke\("([^"]+)"/.exec(js)?.[1];
        if (!token) continue;
        const dts = fs.readFileSync(file.replace(/\.js$/, ".d.ts"), "utf8");
        const argsName = /export interface (\w+Args) \{/.exec(dts)![1];
        const resultName = /export interface (\w+Result) \{/.exec(dts)![1];
        out.push({
            token,
            args: interfaceFields(dts, argsName),
            results: interfaceFields(dts.replace(/readonly /g, ""), resultName).map((p) => p.name),
        });
    }
    return out.sort((a, b) => a.token.localeCompare(b.token));
}
