/**
 * The controls catalogue (components/core/controls.ts) tied to the code, so none can drift:
 *  - provisioned: each control's rendered line exists in prod's host files (the offline review's
 *    output) or its AWS resource property in prod's resources;
 *  - enforced: its policies exist in the pack with the control's level, and breaking exactly
 *    that control (one mutation per control, below) makes exactly those policies fail;
 *  - citations: every catalogue id a rendered line cites ([id]) is in the catalogue;
 *  - verified: each live check it names is a row of `npm run verify`.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { CONTROLS, citeControl, citedControlIds, type Control, type FileProvision, type ResourceProvision } from "../../../components/core/controls";
import type { HostFile } from "../../../components/core/host-file";
import { encodeBundle } from "../../../components/targets/inventory/bundle";
import { loadStackFile } from "../../../infra/config/load";
import { runReview, type ReviewResult } from "../../../infra/review/run";
import { packConfigFor } from "../../../infra/review/pack-config";
import { propertyAt } from "../../../infra/evidence/report";
import { renderKeycheckUnit } from "../../../components/services/render-units";
import { CHECK_NAMES } from "../../../infra/verify/run";
import type { RecordedResource } from "../../../infra/review/mocks";
import { allPolicies, evaluatePolicies } from "../../../policy-packs/api-proxy-baseline/evaluate";

const ROOT = path.resolve(__dirname, "..", "..", "..");
let review: ReviewResult;
let proxyFiles: HostFile[];
let packConfig: ReturnType<typeof packConfigFor>;

before(async () => {
    const tier = loadStackFile(path.join(ROOT, "stacks", "Pulumi.prod.yaml"));
    packConfig = packConfigFor(tier);
    review = await runReview("prod", tier);
    // prod's proxy files, plus the key service unit the local and inventory targets deliver to
    // their key store (the aws target's key service is the operator's own).
    proxyFiles = [
        ...Object.entries(review.hostFiles).find(([host]) => host.startsWith("proxy"))![1],
        ...renderKeycheckUnit({ listen: "10.0.96.10:9000", redis: "127.0.0.1:6379", redisUnit: "redis-server", binarySha256: "a".repeat(64), rateLimitPerApiKey: tier.limits.rateLimitPerApiKey }),
    ];
});

const isFile = (p: FileProvision | ResourceProvision): p is FileProvision => "file" in p;

/** A delivery of these files (a command:remote:Command whose stdin is the bundle): the pack reads it like any host. */
function delivery(files: readonly HostFile[]): RecordedResource {
    return {
        type: "command:remote:Command", name: "proxy-delivery", urn: "urn:pulumi:prod::api-proxy-security::command:remote:Command::proxy-delivery",
        props: { stdin: encodeBundle(files) }, custom: true,
    } as unknown as RecordedResource;
}

function editFile(files: readonly HostFile[], file: string, edit: (text: string) => string): HostFile[] {
    let changed = false;
    const out = files.map((f) => {
        if (f.path !== file) return f;
        const content = edit(f.content);
        changed = content !== f.content;
        return { ...f, content };
    });
    assert.ok(changed, `the mutation changed nothing in ${file}`);
    return out;
}

const NGINX = "/etc/nginx/apiproxy";
const replace = (from: RegExp | string, to: string) => (text: string) => text.replace(from, to);

/** One way to break each file-provisioned control, and nothing else. */
const FILE_MUTATIONS: Readonly<Record<string, (files: readonly HostFile[]) => HostFile[]>> = {
    "tls-versions": (f) => editFile(f, `${NGINX}/tls.conf`, replace("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1.1 TLSv1.2 TLSv1.3;")),
    "tls-suites": (f) => editFile(f, `${NGINX}/tls.conf`, replace(/ssl_ciphers ([^;]+);/, "ssl_ciphers $1:AES128-SHA;")),
    "tls-groups": (f) => editFile(f, `${NGINX}/tls.conf`, replace(/ssl_ecdh_curve ([^;]+);/, "ssl_ecdh_curve X25519:$1;")),
    "mtls-client-auth": (f) => editFile(f, `${NGINX}/servers.conf`, replace(/^\s*ssl_client_certificate [^\n]*\n/m, "")),
    "no-version-disclosure": (f) => editFile(f, "/etc/nginx/nginx.conf", replace("server_tokens off;", "server_tokens on;")),
    "upstream-headers-hidden": (f) => editFile(f, `${NGINX}/proxy-headers.conf`, replace(/^proxy_hide_header X-Powered-By;.*\n/m, "")),
    "security-headers": (f) => editFile(f, `${NGINX}/security-headers.conf`, replace(/^add_header X-Content-Type-Options .*\n/m, "")),
    "default-deny": (f) => editFile(f, `${NGINX}/servers.conf`, replace(/\n\s*location \/ \{\n\s*return 404;[^\n]*undeclared paths[^\n]*\n\s*\}/g, "")),
    "encoded-paths-refused": (f) => editFile(f, `${NGINX}/route-maps.conf`, replace(/^\s*"~\^\[\^\?\]\*;" 1;\n/m, "")),
    "requests-checked": (f) => editFile(f, `${NGINX}/routes-public.conf`, replace(/^\s*auth_request \/_apiproxy\/api-key-check;.*\n/m, "")),
    "public-routes-reviewed": (f) => editFile(f, `${NGINX}/routes-public.conf`, replace(/^(\s*)auth_request \/_apiproxy\/api-key-check;.*\n/m, "$1set $apiproxy_public_route \"Open to everyone for the test of this control\";\n")),
    "rate-limit-per-ip": (f) => editFile(f, `${NGINX}/rate-limits.conf`, replace(/rate=\d+r\/s/, "rate=50000r/s")),
    "body-limit": (f) => editFile(f, `${NGINX}/request-limits.conf`, replace(/^client_max_body_size [^;]+;/m, "client_max_body_size 0;")),
    "client-timeouts": (f) => editFile(f, `${NGINX}/request-limits.conf`, replace(/^client_header_timeout \d+s;/m, "client_header_timeout 60s;")),
    "header-buffers": (f) => editFile(f, `${NGINX}/request-limits.conf`, replace(/^large_client_header_buffers (\d+) \d+k;/m, "large_client_header_buffers $1 256k;")),
    "upstream-circuit-breaker": (f) => editFile(f, `${NGINX}/upstreams.conf`, replace(/max_fails=\d+/, "max_fails=0")),
    "logging": (f) => editFile(f, `${NGINX}/logging.conf`, replace(/^access_log [^;]+;/m, "access_log off;")),
    "session-tickets-off": (f) => editFile(f, `${NGINX}/tls.conf`, replace("ssl_session_tickets off;", "ssl_session_tickets on;")),
    "rate-limit-per-key": (f) => editFile(f, "/etc/systemd/system/apiproxy-keycheck.service", replace(/ --rate-per-second \d+/, "")),
    "syn-flood": (f) => editFile(f, "/etc/sysctl.d/zz-apiproxy.conf", replace("net.ipv4.tcp_syncookies = 1", "net.ipv4.tcp_syncookies = 0")),
    "host-firewall-default-deny": (f) => editFile(f, "/etc/nftables.conf", replace("type filter hook input priority filter; policy drop;", "type filter hook input priority filter; policy accept;")),
    "proxy-sandbox": (f) => editFile(f, "/etc/systemd/system/nginx.service", replace(/^CapabilityBoundingSet=CAP_NET_BIND_SERVICE/m, "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SYS_ADMIN")),
    "nofile": (f) => editFile(f, "/etc/systemd/system/nginx.service", replace(/^LimitNOFILE=\d+/m, "LimitNOFILE=1024")),
    "sshd-hardened": (f) => editFile(f, "/etc/ssh/sshd_config", replace(/^PermitRootLogin no/m, "PermitRootLogin yes")),
    "mac-profile": (f) => f.filter((file) => file.path !== "/etc/apparmor.d/usr.sbin.nginx"),
};

/** One way to break each resource-provisioned control. */
const RESOURCE_MUTATIONS: Readonly<Record<string, (r: RecordedResource) => RecordedResource | undefined>> = {
    "tls-certificate-validity": (r) => r.type === "tls:index/locallySignedCert:LocallySignedCert" && !r.props.isCaCertificate
        ? { ...r, props: { ...r.props, validityPeriodHours: 400 * 24 } } : r,
    "imdsv2": (r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate" ? { ...r, props: { ...r.props, metadataOptions: { ...(r.props.metadataOptions as object), httpTokens: "optional" } } } : r,
    "ebs-encrypted": (r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate"
        ? { ...r, props: { ...r.props, blockDeviceMappings: (r.props.blockDeviceMappings as { ebs: object }[]).map((m) => ({ ...m, ebs: { ...m.ebs, encrypted: "false" } })) } } : r,
    "rolling-image-updates": (r) => r.type === "aws:autoscaling/group:Group"
        ? { ...r, props: { ...r.props, instanceRefresh: { ...(r.props.instanceRefresh as { preferences: object }), preferences: { ...(r.props.instanceRefresh as { preferences: object }).preferences, minHealthyPercentage: 0 } } } } : r,
    "flow-logs": (r) => (r.type === "aws:ec2/flowLog:FlowLog" ? undefined : r),
    // A private network, but not the stack's management network: only the stack's own pack config can tell.
    "ssh-management-only": (r) => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" && r.props.fromPort === 22
        ? { ...r, props: { ...r.props, cidrIpv4: "10.99.0.0/16" } } : r,
    "golden-image-in-prod": (r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate" ? { ...r, props: { ...r.props, imageId: "ami-0stock000000000000" } } : r,
    "egress-least-privilege": (r) => r.type === "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule" && r.name === "proxy-proxy-out-dns-udp"
        ? { ...r, props: { ...r.props, cidrIpv4: "0.0.0.0/0" } } : r,
    "subnet-nacls": (r) => r.type === "aws:ec2/networkAclRule:NetworkAclRule" && r.props.fromPort === 443 && r.props.egress === false
        ? { ...r, props: { ...r.props, fromPort: 1, toPort: 65535 } } : r,
    "tls-key-strength": (r) => r.type === "tls:index/privateKey:PrivateKey" ? { ...r, props: { ...r.props, algorithm: "RSA", rsaBits: 2048, ecdsaCurve: undefined } } : r,
    "public-ingress-tls-only": (r) => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" && r.props.fromPort === 443 && r.props.cidrIpv4 === "0.0.0.0/0"
        ? { ...r, props: { ...r.props, fromPort: 80, toPort: 80 } } : r,
};

async function failing(resources: readonly RecordedResource[]): Promise<string[]> {
    const verdicts = await evaluatePolicies(resources, packConfig);
    return [...new Set(verdicts.filter((v) => v.status === "fail").map((v) => v.policyName))].sort();
}

describe("the controls catalogue", () => {
    test("ids are unique and each control has a statement, sources and a level", () => {
        assert.equal(new Set(CONTROLS.map((c) => c.id)).size, CONTROLS.length);
        for (const c of CONTROLS) {
            assert.match(c.id, /^[a-z0-9]+(-[a-z0-9]+)*$/, c.id);
            assert.ok(c.statement.length > 10 && c.sources.length > 0 && c.provisioned.length > 0, c.id);
        }
    });

    test("enforced: every named policy exists in the pack, with the control's level", () => {
        const byName = new Map(allPolicies.map((p) => [p.name, p]));
        for (const c of CONTROLS) {
            assert.ok(c.enforcedBy.length > 0, `${c.id} names no policy`);
            for (const name of c.enforcedBy) {
                const policy = byName.get(name);
                assert.ok(policy, `${c.id}: no policy ${name}`);
                assert.equal(policy.enforcementLevel, c.level, `${c.id}: ${name} is ${policy.enforcementLevel}, the control ${c.level}`);
            }
        }
    });

    test("provisioned: each control's line is in prod's rendered host files, or its property on prod's resources", () => {
        for (const c of CONTROLS) {
            for (const p of c.provisioned) {
                if (isFile(p)) {
                    const file = proxyFiles.find((f) => f.path === p.file);
                    assert.ok(file, `${c.id}: prod's proxy receives no ${p.file}`);
                    assert.match(file.content, new RegExp(p.pattern, "m"), `${c.id}: ${p.file} has no line matching ${p.pattern}`);
                } else {
                    const found = review.resources.some((r) => r.type === p.resource && propertyAt(r.props, p.property) !== undefined);
                    assert.ok(found, `${c.id}: no ${p.resource} sets ${p.property}`);
                }
            }
        }
    });

    test("citations: the line that provisions a control cites its id; every id a rendered line cites is in the catalogue", () => {
        for (const c of CONTROLS) {
            for (const p of c.provisioned.filter(isFile)) {
                const lines = proxyFiles.find((f) => f.path === p.file)!.content.split("\n");
                const at = lines.findIndex((line) => new RegExp(p.pattern).test(line));
                assert.ok(at >= 0, `${c.id}: no line of ${p.file} matches ${p.pattern}`);
                // nginx cites on the line itself, the host renderers on the comment line above.
                const cited = [lines[at], lines[at - 1] ?? ""].some((line) => line.includes(`[${c.id}]`));
                assert.ok(cited, `${c.id}: ${p.file}:${at + 1} does not cite [${c.id}]:\n${lines[at - 1]}\n${lines[at]}`);
            }
        }
        const known = new Set(CONTROLS.map((c) => c.id));
        for (const [host, files] of Object.entries(review.hostFiles)) {
            for (const file of files) {
                for (const id of citedControlIds(file.content)) assert.ok(known.has(id), `${host}:${file.path} cites [${id}], which is not in the catalogue`);
            }
        }
        assert.throws(() => citeControl("no-such-control", "x"), /not in the controls catalogue/);
    });

    test("verified: each live check a control names is a row of npm run verify; the others say why", () => {
        for (const c of CONTROLS) {
            if ("check" in c.verifiedBy) assert.ok(CHECK_NAMES.includes(c.verifiedBy.check), `${c.id}: npm run verify has no row ${c.verifiedBy.check} (rows: ${CHECK_NAMES.join(", ")})`);
            else assert.ok(c.verifiedBy.notLive.length > 10, c.id);
        }
    });

    test("the README's numbers are the catalogue's and the pack's", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        const advisory = allPolicies.filter((p) => p.enforcementLevel === "advisory").length;
        assert.match(readme, new RegExp(`Each of the\\s+${CONTROLS.length} controls of its catalogue`));
        assert.match(readme, new RegExp(`\\(\`components/core/controls\\.ts\`, ${CONTROLS.length} controls\\)`));
        assert.match(readme, new RegExp(`holds ${allPolicies.length} policies, ${allPolicies.length - advisory} mandatory and ${advisory} advisory`));
        assert.match(readme, new RegExp(`${CONTROLS.length} of ${CONTROLS.length} controls provisioned \\(100%\\), ${CONTROLS.length} of ${CONTROLS.length}\\s+enforced \\(100%\\)`));
    });

    test("every control has exactly one mutation in this test", () => {
        const mutated = [...Object.keys(FILE_MUTATIONS), ...Object.keys(RESOURCE_MUTATIONS)].sort();
        assert.deepEqual(mutated, CONTROLS.map((c) => c.id).sort());
    });
});

describe("breaking one control fires exactly its policies", () => {
    let fileBaseline: string[] = [];
    let resourceBaseline: string[] = [];
    before(async () => {
        fileBaseline = await failing([delivery(proxyFiles)]);
        resourceBaseline = await failing(review.resources.filter((r) => r.custom));
    });
    const expectOnly = (control: Control, baseline: string[], now: string[]) => {
        const added = now.filter((p) => !baseline.includes(p));
        assert.deepEqual(added, [...control.enforcedBy].filter((p) => !baseline.includes(p)).sort(), `${control.id}: newly failing ${added.join(", ") || "nothing"}`);
        assert.ok(control.enforcedBy.every((p) => now.includes(p)), `${control.id}: ${control.enforcedBy.join(", ")} must fail`);
    };
    for (const control of CONTROLS) {
        const fileMutation = FILE_MUTATIONS[control.id];
        if (fileMutation) {
            test(control.id, async () => {
                expectOnly(control, fileBaseline, await failing([delivery(fileMutation(proxyFiles))]));
            });
        }
        const resourceMutation = RESOURCE_MUTATIONS[control.id];
        if (resourceMutation) {
            test(control.id, async () => {
                const mutated = review.resources.filter((r) => r.custom).map(resourceMutation).filter((r): r is RecordedResource => r !== undefined);
                expectOnly(control, resourceBaseline, await failing(mutated));
            });
        }
    }
});
