// Conformance of the project's own providers with the installed SDKs, surface derived from
// the SDK packages themselves (sdk-surface.ts): every resource type and function is served,
// every input property is either handled or refused by name (never silently ignored), an
// input the SDK does not have is refused, and every declared output is produced.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ProviderClient, reveal, stringAsset, type Props } from "./harness";
import { sdkFunctions, sdkInputType, sdkResources, type SdkProperty } from "./sdk-surface";

/** Outputs produced only for an input this provider refuses (so never). */
const outputsOfRefusedInputs: Record<string, string> = { assets: "assetPaths", archive: "archivePaths" };

/** The refusal text every unsupported property carries. */
const unsupported = /is not supported by this provider \(api-proxy-security engine\/providers\)/;

const sshHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

/** A valid value of a property, by name where it is constrained, else by its SDK type. */
function sample(p: SdkProperty): unknown {
    const byName: Record<string, unknown> = {
        algorithm: "RSA", ecdsaCurve: "P256", rsaBits: 3072, allowedUses: ["server_auth"], ipAddresses: ["192.0.2.7"],
        uris: ["spiffe://tier.example/proxy"], dnsNames: ["proxy.example"], logging: "none", hostKey: sshHostKey,
        port: 2222, interpreter: ["/bin/sh", "-c"], maxPathLength: 1, validityPeriodHours: 24, earlyRenewalHours: 1,
        dialErrorLimit: 3, perDialTimeout: 5, isCaCertificate: false, setAuthorityKeyId: false, source: stringAsset("x"),
        triggers: [1, "two"], subject: { commonName: "example", organization: "Example" }, proxy: { host: "192.0.2.9" }, connection: { host: "192.0.2.8" },
        remotePath: "/tmp/conformance", localPath: "/etc/hostname", verifyChain: true, url: "tls://127.0.0.1:1",
    };
    if (p.name in byName) return byName[p.name];
    switch (p.type) {
        case "string": return "sample";
        case "number": return 1;
        case "boolean": return true;
        case "string[]": return ["sample"];
        case "map": return { SAMPLE: "value" };
        case "any[]": return ["sample"];
        case "asset": return stringAsset("sample");
        case "object": return {};
    }
}

describe("conformance with @pulumi/tls and @pulumi/command (surface read from the installed SDKs)", { timeout: 120_000 }, () => {
    let tls: ProviderClient;
    let command: ProviderClient;
    const minimal: Record<string, Props> = {};

    before(async () => {
        tls = await ProviderClient.start("tls");
        command = await ProviderClient.start("command");
        const key = await tls.provision("tls:index/privateKey:PrivateKey", { algorithm: "ECDSA", ecdsaCurve: "P256" });
        const keyPem = reveal<string>(key.outputs.privateKeyPem);
        const ca = await tls.provision("tls:index/selfSignedCert:SelfSignedCert", {
            privateKeyPem: keyPem, allowedUses: ["cert_signing"], validityPeriodHours: 24, isCaCertificate: true,
            subject: { commonName: "conformance CA" },
        });
        const csr = await tls.provision("tls:index/certRequest:CertRequest", { privateKeyPem: keyPem, subject: { commonName: "leaf" } });
        const connection = { host: "127.0.0.1" };
        Object.assign(minimal, {
            "tls:index/privateKey:PrivateKey": { algorithm: "ECDSA" },
            "tls:index/selfSignedCert:SelfSignedCert": { privateKeyPem: keyPem, allowedUses: ["digital_signature"], validityPeriodHours: 1 },
            "tls:index/certRequest:CertRequest": { privateKeyPem: keyPem },
            "tls:index/locallySignedCert:LocallySignedCert": {
                certRequestPem: csr.outputs.certRequestPem, caCertPem: ca.outputs.certPem, caPrivateKeyPem: keyPem,
                allowedUses: ["digital_signature"], validityPeriodHours: 1,
            },
            "command:local:Command": {},
            "command:remote:Command": { connection },
            "command:remote:CopyToRemote": { connection, source: stringAsset("x"), remotePath: "/tmp/x" },
            "command:remote:CopyFile": { connection, localPath: "/etc/hostname", remotePath: "/tmp/x" },
        });
    });
    after(() => {
        tls?.close();
        command?.close();
    });

    const client = (token: string): ProviderClient => (token.startsWith("tls:") ? tls : command);

    it("GetPluginInfo answers exactly the version each SDK asks the engine for", async () => {
        const { sdkPluginVersion } = await import("./harness");
        assert.equal(await tls.pluginVersion(), sdkPluginVersion("tls"));
        assert.equal(await command.pluginVersion(), sdkPluginVersion("command"));
    });

    for (const pkg of ["tls", "command"] as const) {
        const resources = sdkResources(pkg);
        it(`${pkg}: the SDK registers ${resources.length} resource types and each has a minimal valid input here`, () => {
            assert.ok(resources.length >= 4);
            for (const r of resources) assert.ok(minimal[r.token], `no minimal inputs for ${r.token} (a new SDK resource type?)`);
        });

        for (const r of resources) {
            it(`${r.token}: every SDK input property is handled or refused by name`, async () => {
                const base = await client(r.token).check(r.token, minimal[r.token]);
                assert.deepEqual(base.failures, [], `minimal inputs of ${r.token} refused`);
                for (const p of r.inputs) {
                    // A property the minimal inputs already hold (PEMs, connection) keeps its valid value.
                    const value = p.name in minimal[r.token] ? minimal[r.token][p.name] : sample(p);
                    const news: Props = { ...minimal[r.token], [p.name]: value };
                    if (p.name.endsWith("Wo")) delete news[p.name.slice(0, -2)]; // write-only twin replaces the plain one
                    const { failures } = await client(r.token).check(r.token, news);
                    for (const f of failures) {
                        assert.match(f.reason, unsupported, `${r.token}.${p.name} (sample ${JSON.stringify(value)}) refused: ${f.reason}`);
                        assert.ok(f.reason.includes(p.name), `the refusal names ${p.name}: ${f.reason}`);
                    }
                    if (p.type === "object" && p.objectType) {
                        const fields = sdkInputType(pkg, p.objectType);
                        assert.ok(fields.length > 0);
                        for (const field of fields) {
                            const nested = { ...(sample(p) as Props), ...(p.name === "connection" ? { host: "127.0.0.1" } : {}), [field.name]: sample(field) };
                            const res = await client(r.token).check(r.token, { ...minimal[r.token], [p.name]: nested });
                            assert.deepEqual(res.failures, [], `${r.token}.${p.name}.${field.name} refused`);
                        }
                        const bogus = await client(r.token).check(r.token, { ...minimal[r.token], [p.name]: { ...(sample(p) as Props), host: "h", notInTheSdk: "x" } });
                        assert.ok(bogus.failures.some((f) => f.reason.includes(`${p.name}.notInTheSdk`)), JSON.stringify(bogus.failures));
                    }
                }
            });

            it(`${r.token}: a property the SDK does not declare is refused, naming it and the type`, async () => {
                const { failures } = await client(r.token).check(r.token, { ...minimal[r.token], notInTheSdk: "x" });
                assert.equal(failures.length, 1, JSON.stringify(failures));
                assert.equal(failures[0].property, "notInTheSdk");
                assert.ok(failures[0].reason.includes(r.token) && failures[0].reason.includes("notInTheSdk"), failures[0].reason);
            });

            it(`${r.token}: a wrongly typed input is refused with the property and the expected type`, async () => {
                const p = r.inputs.find((i) => i.type === "string" || i.type === "number") ?? r.inputs[0];
                const wrong = p.type === "string" ? 42 : "not-a-number";
                const { failures } = await client(r.token).check(r.token, { ...minimal[r.token], [p.name]: wrong });
                assert.ok(failures.some((f) => f.property === p.name && /must be/.test(f.reason)), JSON.stringify(failures));
            });

            if (!r.token.startsWith("command:remote:")) {
                it(`${r.token}: create produces every output the SDK declares (remote types: see command.test.ts)`, async () => {
                    const { outputs, id } = await client(r.token).provision(r.token, minimal[r.token]);
                    assert.ok(id, "an id");
                    for (const name of r.outputs) {
                        if (name in outputsOfRefusedInputs) {
                            assert.ok(!(name in outputs), `${name} is only produced for ${outputsOfRefusedInputs[name]}, which is refused`);
                            continue;
                        }
                        assert.ok(name in outputs && outputs[name] !== null, `${r.token}: output ${name} missing (${Object.keys(outputs).join(", ")})`);
                    }
                });

                it(`${r.token}: a preview create returns every declared output as unknown, no work done`, async () => {
                    const inputs = await client(r.token).checked(r.token, minimal[r.token]);
                    const { outputs } = await client(r.token).create(r.token, inputs, true);
                    for (const name of r.outputs.filter((n) => !(n in outputsOfRefusedInputs))) {
                        assert.equal(outputs[name], "04da6b54-80e4-46f7-96ec-b56ff0331ba9", `${name} at preview`);
                    }
                });
            }
        }

        for (const f of sdkFunctions(pkg)) {
            it(`${f.token}: served; unknown arguments refused by name`, async () => {
                const { failures } = await client(f.token).invoke(f.token, { notInTheSdk: 1 });
                assert.ok(failures.some((x) => x.property === "notInTheSdk"), JSON.stringify(failures));
                for (const a of f.args) {
                    // Alone an argument may not make a valid call (an error from the function), but the
                    // schema must know it: any check failure is an explicit refusal.
                    const res = await client(f.token).invoke(f.token, { [a.name]: sample(a) }).catch(() => undefined);
                    for (const x of res?.failures ?? []) {
                        if (x.property !== a.name) continue; // e.g. another argument is required
                        assert.match(x.reason, unsupported, `${f.token}(${a.name}) refused: ${x.reason}`);
                    }
                }
            });
        }
    }

    it("every function returns what its SDK result type declares", async () => {
        const key = await tls.provision("tls:index/privateKey:PrivateKey", { algorithm: "ED25519" });
        const ca = await tls.provision("tls:index/selfSignedCert:SelfSignedCert", {
            privateKeyPem: reveal<string>(key.outputs.privateKeyPem), allowedUses: ["cert_signing"], validityPeriodHours: 1,
            isCaCertificate: true, subject: { commonName: "fn" },
        });
        const calls: Record<string, Props> = {
            "tls:index/getPublicKey:getPublicKey": { privateKeyPem: reveal(key.outputs.privateKeyPem) },
            "tls:index/getCertificate:getCertificate": { content: ca.outputs.certPem },
            "command:local:run": { command: "echo run" },
        };
        for (const pkg of ["tls", "command"] as const) {
            for (const f of sdkFunctions(pkg)) {
                assert.ok(calls[f.token], `no call for ${f.token} (a new SDK function?)`);
                const { ret, failures } = await client(f.token).invoke(f.token, calls[f.token]);
                assert.deepEqual(failures, []);
                const optional = new Set(["privateKeyOpenssh", "url", "verifyChain", "content", "privateKeyPem", "addPreviousOutputInEnv",
                    "archivePaths", "assetPaths", "dir", "environment", "interpreter", "logging", "stdin", ...Object.keys(outputsOfRefusedInputs)]);
                for (const name of f.results.filter((n) => !optional.has(n))) {
                    assert.ok(name in ret, `${f.token}: result ${name} missing (${Object.keys(ret).join(", ")})`);
                }
            }
        }
    });
});
