/**
 * The seams between renderers: infra/spec builds nginx and host inputs that must agree with
 * each other (backlog vs somaxconn, run user vs systemd User=, pid and certificate paths).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "path";
import { loadStackFile } from "../../../infra/config/load";
import { buildNginxSpec } from "../../../infra/spec/nginx-spec";
import { buildHostSpec } from "../../../infra/spec/host-spec";
import { CERTIFICATE_PATHS } from "../../../infra/spec/host-paths";
import { renderNginx } from "../../../components/nginx";
import { renderHost, osProfile, NGINX_PID_PATH } from "../../../components/host";

const tier = loadStackFile(path.resolve(__dirname, "..", "..", "..", "stacks", "Pulumi.prod.yaml"));
const profile = osProfile("ubuntu-22.04");
const nginxSpec = buildNginxSpec(tier, { runUser: profile.proxyUser, runGroup: profile.proxyGroup, nginxVersion: profile.nginxVersion });
const hostFiles = renderHost(buildHostSpec(tier, {
    hostname: "proxy-a", os: "ubuntu-22.04", healthCheckCidrs: ["10.40.0.0/20"], upstreamNetworkCidrs: ["10.40.96.0/20"], endpointCidrs: ["10.40.48.0/20"],
    aws: { region: "eu-west-1", certificateSecrets: [
        { secretId: "arn:chain", path: CERTIFICATE_PATHS.serverCertificate, kind: "certificate" },
        { secretId: "arn:key", path: CERTIFICATE_PATHS.serverKey, kind: "private-key" },
    ] },
}));
const file = (p: string) => {
    const found = hostFiles.find((f) => f.path === p);
    assert.ok(found, `${p} not rendered`);
    return found.content;
};
const nginxText = renderNginx(nginxSpec).map((f) => f.content).join("\n");

test("every nginx listener's backlog equals the host's net.core.somaxconn", () => {
    const somaxconn = /^net\.core\.somaxconn = (\d+)/m.exec(file("/etc/sysctl.d/zz-apiproxy.conf"))?.[1];
    assert.ok(somaxconn);
    const backlogs = [...nginxText.matchAll(/^\s*listen [^;]*backlog=(\d+)/gm)].map((m) => m[1]);
    assert.equal(backlogs.length, 3);
    assert.ok(backlogs.every((b) => b === somaxconn), `${backlogs} vs somaxconn ${somaxconn}`);
});

test("the unit starts nginx as the run user, so nginx.conf has no user directive; pid paths agree", () => {
    const unit = file("/etc/systemd/system/nginx.service");
    assert.match(unit, new RegExp(`^User=${profile.proxyUser}$`, "m"));
    assert.doesNotMatch(nginxText, /^\s*user /m);
    assert.equal(nginxSpec.pidFile, NGINX_PID_PATH);
    // `nginx -s reload` (ExecReload) finds the master through this pid file, in the unit's RuntimeDirectory.
    assert.match(unit, /^RuntimeDirectory=nginx$/m);
    assert.ok(NGINX_PID_PATH.startsWith("/run/nginx/"));
    assert.match(unit, /^ExecReload=\/usr\/sbin\/nginx -s reload$/m);
});

test("nginx reads its key and certificates where the certificate fetch writes them", () => {
    const config = file("/etc/apiproxy/cert-secrets.conf");
    assert.ok(nginxText.includes(`ssl_certificate_key ${CERTIFICATE_PATHS.serverKey};`));
    assert.ok(nginxText.includes(`ssl_certificate ${CERTIFICATE_PATHS.serverCertificate};`));
    assert.ok(config.includes(`|${CERTIFICATE_PATHS.serverKey}|0640|root|${profile.proxyGroup}'`));
    assert.ok(config.includes(`|${CERTIFICATE_PATHS.serverCertificate}|0644|root|root'`));
});

test("nofile limits cover nginx's worker_rlimit_nofile", () => {
    const rlimit = Number(/worker_rlimit_nofile (\d+);/.exec(nginxText)?.[1]);
    const unitLimit = Number(/^LimitNOFILE=(\d+)/m.exec(file("/etc/systemd/system/nginx.service"))?.[1]);
    assert.ok(rlimit > 0 && unitLimit >= rlimit, `LimitNOFILE ${unitLimit} < worker_rlimit_nofile ${rlimit}`);
});

test("the MAC profile lets nginx read every TLS file its configuration names", () => {
    const profile = file("/etc/apparmor.d/usr.sbin.nginx");
    const named = [...nginxText.matchAll(/^\s*(?:ssl_certificate|ssl_certificate_key|ssl_client_certificate|proxy_ssl_trusted_certificate|grpc_ssl_trusted_certificate) (\S+);/gm)].map((m) => m[1]);
    assert.ok(named.length >= 4, named.join(", "));
    for (const path of new Set(named)) {
        assert.ok(profile.includes(`  ${path} r,`), `AppArmor denies nginx ${path}`);
    }
});
