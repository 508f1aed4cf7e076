// The project's command provider, for real: local processes, and remote commands and copies
// against a real OpenSSH server on loopback (key auth, pinned host key, AcceptEnv, SFTP).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, removeDir } from "../integration/engine-helpers";
import { fileArchive, fileAsset, isSecret, ProviderClient, reveal, secret, stringAsset, type Props } from "./harness";
import { sdkResources } from "./sdk-surface";
import { startSshd, type Sshd } from "./sshd";

const T = {
    local: "command:local:Command",
    remote: "command:remote:Command",
    copy: "command:remote:CopyToRemote",
    copyFile: "command:remote:CopyFile",
};

describe("command provider: local.Command and the run invoke", { timeout: 60_000 }, () => {
    let command: ProviderClient;
    let dir = "";
    before(async () => {
        dir = makeTempDir("command-local");
        command = await ProviderClient.start("command");
    });
    after(() => {
        command?.close();
        removeDir(dir);
    });

    it("create runs in dir with environment and stdin; stdout/stderr captured separately, one trailing newline trimmed", async () => {
        const { id, outputs } = await command.provision(T.local, {
            create: "printf 'out:%s:%s\\n' \"$GREETING\" \"$(cat)\"; pwd; echo warn >&2",
            environment: { GREETING: "hello" }, stdin: "from-stdin", dir,
        }, "greeter");
        assert.match(id, /^greeter[0-9a-f]{8}$/);
        assert.equal(outputs.stdout, `out:hello:from-stdin\n${fs.realpathSync(dir)}`);
        assert.equal(outputs.stderr, "warn");
    });

    it("interpreter replaces /bin/sh -c", async () => {
        const { outputs } = await command.provision(T.local, { create: "echo ${BASH_VERSION:+bash}", interpreter: ["/bin/bash", "-c"] });
        assert.equal(outputs.stdout, "bash");
    });

    it("a non-zero exit fails the step with the exit status, the command and everything it printed", async () => {
        const inputs = await command.checked(T.local, { create: "echo partial; echo 'disk full' >&2; exit 3" });
        await assert.rejects(command.create(T.local, inputs), (err: Error) => {
            assert.match(err.message, /^exit status 3: running "echo partial; echo 'disk full' >&2; exit 3":\n/);
            // Both streams, in the order they arrived (two pipes: either may come first).
            assert.match(err.message, /\npartial\n/);
            assert.match(err.message, /\ndisk full\n/);
            return true;
        });
    });

    it("update runs update (else create) with the previous outputs in PULUMI_COMMAND_*; delete runs delete with them", async () => {
        const marker = path.join(dir, "deleted");
        const v1 = { create: "echo first", update: "echo \"updated after $PULUMI_COMMAND_STDOUT\"", delete: `echo "$PULUMI_COMMAND_STDOUT" > ${marker}` };
        const { id, inputs, outputs } = await command.provision(T.local, v1);
        const v2 = await command.checked(T.local, { ...v1, environment: { X: "1" } });
        const diff = await command.diff(T.local, id, outputs, v2, inputs);
        assert.deepEqual([diff.changes, diff.replaces], ["some", []]);
        const updated = await command.update(T.local, id, outputs, v2, inputs);
        assert.equal(updated.stdout, "updated after first");
        await command.delete(T.local, id, updated, v2);
        assert.equal(fs.readFileSync(marker, "utf8"), "updated after first\n");
        // Without an update command, create runs again; addPreviousOutputInEnv: false hides the outputs.
        const noUpdate = { create: "echo \"[${PULUMI_COMMAND_STDOUT:-none}]\"", addPreviousOutputInEnv: false };
        const a = await command.provision(T.local, noUpdate);
        const b = await command.update(T.local, a.id, a.outputs, await command.checked(T.local, { ...noUpdate, stdin: "x" }), a.inputs);
        assert.equal(b.stdout, "[none]");
        // No delete command: nothing runs, nothing fails.
        await command.delete(T.local, a.id, b, a.inputs);
    });

    it("a trigger change replaces; a change of create updates; the same inputs are no change", async () => {
        const args = { create: "true", triggers: ["sha256:aaa", 1] };
        const { id, inputs, outputs } = await command.provision(T.local, args);
        assert.equal((await command.diff(T.local, id, outputs, await command.checked(T.local, args), inputs)).changes, "none");
        const t = await command.diff(T.local, id, outputs, await command.checked(T.local, { ...args, triggers: ["sha256:bbb", 1] }), inputs);
        assert.deepEqual(t.replaces, ["triggers"]);
        const c = await command.diff(T.local, id, outputs, await command.checked(T.local, { ...args, create: "true # v2" }), inputs);
        assert.deepEqual([c.changes, c.replaces], ["some", []]);
    });

    it("output derived from a secret input stays secret; plain inputs give plain output", async () => {
        const s = await command.provision(T.local, { create: "echo \"$TOKEN\" | wc -c", environment: { TOKEN: secret("s3cr3t") } });
        assert.ok(isSecret(s.outputs.stdout) && isSecret(s.outputs.stderr));
        assert.equal(reveal(s.outputs.stdout), "7");
        assert.ok(isSecret((s.outputs.environment as Props).TOKEN) || isSecret(s.outputs.environment), "the secret input stays secret");
        const p = await command.provision(T.local, { create: "echo plain" });
        assert.equal(p.outputs.stdout, "plain");
    });

    it("a cancelled provider stops a running command's whole process group", async () => {
        const pidFile = path.join(dir, "sleeper.pid");
        const inputs = await command.checked(T.local, { create: `sleep 30 & echo $! > ${pidFile}; wait` });
        const creating = command.create(T.local, inputs).catch((e: Error) => e);
        const deadline = Date.now() + 5_000;
        while (!fs.existsSync(pidFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        const pid = Number(fs.readFileSync(pidFile, "utf8"));
        // Cancel is what the engine sends on Ctrl-C.
        await command.cancel();
        const result = await creating;
        assert.ok(result instanceof Error, "the create fails");
        assert.match((result as Error).message, /context canceled|signal: terminated/);
        // Gone, or a zombie awaiting its new parent's reap: either way no longer running.
        const running = (): boolean => {
            try {
                return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
            } catch {
                return false;
            }
        };
        const until = Date.now() + 3_000;
        while (running() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
        assert.equal(running(), false, "the background sleep died with its group");
        // The provider is done after a cancel, as with the engine: start a fresh one for later tests.
        command.close();
        command = await ProviderClient.start("command");
    });

    it("the local run invoke runs at once and returns stdout/stderr", async () => {
        const { ret } = await command.invoke("command:local:run", { command: "echo ran; echo e >&2", dir });
        assert.equal(ret.stdout, "ran");
        assert.equal(ret.stderr, "e");
        await assert.rejects(command.invoke("command:local:run", { command: "exit 9" }), /exit status 9/);
    });

    it("assetPaths / archivePaths are refused by name, never silently ignored", async () => {
        const { failures } = await command.check(T.local, { create: "true", assetPaths: ["*.txt"] });
        assert.equal(failures[0].property, "assetPaths");
        assert.match(failures[0].reason, /property assetPaths is not supported by this provider/);
    });
});

describe("command provider: remote.Command, CopyToRemote and CopyFile against a real sshd", { timeout: 120_000 }, () => {
    let command: ProviderClient;
    let sshd: Sshd;
    let work = "";
    let connection: Props = {};
    before(async () => {
        sshd = await startSshd();
        work = makeTempDir("command-remote");
        fs.chmodSync(work, 0o755);
        command = await ProviderClient.start("command", { cwd: work, env: { SSH_AUTH_SOCK: "" } });
        connection = { host: "127.0.0.1", port: sshd.port, user: "root", privateKey: secret(sshd.clientKey), hostKey: sshd.hostKey, dialErrorLimit: 2 };
    });
    after(async () => {
        command?.close();
        await sshd?.stop();
        removeDir(work);
    });

    it("runs over SSH with key auth and the pinned host key; outputs as the SDK declares, connection secret", async () => {
        const { outputs, inputs } = await command.provision(T.remote, { connection, create: "echo \"$(id -un)@$APIPROXY_TEST_SITE\"; cat; echo e >&2", environment: { APIPROXY_TEST_SITE: "plant-7" }, stdin: "piped" });
        assert.equal(outputs.stdout, "root@plant-7\npiped");
        assert.equal(outputs.stderr, "e");
        assert.ok(isSecret(outputs.connection), "connection (credentials) is a secret output");
        assert.equal((reveal<Props>(inputs.connection)).port, sshd.port);
        for (const name of sdkResources("command").find((r) => r.token === T.remote)!.outputs) assert.ok(name in outputs, name);
        for (const name of ["connection", "create", "environment", "stdin"]) assert.ok(name in outputs, `input ${name} echoed`);
    });

    it("connection defaults are the SDK's: port 22, user root, dialErrorLimit 10, perDialTimeout 15", async () => {
        const checked = await command.checked(T.remote, { connection: { host: "192.0.2.1" } });
        const c = reveal<Props>(checked.connection);
        assert.deepEqual([c.port, c.user, c.dialErrorLimit, c.perDialTimeout], [22, "root", 10, 15]);
    });

    it("a non-zero remote exit fails with the status and stderr; update and delete get the previous outputs", async () => {
        const inputs = await command.checked(T.remote, { connection, create: "echo 'nginx: [emerg] bad' >&2; exit 1" });
        await assert.rejects(command.create(T.remote, inputs), /Process exited with status 1: running .*\nnginx: \[emerg\] bad/);
        const marker = path.join(work, "remote-deleted");
        const args = { connection, create: "echo v1", update: "echo \"after $PULUMI_COMMAND_STDOUT\"", delete: `echo "$PULUMI_COMMAND_STDOUT" > ${marker}` };
        const a = await command.provision(T.remote, args);
        const news = await command.checked(T.remote, { ...args, stdin: "changed" });
        const b = await command.update(T.remote, a.id, a.outputs, news, a.inputs);
        assert.equal(b.stdout, "after v1");
        await command.delete(T.remote, a.id, b, news);
        assert.equal(fs.readFileSync(marker, "utf8"), "after v1\n");
    });

    it("an environment variable the server does not accept fails, naming AcceptEnv", async () => {
        const inputs = await command.checked(T.remote, { connection, create: "true", environment: { NOT_ACCEPTED: "x" } });
        await assert.rejects(command.create(T.remote, inputs), /could not set environment variable "NOT_ACCEPTED".*AcceptEnv/);
    });

    it("a wrong host key is refused at once (not retried); an unknown client key is refused after dialErrorLimit retries", async () => {
        const other = fs.readFileSync(path.join(sshd.dir, "stranger.pub"), "utf8").trim();
        const t0 = Date.now();
        const wrongHost = await command.checked(T.remote, { connection: { ...connection, hostKey: other, dialErrorLimit: 10 }, create: "touch /should-not-exist" });
        await assert.rejects(command.create(T.remote, wrongHost), /host key of .* is ssh-ed25519 SHA256:.*not the pinned connection\.hostKey/);
        assert.ok(Date.now() - t0 < 3_000, "no retry on a host-key mismatch");
        assert.ok(!fs.existsSync("/should-not-exist"));
        const wrongKey = await command.checked(T.remote, { connection: { ...connection, privateKey: sshd.strangerKey, dialErrorLimit: 1 }, create: "true" });
        await assert.rejects(command.create(T.remote, wrongKey), /after 2 failed attempts: .*unable to authenticate/);
    });

    it("through a jump host (connection.proxy)", async () => {
        const { outputs } = await command.provision(T.remote, { connection: { ...connection, proxy: { ...connection, proxy: undefined } }, create: "echo via-proxy" });
        assert.equal(outputs.stdout, "via-proxy");
    });

    it("CopyToRemote: a file keeps its content and mode; into a directory it keeps its name; parents are created", async () => {
        const src = path.join(work, "nginx.conf");
        fs.writeFileSync(src, "worker_processes 2;\n");
        fs.chmodSync(src, 0o640);
        const dest = path.join(work, "remote", "etc", "nginx", "nginx.conf");
        const { outputs } = await command.provision(T.copy, { connection, source: fileAsset(src), remotePath: dest });
        assert.equal(fs.readFileSync(dest, "utf8"), "worker_processes 2;\n");
        assert.equal(fs.statSync(dest).mode & 0o777, 0o640);
        assert.ok(isSecret(outputs.connection));
        assert.deepEqual(fs.readdirSync(path.dirname(dest)), ["nginx.conf"], "no temporary file left beside it");
        // A relative FileAsset path is the program directory's (the provider's working directory).
        const intoDir = path.join(work, "remote", "etc", "nginx");
        await command.provision(T.copy, { connection, source: fileAsset("nginx.conf"), remotePath: intoDir });
        assert.equal(fs.readFileSync(path.join(intoDir, "nginx.conf"), "utf8"), "worker_processes 2;\n");
    });

    it("CopyToRemote: text assets and directory archives; a text asset onto a directory is refused", async () => {
        const txt = path.join(work, "remote", "motd");
        await command.provision(T.copy, { connection, source: stringAsset("authorised use only\n"), remotePath: txt });
        assert.equal(fs.readFileSync(txt, "utf8"), "authorised use only\n");
        const tree = path.join(work, "conf.d");
        fs.mkdirSync(path.join(tree, "sub"), { recursive: true });
        fs.writeFileSync(path.join(tree, "a.conf"), "a");
        fs.writeFileSync(path.join(tree, "sub", "b.conf"), "b");
        const target = path.join(work, "remote", "trees");
        await command.provision(T.copy, { connection, source: fileArchive(tree), remotePath: target });
        assert.equal(fs.readFileSync(path.join(target, "conf.d", "sub", "b.conf"), "utf8"), "b");
        await command.provision(T.copy, { connection, source: fileArchive(`${tree}/`), remotePath: path.join(work, "remote", "flat") });
        assert.equal(fs.readFileSync(path.join(work, "remote", "flat", "a.conf"), "utf8"), "a");
        const bad = await command.checked(T.copy, { connection, source: stringAsset("x"), remotePath: target });
        await assert.rejects(command.create(T.copy, bad), /is a directory; when using a text asset, remotePath must be a file path/);
        const { failures } = await command.check(T.copy, { connection, source: { "4dabf18193072939515e22adb298388d": "c44067f5952c0a294b673a41bacd8c17", uri: "https://example.invalid/x" }, remotePath: "/tmp/x" });
        assert.match(failures[0]?.reason ?? "", /RemoteAsset: only FileAsset and StringAsset/);
    });

    it("CopyToRemote update copies again only when the source or the remote path changed; delete leaves the files", async () => {
        const dest = path.join(work, "remote", "keep");
        const args = { connection, source: stringAsset("v1"), remotePath: dest };
        const a = await command.provision(T.copy, args);
        fs.writeFileSync(dest, "edited on the host");
        const sameSource = await command.checked(T.copy, { ...args, connection: { ...connection, perDialTimeout: 20 } });
        await command.update(T.copy, a.id, a.outputs, sameSource, a.inputs);
        assert.equal(fs.readFileSync(dest, "utf8"), "edited on the host", "a connection change alone copies nothing");
        const v2 = await command.checked(T.copy, { ...args, source: stringAsset("v2") });
        assert.deepEqual((await command.diff(T.copy, a.id, a.outputs, v2, a.inputs)).replaces, []);
        await command.update(T.copy, a.id, a.outputs, v2, a.inputs);
        assert.equal(fs.readFileSync(dest, "utf8"), "v2");
        await command.delete(T.copy, a.id, a.outputs, v2);
        assert.ok(fs.existsSync(dest));
    });

    it("CopyFile (deprecated) copies one file; any change replaces it", async () => {
        const src = path.join(work, "single");
        fs.writeFileSync(src, "one");
        const dest = path.join(work, "remote", "single-copy");
        const a = await command.provision(T.copyFile, { connection, localPath: src, remotePath: dest });
        assert.equal(fs.readFileSync(dest, "utf8"), "one");
        const d = await command.diff(T.copyFile, a.id, a.outputs, await command.checked(T.copyFile, { connection, localPath: src, remotePath: `${dest}2` }), a.inputs);
        assert.deepEqual(d.replaces, ["remotePath"]);
    });
});
