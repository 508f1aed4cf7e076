/**
 * Pulumi entry point (Pulumi.yaml `main: infra/`). The only place that reads stack config:
 * `api-proxy-security:tier` is validated as a whole before any resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, validateTierConfig } from "./config/load";
import { deployTier } from "./program";

const raw = new pulumi.Config().requireObject<unknown>("tier");
let tier;
try {
    tier = validateTierConfig(raw, `stack ${pulumi.getStack()}`);
} catch (err) {
    if (err instanceof ConfigError) {
        // A plain Error (not a crash trace): the engine prints the message and registers nothing.
        throw new pulumi.RunError(err.message);
    }
    throw err;
}
const { outputs } = deployTier(tier);

export const environment = outputs.environment;
export const endpoints = outputs.endpoints;
export const caBundlePem = outputs.caBundlePem;
export const mtlsClientCaPem = outputs.mtlsClientCaPem;
export const clientCertificates = outputs.clientCertificates;
export const clientPrivateKeys = outputs.clientPrivateKeys;
export const routes = outputs.routes;
export const rateLimits = outputs.rateLimits;
export const limits = outputs.limits;
export const health = outputs.health;
export const certificateRotation = outputs.certificateRotation;
