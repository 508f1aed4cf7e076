/**
 * The pack's own nginx configuration reader: tokenizer (words, quoted strings, comments,
 * `;`, `{`, `}`), a block parser, and include expansion over the files a carrier holds.
 *
 * Deliberately independent of the renderer (ARCHITECTURE.md: a policy that re-used the
 * renderer's model would be circular). It follows nginx's own lexer (ngx_conf_file.c) where
 * that matters for security checks: `#` starts a comment only outside quotes, `${var}` keeps
 * its braces inside a word, and quotes may be "..." or '...' with backslash escapes.
 */

export interface Directive {
    readonly name: string;
    readonly args: readonly string[];
    /** Present for block directives (http, server, location, if, ...). */
    readonly block?: readonly Directive[];
    /** Where the directive was written, for messages: "/etc/nginx/nginx.conf:12". */
    readonly source: string;
}

export class NginxParseError extends Error {
    constructor(message: string, readonly source: string) {
        super(`${source}: ${message}`);
        this.name = "NginxParseError";
    }
}

type Token =
    | { readonly kind: "word"; readonly value: string; readonly line: number }
    | { readonly kind: ";" | "{" | "}"; readonly line: number };

export function tokenize(text: string, file = "nginx.conf"): Token[] {
    const tokens: Token[] = [];
    let i = 0;
    let line = 1;
    while (i < text.length) {
        const ch = text[i];
        if (ch === "\n") {
            line++;
            i++;
            continue;
        }
        if (ch === " " || ch === "\t" || ch === "\r") {
            i++;
            continue;
        }
        if (ch === "#") {
            while (i < text.length && text[i] !== "\n") {
                i++;
            }
            continue;
        }
        if (ch === ";" || ch === "{" || ch === "}") {
            tokens.push({ kind: ch, line });
            i++;
            continue;
        }
        if (ch === '"' || ch === "'") {
            const quote = ch;
            const startLine = line;
            let value = "";
            i++;
            while (i < text.length && text[i] !== quote) {
                if (text[i] === "\\" && i + 1 < text.length) {
                    // nginx keeps the backslash except before the quote itself and a few escapes.
                    const next = text[i + 1];
                    if (next === quote || next === "\\") {
                        value += next;
                    } else if (next === "n") {
                        value += "\n";
                    } else if (next === "t") {
                        value += "\t";
                    } else {
                        value += `\\${next}`;
                    }
                    i += 2;
                    continue;
                }
                if (text[i] === "\n") {
                    line++;
                }
                value += text[i];
                i++;
            }
            if (i >= text.length) {
                throw new NginxParseError(`unterminated ${quote} string`, `${file}:${startLine}`);
            }
            i++;
            tokens.push({ kind: "word", value, line: startLine });
            continue;
        }
        let value = "";
        while (i < text.length) {
            const c = text[i];
            if (c === " " || c === "\t" || c === "\r" || c === "\n" || c === ";") {
                break;
            }
            if (c === "{") {
                // "${name}" is a variable, not a block opening.
                if (value.endsWith("$")) {
                    const close = text.indexOf("}", i);
                    if (close < 0) {
                        throw new NginxParseError("unterminated ${...} variable", `${file}:${line}`);
                    }
                    value += text.slice(i, close + 1);
                    i = close + 1;
                    continue;
                }
                break;
            }
            if (c === "}") {
                break;
            }
            if (c === "\\" && i + 1 < text.length) {
                value += c + text[i + 1];
                i += 2;
                continue;
            }
            value += c;
            i++;
        }
        tokens.push({ kind: "word", value, line });
    }
    return tokens;
}

/** Parses one file into its directive tree (no include expansion). */
export function parseNginx(text: string, file = "nginx.conf"): Directive[] {
    const tokens = tokenize(text, file);
    let pos = 0;
    const parseBlock = (depth: number, openedAt?: number): Directive[] => {
        const directives: Directive[] = [];
        while (pos < tokens.length) {
            const token = tokens[pos];
            if (token.kind === "}") {
                if (depth === 0) {
                    throw new NginxParseError('unexpected "}"', `${file}:${token.line}`);
                }
                pos++;
                return directives;
            }
            if (token.kind !== "word") {
                throw new NginxParseError(`unexpected "${token.kind}"`, `${file}:${token.line}`);
            }
            const name = token.value;
            const source = `${file}:${token.line}`;
            pos++;
            const args: string[] = [];
            for (;;) {
                const next = tokens[pos];
                if (next === undefined) {
                    throw new NginxParseError(`directive "${name}" is not terminated by ";"`, source);
                }
                pos++;
                if (next.kind === "word") {
                    args.push(next.value);
                } else if (next.kind === ";") {
                    directives.push({ name, args, source });
                    break;
                } else if (next.kind === "{") {
                    const block = parseBlock(depth + 1, next.line);
                    directives.push({ name, args, block, source });
                    break;
                } else {
                    throw new NginxParseError(`unexpected "}" in directive "${name}"`, source);
                }
            }
        }
        if (depth > 0) {
            throw new NginxParseError('unexpected end of file, expecting "}"', `${file}:${openedAt ?? 0}`);
        }
        return directives;
    };
    return parseBlock(0);
}

/** Shell-style glob (`*`, `?`) as nginx's include uses it, matched against a whole path. */
function globToRegExp(pattern: string): RegExp {
    const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]");
    return new RegExp(`^${escaped}$`);
}

const NGINX_PREFIX = "/etc/nginx/";
const MAX_INCLUDE_DEPTH = 16;

/**
 * Parses `entry` from `files` (path -> content) and replaces every `include` whose target is
 * among `files` by the included directives, in place, as nginx does. Includes of files the
 * carrier does not hold (mime.types, distro snippets) are kept as plain directives.
 */
export function parseWithIncludes(files: ReadonlyMap<string, string>, entry = "/etc/nginx/nginx.conf"): Directive[] {
    const text = files.get(entry);
    if (text === undefined) {
        throw new NginxParseError("file not present", entry);
    }
    const expand = (directives: readonly Directive[], stack: readonly string[]): Directive[] => {
        const out: Directive[] = [];
        for (const d of directives) {
            if (d.name === "include" && !d.block && d.args.length === 1) {
                const pattern = d.args[0].startsWith("/") ? d.args[0] : NGINX_PREFIX + d.args[0];
                const regex = globToRegExp(pattern);
                const matches = [...files.keys()].filter((p) => regex.test(p)).sort();
                if (matches.length === 0) {
                    out.push(d);
                    continue;
                }
                for (const path of matches) {
                    if (stack.includes(path) || stack.length > MAX_INCLUDE_DEPTH) {
                        throw new NginxParseError(`include loop through ${path}`, d.source);
                    }
                    out.push(...expand(parseNginx(files.get(path) ?? "", path), [...stack, path]));
                }
                continue;
            }
            out.push(d.block ? { ...d, block: expand(d.block, stack) } : d);
        }
        return out;
    };
    return expand(parseNginx(text, entry), [entry]);
}
