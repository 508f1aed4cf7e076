/**
 * The aws target: DMZ VPC, golden image and its pipeline, Secrets Manager, proxy pairs (one Auto
 * Scaling group each) behind an NLB. Pure wiring of validated configuration into components;
 * every decision lives in a component or renderer.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { HostFile } from "../../components/core/host-file";
import { renderHost, renderCloudInit, osProfile, type HostOs } from "../../components/host";
import { AWS_HOST_EXTRA_PACKAGES } from "../../components/host/cloud-init";
import { gzipUserData } from "../../components/host/cloud-init";
import { CERT_FETCH_CONFIG_PATH } from "../../components/host/cert-fetch";
import { renderNginx } from "../../components/nginx";
import { DmzNetwork } from "../../components/network/dmz-network";
import { ProxySecurityGroups } from "../../components/network/security-groups";
import { packageMirrorEgress } from "../../components/network/package-mirror";
import { TlsSecrets } from "../../components/secrets/tls-secrets";
import { GoldenImage, UBUNTU_2204_AMD64_AMI_PARAMETER } from "../../components/image/golden-image";
import { GoldenImagePipeline } from "../../components/image/golden-image-pipeline";
import { ProxyPair } from "../../components/compute/proxy-pair";
import { STOCK_IMAGE_GRACE_PERIOD_SECONDS, STOCK_IMAGE_WARMUP_SECONDS } from "../../components/compute/rolling-updates";
import type { AwsTierConfig } from "../config/load";
import { PRODUCTION_ENVIRONMENTS } from "../config/cross-checks";
import { isIpv4, parseHostPort } from "../config/units";
import { subnetTiers, vpcResolverCidr } from "../../components/network/cidr";
import { buildNginxSpec } from "../spec/nginx-spec";
import { buildHostSpec } from "../spec/host-spec";
import { CERTIFICATE_PATHS, SSH_ADMIN_USERS } from "../spec/host-paths";
import { SERVER_ENDPOINT, tierOutputs, tierPki } from "../tier-outputs";
import type { TierDeployment } from "../program";

/** The OS of AWS proxy hosts (golden image parent and stock AMI alike). */
const AWS_HOST_OS: HostOs = "ubuntu-22.04";

/** The host name of each pair's instances: proxy-a for pair 0, proxy-b for pair 1, ... proxy-z,
 *  proxy-aa, proxy-ab, ... (letters as spreadsheet columns, so any count has valid, distinct
 *  names). Both proxies of a pair come from one launch template (its Auto Scaling group launches
 *  and replaces them), so they receive the same files, user data and name; the review writes one
 *  file set per pair, under that name. */
export function proxyHostNames(pairCount: number): string[] {
    const letters = (n: number): string => (n < 26 ? "" : letters(Math.floor(n / 26) - 1)) + String.fromCharCode(97 + (n % 26));
    return Array.from({ length: pairCount }, (_, p) => `proxy-${letters(p)}`);
}

/** Files whose path and content the image already carries are left out of user data. */
function notBakedInto(image: readonly HostFile[], files: readonly HostFile[]): HostFile[] {
    const baked = new Map(image.map((f) => [f.path, f]));
    return files.filter((f) => {
        const b = baked.get(f.path);
        return !(b && b.content === f.content && b.mode === f.mode && b.owner === f.owner && b.group === f.group);
    });
}

/** Where an AWS proxy sits: the subnet tiers DmzNetwork carves (subnetTiers), plain CIDRs. */
export interface AwsHostNetwork {
    readonly publicCidrs: readonly string[];
    readonly dmzCidrs: readonly string[];
    readonly privateCidrs: readonly string[];
}

/** The Secrets Manager ARNs a proxy fetches its TLS material from. */
export interface AwsCertificateSecretArns {
    readonly chain: string;
    readonly key: string;
    readonly clientCa: string;
}

/** The subnet tiers DmzNetwork carves from the stack's VPC (the same subnetTiers call), for
 *  rendering a host's files without the network resources (the boot tests). */
export function awsHostNetwork(tier: AwsTierConfig): AwsHostNetwork {
    const tiers = subnetTiers(tier.aws.vpcCidr, tier.aws.availabilityZones.length);
    return { publicCidrs: tiers.public, dmzCidrs: tiers.dmz, privateCidrs: tiers.private };
}

function awsHostSpec(tier: AwsTierConfig, network: AwsHostNetwork, hostname: string, secretArns?: AwsCertificateSecretArns) {
    return buildHostSpec(tier, {
        hostname,
        os: AWS_HOST_OS,
        healthCheckCidrs: network.publicCidrs,
        upstreamNetworkCidrs: network.privateCidrs,
        endpointCidrs: network.dmzCidrs,
        // The resolver DHCP hands the hosts (VPC base + 2, the one the security group admits);
        // the host renderer adds Route 53's link-local 169.254.169.253 for AWS hosts.
        dnsResolvers: [vpcResolverCidr(tier.aws.vpcCidr).replace(/\/32$/, "")],
        aws: secretArns ? {
            region: tier.aws.region,
            certificateSecrets: [
                { secretId: secretArns.chain, path: CERTIFICATE_PATHS.serverCertificate, kind: "certificate" },
                { secretId: secretArns.key, path: CERTIFICATE_PATHS.serverKey, kind: "private-key" },
                { secretId: secretArns.clientCa, path: CERTIFICATE_PATHS.clientCa, kind: "certificate" },
            ],
        } : undefined,
    });
}

/** nginx's files as the AWS hosts' OS (Ubuntu 22.04, nginx 1.18) runs them. */
export function renderAwsNginxFiles(tier: AwsTierConfig): HostFile[] {
    const profile = osProfile(AWS_HOST_OS);
    return renderNginx(buildNginxSpec(tier, { runUser: profile.proxyUser, runGroup: profile.proxyGroup, nginxVersion: profile.nginxVersion }));
}

/**
 * What the golden image carries: everything that does not depend on deploy-time values - the
 * host files rendered for a generic proxy, less the certificate-fetch config (secret ARNs are
 * only known at deploy time; user data carries it). Any other file that differs per host is
 * found by comparison (notBakedInto) and goes to user data too.
 */
export function renderAwsImageFiles(tier: AwsTierConfig, network: AwsHostNetwork, nginxFiles = renderAwsNginxFiles(tier)): HostFile[] {
    const deployTimePlaceholder = { chain: "deploy-time", key: "deploy-time", clientCa: "deploy-time" };
    return [...renderHost(awsHostSpec(tier, network, "proxy", deployTimePlaceholder)).filter((f) => f.path !== CERT_FETCH_CONFIG_PATH), ...nginxFiles];
}

/** Every file one AWS proxy runs with (host hardening, nginx, the upstream CA where a pool speaks TLS). */
export function renderAwsHostFiles(
    tier: AwsTierConfig, network: AwsHostNetwork, hostname: string, secretArns: AwsCertificateSecretArns, caBundle: string,
    nginxFiles = renderAwsNginxFiles(tier),
): HostFile[] {
    // Upstreams with TLS are verified against the tier's own CA (public material: fine in user data).
    const upstreamCa: HostFile[] = tier.upstreams.some((u) => u.tls) && CERTIFICATE_PATHS.upstreamCa
        ? [{ path: CERTIFICATE_PATHS.upstreamCa, content: caBundle, mode: "0644", owner: "root", group: "root", action: "nginx-reload" }]
        : [];
    return [...renderHost(awsHostSpec(tier, network, hostname, secretArns)), ...nginxFiles, ...upstreamCa];
}

/** The `#cloud-config` document a proxy boots with (before gzip): the files its image lacks. */
export function renderAwsUserData(tier: AwsTierConfig, hostname: string, hostFiles: readonly HostFile[], imageFiles: readonly HostFile[]): string {
    return renderCloudInit(notBakedInto(imageFiles, hostFiles), {
        os: AWS_HOST_OS, hostname, bakedFiles: imageFiles, extraPackages: AWS_HOST_EXTRA_PACKAGES,
        // The account the rendered sshd admits (AllowUsers), with the stack's admin keys.
        admin: { name: SSH_ADMIN_USERS[0], authorizedKeys: tier.aws.adminSshKeys },
        // A stock image installs at first boot, from the declared mirror (the only one its
        // security group reaches); a golden image already carries the packages.
        installPackages: tier.aws.image === "stock",
        ...(tier.aws.packageMirror ? {
            aptMirror: { primary: tier.aws.packageMirror.url, security: tier.aws.packageMirror.securityUrl ?? tier.aws.packageMirror.url },
        } : {}),
    });
}

export function deployAwsTier(tier: AwsTierConfig): TierDeployment {
    const environment = tier.environment;
    const production = PRODUCTION_ENVIRONMENTS.includes(environment);
    const tags = { ...tier.tags };
    const provider = new aws.Provider(`aws-${tier.aws.region}`, { region: tier.aws.region as aws.Region });
    const awsOpts = { provider };

    const pki = tierPki(tier);

    const upstreamPorts = [...new Set(tier.upstreams.flatMap((u) => u.servers.map((s) => parseHostPort(s.address)?.port ?? 0)))].sort((a, b) => a - b);
    const keyService = parseHostPort(tier.apiKeyService);
    const packageMirror = tier.aws.packageMirror ? packageMirrorEgress(tier.aws.packageMirror) : [];
    const network = new DmzNetwork("dmz", {
        environment,
        cidr: tier.aws.vpcCidr,
        availabilityZones: tier.aws.availabilityZones,
        flowLogRetentionDays: tier.aws.flowLogRetentionDays ?? tier.logRetentionDays,
        natPerAz: tier.aws.natGatewayPerAz,
        trafficCidrs: tier.trafficCidrs,
        managementCidrs: tier.managementCidrs,
        ports: tier.ports,
        upstreamPorts,
        keyStorePort: keyService?.port,
        packageMirror,
        tags,
    }, awsOpts);

    const securityGroups = new ProxySecurityGroups("proxy", {
        environment,
        vpcId: network.vpcId,
        vpcCidr: network.vpcCidr,
        trafficCidrs: tier.trafficCidrs,
        healthCheckCidrs: network.publicCidrs,
        managementCidrs: tier.managementCidrs,
        ports: tier.ports,
        upstreamPorts,
        endpointSecurityGroupId: network.endpointSecurityGroupId,
        httpsPrefixListIds: [network.s3PrefixListId],
        // A literal address is pinned; a DNS name may resolve to any private-subnet address.
        packageMirror,
        keyStore: keyService ? { port: keyService.port, cidrs: isIpv4(keyService.host) ? [`${keyService.host}/32`] : [...network.privateCidrs] } : undefined,
        tags,
    }, awsOpts);

    const serverCertificate = pki.serverCertificates[SERVER_ENDPOINT];
    const tlsSecrets = new TlsSecrets("tls", {
        environment,
        serverCertificateChain: serverCertificate.certificateChainPem,
        serverPrivateKey: serverCertificate.privateKeyPem,
        clientCaBundle: pki.clientCaPem,
        recoveryWindowInDays: production ? 30 : 7,
        tags,
    }, awsOpts);

    const nginxFiles = renderAwsNginxFiles(tier);
    const imageFiles = tier.aws.image === "golden" ? renderAwsImageFiles(tier, network, nginxFiles) : [];
    const goldenImage = tier.aws.image === "golden"
        ? new GoldenImage("proxy-image", {
            environment,
            hostFiles: imageFiles,
            vpcId: network.vpcId,
            subnetId: network.dmzSubnetIds[0],
            kmsKeyArn: tlsSecrets.kmsKeyArn,
            instanceType: tier.aws.instanceType,
            tags,
        }, awsOpts)
        : undefined;
    const amiId = goldenImage?.amiId ?? aws.ssm.getParameterOutput({ name: UBUNTU_2204_AMD64_AMI_PARAMETER }, awsOpts).value;

    const hostNames = proxyHostNames(tier.aws.pairCount);
    const hostFiles = pulumi.all([
        tlsSecrets.secretArns.serverCertificateChain,
        tlsSecrets.secretArns.serverPrivateKey,
        tlsSecrets.secretArns.clientCaBundle,
        pki.caBundlePem,
    ]).apply(([chain, key, clientCa, caBundle]) => Object.fromEntries(hostNames.map((hostname) =>
        [hostname, renderAwsHostFiles(tier, network, hostname, { chain, key, clientCa }, caBundle, nginxFiles)])));
    // Golden hosts get a small plain document; stock hosts carry every file, gzipped to fit 16 KiB.
    const userDataEncoding = tier.aws.image === "golden" ? "text" : "gzip-base64";
    const userData = hostFiles.apply((hosts) => hostNames.map((hostname) => {
        const document = renderAwsUserData(tier, hostname, hosts[hostname], imageFiles);
        return userDataEncoding === "text" ? document : gzipUserData(document);
    }));

    const pair = new ProxyPair("proxy", {
        environment,
        vpcId: network.vpcId,
        dmzSubnetIds: network.dmzSubnetIds,
        publicSubnetIds: network.publicSubnetIds,
        proxySecurityGroupId: securityGroups.proxySecurityGroupId,
        instanceType: tier.aws.instanceType,
        amiId,
        userData: userData.apply((all) => all[0]),
        userDataOverrides: hostNames.map((_, p) => userData.apply((all) => all[p])),
        userDataEncoding,
        ...(goldenImage ? {} : { instanceWarmupSeconds: STOCK_IMAGE_WARMUP_SECONDS, healthCheckGracePeriodSeconds: STOCK_IMAGE_GRACE_PERIOD_SECONDS }),
        pairCount: tier.aws.pairCount,
        ports: { ...tier.ports, healthPath: tier.healthPath },
        deletionProtection: tier.aws.deletionProtection,
        tlsSecretArns: tlsSecrets.secretArnList,
        kmsKeyArn: tlsSecrets.kmsKeyArn,
        logRetentionDays: tier.logRetentionDays,
        tags,
    }, awsOpts);

    // The pipeline's scheduled builds (weekly in production) become the pairs' launch template
    // default version at once and roll at the next `up` (GoldenImage.amiId is the newest build).
    if (goldenImage) {
        new GoldenImagePipeline("proxy-image", {
            environment,
            image: goldenImage,
            launchTemplateIds: pair.launchTemplateIds,
            scheduleExpression: production ? "cron(0 4 ? * SUN *)" : undefined,
            tags,
        }, awsOpts);
    }

    // Clients use serverName (the name the certificate carries), which resolves to the NLB: the
    // stack's own alias record when it manages the zone, otherwise the operator's CNAME.
    if (tier.aws.hostedZoneId) {
        new aws.route53.Record("server-name", {
            zoneId: tier.aws.hostedZoneId, name: tier.serverName, type: "A",
            aliases: [{ name: pair.nlbDnsName, zoneId: pair.nlbZoneId, evaluateTargetHealth: true }],
        }, awsOpts);
    }
    const outputs = tierOutputs(tier, pki, {
        dnsName: pair.nlbDnsName,
        https: `https://${tier.serverName}:${tier.ports.https}`,
        mtls: `https://${tier.serverName}:${tier.ports.mtls}`,
        // Instances come and go with their groups: the target groups' health is the probe
        // (`aws elbv2 describe-target-health`), not an address fixed at deploy time.
        proxyAddresses: [],
    });
    return { outputs, hostFiles, aws: { upstreamSecurityGroupId: securityGroups.upstreamSecurityGroupId } };
}
