/**
 * A small nginx config parser for structural assertions (directive trees with includes
 * resolved from the rendered HostFiles). Independent of the renderer's own model.
 */
import type { HostFile } from "../../../components/core/host-file";

export interface Directive {
    readonly name: string;
    readonly args: readonly string[];
    readonly block?: readonly Directive[];
    /** The trailing `# comment` on the directive's line, if any. */
    readonly comment?: string;
    readonly file: string;
    readonly line: number;
}

interface Token {
    readonly text: string;
    readonly quoted: boolean;
    readonly line: number;
}

function tokenize(content: string): { tokens: Token[]; comments: Map<number, string> } {
    const tokens: Token[] = [];
    const comments = new Map<number, string>();
    let i = 0;
    let line = 1;
    while (i < content.length) {
        const c = content[i];
        if (c === "\n") { line++; i++; continue; }
        if (/\s/.test(c)) { i++; continue; }
        if (c === "#") {
            const end = content.indexOf("\n", i);
            const text = content.slice(i + 1, end === -1 ? undefined : end).trim();
            if (!comments.has(line)) comments.set(line, text);
            i = end === -1 ? content.length : end;
            continue;
        }
        if (c === "{" || c === "}" || c === ";") { tokens.push({ text: c, quoted: false, line }); i++; continue; }
        if (c === '"' || c === "'") {
            let j = i + 1;
            let text = "";
            while (j < content.length && content[j] !== c) {
                if (content[j] === "\\" && j + 1 < content.length) { text += content[j] + content[j + 1]; j += 2; continue; }
                if (content[j] === "\n") line++;
                text += content[j++];
            }
            tokens.push({ text, quoted: true, line });
            i = j + 1;
            continue;
        }
        let j = i;
        let text = "";
        while (j < content.length && !/[\s;{}]/.test(content[j])) {
            // "(" ... ")" conditions of `if` stay single tokens only when unspaced; fine for our assertions.
            text += content[j++];
        }
        tokens.push({ text, quoted: false, line });
        i = j;
    }
    return { tokens, comments };
}

export function parseConfig(content: string, file = "<inline>"): Directive[] {
    const { tokens, comments } = tokenize(content);
    let pos = 0;
    function parseBlock(): Directive[] {
        const out: Directive[] = [];
        while (pos < tokens.length) {
            const first = tokens[pos];
            if (first.text === "}" && !first.quoted) { pos++; return out; }
            const words: Token[] = [];
            while (pos < tokens.length && !(["{", ";", "}"].includes(tokens[pos].text) && !tokens[pos].quoted)) {
                words.push(tokens[pos++]);
            }
            const end = tokens[pos];
            if (end === undefined || end.text === "}") throw new Error(`${file}:${first.line}: unterminated directive ${first.text}`);
            pos++;
            const [name, ...args] = words.map((w) => w.text);
            const comment = comments.get(first.line) ?? comments.get(end.line);
            if (end.text === "{") {
                const block = parseBlock();
                out.push({ name, args, block, comment, file, line: first.line });
            } else {
                out.push({ name, args, comment, file, line: first.line });
            }
        }
        return out;
    }
    return parseBlock();
}

/** Parses the main file and inlines every `include` from the rendered HostFiles. */
export function parseRendered(files: readonly HostFile[], mainPath: string): Directive[] {
    const byPath = new Map(files.map((f) => [f.path, f.content]));
    function expand(path: string, depth: number): Directive[] {
        const content = byPath.get(path);
        if (content === undefined) throw new Error(`include of a file that was not rendered: ${path}`);
        if (depth > 10) throw new Error("include depth");
        return resolve(parseConfig(content, path), depth);
    }
    function resolve(directives: readonly Directive[], depth: number): Directive[] {
        return directives.flatMap((d) => {
            if (d.name === "include") return expand(d.args[0], depth + 1);
            return [d.block === undefined ? d : { ...d, block: resolve(d.block, depth) }];
        });
    }
    return expand(mainPath, 0);
}

export function children(parent: readonly Directive[] | Directive, name: string): Directive[] {
    const list = Array.isArray(parent) ? parent : ((parent as Directive).block ?? []);
    return (list as readonly Directive[]).filter((d) => d.name === name);
}

export function only(parent: readonly Directive[] | Directive, name: string): Directive {
    const found = children(parent, name);
    if (found.length !== 1) throw new Error(`expected exactly one ${name}, found ${found.length}`);
    return found[0];
}

/** Every directive in the tree, depth first. */
export function walk(directives: readonly Directive[]): Directive[] {
    return directives.flatMap((d) => [d, ...walk(d.block ?? [])]);
}

export function argsOf(d: Directive): string {
    return d.args.join(" ");
}
