/**
 * The golden AMI: EC2 Image Builder bakes the rendered, non-secret HostFiles and the packages
 * into an encrypted AMI, validated offline (nft/sysctl/sshd syntax, modes and owners). Hosts
 * then boot from it; secrets arrive at boot from Secrets Manager, never through the image.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { hostFile, type HostFile } from "../core/host-file";
import { checkInstanceType } from "../compute/instance-catalogue";
import { tierTags } from "../network/tags";
import { DEFAULT_IMAGE_PACKAGES, renderToeDocuments } from "./toe-document";

/** Canonical's public SSM parameter for the current Ubuntu 22.04 LTS x86_64 AMI. */
export const UBUNTU_2204_AMD64_AMI_PARAMETER = "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id";
/** Build on the family the tier runs on, smallest allowed size: the bake is short. */
export const DEFAULT_BUILD_INSTANCE_TYPE = "c6id.xlarge";
/** Same root size as the proxies (components/compute/proxy-pair.ts DEFAULT_ROOT_VOLUME_GB). */
export const DEFAULT_IMAGE_ROOT_VOLUME_GB = 20;
/** Image Builder components and recipes are immutable; autonaming makes a changed one a new resource. */
export const DEFAULT_COMPONENT_VERSION = "1.0.0";
/** Root device of Ubuntu AMIs. */
const UBUNTU_ROOT_DEVICE = "/dev/sda1";
/** Ubuntu's AWSTOE OS identifier. */
const SUPPORTED_OS_VERSIONS = ["Ubuntu 22"];
/** Matches a PEM private key anywhere in a file: a second guard behind the `secret` flag. */
const PRIVATE_KEY_PEM = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

export interface GoldenImageArgs {
    /** Environment name, tagged as `apiproxy:environment`. */
    readonly environment: string;
    /** Rendered, non-secret HostFiles baked into the image; a `secret` file is refused. */
    readonly hostFiles: readonly HostFile[];
    readonly vpcId: pulumi.Input<string>;
    /** Build subnet: a DMZ subnet (private, egress through NAT for the package mirrors). */
    readonly subnetId: pulumi.Input<string>;
    /** CMK encrypting the build volume and the distributed AMI's snapshots. */
    readonly kmsKeyArn: pulumi.Input<string>;
    /** Parent AMI id. Default: the current Ubuntu 22.04 x86_64 AMI, read from the SSM parameter UBUNTU_2204_AMD64_AMI_PARAMETER. */
    readonly parentImage?: pulumi.Input<string>;
    /** Build instance type, from the instance catalogue. Default: "c6id.xlarge" (DEFAULT_BUILD_INSTANCE_TYPE). */
    readonly instanceType?: string;
    /** apt packages installed before the files are written. Default: DEFAULT_IMAGE_PACKAGES. */
    readonly packages?: readonly string[];
    /** Root volume size in GB. Default: 20 (DEFAULT_IMAGE_ROOT_VOLUME_GB). */
    readonly rootVolumeSizeGb?: number;
    /** Component and recipe semantic version. Default: "1.0.0" (DEFAULT_COMPONENT_VERSION). */
    readonly version?: string;
    /** Pipeline rebuild schedule (cron), picking up OS patches; undefined = manual. Default: undefined. */
    readonly scheduleExpression?: string;
    /** Extra tags for every resource. */
    readonly tags?: Readonly<Record<string, string>>;
}

export class GoldenImage extends pulumi.ComponentResource {
    /** The baked AMI, for ProxyPair.amiId. */
    public readonly amiId: pulumi.Output<string>;
    public readonly imageArn: pulumi.Output<string>;
    public readonly pipelineArn: pulumi.Output<string>;
    public readonly recipeArn: pulumi.Output<string>;
    public readonly componentArns: pulumi.Output<string[]>;

    constructor(name: string, args: GoldenImageArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("apiproxy:image:GoldenImage", name, {}, opts);
        const instanceType = args.instanceType ?? DEFAULT_BUILD_INSTANCE_TYPE;
        const packages = args.packages ?? DEFAULT_IMAGE_PACKAGES;
        const rootVolumeSizeGb = args.rootVolumeSizeGb ?? DEFAULT_IMAGE_ROOT_VOLUME_GB;
        const version = args.version ?? DEFAULT_COMPONENT_VERSION;

        // ---- validation: before any child exists ----
        const seen = new Set<string>();
        args.hostFiles.forEach((file, i) => {
            if (file.secret === true) {
                throw new pulumi.ResourceError(`hostFiles[${i}] (${file.path}) is secret: private keys never go into an image (Secrets Manager delivers them at boot)`, this);
            }
            if (PRIVATE_KEY_PEM.test(file.content)) {
                throw new pulumi.ResourceError(`hostFiles[${i}] (${file.path}) contains a PEM private key but is not marked secret; it cannot go into an image`, this);
            }
            try {
                hostFile(file);
            } catch (error) {
                throw new pulumi.ResourceError(`hostFiles[${i}]: ${(error as Error).message}`, this);
            }
            if (seen.has(file.path)) {
                throw new pulumi.ResourceError(`hostFiles[${i}]: ${file.path} is listed twice`, this);
            }
            seen.add(file.path);
        });
        if (args.hostFiles.length === 0) {
            throw new pulumi.ResourceError("hostFiles must not be empty: an image without the rendered configuration is not golden", this);
        }
        const instanceCheck = checkInstanceType(instanceType);
        if (!instanceCheck.ok) {
            throw new pulumi.ResourceError(`instanceType: ${instanceCheck.reason}`, this);
        }
        if (!/^\d+\.\d+\.\d+$/.test(version)) {
            throw new pulumi.ResourceError(`version must be major.minor.patch, got "${version}"`, this);
        }
        const badPackage = packages.find((p) => !/^[a-z0-9][a-z0-9+.-]*$/.test(p));
        if (badPackage !== undefined) {
            throw new pulumi.ResourceError(`packages: "${badPackage}" is not a Debian package name`, this);
        }
        let documents: string[];
        try {
            documents = renderToeDocuments(args.hostFiles, {
                name: `apiproxy-${args.environment}-host-files`,
                description: `apiproxy ${args.environment}: packages and rendered host configuration`,
                packages,
            });
        } catch (error) {
            throw new pulumi.ResourceError(`hostFiles: ${(error as Error).message}`, this);
        }

        const parent = { parent: this };
        const tags = tierTags(args.environment, "proxy", args.tags);
        const region = aws.getRegionOutput({}, parent).region;
        const partition = aws.getPartitionOutput({}, parent).partition;
        const parentImage = args.parentImage ?? aws.ssm.getParameterOutput({ name: UBUNTU_2204_AMD64_AMI_PARAMETER }, parent).value;

        // ---- component(s) + recipe ----
        const components = documents.map((data, part) => new aws.imagebuilder.Component(
            documents.length === 1 ? `${name}-host-files` : `${name}-host-files-${part}`, {
                platform: "Linux",
                version,
                supportedOsVersions: SUPPORTED_OS_VERSIONS,
                description: `apiproxy ${args.environment}: host configuration${documents.length === 1 ? "" : ` (part ${part + 1} of ${documents.length})`}`,
                data,
                kmsKeyId: args.kmsKeyArn,
                tags,
            }, parent));
        const recipe = new aws.imagebuilder.ImageRecipe(`${name}-recipe`, {
            parentImage,
            version,
            components: components.map((c) => ({ componentArn: c.arn })),
            blockDeviceMappings: [{
                deviceName: UBUNTU_ROOT_DEVICE,
                ebs: {
                    encrypted: "true", // the provider types this flag as a string
                    kmsKeyId: args.kmsKeyArn,
                    volumeType: "gp3",
                    volumeSize: rootVolumeSizeGb,
                    deleteOnTermination: "true",
                },
            }],
            tags,
        }, parent);

        // ---- build infrastructure: private subnet, no inbound, IMDSv2 ----
        const buildSg = new aws.ec2.SecurityGroup(`${name}-build`, {
            vpcId: args.vpcId,
            description: "Image Builder build instance: no inbound; outbound to package mirrors and AWS APIs",
            tags,
        }, parent);
        for (const port of [80, 443]) {
            // Ubuntu mirrors serve signed (Release.gpg) packages over http; AWS APIs use https.
            new aws.vpc.SecurityGroupEgressRule(`${name}-build-out-${port}`, {
                securityGroupId: buildSg.id,
                description: port === 80 ? "apt mirrors (signed indexes) through NAT" : "AWS APIs, SSM and mirrors over https",
                ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: "0.0.0.0/0",
                tags,
            }, parent);
        }
        const role = new aws.iam.Role(`${name}-build-role`, {
            description: "Image Builder build instance",
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
            tags,
        }, parent);
        const managed = ["EC2InstanceProfileForImageBuilder", "AmazonSSMManagedInstanceCore"].map((policy) =>
            new aws.iam.RolePolicyAttachment(`${name}-build-${policy}`, {
                role: role.name,
                policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/${policy}`,
            }, parent));
        const profile = new aws.iam.InstanceProfile(`${name}-build-profile`, { role: role.name, tags }, { parent: this, dependsOn: managed });
        const infrastructure = new aws.imagebuilder.InfrastructureConfiguration(`${name}-infrastructure`, {
            description: `apiproxy ${args.environment}: golden image build`,
            instanceTypes: [instanceType],
            instanceProfileName: profile.name,
            subnetId: args.subnetId,
            securityGroupIds: [buildSg.id],
            instanceMetadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
            terminateInstanceOnFailure: true,
            resourceTags: tags,
            tags,
        }, parent);
        const distribution = new aws.imagebuilder.DistributionConfiguration(`${name}-distribution`, {
            description: `apiproxy ${args.environment}: private, encrypted AMI in this region`,
            distributions: [{
                region,
                amiDistributionConfiguration: {
                    name: `apiproxy-${args.environment}-${name}-{{ imagebuilder:buildDate }}`,
                    description: `apiproxy ${args.environment} golden image`,
                    kmsKeyId: args.kmsKeyArn,
                    amiTags: tags,
                },
            }],
            tags,
        }, parent);
        const pipelineArgs = {
            imageRecipeArn: recipe.arn,
            infrastructureConfigurationArn: infrastructure.arn,
            distributionConfigurationArn: distribution.arn,
            enhancedImageMetadataEnabled: true,
            imageTestsConfiguration: { imageTestsEnabled: true, timeoutMinutes: 60 },
            tags,
        };
        const pipeline = new aws.imagebuilder.ImagePipeline(`${name}-pipeline`, {
            ...pipelineArgs,
            description: `apiproxy ${args.environment}: golden image`,
            status: "ENABLED",
            ...(args.scheduleExpression === undefined ? {} : {
                schedule: { scheduleExpression: args.scheduleExpression, pipelineExecutionStartCondition: "EXPRESSION_MATCH_ONLY" },
            }),
        }, parent);
        const image = new aws.imagebuilder.Image(`${name}-image`, pipelineArgs, parent);

        this.amiId = image.outputResources.apply((resources) => {
            const ami = resources[0]?.amis[0]?.image;
            if (ami === undefined) {
                throw new Error(`GoldenImage ${name}: Image Builder reported no AMI`);
            }
            return ami;
        });
        this.imageArn = image.arn;
        this.pipelineArn = pipeline.arn;
        this.recipeArn = recipe.arn;
        this.componentArns = pulumi.all(components.map((c) => c.arn));
        this.registerOutputs({
            amiId: this.amiId, imageArn: this.imageArn, pipelineArn: this.pipelineArn,
            recipeArn: this.recipeArn, componentArns: this.componentArns,
        });
    }
}
