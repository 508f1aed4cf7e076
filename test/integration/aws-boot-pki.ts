/**
 * The AWS boot test's certificates, made with openssl: the tier's server chain and key (what
 * TlsSecrets stores in Secrets Manager), a client CA and client, and the CA that signs the
 * Secrets Manager endpoint's certificate (standing in for Amazon's public CA in the instances'
 * trust store).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "./aws-boot-env";

export interface Issued {
    readonly cert: string;
    readonly key: string;
    /** Paths on this machine. */
    readonly certFile: string;
    readonly keyFile: string;
}

export class TestPki {
    constructor(readonly dir: string) {
        fs.mkdirSync(dir, { recursive: true });
    }

    private file(name: string): string {
        return path.join(this.dir, name);
    }

    /** A self-signed CA (ECDSA P-256). */
    ca(name: string, subject: string): Issued {
        const keyFile = this.file(`${name}.key`);
        const certFile = this.file(`${name}.pem`);
        run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyFile, "-out", certFile,
            "-days", "30", "-subj", subject, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
        return { cert: fs.readFileSync(certFile, "utf8"), key: fs.readFileSync(keyFile, "utf8"), certFile, keyFile };
    }

    /** A leaf signed by `ca`: server (SANs) or client. */
    leaf(name: string, ca: Issued, subject: string, opts: { sans?: readonly string[]; client?: boolean }): Issued {
        const keyFile = this.file(`${name}.key`);
        const csr = this.file(`${name}.csr`);
        const certFile = this.file(`${name}.pem`);
        const ext = this.file(`${name}.ext`);
        run("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyFile, "-out", csr, "-subj", subject]);
        fs.writeFileSync(ext, [
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature",
            `extendedKeyUsage=${opts.client ? "clientAuth" : "serverAuth"}`,
            ...(opts.sans?.length ? [`subjectAltName=${opts.sans.join(",")}`] : []),
        ].join("\n"));
        run("openssl", ["x509", "-req", "-in", csr, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-CAcreateserial", "-days", "30", "-out", certFile, "-extfile", ext]);
        return { cert: fs.readFileSync(certFile, "utf8"), key: fs.readFileSync(keyFile, "utf8"), certFile, keyFile };
    }

    /** Writes text to a file in the PKI directory and returns its path. */
    write(name: string, content: string): string {
        fs.writeFileSync(this.file(name), content);
        return this.file(name);
    }
}

/** SHA-256 fingerprint of the first certificate in a PEM text. */
export function fingerprint(pem: string): string {
    return run("openssl", ["x509", "-noout", "-fingerprint", "-sha256"], { input: pem }).trim().split("=")[1]!;
}
