/**
 * Pulumi entry point (Pulumi.yaml `main: infra/`). The only place that reads stack config:
 * `api-proxy-security:tier` is validated as a whole before any resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { API_KEYS_CONFIG_KEY, validateApiKeys, type ApiKeys } from "./config/api-keys";
import { ConfigError, PROJECT_NAME, SSH_PRIVATE_KEY_CONFIG_KEY, validateTierConfig } from "./config/load";
import { deployTier } from "./program";
import { SIGNATURE_SECRETS_CONFIG_KEY, validateSignatureSecrets, type SignatureSecrets } from "./config/signature-secrets";

const raw = new pulumi.Config().requireObject<unknown>("tier");
let tier;
let apiKeys: pulumi.Output<ApiKeys> | undefined;
let sshPrivateKey: pulumi.Output<string> | undefined;
let signatureSecrets: pulumi.Output<SignatureSecrets> | undefined;
try {
    tier = validateTierConfig(raw, `stack ${pulumi.getStack()}`);
    // Read as the runtime holds it (plaintext, no warning), validated before anything is
    // registered, and kept a secret from here on.
    const keysText = pulumi.runtime.getConfig(`${PROJECT_NAME}:${API_KEYS_CONFIG_KEY}`);
    if (keysText !== undefined) {
        let parsed: unknown;
        try {
            parsed = JSON.parse(keysText);
        } catch {
            throw new ConfigError(`stack ${pulumi.getStack()}`, [{ path: API_KEYS_CONFIG_KEY, message: "is not a JSON object (set it with config set --secret --path or a JSON string)" }]);
        }
        apiKeys = pulumi.secret(validateApiKeys(parsed, `stack ${pulumi.getStack()}`));
    }
    const secretsText = pulumi.runtime.getConfig(`${PROJECT_NAME}:${SIGNATURE_SECRETS_CONFIG_KEY}`);
    if (secretsText !== undefined) {
        let parsed: unknown;
        try {
            parsed = JSON.parse(secretsText);
        } catch {
            throw new ConfigError(`stack ${pulumi.getStack()}`, [{ path: SIGNATURE_SECRETS_CONFIG_KEY, message: "is not a JSON object of key id -> secret (set it with config set --secret)" }]);
        }
        signatureSecrets = pulumi.secret(validateSignatureSecrets(parsed, tier, `stack ${pulumi.getStack()}`));
    }
    const keyText = pulumi.runtime.getConfig(`${PROJECT_NAME}:${SSH_PRIVATE_KEY_CONFIG_KEY}`);
    if (keyText !== undefined) {
        if (!/^-----BEGIN (OPENSSH|RSA|EC) PRIVATE KEY-----\n[\s\S]+\n-----END (OPENSSH|RSA|EC) PRIVATE KEY-----\s*$/.test(keyText)) {
            throw new ConfigError(`stack ${pulumi.getStack()}`, [{ path: SSH_PRIVATE_KEY_CONFIG_KEY, message: "is not an unencrypted OpenSSH or PEM private key (set it with config set --secret api-proxy-security:sshPrivateKey -- \"$(cat KEYFILE)\")" }]);
        }
        sshPrivateKey = pulumi.secret(keyText);
    }
} catch (err) {
    if (err instanceof ConfigError) {
        // A plain Error (not a crash trace): the engine prints the message and registers nothing.
        throw new pulumi.RunError(err.message);
    }
    throw err;
}
const deployment = deployTier(tier, { apiKeys, sshPrivateKey, signatureSecrets });
const { outputs } = deployment;

export const environment = outputs.environment;
export const endpoints = outputs.endpoints;
export const caBundlePem = outputs.caBundlePem;
export const mtlsClientCaPem = outputs.mtlsClientCaPem;
export const clientCertificates = outputs.clientCertificates;
export const clientPrivateKeys = outputs.clientPrivateKeys;
export const upstreamCertificates = outputs.upstreamCertificates;
export const upstreamPrivateKeys = outputs.upstreamPrivateKeys;
export const routes = outputs.routes;
export const rateLimits = outputs.rateLimits;
export const limits = outputs.limits;
export const health = outputs.health;
export const certificateRotation = outputs.certificateRotation;

/** The AWS target: the security group upstream instances join so the proxies may reach them. */
export const aws = deployment.aws;
/** Per host (local and inventory targets): which rendered files changed, what ran, and what the host could not apply. */
export const deliveries = deployment.deliveries;
/** The local target: the client namespace, a shell in it, and a request that works as printed. */
export const local = deployment.local
    ? {
        clientNamespace: deployment.local.clientNamespace,
        clientShell: `sudo ip netns exec ${deployment.local.clientNamespace} bash`,
        curl: deployment.local.curl,
    }
    : undefined;
/** A key the local key store accepts (secret). */
export const testApiKey = deployment.local?.testApiKey;
/** The local target: the signing keys' secrets (secret), by key id, for test clients. */
export const testSignatureSecrets = deployment.local?.signatureSecrets;
/** JWT issuers' public keys (JWKS per issuer): what the key service verifies tokens with. */
export const jwks = deployment.tokenKeys?.jwks;
/** The keys the stack made for its own JWT issuers (PKCS#8 PEM by issuer and kid, secret): for the token issuer only. */
export const jwtSigningKeys = deployment.tokenKeys?.privateKeysPem;
