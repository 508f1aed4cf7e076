/**
 * The golden AMI: EC2 Image Builder bakes the rendered, non-secret HostFiles and the packages
 * into an encrypted AMI, validated offline (nft/sysctl/sshd syntax, modes and owners). Hosts
 * then boot from it; secrets arrive at boot from Secrets Manager, never through the image.
 *
 * The stack builds the recipe once (`aws.imagebuilder.Image`, waited for by `pulumi up`); the
 * scheduled rebuilds that pick up OS patches are GoldenImagePipeline's, from the same recipe and
 * build infrastructure. Both produce AMIs of one family: Image Builder tags each AMI with
 * `Ec2ImageBuilderArn` = `arn:...:image/<recipe>/<version>/<build>` (Image Builder User Guide,
 * "Tag Image Builder output resources"). `amiId` is the newest AMI of that family, so the proxy
 * launch templates always carry the latest build, the stack's or the pipeline's, and a stack
 * update never goes back to an older one.
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
    /** Extra tags for every resource. */
    readonly tags?: Readonly<Record<string, string>>;
}

/** The AMI settings every build of the recipe distributes with: private, CMK-encrypted, tagged. */
export function amiDistribution(
    environment: string, name: string, kmsKeyArn: pulumi.Input<string>, tags: Readonly<Record<string, string>>,
): aws.types.input.imagebuilder.DistributionConfigurationDistributionAmiDistributionConfiguration {
    return {
        name: `apiproxy-${environment}-${name}-{{ imagebuilder:buildDate }}`,
        description: `apiproxy ${environment} golden image`,
        kmsKeyId: kmsKeyArn,
        amiTags: { ...tags },
    };
}

/** The AWSTOE component documents of the image (what Image Builder runs on the build instance). */
export function goldenImageDocuments(environment: string, hostFiles: readonly HostFile[], packages: readonly string[] = DEFAULT_IMAGE_PACKAGES): string[] {
    return renderToeDocuments(hostFiles, {
        name: `apiproxy-${environment}-host-files`,
        description: `apiproxy ${environment}: packages and rendered host configuration`,
        packages,
    });
}

/** The `Ec2ImageBuilderArn` tag value of every build of a recipe version (EC2 filter wildcard). */
export function imageFamilyPattern(recipeArn: string): string {
    return `${recipeArn.replace(":image-recipe/", ":image/")}/*`;
}

export class GoldenImage extends pulumi.ComponentResource {
    /** The newest AMI of the recipe (this stack's build or a pipeline build), for ProxyPair.amiId. */
    public readonly amiId: pulumi.Output<string>;
    /** The stack's own build of the recipe. */
    public readonly imageArn: pulumi.Output<string>;
    public readonly recipeArn: pulumi.Output<string>;
    /** The build infrastructure (private subnet, no inbound, IMDSv2), for GoldenImagePipeline. */
    public readonly infrastructureConfigurationArn: pulumi.Output<string>;
    /** How every build of the recipe is distributed (name, KMS key, tags), for GoldenImagePipeline. */
    public readonly amiDistribution: aws.types.input.imagebuilder.DistributionConfigurationDistributionAmiDistributionConfiguration;
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
            documents = goldenImageDocuments(args.environment, args.hostFiles, packages);
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
        this.amiDistribution = amiDistribution(args.environment, name, args.kmsKeyArn, tags);
        const distribution = new aws.imagebuilder.DistributionConfiguration(`${name}-distribution`, {
            description: `apiproxy ${args.environment}: private, encrypted AMI in this region`,
            distributions: [{ region, amiDistributionConfiguration: this.amiDistribution }],
            tags,
        }, parent);
        const image = new aws.imagebuilder.Image(`${name}-image`, {
            imageRecipeArn: recipe.arn,
            infrastructureConfigurationArn: infrastructure.arn,
            distributionConfigurationArn: distribution.arn,
            enhancedImageMetadataEnabled: true,
            imageTestsConfiguration: { imageTestsEnabled: true, timeoutMinutes: 60 },
            tags,
        }, parent);

        // Asked once this build exists (its arn is an input), so the family is never empty.
        const newest = aws.ec2.getAmiOutput({
            owners: ["self"],
            mostRecent: true,
            filters: [{ name: "tag:Ec2ImageBuilderArn", values: [pulumi.all([recipe.arn, image.arn]).apply(([recipeArn]) => imageFamilyPattern(recipeArn))] }],
        }, parent);
        this.amiId = pulumi.all([newest.id, image.outputResources]).apply(([ami, resources]) => {
            const built = resources[0]?.amis[0]?.image;
            if (built === undefined) {
                throw new Error(`GoldenImage ${name}: Image Builder reported no AMI`);
            }
            return ami;
        });
        this.imageArn = image.arn;
        this.recipeArn = recipe.arn;
        this.infrastructureConfigurationArn = infrastructure.arn;
        this.componentArns = pulumi.all(components.map((c) => c.arn));
        this.registerOutputs({
            amiId: this.amiId, imageArn: this.imageArn, recipeArn: this.recipeArn,
            infrastructureConfigurationArn: this.infrastructureConfigurationArn, componentArns: this.componentArns,
        });
    }
}
