/** Shared steps of the PKI tests (import after setupMocks, like the component itself). */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import type { Pki } from "../../../components/pki/pki";
import { settle, unwrap, type Recorder } from "./mocks";

/** Every output of `pki` resolved: once this returns, every child has been registered. */
export async function resolveOutputs(pki: Pki): Promise<{
    caBundlePem: string;
    clientCaPem: string;
    server: Record<string, { certificateChainPem: string; privateKeyPem: string }>;
    client: Record<string, { certificatePem: string; privateKeyPem: string }>;
}> {
    const server: Record<string, { certificateChainPem: string; privateKeyPem: string }> = {};
    for (const [name, out] of Object.entries(pki.serverCertificates)) {
        server[name] = { certificateChainPem: await unwrap(out.certificateChainPem), privateKeyPem: await unwrap(out.privateKeyPem) };
    }
    const client: Record<string, { certificatePem: string; privateKeyPem: string }> = {};
    for (const [name, out] of Object.entries(pki.clientCertificates)) {
        client[name] = { certificatePem: await unwrap(out.certificatePem), privateKeyPem: await unwrap(out.privateKeyPem) };
    }
    return { caBundlePem: await unwrap(pki.caBundlePem), clientCaPem: await unwrap(pki.clientCaPem), server, client };
}

/**
 * Asserts that `construct` throws a pulumi.ResourceError whose message names `argPath`,
 * and that no child named after `name` was ever registered (the check ran first).
 */
export async function assertRefused(construct: () => unknown, argPath: string, recorder: Recorder, name: string): Promise<void> {
    assert.throws(construct, (err: unknown) => {
        assert.ok(pulumi.ResourceError.isInstance(err), `expected a ResourceError, got ${String(err)}`);
        assert.ok(err.message.includes(argPath), `message should name ${argPath}: ${err.message}`);
        return true;
    });
    await settle();
    const children = recorder.resources.filter((r) => r.name.startsWith(`${name}-`));
    assert.deepEqual(children.map((r) => r.name), [], "no child may exist after a refused argument");
}

export const ENDPOINTS = [
    { name: "public", dnsNames: ["api.example.com", "www.api.example.com"] },
    { name: "mtls", dnsNames: ["mtls.api.example.com"], ipAddresses: ["10.0.1.10"] },
] as const;

export const CLIENTS = [
    { name: "billing", commonName: "billing.apps.example.com" },
    { name: "search", commonName: "search.apps.example.com" },
] as const;
