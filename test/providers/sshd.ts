// A real OpenSSH server on loopback for the command provider's remote tests: its own host
// key, one authorised client key, AcceptEnv for the variables the tests send, the internal
// SFTP server, TCP forwarding (jump-host tests). Runs in the foreground and is killed by stop().
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { makeTempDir, removeDir } from "../integration/engine-helpers";

export interface Sshd {
    port: number;
    dir: string;
    /** authorized_keys line of the server's host key. */
    hostKey: string;
    /** The authorised client key, OpenSSH PEM. */
    clientKey: string;
    /** A client key the server does not know. */
    strangerKey: string;
    stop(): Promise<void>;
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
        server.on("error", reject);
    });
}

function keygen(file: string): void {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", file]);
}

async function listening(port: number, child: ChildProcess, log: () => string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`sshd exited ${child.exitCode}: ${log()}`);
        const ok = await new Promise<boolean>((resolve) => {
            const s = net.connect(port, "127.0.0.1", () => { s.destroy(); resolve(true); });
            s.on("error", () => resolve(false));
        });
        if (ok) return;
        await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`sshd did not listen on 127.0.0.1:${port} within 10 s: ${log()}`);
}

export async function startSshd(): Promise<Sshd> {
    const dir = makeTempDir("sshd");
    fs.chmodSync(dir, 0o755);
    for (const name of ["host", "client", "stranger"]) keygen(path.join(dir, name));
    fs.writeFileSync(path.join(dir, "authorized_keys"), fs.readFileSync(path.join(dir, "client.pub")), { mode: 0o600 });
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // privilege-separation directory sshd requires
    const port = await freePort();
    const config = [
        `Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${dir}/host`, `PidFile ${dir}/sshd.pid`,
        `AuthorizedKeysFile ${dir}/authorized_keys`, "StrictModes no", "UsePAM no", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password", "AcceptEnv PULUMI_COMMAND_* APIPROXY_TEST_*",
        "Subsystem sftp internal-sftp", "AllowTcpForwarding yes", "LogLevel ERROR", "MaxStartups 50", "MaxSessions 50",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "sshd_config"), `${config}\n`);
    const child = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", path.join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
    await listening(port, child, () => log);
    const hostKey = fs.readFileSync(path.join(dir, "host.pub"), "utf8").trim();
    return {
        port, dir, hostKey,
        clientKey: fs.readFileSync(path.join(dir, "client"), "utf8"),
        strangerKey: fs.readFileSync(path.join(dir, "stranger"), "utf8"),
        stop: async () => {
            if (child.exitCode === null) {
                const exited = new Promise((r) => child.once("exit", r));
                child.kill("SIGTERM");
                await exited;
            }
            removeDir(dir);
        },
    };
}
