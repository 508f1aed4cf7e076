/**
 * Finds secret material in text a resource carries in the clear (user data, component
 * documents). EC2 user data is readable by anyone with ec2:DescribeInstanceAttribute and from
 * IMDS on the host; private keys belong in Secrets Manager, fetched at boot.
 */

export interface SecretFinding {
    readonly kind: string;
}

const PEM_PRIVATE_KEY = /-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY)-----/;
const AWS_SECRET_KEY_NAME = /aws_secret_access_key|AWS_SECRET_ACCESS_KEY|SecretAccessKey/;
/** An access key id (AKIA = long-lived IAM user key); never needed on an instance with a role. */
const AWS_ACCESS_KEY_ID = /\b(AKIA|ASIA)[0-9A-Z]{16}\b/;
/** Runs of base64 long enough to hold a DER private key (a P-256 SEC1 key is 121 bytes -> 164 chars). */
const BASE64_RUN = /[A-Za-z0-9+/]{100,}={0,2}/g;

/**
 * True when DER bytes look like a private key: SEQUENCE { INTEGER version 0|1, ... } — the
 * shape of PKCS#1 RSAPrivateKey, PKCS#8 PrivateKeyInfo and SEC1 ECPrivateKey. Certificates and
 * public keys start SEQUENCE { SEQUENCE ... } and do not match.
 */
export function looksLikeDerPrivateKey(der: Buffer): boolean {
    if (der.length < 32 || der[0] !== 0x30) {
        return false;
    }
    let offset = 1;
    const lengthByte = der[offset];
    if (lengthByte === undefined) {
        return false;
    }
    offset += lengthByte < 0x80 ? 1 : 1 + (lengthByte & 0x7f);
    return der[offset] === 0x02 && der[offset + 1] === 0x01 && (der[offset + 2] === 0x00 || der[offset + 2] === 0x01);
}

export function findSecrets(text: string, depth = 0): SecretFinding[] {
    const findings: SecretFinding[] = [];
    const pem = PEM_PRIVATE_KEY.exec(text);
    if (pem) {
        findings.push({ kind: `a PEM ${pem[1]} block` });
    }
    if (AWS_SECRET_KEY_NAME.test(text)) {
        findings.push({ kind: "an AWS secret access key (aws_secret_access_key)" });
    }
    if (AWS_ACCESS_KEY_ID.test(text)) {
        findings.push({ kind: "an AWS access key id" });
    }
    // PEM-style bodies wrap at 64 columns: join base64 lines so a headerless key is one run.
    const joined = text.replace(/([A-Za-z0-9+/=])\r?\n(?=[A-Za-z0-9+/])/g, "$1");
    for (const match of joined.match(BASE64_RUN) ?? []) {
        const bytes = Buffer.from(match, "base64");
        if (looksLikeDerPrivateKey(bytes)) {
            findings.push({ kind: "a base64 DER private key" });
            break;
        }
        // A PEM key base64-encoded once more (b64 inside b64) is still a key.
        if (depth < 2) {
            const nested = findSecrets(bytes.toString("latin1"), depth + 1);
            if (nested.length > 0) {
                findings.push(...nested.map((n) => ({ kind: `${n.kind} (base64-encoded)` })));
                break;
            }
        }
    }
    return findings;
}
