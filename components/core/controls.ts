/**
 * The controls catalogue: one entry per security control the tier promises, with where it
 * comes from, how strict it is, and its three proofs:
 *   provisioned  the rendered host file line (or the AWS resource property) that sets it,
 *   enforced     the policy-pack policies that fail when it is broken,
 *   verified     the live check (`npm run verify`) that proves it on a running host, or why it
 *                cannot be checked live.
 * test/unit/controls/catalogue.test.ts ties every entry to a rendered line, to policies that
 * exist, and (one mutation per control) to exactly its policies firing; `npm run evidence`
 * reports it per stack. Pure data, no imports.
 *
 * Sources: a reference marked `checked: false` could not be compared with its source text
 * here (NIST SP 800-52r2's section text and the CIS OS benchmarks were not available): treat
 * its number as unverified.
 */
import { REJECTION_LOG_SAMPLE_EVERY } from "../nginx/constants";

export type ControlLevel = "mandatory" | "advisory";

export interface ControlSource {
    /** e.g. "NIST SP 800-52r2 3.1", "dev-sec nginx-baseline nginx-05", "seed". */
    readonly ref: string;
    /** True when the number/id was read against the source text. */
    readonly checked: boolean;
}

/** A rendered host file whose text sets the control: `pattern` (a regular expression source) matches its line. */
export interface FileProvision {
    readonly file: string;
    readonly pattern: string;
}

/** An AWS resource property that sets the control (the value the pack reads). */
export interface ResourceProvision {
    readonly resource: string;
    readonly property: string;
}

export type Provision = FileProvision | ResourceProvision;

export type Verification =
    | { readonly check: string }
    | { readonly notLive: string };

export interface Control {
    readonly id: string;
    readonly title: string;
    readonly statement: string;
    readonly level: ControlLevel;
    readonly sources: readonly ControlSource[];
    readonly provisioned: readonly Provision[];
    readonly enforcedBy: readonly string[];
    readonly verifiedBy: Verification;
    /** The control applies only to stacks that use the feature: when no line provisions it,
     *  the stack has nothing to provision (e.g. no route is declared public). */
    readonly onlyWhen?: string;
}

const seed: ControlSource = { ref: "seed (docs/seed-api-proxy-security.txt)", checked: true };
const unverified = (ref: string): ControlSource => ({ ref, checked: false });
const checked = (ref: string): ControlSource => ({ ref, checked: true });
/** CIS NGINX Benchmark v2.1.0 numbering (the renderers' citations), titles read in a public
 *  script quoting it (d3c0d3rpr44h/CIS_Nginx); the benchmark itself is licensed. */
const cis = (item: string): ControlSource => checked(`CIS NGINX Benchmark v2.1.0 ${item}`);
/** dev-sec nginx-baseline controls/nginx_spec.rb (inspec.yml 2.5.1). */
const devsec = (id: string): ControlSource => checked(`dev-sec nginx-baseline ${id}`);
/** dev-sec linux-baseline controls/sysctl_spec.rb (inspec.yml 2.10.0). */
const linux = (id: string): ControlSource => checked(`dev-sec linux-baseline ${id}`);
/** AWS Security Hub control ids (awsdocs/aws-security-hub-user-guide ec2-controls.md). */
const aws = (id: string): ControlSource => checked(`AWS Security Hub ${id}`);

const NGINX = "/etc/nginx/apiproxy";

export const CONTROLS: readonly Control[] = [
    // ---- TLS (NIST SP 800-52r2) ----------------------------------------------------------
    {
        id: "tls-versions", title: "TLS 1.2 and 1.3 only",
        statement: "The listeners negotiate TLS 1.2 or 1.3 and nothing older.",
        level: "mandatory", sources: [seed, unverified("NIST SP 800-52r2 3.1"), cis("4.1.4"), devsec("nginx-12")],
        provisioned: [{ file: `${NGINX}/tls.conf`, pattern: "^ssl_protocols TLSv1\\.2 TLSv1\\.3;" }],
        enforcedBy: ["nginx-tls-protocols"], verifiedBy: { check: "tls-handshake" },
    },
    {
        id: "tls-suites", title: "NIST-approved cipher suites only",
        statement: "TLS 1.2 offers ECDHE with AES-GCM only; TLS 1.3 offers the AES-GCM suites only (no CHACHA20, no CCM).",
        level: "mandatory", sources: [seed, unverified("NIST SP 800-52r2 3.3.1"), cis("4.1.14")],
        provisioned: [{ file: `${NGINX}/tls.conf`, pattern: "^ssl_ciphers ECDHE-" }],
        enforcedBy: ["nginx-tls-ciphers"], verifiedBy: { check: "tls-handshake" },
    },
    {
        id: "tls-groups", title: "NIST curves for key exchange",
        statement: "Key exchange uses P-256/P-384 (no x25519).",
        level: "mandatory", sources: [unverified("NIST SP 800-52r2 3.3.2")],
        provisioned: [{ file: `${NGINX}/tls.conf`, pattern: "^ssl_ecdh_curve " }],
        enforcedBy: ["nginx-tls-groups"], verifiedBy: { check: "tls-handshake" },
    },
    {
        id: "tls-certificate-validity", title: "Short-lived certificates from the tier's PKI",
        statement: "Leaf certificates live at most the ceiling (CA/Browser Forum SC-081) and renew early.",
        level: "mandatory", sources: [seed, checked("CA/Browser Forum ballot SC-081")],
        provisioned: [{ resource: "tls:index/locallySignedCert:LocallySignedCert", property: "validityPeriodHours" }],
        enforcedBy: ["certificate-validity"], verifiedBy: { check: "certificate-expiry" },
    },
    {
        id: "tls-key-strength", title: "Strong keys",
        statement: "Every key of the PKI is ECDSA P-256/P-384 or RSA of at least 3072 bits.",
        level: "mandatory", sources: [unverified("NIST SP 800-57 Part 1 r5 5.6.1")],
        provisioned: [{ resource: "tls:index/privateKey:PrivateKey", property: "algorithm" }],
        enforcedBy: ["tls-key-strength"], verifiedBy: { check: "tls-handshake" },
    },
    {
        id: "mtls-client-auth", title: "Client certificates required on 8443",
        statement: "The mTLS listener requires a certificate chaining to the client CA.",
        level: "mandatory", sources: [seed, unverified("NIST SP 800-52r2 3.5")],
        provisioned: [{ file: `${NGINX}/servers.conf`, pattern: "^\\s*ssl_verify_client on;" }],
        enforcedBy: ["nginx-mtls-verify-client"], verifiedBy: { check: "tls-handshake" },
    },
    // ---- Disclosure and headers -----------------------------------------------------------
    {
        id: "no-version-disclosure", title: "No server version disclosed",
        statement: "nginx sends no version (server_tokens off) and upstream fingerprint headers are hidden.",
        level: "mandatory", sources: [cis("2.5.1"), devsec("nginx-05"), unverified("OWASP ASVS 14.3.3")],
        provisioned: [{ file: "/etc/nginx/nginx.conf", pattern: "server_tokens off;" }],
        enforcedBy: ["nginx-server-tokens-off"], verifiedBy: { check: "response-headers" },
    },
    {
        id: "upstream-headers-hidden", title: "Upstream fingerprint headers hidden",
        statement: "Server, X-Powered-By and similar upstream headers never reach clients.",
        level: "mandatory", sources: [cis("2.5.4"), unverified("OWASP ASVS 14.3.3")],
        provisioned: [{ file: `${NGINX}/proxy-headers.conf`, pattern: "^proxy_hide_header X-Powered-By;" }],
        enforcedBy: ["nginx-hide-upstream-headers"], verifiedBy: { check: "response-headers" },
    },
    {
        id: "security-headers", title: "Security headers on every answer",
        statement: "HSTS (>= 1 year), X-Frame-Options, X-Content-Type-Options, CSP and Referrer-Policy are sent on every response, errors included.",
        level: "mandatory", sources: [unverified("OWASP ASVS 14.4"), cis("4.1.8"), cis("5.3.1"), cis("5.3.2"), cis("5.3.3"), devsec("nginx-08"), devsec("nginx-10"), devsec("nginx-13"), devsec("nginx-15")],
        provisioned: [{ file: `${NGINX}/security-headers.conf`, pattern: "^add_header Strict-Transport-Security \"max-age=\\d+; includeSubDomains\" always;" }],
        enforcedBy: ["nginx-security-headers"], verifiedBy: { check: "response-headers" },
    },
    // ---- Request handling -----------------------------------------------------------------
    {
        id: "default-deny", title: "Default deny",
        statement: "Only declared routes proxy; everything else is answered 404 locally.",
        level: "mandatory", sources: [seed],
        provisioned: [{ file: `${NGINX}/servers.conf`, pattern: "^\\s*return 404;.*undeclared paths" }],
        enforcedBy: ["nginx-default-deny"], verifiedBy: { check: "default-deny" },
    },
    {
        id: "encoded-paths-refused", title: "Ambiguous paths refused",
        statement: "A raw path with path parameters (;), encoded dots, slashes, backslashes or percents, overlong UTF-8, backslashes or empty segments is refused with 400 before any route: nginx routes on the normalised path but proxies the raw one.",
        level: "mandatory", sources: [seed, unverified("OWASP ASVS 5.1.4")],
        provisioned: [{ file: `${NGINX}/route-maps.conf`, pattern: "^map \\$request_uri \\$apiproxy_suspicious_uri" }],
        enforcedBy: ["nginx-encoded-paths-refused"], verifiedBy: { check: "encoded-paths" },
    },
    {
        id: "requests-checked", title: "No request reaches an upstream unchecked",
        statement: "Every client-reachable proxying location checks an API key, signature, JWT or client certificate, validates against a schema, or is declared public with a reason.",
        level: "mandatory", sources: [seed, unverified("OWASP ASVS 13.1.4")],
        provisioned: [{ file: `${NGINX}/routes-public.conf`, pattern: "auth_request /_apiproxy/" }],
        enforcedBy: ["nginx-requests-checked"], verifiedBy: { check: "request-checks" },
    },
    {
        id: "public-routes-reviewed", title: "Public routes are declared and reviewed",
        statement: "A route deliberately without request checks states its reason, which the review reports.",
        level: "advisory", sources: [seed],
        provisioned: [{ file: `${NGINX}/routes-public.conf`, pattern: "set \\$apiproxy_public_route" }],
        onlyWhen: "a route is declared public",
        enforcedBy: ["nginx-public-routes-declared"], verifiedBy: { notLive: "a design decision, reported at review time" },
    },
    {
        id: "rate-limit-per-ip", title: "Per-IP rate limits",
        statement: "Every proxied location is rate limited per client address, within the ceiling.",
        level: "mandatory", sources: [seed, cis("5.2.5")],
        provisioned: [{ file: `${NGINX}/rate-limits.conf`, pattern: "^limit_req_zone \\$binary_remote_addr zone=per_ip:" }],
        enforcedBy: ["nginx-rate-limit-per-ip"], verifiedBy: { check: "rate-limit-events" },
    },
    {
        id: "rate-limit-per-key", title: "Per-API-key rate limits",
        statement: "The key service limits every recognised key id tier-wide; a key over its limit gets 429 with Retry-After, unknown keys never touch the limiter.",
        level: "mandatory", sources: [seed, unverified("OWASP ASVS 11.1.4")],
        provisioned: [{ file: "/etc/systemd/system/apiproxy-keycheck.service", pattern: "^ExecStart=\\S+ serve .*--rate-per-second \\d+ --burst \\d+" }],
        enforcedBy: ["key-service-rate-limited"], verifiedBy: { notLive: "proved by the local-stack test and test/renderers/nginx/live-key-limit.test.ts (a key over its limit gets 429; random keys neither dodge nor drain it); a verify row would spend the test key's budget" },
        onlyWhen: "the stack runs the key service (local and inventory targets; on aws it is the operator's)",
    },
    {
        id: "body-limit", title: "Request body limit",
        statement: "Bodies above the configured size are refused with 413 before any upstream sees them.",
        level: "mandatory", sources: [seed, cis("5.2.2")],
        provisioned: [{ file: `${NGINX}/request-limits.conf`, pattern: "^client_max_body_size " }],
        enforcedBy: ["nginx-client-max-body-size"], verifiedBy: { check: "body-limit" },
    },
    {
        id: "client-timeouts", title: "Slow clients are cut",
        statement: "Header, body, send and keepalive timeouts are set and at most 10 s (no slowloris).",
        level: "mandatory", sources: [seed, cis("5.2.1"), cis("2.4.3"), cis("2.4.4"), devsec("nginx-17")],
        provisioned: [{ file: `${NGINX}/request-limits.conf`, pattern: "^client_header_timeout \\d+s;" }],
        enforcedBy: ["nginx-client-timeouts"], verifiedBy: { notLive: "proved by the local-stack test's slow-client drill (headers trickling in are cut at client_header_timeout, a stalled body at client_body_timeout); a drill holds connections for 10 s, too long for the verify matrix" },
    },
    {
        id: "header-buffers", title: "Bounded request headers",
        statement: "The request line and headers are bounded by large_client_header_buffers within the ceiling.",
        level: "mandatory", sources: [cis("5.2.3"), devsec("nginx-06")],
        provisioned: [{ file: `${NGINX}/request-limits.conf`, pattern: "^large_client_header_buffers \\d+ \\d+k;" }],
        enforcedBy: ["nginx-header-buffers-bounded"], verifiedBy: { check: "header-buffers" },
    },
    {
        id: "upstream-circuit-breaker", title: "Circuit breaker towards upstreams",
        statement: "A failing upstream server is taken out (max_fails, fail_timeout) and retries are bounded, so clients get a fast 503, never a hang.",
        level: "mandatory", sources: [seed],
        provisioned: [{ file: `${NGINX}/upstreams.conf`, pattern: "^\\s*server \\S+ weight=\\d+ max_fails=[1-9]\\d* fail_timeout=\\d+s;" }],
        enforcedBy: ["nginx-upstream-circuit-breaker"], verifiedBy: { notLive: "proved by the local-stack test's upstream-down drill (502 within 1 s under load, recovery when it returns); stopping an upstream is not for a read-only verify" },
    },
    {
        id: "logging", title: "Structured access and error logs",
        statement: `Every TLS request is logged as JSON (no secrets) and errors go to the error log; rate-limit refusals are sampled (one in ${REJECTION_LOG_SAMPLE_EVERY}, each sampled line says so), so a flood cannot grow the logs at its own rate.`,
        level: "mandatory", sources: [cis("3.1"), cis("3.2"), cis("3.3"), unverified("OWASP ASVS 7.1.3")],
        provisioned: [{ file: `${NGINX}/logging.conf`, pattern: "^access_log \\S+ apiproxy_json( if=\\$apiproxy_log_kept)?;" }],
        enforcedBy: ["nginx-logging"], verifiedBy: { check: "rate-limit-events" },
    },
    {
        id: "session-tickets-off", title: "No TLS session tickets without key rotation",
        statement: "Session tickets stay off unless their keys are rotated (forward secrecy for resumed sessions).",
        level: "advisory", sources: [cis("4.1.12"), devsec("nginx-12")],
        provisioned: [{ file: `${NGINX}/tls.conf`, pattern: "^ssl_session_tickets off;" }],
        enforcedBy: ["nginx-session-tickets-off"], verifiedBy: { notLive: "resumption is measured by the benchmark (issue 13), not the verify matrix" },
    },
    // ---- Host ---------------------------------------------------------------------------
    {
        id: "syn-flood", title: "SYN-flood and connection-queue hardening",
        statement: "SYN cookies on, SYN backlog and somaxconn sized, FIN timeout short.",
        level: "mandatory", sources: [seed, linux("sysctl-11"), unverified("CIS Ubuntu 22.04 3.3.8")],
        provisioned: [{ file: "/etc/sysctl.d/zz-apiproxy.conf", pattern: "^net\\.ipv4\\.tcp_syncookies = 1" }],
        enforcedBy: ["sysctl-network-hardening"], verifiedBy: { check: "syn-flood" },
    },
    {
        id: "host-firewall-default-deny", title: "Host firewall denies by default",
        statement: "nftables drops input, forward and output by default and admits only the tier's flows.",
        level: "mandatory", sources: [seed, unverified("NIST SP 800-53 SC-7(5)")],
        provisioned: [{ file: "/etc/nftables.conf", pattern: "type filter hook input priority filter; policy drop;" }],
        enforcedBy: ["host-firewall-default-deny"], verifiedBy: { check: "firewall" },
    },
    {
        id: "proxy-sandbox", title: "nginx runs sandboxed",
        statement: "The nginx unit runs unprivileged with CAP_NET_BIND_SERVICE only, NoNewPrivileges, a read-only system and its configuration read-only.",
        level: "mandatory", sources: [seed, cis("2.2.1"), devsec("nginx-01"), unverified("NIST SP 800-53 AC-6")],
        provisioned: [{ file: "/etc/systemd/system/nginx.service", pattern: "^CapabilityBoundingSet=CAP_NET_BIND_SERVICE" }],
        enforcedBy: ["nginx-unit-sandboxed"], verifiedBy: { check: "systemd-units" },
    },
    {
        id: "nofile", title: "Open files sized for the concurrency target",
        statement: "nginx's open-file limit covers two descriptors per session of the concurrency target.",
        level: "mandatory", sources: [seed],
        provisioned: [{ file: "/etc/systemd/system/nginx.service", pattern: "^LimitNOFILE=\\d+" }],
        enforcedBy: ["nginx-unit-sandboxed"], verifiedBy: { check: "nofile" },
    },
    {
        id: "sshd-hardened", title: "SSH for named admins with keys only",
        statement: "sshd refuses root and passwords and admits only the named accounts.",
        level: "mandatory", sources: [unverified("CIS Ubuntu 22.04 5.2"), unverified("NIST SP 800-53 IA-5")],
        provisioned: [{ file: "/etc/ssh/sshd_config", pattern: "^PermitRootLogin no" }],
        enforcedBy: ["sshd-hardened"], verifiedBy: { check: "sshd" },
    },
    {
        id: "mac-profile", title: "Mandatory access control for nginx",
        statement: "An AppArmor profile (Ubuntu/Debian) or SELinux booleans (RHEL) confine nginx.",
        level: "mandatory", sources: [seed],
        provisioned: [{ file: "/etc/apparmor.d/usr.sbin.nginx", pattern: "^profile \\S+ /usr/sbin/nginx \\{" }],
        enforcedBy: ["mac-profile-present"], verifiedBy: { notLive: "this machine has no AppArmor; deliveries report it as not applied" },
    },
    // ---- AWS -----------------------------------------------------------------------------
    {
        id: "imdsv2", title: "IMDSv2 only",
        statement: "Instances (their launch templates) require session tokens for the metadata service.",
        level: "mandatory", sources: [aws("EC2.8")],
        provisioned: [{ resource: "aws:ec2/launchTemplate:LaunchTemplate", property: "metadataOptions.httpTokens" }],
        enforcedBy: ["imdsv2-required"], verifiedBy: { notLive: "AWS only; the local target has no metadata service" },
    },
    {
        id: "ebs-encrypted", title: "Encrypted volumes",
        statement: "Root and data volumes are encrypted with the tier's KMS key.",
        level: "mandatory", sources: [aws("EC2.3")],
        provisioned: [{ resource: "aws:ec2/launchTemplate:LaunchTemplate", property: "blockDeviceMappings.0.ebs.encrypted" }],
        enforcedBy: ["ebs-encrypted"], verifiedBy: { notLive: "AWS only: there is no EC2 API to ask here" },
    },
    {
        id: "rolling-image-updates", title: "Rolling image updates",
        statement: "A new image replaces the proxies one per pair at a time: each pair's instance refresh keeps half of it in service, the leaving proxy's connections drain, and its replacement passes the NLB health check before the next one leaves.",
        level: "mandatory", sources: [seed, aws("AutoScaling.1")],
        provisioned: [{ resource: "aws:autoscaling/group:Group", property: "instanceRefresh.preferences.minHealthyPercentage" }],
        enforcedBy: ["proxy-rolling-updates"], verifiedBy: { notLive: "AWS only: a refresh is followed through the Auto Scaling API (describe-instance-refreshes), not reachable here" },
    },
    {
        id: "flow-logs", title: "VPC flow logs",
        statement: "The VPC's traffic is logged.",
        level: "mandatory", sources: [seed, aws("EC2.6")],
        provisioned: [{ resource: "aws:ec2/flowLog:FlowLog", property: "trafficType" }],
        enforcedBy: ["vpc-flow-logs"], verifiedBy: { notLive: "AWS only: there is no EC2 API to ask here" },
    },
    {
        id: "ssh-management-only", title: "SSH only from the management networks",
        statement: "No security group admits port 22 from anywhere but the management CIDRs.",
        level: "mandatory", sources: [seed, aws("EC2.13")],
        provisioned: [{ resource: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", property: "fromPort" }],
        enforcedBy: ["sg-ssh-only-from-management"], verifiedBy: { notLive: "AWS only; the local segments filter SSH the same way (local-stack test)" },
    },
    {
        id: "public-ingress-tls-only", title: "Only 443 and 8443 from the internet",
        statement: "Security groups admit the public only on the TLS ports.",
        level: "mandatory", sources: [seed],
        provisioned: [{ resource: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", property: "cidrIpv4" }],
        enforcedBy: ["sg-no-public-ingress-except-tls"], verifiedBy: { notLive: "AWS only; the local segments filter the same way (local-stack test)" },
    },
    {
        id: "golden-image-in-prod", title: "Production boots the golden image",
        statement: "Production proxies boot the hardened image the stack builds with Image Builder, never a stock AMI configured at first boot.",
        level: "mandatory", sources: [seed],
        provisioned: [{ resource: "aws:ec2/launchTemplate:LaunchTemplate", property: "imageId" }],
        enforcedBy: ["golden-image-in-prod"], verifiedBy: { notLive: "AWS only: the AMI an instance runs is read from the EC2 API, not reachable here" },
    },
    {
        id: "egress-least-privilege", title: "Tier instances send only to named destinations",
        statement: "The security groups proxies and upstreams run in allow egress by protocol and port to named destinations only (no 0.0.0.0/0, no all-protocol rules).",
        level: "mandatory", sources: [seed, unverified("NIST SP 800-53 SC-7(5)")],
        provisioned: [{ resource: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", property: "ipProtocol" }],
        enforcedBy: ["sg-egress-least-privilege"], verifiedBy: { notLive: "AWS only; the local hosts' nftables output chain is the same rule (host-firewall-default-deny)" },
    },
    {
        id: "subnet-nacls", title: "Subnet ACLs back the security groups up",
        statement: "The DMZ and private subnets' network ACLs allow named protocols and ports only, never SSH from anywhere.",
        level: "mandatory", sources: [unverified("CIS AWS Foundations Benchmark 5.1")],
        provisioned: [{ resource: "aws:ec2/networkAclRule:NetworkAclRule", property: "protocol" }],
        enforcedBy: ["nacl-least-privilege"], verifiedBy: { notLive: "AWS only; the local segments filter in the routing namespace (local-stack test)" },
    },
];

export function controlById(id: string): Control | undefined {
    return CONTROLS.find((c) => c.id === id);
}

/** A rendered line's control citation: "[id] detail". The id must be the catalogue's, so a
 *  renderer cannot cite a control that does not exist (it throws at render time). */
export function citeControl(id: string, detail: string): string {
    if (controlById(id) === undefined) throw new Error(`citeControl: "${id}" is not in the controls catalogue (components/core/controls.ts)`);
    return `[${id}] ${detail}`;
}

/** The catalogue ids a rendered text cites ("[id]" in its comments). */
export function citedControlIds(text: string): string[] {
    return [...text.matchAll(/#[^\n]*?\[([a-z0-9]+(?:-[a-z0-9]+)*)\]/g)].map((m) => m[1]);
}
