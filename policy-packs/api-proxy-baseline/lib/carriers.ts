/**
 * Reads the host files a resource carries, from the rendered text itself:
 *  - EC2 instance user data: a `#cloud-config` document (`write_files`: path, content,
 *    encoding b64 / gz+b64 / plain), optionally inside a MIME multipart; `userDataBase64`
 *    and launch template `userData` are base64 of the same;
 *  - Image Builder component `data`: an AWSTOE document whose `CreateFile` steps carry
 *    `inputs: [{ path, content }]`;
 *  - `command:remote:Command` whose stdin is a delivery bundle (the inventory and local
 *    targets' HostDelivery): `FILE\tpath\tmode\towner\tgroup\taction` lines, each followed by
 *    the file's content as one base64 line; one command carries a host's whole file set;
 *  - (extension point) `command:remote:CopyToRemote`: one file from a StringAsset source.
 *    No check reads it yet (the targets ship only binaries that way).
 *
 * What is checked together is decided in lib/file-sets.ts (host file sets), not here.
 */
import { gunzipSync } from "zlib";
import * as YAML from "yaml";
import { TYPES, asArray, asRecord, asString, known, type Props } from "./resource";

export interface CarriedFiles {
    /** path -> decoded content. */
    readonly files: Map<string, string>;
    /** Every text the carrier holds, decoded: the raw document and each file (secret scans). */
    readonly texts: string[];
    /** Why some content could not be read (malformed YAML, bad base64...). */
    readonly problems: string[];
}

export type CarrierExtractor = (props: Props) => Promise<CarriedFiles | undefined>;

function empty(): CarriedFiles {
    return { files: new Map(), texts: [], problems: [] };
}

const BASE64 = /^[A-Za-z0-9+/\r\n]+={0,2}\s*$/;

/**
 * Decodes base64 when the text is base64, else undefined. Gzip payloads (magic 1f 8b) are
 * inflated: cloud-init accepts gzip-compressed user data, and EC2's 16 KB limit makes it common.
 */
export function decodeBase64(text: string): string | undefined {
    const trimmed = text.trim();
    if (trimmed.length === 0 || !BASE64.test(trimmed)) {
        return undefined;
    }
    const bytes = Buffer.from(trimmed, "base64");
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
        try {
            return gunzipSync(bytes).toString("utf8");
        } catch {
            return undefined;
        }
    }
    return bytes.toString("utf8");
}

function decodeFileContent(content: string, encoding: string | undefined): string {
    switch ((encoding ?? "").toLowerCase()) {
        case "b64":
        case "base64":
            return Buffer.from(content, "base64").toString("utf8");
        case "gz+b64":
        case "gzip+base64":
        case "gz+base64":
        case "gzip+b64":
            return gunzipSync(Buffer.from(content, "base64")).toString("utf8");
        default:
            return content;
    }
}

/** Pulls `text/cloud-config` parts out of a cloud-init MIME multipart document. */
function cloudConfigParts(text: string): string[] {
    const boundary = /boundary="?([^"\r\n;]+)"?/i.exec(text)?.[1];
    if (!/^Content-Type:\s*multipart\//im.test(text) || !boundary) {
        return [text];
    }
    const parts: string[] = [];
    for (const part of text.split(`--${boundary}`)) {
        const split = part.search(/\r?\n\r?\n/);
        if (split < 0) {
            continue;
        }
        const headers = part.slice(0, split);
        let body = part.slice(split).replace(/^\r?\n\r?\n/, "");
        if (!/Content-Type:\s*text\/cloud-config/i.test(headers)) {
            continue;
        }
        if (/Content-Transfer-Encoding:\s*base64/i.test(headers)) {
            body = Buffer.from(body, "base64").toString("utf8");
        }
        parts.push(body);
    }
    return parts;
}

/** Reads a cloud-config document (plain text, possibly multipart). */
export function filesFromCloudConfig(userData: string): CarriedFiles {
    const result = empty();
    result.texts.push(userData);
    for (const part of cloudConfigParts(userData)) {
        if (!part.trimStart().startsWith("#cloud-config")) {
            continue;
        }
        let doc: unknown;
        try {
            doc = YAML.parse(part);
        } catch (err) {
            result.problems.push(`cloud-config is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
            continue;
        }
        for (const entry of asArray(asRecord(doc)?.write_files)) {
            const file = asRecord(entry);
            const path = asString(file?.path);
            const content = file?.content === undefined ? "" : asString(file.content);
            if (!path || content === undefined) {
                continue;
            }
            try {
                const decoded = decodeFileContent(content, asString(file?.encoding));
                result.files.set(path, decoded);
                result.texts.push(decoded);
            } catch (err) {
                result.problems.push(`${path}: content cannot be decoded (${(err as Error).message})`);
            }
        }
    }
    return result;
}

/** Reads an AWSTOE component document: every CreateFile input. */
export function filesFromAwsToe(data: string): CarriedFiles {
    const result = empty();
    result.texts.push(data);
    let doc: unknown;
    try {
        doc = YAML.parse(data);
    } catch (err) {
        result.problems.push(`component document is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
        return result;
    }
    for (const phase of asArray(asRecord(doc)?.phases)) {
        for (const step of asArray(asRecord(phase)?.steps)) {
            const s = asRecord(step);
            if (asString(s?.action) !== "CreateFile") {
                continue;
            }
            for (const input of asArray(s?.inputs)) {
                const i = asRecord(input);
                const path = asString(i?.path);
                const content = asString(i?.content);
                if (path && content !== undefined) {
                    result.files.set(path, content);
                    result.texts.push(content);
                }
            }
        }
    }
    return result;
}

/** User data as EC2 receives it: plain cloud-config, or base64 of it. */
function filesFromUserData(userData: string): CarriedFiles {
    if (userData.trimStart().startsWith("#cloud-config") || /^Content-Type:/im.test(userData)) {
        return filesFromCloudConfig(userData);
    }
    const decoded = decodeBase64(userData);
    if (decoded !== undefined) {
        const result = filesFromCloudConfig(decoded);
        result.texts.push(userData);
        return result;
    }
    const result = empty();
    result.texts.push(userData);
    return result;
}

async function stringAssetText(source: unknown): Promise<string | undefined> {
    const asset = asRecord(source);
    if (!asset) {
        return undefined;
    }
    const text: unknown = await Promise.resolve(asset.text as unknown);
    return typeof text === "string" ? text : undefined;
}

/** The files of a delivery bundle; undefined when the text is not one (any other command stdin). */
export function filesFromBundle(text: string): CarriedFiles | undefined {
    if (!text.startsWith("FILE\t")) {
        return undefined;
    }
    const out = empty();
    const lines = text.split("\n");
    for (let i = 0; i + 1 < lines.length; i += 2) {
        const header = lines[i].split("\t");
        if (header[0] !== "FILE" || header.length !== 6) {
            out.problems.push(`delivery bundle line ${i + 1} is not a FILE header`);
            break;
        }
        const content = decodeBase64(lines[i + 1]) ?? (lines[i + 1] === "" ? "" : undefined);
        if (content === undefined) {
            out.problems.push(`delivery bundle: the content of ${header[1]} is not base64`);
            continue;
        }
        out.files.set(header[1], content);
        out.texts.push(content);
    }
    return out;
}

/** How each carrier type yields its files; undefined = no (known) content. */
export const CARRIER_EXTRACTORS: Readonly<Record<string, CarrierExtractor>> = {
    [TYPES.instance]: async (props) => {
        const plain = known(() => asString(props.userData));
        if (plain !== undefined) {
            return filesFromUserData(plain);
        }
        const b64 = known(() => asString(props.userDataBase64));
        const decoded = b64 !== undefined ? decodeBase64(b64) : undefined;
        return decoded !== undefined ? filesFromUserData(decoded) : undefined;
    },
    [TYPES.launchTemplate]: async (props) => {
        const b64 = known(() => asString(props.userData));
        if (b64 === undefined) {
            return undefined;
        }
        return filesFromUserData(b64);
    },
    [TYPES.imageComponent]: async (props) => {
        const data = known(() => asString(props.data));
        return data === undefined ? undefined : filesFromAwsToe(data);
    },
    [TYPES.remoteCommand]: async (props) => {
        const stdin = known(() => asString(props.stdin));
        return stdin === undefined ? undefined : filesFromBundle(stdin);
    },
    [TYPES.remoteCopy]: async (props) => {
        const remotePath = known(() => asString(props.remotePath));
        const text = await stringAssetText(known(() => props.source));
        if (!remotePath || text === undefined) {
            return undefined;
        }
        return { files: new Map([[remotePath, text]]), texts: [text], problems: [] };
    },
};

export async function carriedFiles(type: string, props: Props): Promise<CarriedFiles | undefined> {
    const extract = CARRIER_EXTRACTORS[type];
    return extract ? extract(props) : undefined;
}

export const NGINX_CONF = "/etc/nginx/nginx.conf";
export const NGINX_INCLUDE_DIR = "/etc/nginx/apiproxy/";
export const SYSCTL_FILE = "/etc/sysctl.d/zz-apiproxy.conf";

/**
 * The nginx files of a carrier or host file set: nginx.conf, the includes under /etc/nginx/apiproxy/, and any
 * other file under /etc/nginx/ it ships (an include there must not escape the checks).
 */
export function nginxFiles(carried: Pick<CarriedFiles, "files">): Map<string, string> | undefined {
    if (!carried.files.has(NGINX_CONF)) {
        return undefined;
    }
    const files = new Map<string, string>();
    for (const [path, content] of carried.files) {
        if (path.startsWith("/etc/nginx/")) {
            files.set(path, content);
        }
    }
    return files;
}
