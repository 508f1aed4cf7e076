/** Log volume, logrotate and certificate fetch: shell scripts and their units. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CERT_FETCH_CONFIG_PATH, CERT_FETCH_SCRIPT_PATH, CERT_FETCH_SERVICE_PATH, CERT_FETCH_TIMER_PATH, renderCertFetch } from "../../../components/host/cert-fetch";
import { renderHost } from "../../../components/host/index";
import { renderCloudInit } from "../../../components/host/cloud-init";
import { LOG_VOLUME_SCRIPT_PATH, renderLogVolume } from "../../../components/host/log-volume";
import { LOGROTATE_PATH, PACKAGE_LOGROTATE_PATH, renderLogrotate } from "../../../components/host/logrotate";
import { debianHost, rhelHost, ubuntuHost } from "./fixtures";
import { findFile, have, run, uncitedDirectives, withTempDir, writeIn } from "./tools";

const scripts = [ubuntuHost, rhelHost].flatMap((spec) => renderHost(spec)).filter((f) => f.path.startsWith("/usr/local/sbin/"));

test("scripts: every rendered script passes bash -n", () => {
    assert.ok(scripts.length >= 5);
    for (const script of scripts) {
        withTempDir((dir) => {
            const result = run("bash", ["-n", writeIn(dir, "script", script.content)]);
            assert.equal(result.status, 0, `${script.path}: ${result.stderr}`);
        });
        assert.match(script.content, /^#!\/usr\/bin\/env bash\n[\s\S]*set -euo pipefail/);
        assert.equal(script.mode, "0750");
    }
});

const logVolume = findFile(renderLogVolume(ubuntuHost), LOG_VOLUME_SCRIPT_PATH).content;

test("log volume: mkfs only when blkid finds no signature; existing filesystem kept", () => {
    assert.match(logVolume, /blkid -p -o value -s TYPE "\$device"/);
    assert.match(logVolume, /2\) mkfs\.xfs -q "\$device" ;;/);
    const code = logVolume.split("\n").filter((line) => !line.trim().startsWith("#"));
    assert.equal(code.filter((line) => /mkfs/.test(line)).length, 1, "mkfs appears only in the no-signature branch");
    assert.match(logVolume, /refusing to touch it/);
});

test("log volume: instance-store detection, hardened mount options, bind onto /var/log/nginx", () => {
    assert.match(logVolume, /nvme-Amazon_EC2_NVMe_Instance_Storage_\*/);
    assert.match(logVolume, /mount -t "\$FILESYSTEM" -o nodev,nosuid,noexec,noatime "\$device" "\$MOUNT_POINT"/);
    assert.match(logVolume, /mount --bind "\$MOUNT_POINT\/nginx" "\$LOG_DIR"/);
    assert.match(logVolume, /mount -o remount,bind,nodev,nosuid,noexec,noatime "\$LOG_DIR"/);
    assert.match(logVolume, /if ! mountpoint -q "\$MOUNT_POINT"; then/, "idempotent mount");
    assert.match(logVolume, /MOUNT_POINT='\/srv\/apiproxy-logs'/);
    assert.deepEqual(renderLogVolume(debianHost), [], "no volume, no files");
});

test("logrotate: daily, retention from logRetentionDays, compress, USR1 reopen (never restart)", () => {
    const files = renderLogrotate(ubuntuHost);
    const text = findFile(files, LOGROTATE_PATH).content;
    for (const directive of ["daily", "rotate 14", "maxage 14", "compress", "create 0640 www-data www-data", "su www-data www-data"]) {
        assert.match(text, new RegExp(`^    ${directive}$`, "m"), directive);
    }
    assert.match(text, /kill -USR1 "\$\(cat \/run\/nginx\/nginx\.pid\)"/);
    assert.ok(!text.split("\n").some((line) => !line.trim().startsWith("#") && /restart|reload/.test(line)), "no restart/reload");
    assert.doesNotMatch(findFile(files, PACKAGE_LOGROTATE_PATH).content, /^[^#]/m, "package stanza neutralised");
    assert.match(findFile(renderLogrotate(rhelHost), LOGROTATE_PATH).content, /create 0640 nginx nginx/);
    const body = text.slice(text.indexOf("{") + 1, text.indexOf("postrotate"));
    assert.deepEqual(uncitedDirectives(body), []);
});

test("logrotate: `logrotate -d` accepts the config", { skip: !have("logrotate") && "logrotate not installed (Debian package: logrotate)" }, () => {
    withTempDir((dir) => {
        const text = findFile(renderLogrotate(debianHost), LOGROTATE_PATH).content
            .replace("/var/log/nginx/*.log", `${dir}/logs/*.log`).replace(/^\s*su .*$/m, "");
        writeIn(dir, "logs/access.log", "x\n");
        const result = run("logrotate", ["-d", "-s", `${dir}/state`, writeIn(dir, "apiproxy-nginx", text)]);
        assert.equal(result.status, 0, result.stderr);
    });
});

const certArgs = { region: ubuntuHost.aws!.region, secrets: ubuntuHost.aws!.certificateSecrets };
const certFiles = renderCertFetch(ubuntuHost, certArgs);
const fetchScript = findFile(certFiles, CERT_FETCH_SCRIPT_PATH).content;
const fetchConfig = findFile(certFiles, CERT_FETCH_CONFIG_PATH).content;

test("cert fetch: Secrets Manager by secret id with the instance role; keys 0640 root:<proxy group>", () => {
    assert.match(fetchScript, /aws --region "\$REGION" secretsmanager get-secret-value --secret-id "\$secret_id"/);
    assert.match(fetchConfig, /REGION='eu-west-1'/);
    assert.match(fetchConfig, /'arn:aws:secretsmanager:eu-west-1:123456789012:secret:apiproxy\/server-key-AbCdEf\|\/etc\/nginx\/tls\/server\.key\|0640\|root\|www-data'/);
    assert.match(fetchConfig, /'[^']*server-chain[^|']*\|\/etc\/nginx\/tls\/server\.crt\|0644\|root\|root'/);
    assert.ok(fetchScript.includes(`. ${CERT_FETCH_CONFIG_PATH}`), "the script sources its deploy-time config");
    assert.doesNotMatch(fetchScript, /arn:aws/, "secret ids live in the config, so an image can carry the script");
    assert.doesNotMatch(fetchScript, /aws_access_key_id|AWS_SECRET_ACCESS_KEY/i, "instance role only");
    assert.match(fetchScript, /umask 077/);
});

test("cert fetch: atomic write, reload only on change, nginx -t first, never restart", () => {
    assert.match(fetchScript, /tmp="\$\(mktemp "\$\{dest\}\.apiproxy\.XXXXXX"\)"/, "temp file in the destination dir");
    assert.match(fetchScript, /mv -f "\$tmp" "\$dest"/);
    assert.match(fetchScript, /cmp -s "\$tmp" "\$dest"/);
    assert.match(fetchScript, /\[ "\$\{#changed\[@\]\}" -gt 0 \] \|\| exit 0/);
    const test = fetchScript.indexOf("setpriv --reuid=www-data --regid=www-data --init-groups --inh-caps=+net_bind_service --ambient-caps=+net_bind_service -- /usr/sbin/nginx -t -q");
    const reload = fetchScript.indexOf("systemctl reload --no-block nginx.service");
    assert.ok(test > 0 && reload > test, "nginx -t before reload");
    assert.doesNotMatch(fetchScript, /systemctl (restart|try-restart|reload-or-restart)/);
    assert.match(fetchScript, /restoring previous TLS material/);
});

test("cert fetch: hourly timer and a sandboxed oneshot; only on AWS hosts", () => {
    assert.match(findFile(certFiles, CERT_FETCH_TIMER_PATH).content, /^OnUnitActiveSec=1h$/m);
    const service = findFile(certFiles, CERT_FETCH_SERVICE_PATH).content;
    assert.match(service, /^ProtectSystem=strict$/m);
    assert.match(service, /^ReadWritePaths=-\/etc\/nginx\/tls /m);
    assert.match(service, /^ExecStartPre=\+\/usr\/bin\/install -d -m 0750 -o root -g www-data \/etc\/nginx\/tls$/m);
    assert.ok(!renderHost(debianHost).some((f) => f.path === CERT_FETCH_SCRIPT_PATH));
    assert.ok(renderHost(rhelHost).some((f) => f.path === CERT_FETCH_SCRIPT_PATH));
    assert.match(findFile(renderHost(rhelHost), CERT_FETCH_CONFIG_PATH).content, /\|0640\|root\|nginx'/);
});

test("cert fetch: the directories its ExecStartPre creates may be missing when systemd sets up the sandbox", () => {
    // systemd sets up ReadWritePaths= for every process it spawns, also the `+` ExecStartPre, and a
    // missing path fails the spawn (226/NAMESPACE). On a fresh host /etc/nginx/tls does not exist yet:
    // booting the dev user data on Debian 12 failed exactly so. "-" lets the first spawn proceed; the
    // main process, spawned after the directories exist, gets them writable.
    const service = findFile(certFiles, CERT_FETCH_SERVICE_PATH).content;
    const created = [...service.matchAll(/^ExecStartPre=\+\/usr\/bin\/install -d .* (\S+)$/gm)].map((m) => m[1]);
    assert.ok(created.length > 0);
    const writable = /^ReadWritePaths=(.+)$/m.exec(service)?.[1]?.split(" ") ?? [];
    for (const dir of created) assert.ok(writable.includes(`-${dir}`), `${dir} must be ReadWritePaths=-${dir}: ${writable.join(" ")}`);
});

test("cert fetch: `nginx -t` in its sandbox can open nginx's pid file (before nginx ever ran, and while it runs)", () => {
    // nginx -t creates the pid file to test it: /run/nginx must exist (nginx.service makes it only
    // while nginx runs) and be writable under ProtectSystem=strict. Booting the dev user data on
    // Debian 12, the first fetch failed with open() "/run/nginx/nginx.pid" failed (2: No such file or directory).
    const service = findFile(certFiles, CERT_FETCH_SERVICE_PATH).content;
    assert.match(service, /^ExecStartPre=\+\/usr\/bin\/install -d -m 0750 -o www-data -g www-data \/run\/nginx$/m);
    assert.ok((/^ReadWritePaths=(.+)$/m.exec(service)?.[1] ?? "").split(" ").includes("-/run/nginx"));
});

test("cert fetch: queues nginx's reload instead of waiting for it (nginx.service is ordered after the fetch)", () => {
    // A blocking `systemctl reload nginx.service` from inside the fetch waits for the reload job,
    // which waits for the fetch's own start job to finish (nginx After=apiproxy-fetch-certs):
    // booting the dev user data on Debian 12, first boot hung there (Type=oneshot: no timeout),
    // and every rotation by the timer would too.
    const unit = renderHost(ubuntuHost).find((f) => f.path === "/etc/systemd/system/nginx.service")?.content ?? "";
    assert.match(unit, /^After=.*apiproxy-fetch-certs\.service/m, "the ordering that makes a blocking reload deadlock");
    assert.match(fetchScript, /^\s*systemctl reload --no-block nginx\.service$/m);
    assert.doesNotMatch(fetchScript, /systemctl reload nginx\.service/);
});

test("cert fetch runs: writes each secret atomically with its mode, reloads only on change, restores on a failing nginx -t", () => {
    withTempDir((dir) => {
        // Destinations and the config are relocated into the temp dir; aws/setpriv/systemctl are stubs.
        const relocate = (text: string) => text.replaceAll("/etc/nginx/tls/", `${dir}/tls/`);
        const config = writeIn(dir, "cert-secrets.conf", relocate(fetchConfig));
        const script = writeIn(dir, "fetch", fetchScript.replace(`. ${CERT_FETCH_CONFIG_PATH}`, `. ${config}`), true);
        run("mkdir", ["-p", `${dir}/tls`]);
        writeIn(dir, "bin/aws", [
            "#!/usr/bin/env bash",
            // Echo a PEM whose body names the secret and the current generation.
            'id=""; while [ $# -gt 0 ]; do [ "$1" = --secret-id ] && id="$2"; shift; done',
            `printf -- '-----BEGIN X-----\\n%s %s\\n-----END X-----\\n' "$id" "$(cat ${dir}/generation)"`,
        ].join("\n"), true);
        writeIn(dir, "bin/setpriv", `#!/usr/bin/env bash\necho setpriv "$@" >>${dir}/calls\nexit "$(cat ${dir}/nginx-t-status)"\n`, true);
        writeIn(dir, "bin/systemctl", `#!/usr/bin/env bash\necho systemctl "$@" >>${dir}/calls\n[ "$1" != is-active ] || exit 0\n`, true);
        const env = { ...process.env, PATH: `${dir}/bin:${process.env.PATH}` };
        const calls = () => run("bash", ["-c", `cat ${dir}/calls 2>/dev/null; : >${dir}/calls`]).stdout;
        writeIn(dir, "generation", "1");
        writeIn(dir, "nginx-t-status", "0");

        let result = run("bash", [script], { env });
        assert.equal(result.status, 0, result.stderr);
        const key = run("stat", ["-c", "%a %U %G", `${dir}/tls/server.key`]).stdout.trim();
        assert.equal(key, "640 root www-data", "private key 0640 root:<proxy group>");
        assert.equal(run("stat", ["-c", "%a", `${dir}/tls/server.crt`]).stdout.trim(), "644");
        assert.match(calls(), /systemctl reload --no-block nginx\.service/, "first fetch reloads");

        result = run("bash", [script], { env });
        assert.equal(result.status, 0, result.stderr);
        assert.doesNotMatch(calls(), /reload|restart/, "nothing changed: no reload");

        writeIn(dir, "generation", "2");
        writeIn(dir, "nginx-t-status", "1");
        result = run("bash", [script], { env });
        assert.notEqual(result.status, 0, "a failing nginx -t fails the fetch");
        assert.match(run("cat", [`${dir}/tls/server.key`]).stdout, / 1\n/, "previous key restored");
        assert.doesNotMatch(calls(), /reload|restart/);

        writeIn(dir, "nginx-t-status", "0");
        result = run("bash", [script], { env });
        assert.equal(result.status, 0, result.stderr);
        assert.match(run("cat", [`${dir}/tls/server.key`]).stdout, / 2\n/, "rotated");
        const rotation = calls();
        assert.match(rotation, /systemctl reload --no-block nginx\.service/);
        assert.doesNotMatch(rotation, /restart/, "rotation is a reload, never a restart");
    });
});

test("nginx -t as the proxy user, as first boot and the certificate fetch run it, can bind 443 (the real nginx, as www-data)", { skip: (process.getuid?.() !== 0 || !have("nginx") || !have("unshare")) && "needs root, nginx and unshare" }, () => {
    // nginx -t binds every listener. As www-data without CAP_NET_BIND_SERVICE that fails for 443:
    // booting the dev user data on Debian 12, the first fetch stopped at
    // `nginx: [emerg] bind() to 0.0.0.0:443 failed (13: Permission denied)`.
    const userData = renderCloudInit(renderHost(ubuntuHost), { os: ubuntuHost.os, hostname: ubuntuHost.hostname });
    const commands = {
        fetch: /^if ! (.+); then$/m.exec(fetchScript)?.[1] ?? "",
        "cloud-init": /^\s*((?:runuser|setpriv) .*\/usr\/sbin\/nginx -t -q)$/m.exec(userData)?.[1] ?? "",
    };
    withTempDir((dir) => {
        run("chmod", ["0777", dir]);
        const conf = writeIn(dir, "nginx.conf", `pid ${dir}/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n    access_log off;\n    server { listen 443; }\n}\n`);
        for (const [where, command] of Object.entries(commands)) {
            assert.match(command, /\/usr\/sbin\/nginx -t -q$/, where);
            // In a network namespace of its own: port 443 there is free whatever this machine runs.
            const result = run("unshare", ["-n", "sh", "-c", `ip link set lo up; ${command} -e stderr -c ${conf}`]);
            assert.equal(result.status, 0, `${where}: ${command}\n${result.stderr}`);
        }
    });
});
