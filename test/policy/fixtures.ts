/**
 * One valid fixture per resource type, written by hand (never produced by the renderers: the
 * pack must judge rendered text on its own). Tests break one field at a time.
 */
import * as YAML from "yaml";

export const T = {
    vpc: "aws:ec2/vpc:Vpc",
    subnet: "aws:ec2/subnet:Subnet",
    flowLog: "aws:ec2/flowLog:FlowLog",
    securityGroup: "aws:ec2/securityGroup:SecurityGroup",
    ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    legacyRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
    instance: "aws:ec2/instance:Instance",
    launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
    autoScalingGroup: "aws:autoscaling/group:Group",
    autoScalingAttachment: "aws:autoscaling/attachment:Attachment",
    loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
    targetGroup: "aws:lb/targetGroup:TargetGroup",
    listener: "aws:lb/listener:Listener",
    attachment: "aws:lb/targetGroupAttachment:TargetGroupAttachment",
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
    locallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
    component: "aws:imagebuilder/component:Component",
    secret: "aws:secretsmanager/secret:Secret",
} as const;

export const tags = (role: string, environment = "dev"): Record<string, string> =>
    ({ "apiproxy:environment": environment, "apiproxy:role": role, Name: `apiproxy-${role}` });

// ---------------------------------------------------------------------------------------------
// Host files

export const NGINX_CONF = `# nginx.conf (hand-written test fixture)
user nginx;
worker_processes auto;
pid /run/nginx/nginx.pid;
error_log /var/log/nginx/error.log warn;
events { worker_connections 8192; }

http {
    server_tokens off;                       # no version disclosure
    client_max_body_size 2m;                 # seed: 2M
    client_header_timeout 10s;
    client_body_timeout 10s;
    send_timeout 10s;
    keepalive_timeout 10s;
    large_client_header_buffers 4 8k;
    proxy_next_upstream_tries 2;
    grpc_next_upstream_tries 2;
    log_format apiproxy_json escape=json '{"status":"$status"}';
    map $request_uri $suspicious_path {
        "~^[^?]*;" 1;
        "~*^[^?]*%(2e|2f|5c|25|c0|c1)" 1;
        "~^[^?]*\\\\\\\\" 1;
        "~^[^?]*//" 1;
        default 0;
    }
    split_clients $request_id $log_sampled { 1% 1; * 0; }
    map $status:$log_sampled $log_kept { "429:0" 0; default 1; }
    access_log /var/log/nginx/access.log apiproxy_json if=$log_kept;
    limit_req_log_level info;
    limit_conn_log_level info;
    limit_req_zone $binary_remote_addr zone=per_ip:10m rate=50r/s;
    limit_req_zone $http_x_api_key zone=per_key:10m rate=200r/s;
    limit_req zone=per_ip burst=20 nodelay;
    limit_req_status 429;
    proxy_hide_header Server;
    proxy_hide_header X-Powered-By;
    grpc_hide_header Server;
    grpc_hide_header X-Powered-By;
    log_format apiproxy '$remote_addr "$request" $status';   # a '#' inside quotes is not a comment
    include /etc/nginx/mime.types;
    include /etc/nginx/apiproxy/*.conf;
}
`;

export const TLS_CONF = `# /etc/nginx/apiproxy/00-tls.conf
ssl_protocols TLSv1.2 TLSv1.3;
ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384;
ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384;
ssl_ecdh_curve prime256v1:secp384r1;
ssl_prefer_server_ciphers on;
ssl_session_tickets off;
ssl_certificate /etc/ssl/apiproxy/server-chain.pem;
ssl_certificate_key /etc/ssl/apiproxy/private/server.key;
`;

export const HEADERS_INC = `add_header X-Frame-Options DENY always;
add_header X-Content-Type-Options nosniff always;
add_header Content-Security-Policy "default-src 'none'; frame-ancestors 'none'" always;
add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;
`;

export const SERVERS_CONF = `# /etc/nginx/apiproxy/10-servers.conf
upstream orders {
    server 10.0.10.10:8080 max_fails=3 fail_timeout=10s;
    keepalive 32;
}

server {
    listen 443 ssl;
    listen [::]:443 ssl;
    http2 on;
    server_name api.example.com;
    include /etc/nginx/apiproxy/snippets/security-headers.inc;

    location /api/v1/orders/ {
        if ($suspicious_path) { return 400; }
        limit_req zone=per_ip burst=20 nodelay;
        limit_req zone=per_key burst=50;
        auth_request /_apiproxy/api-key-check;
        proxy_pass http://orders;
    }
    location = /_apiproxy/api-key-check {
        internal;
        proxy_pass_request_body off;
        proxy_pass http://orders/check;
    }
    location /orders.v1.Orders/ {
        if ($suspicious_path) { return 400; }
        auth_request /_apiproxy/api-key-check;
        grpc_pass grpc://orders;
    }
    location / {
        return 404;
    }
}

server {
    listen 8443 ssl;
    server_name api.example.com;
    ssl_verify_client on;
    ssl_client_certificate /etc/ssl/apiproxy/client-ca.pem;
    include /etc/nginx/apiproxy/snippets/security-headers.inc;

    location /api/v1/orders/ {
        proxy_pass http://orders;
        if ($suspicious_path) { return 400; }
    }
    location / {
        return 404;
    }
}

server {
    listen 8081;
    location = /healthz {
        return 200 "ok\\n";
    }
    location / {
        return 404;
    }
}
`;

export const SYSCTL_CONF = `# /etc/sysctl.d/zz-apiproxy.conf - seed values
net.ipv4.tcp_syncookies = 1
net.ipv4.tcp_max_syn_backlog = 4096
net.ipv4.ip_local_port_range = 1024 65535
net.ipv4.tcp_fin_timeout = 30
net.core.somaxconn = 4096
`;

export const NFTABLES_CONF = `#!/usr/sbin/nft -f
flush ruleset
table inet filter {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iif "lo" accept
    tcp dport { 443, 8443 } accept
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
  }
  chain output {
    type filter hook output priority filter; policy drop;
    ct state established,related accept
  }
}
`;

export const NGINX_UNIT = `[Unit]
Description=nginx (hand-written test fixture)

[Service]
User=www-data
ExecStart=/usr/sbin/nginx -g 'daemon off;'
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
AmbientCapabilities=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
LimitNOFILE=65536
`;

export const SSHD_CONFIG = `# sshd_config (hand-written test fixture)
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowUsers apiproxy-admin
`;

export const APPARMOR_PROFILE = `abi <abi/3.0>,
profile nginx /usr/sbin/nginx {
  /etc/nginx/** r,
}
`;

export type HostFiles = Record<string, string>;

export const HOST_FILES: HostFiles = {
    "/etc/nginx/nginx.conf": NGINX_CONF,
    "/etc/nginx/apiproxy/00-tls.conf": TLS_CONF,
    "/etc/nginx/apiproxy/10-servers.conf": SERVERS_CONF,
    "/etc/nginx/apiproxy/snippets/security-headers.inc": HEADERS_INC,
    "/etc/sysctl.d/zz-apiproxy.conf": SYSCTL_CONF,
    "/etc/nftables.conf": NFTABLES_CONF,
    "/etc/systemd/system/nginx.service": NGINX_UNIT,
    "/etc/ssh/sshd_config": SSHD_CONFIG,
    "/etc/apparmor.d/usr.sbin.nginx": APPARMOR_PROFILE,
};

/** HOST_FILES with one file's text replaced (the replacement must apply). */
export function editFile(path: string, from: string | RegExp, to: string, files: HostFiles = HOST_FILES): HostFiles {
    const text = files[path];
    if (text === undefined) {
        throw new Error(`fixture has no ${path}`);
    }
    const next = text.replace(from, to);
    if (next === text) {
        throw new Error(`fixture edit did not apply to ${path}: ${String(from)}`);
    }
    return { ...files, [path]: next };
}

/** A #cloud-config document; nginx files base64-encoded, the rest plain (both forms occur). */
export function cloudConfig(files: HostFiles): string {
    const writeFiles = Object.entries(files).map(([path, content]) => path.startsWith("/etc/nginx/")
        ? { path, encoding: "b64", content: Buffer.from(content).toString("base64"), owner: "root:root", permissions: "0644" }
        : { path, content, owner: "root:root", permissions: "0644" });
    return `#cloud-config\n${YAML.stringify({ write_files: writeFiles, runcmd: [["sysctl", "--system"], ["systemctl", "reload", "nginx"]] })}`;
}

/** An AWSTOE component document creating `files`. */
export function awsToe(files: HostFiles): string {
    return YAML.stringify({
        name: "apiproxy-host-files",
        schemaVersion: 1.0,
        phases: [{
            name: "build",
            steps: [{
                name: "WriteHostFiles",
                action: "CreateFile",
                inputs: Object.entries(files).map(([path, content]) => ({ path, content, permissions: 644, owner: "root", group: "root" })),
            }],
        }],
    });
}

// ---------------------------------------------------------------------------------------------
// Resources (inputs, as resource policies see them)

export const validInstance = (files: HostFiles = HOST_FILES): Record<string, unknown> => ({
    ami: "ami-0123456789abcdef0",
    instanceType: "c6id.xlarge",
    subnetId: "subnet-private-a",
    availabilityZone: "eu-west-1a",
    associatePublicIpAddress: false,
    vpcSecurityGroupIds: ["sg-proxy"],
    metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
    rootBlockDevice: { encrypted: true, volumeSize: 30, volumeType: "gp3" },
    ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: true, volumeSize: 50 }],
    userData: cloudConfig(files),
    tags: tags("proxy"),
});

export const validLaunchTemplate = (files: HostFiles = HOST_FILES): Record<string, unknown> => ({
    imageId: "ami-0123456789abcdef0",
    instanceType: "c6id.xlarge",
    metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
    blockDeviceMappings: [
        { deviceName: "/dev/xvda", ebs: { encrypted: "true", volumeSize: 30 } },
        { deviceName: "/dev/sdb", virtualName: "ephemeral0" },
    ],
    networkInterfaces: [{ associatePublicIpAddress: "false", deviceIndex: 0 }],
    userData: Buffer.from(cloudConfig(files)).toString("base64"),
    tags: tags("proxy"),
});

/** A proxy pair's Auto Scaling group: two instances over two subnets, registered with both target
 *  groups, rolled one instance at a time (as stack policies see it: tags as a key/value list). */
export const validAutoScalingGroup = (): Record<string, unknown> => ({
    minSize: 2,
    maxSize: 2,
    desiredCapacity: 2,
    vpcZoneIdentifiers: ["id-private-a", "id-private-b"],
    launchTemplate: { id: "lt-proxy", version: "3" },
    targetGroupArns: ["arn:tg-https", "arn:tg-mtls"],
    healthCheckType: "ELB",
    healthCheckGracePeriod: 600,
    protectFromScaleIn: true,
    instanceRefresh: {
        strategy: "Rolling",
        preferences: { minHealthyPercentage: 50, maxHealthyPercentage: 100, instanceWarmup: "300", scaleInProtectedInstances: "Refresh" },
        triggers: ["tag"],
    },
    tags: Object.entries({ ...tags("proxy"), "apiproxy:pair": "0" }).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
});

export const validComponent = (files: HostFiles = HOST_FILES): Record<string, unknown> => ({
    name: "apiproxy-host-files",
    platform: "Linux",
    version: "1.0.0",
    data: awsToe(files),
    tags: tags("proxy"),
});

export const validSecurityGroup = (): Record<string, unknown> => ({
    vpcId: "vpc-1",
    description: "proxy tier",
    ingress: [
        { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] },
        { protocol: "tcp", fromPort: 8443, toPort: 8443, cidrBlocks: ["0.0.0.0/0"] },
        { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["10.20.30.0/24"] },
        { protocol: "tcp", fromPort: 8081, toPort: 8081, cidrBlocks: ["10.0.0.0/16"] },
    ],
    egress: [{ protocol: "tcp", fromPort: 8080, toPort: 8080, securityGroups: ["sg-upstream"] }],
    tags: tags("proxy"),
});

export const validIngressRule = (): Record<string, unknown> => ({
    securityGroupId: "sg-proxy",
    ipProtocol: "tcp",
    fromPort: 443,
    toPort: 443,
    cidrIpv4: "0.0.0.0/0",
});

export const validLegacyRule = (): Record<string, unknown> => ({
    type: "ingress",
    securityGroupId: "sg-proxy",
    protocol: "tcp",
    fromPort: 22,
    toPort: 22,
    cidrBlocks: ["10.20.30.0/24"],
});

export const validLoadBalancer = (environment = "dev"): Record<string, unknown> => ({
    loadBalancerType: "network",
    internal: false,
    subnets: ["subnet-public-a", "subnet-public-b"],
    enableCrossZoneLoadBalancing: true,
    enableDeletionProtection: true,
    tags: tags("nlb", environment),
});

export const validTargetGroup = (): Record<string, unknown> => ({
    port: 443,
    protocol: "TCP",
    vpcId: "vpc-1",
    targetType: "instance",
    healthCheck: { enabled: true, protocol: "HTTP", port: "8081", path: "/healthz", healthyThreshold: 2, unhealthyThreshold: 2 },
    stickiness: { enabled: true, type: "source_ip" },
    deregistrationDelay: 30,
    tags: tags("nlb"),
});

export const validTlsListener = (): Record<string, unknown> => ({
    loadBalancerArn: "arn:nlb",
    port: 443,
    protocol: "TLS",
    sslPolicy: "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    certificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/x",
    defaultActions: [{ type: "forward", targetGroupArn: "arn:tg-https" }],
});

export const validPrivateKey = (): Record<string, unknown> => ({ algorithm: "ECDSA", ecdsaCurve: "P256" });

export const validCaCert = (): Record<string, unknown> => ({
    privateKeyPem: "(ca key)",
    isCaCertificate: true,
    validityPeriodHours: 5 * 365 * 24,
    earlyRenewalHours: 365 * 24,
    allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
    subject: { commonName: "apiproxy CA" },
});

export const validServerCert = (): Record<string, unknown> => ({
    certRequestPem: "(csr)",
    caPrivateKeyPem: "(ca key)",
    caCertPem: "(ca cert)",
    isCaCertificate: false,
    validityPeriodHours: 90 * 24,
    earlyRenewalHours: 30 * 24,
    allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
});

// ---------------------------------------------------------------------------------------------
// A compliant stack (outputs as stack policies see them: ids and ARNs link resources)

export interface StackFixtureEntry {
    type: string;
    name: string;
    props: Record<string, unknown>;
    propertyDependencies?: Record<string, string[]>;
}

export function validStack(): StackFixtureEntry[] {
    const proxy = (name: string, subnet: string, az: string): StackFixtureEntry => ({
        type: T.instance, name, props: { ...validInstance(), id: `i-${name}`, subnetId: `id-${subnet}`, availabilityZone: az },
    });
    return [
        { type: T.vpc, name: "vpc", props: { id: "vpc-1", cidrBlock: "10.0.0.0/16", tags: tags("network") } },
        { type: T.flowLog, name: "vpc-flow-log", props: { id: "fl-1", vpcId: "vpc-1", trafficType: "ALL" } },
        { type: T.subnet, name: "private-a", props: { id: "id-private-a", vpcId: "vpc-1", availabilityZone: "eu-west-1a", mapPublicIpOnLaunch: false, tags: tags("network") } },
        { type: T.subnet, name: "private-b", props: { id: "id-private-b", vpcId: "vpc-1", availabilityZone: "eu-west-1b", mapPublicIpOnLaunch: false, tags: tags("network") } },
        { type: T.subnet, name: "public-a", props: { id: "id-public-a", vpcId: "vpc-1", availabilityZone: "eu-west-1a", mapPublicIpOnLaunch: true, tags: tags("network") } },
        { type: T.securityGroup, name: "proxy-sg", props: { ...validSecurityGroup(), id: "sg-proxy" } },
        {
            type: T.securityGroup, name: "upstream-sg",
            props: { id: "sg-upstream", vpcId: "vpc-1", ingress: [{ protocol: "tcp", fromPort: 8080, toPort: 8080, securityGroups: ["sg-proxy"] }], tags: tags("upstream") },
        },
        {
            type: T.ingressRule, name: "upstream-from-proxy-grpc",
            props: { id: "sgr-1", securityGroupId: "sg-upstream", referencedSecurityGroupId: "sg-proxy", ipProtocol: "tcp", fromPort: 9090, toPort: 9090 },
        },
        proxy("proxy-a", "private-a", "eu-west-1a"),
        proxy("proxy-b", "private-b", "eu-west-1b"),
        { type: T.loadBalancer, name: "nlb", props: { ...validLoadBalancer(), id: "arn:nlb", arn: "arn:nlb" } },
        { type: T.targetGroup, name: "tg-https", props: { ...validTargetGroup(), id: "arn:tg-https", arn: "arn:tg-https" } },
        { type: T.targetGroup, name: "tg-mtls", props: { ...validTargetGroup(), port: 8443, id: "arn:tg-mtls", arn: "arn:tg-mtls" } },
        { type: T.listener, name: "https", props: { id: "arn:l-https", loadBalancerArn: "arn:nlb", port: 443, protocol: "TCP", defaultActions: [{ type: "forward", targetGroupArn: "arn:tg-https" }] } },
        { type: T.listener, name: "mtls", props: { id: "arn:l-mtls", loadBalancerArn: "arn:nlb", port: 8443, protocol: "TCP", defaultActions: [{ type: "forward", targetGroupArn: "arn:tg-mtls" }] } },
        ...["proxy-a", "proxy-b"].flatMap((p) => ["tg-https", "tg-mtls"].map((tg) => ({
            type: T.attachment, name: `${tg}-${p}`, props: { id: `att-${tg}-${p}`, targetGroupArn: `arn:${tg}`, targetId: `i-${p}`, port: tg === "tg-https" ? 443 : 8443 },
        }))),
        { type: T.privateKey, name: "ca-key", props: { ...validPrivateKey(), id: "k-ca" } },
        { type: T.selfSignedCert, name: "ca-cert", props: { ...validCaCert(), id: "c-ca" } },
        { type: T.privateKey, name: "server-key", props: { ...validPrivateKey(), id: "k-server" } },
        { type: T.locallySignedCert, name: "server-cert", props: { ...validServerCert(), id: "c-server" } },
        { type: T.secret, name: "server-key-secret", props: { id: "secret-1", name: "apiproxy/server-key" } },
    ];
}

/**
 * The compliant stack with its proxies as one Auto Scaling group (pair) launched from a launch
 * template, instead of two instances with target group attachments.
 */
export function validAsgStack(): StackFixtureEntry[] {
    const plain = validStack().filter((e) => e.type !== T.instance && e.type !== T.attachment);
    const at = plain.findIndex((e) => e.type === T.loadBalancer);
    return [
        ...plain.slice(0, at),
        {
            type: T.launchTemplate, name: "proxy-lt",
            props: { ...validLaunchTemplate(), id: "lt-proxy", networkInterfaces: [{ associatePublicIpAddress: "false", deviceIndex: 0, securityGroups: ["sg-proxy"] }] },
        },
        { type: T.autoScalingGroup, name: "proxy-asg", props: { ...validAutoScalingGroup(), id: "proxy-asg-1a2b", name: "proxy-asg-1a2b" } },
        ...plain.slice(at),
    ];
}

/** validStack() with the entry `name` replaced (or removed when `replace` returns undefined). */
export function editStack(
    name: string, replace: (entry: StackFixtureEntry) => StackFixtureEntry | undefined, stack: StackFixtureEntry[] = validStack(),
): StackFixtureEntry[] {
    const index = stack.findIndex((e) => e.name === name);
    if (index < 0) {
        throw new Error(`stack fixture has no ${name}`);
    }
    const out = [...stack];
    const next = replace(structuredClone(out[index]));
    if (next === undefined) {
        out.splice(index, 1);
    } else {
        out[index] = next;
    }
    return out;
}
