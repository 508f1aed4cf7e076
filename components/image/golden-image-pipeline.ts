/**
 * The golden image's scheduled rebuilds, published into the proxy launch templates: the pipeline
 * builds GoldenImage's recipe on its build infrastructure and distributes each AMI like the
 * stack's own build (private, CMK-encrypted) and, through `launchTemplateConfigurations`, as a
 * new version of every proxy launch template, made their default (Image Builder: "distribute an
 * AMI to a launch template"). Its AMIs are never orphaned:
 *   - each build is at once the default version of the templates the pairs launch from;
 *   - GoldenImage.amiId is the newest AMI of the recipe, so the stack's next `pulumi up` sets
 *     that AMI on the templates itself (the same AMI: nothing goes back to an older build), the
 *     groups take the new latest version, and their instance refresh rolls it one proxy at a time.
 * Between the build and that `up` the running instances keep the previous AMI: the stacks run
 * from CI, and the rollout stays a reviewed change, never one AWS starts on its own.
 *
 * A component of its own (not part of GoldenImage) because it needs the launch templates, which
 * are built from GoldenImage's AMI: one component would be a dependency cycle.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { tierTags } from "../network/tags";
import type { GoldenImage } from "./golden-image";

/** Image Builder's own tests run before an AMI is distributed; an hour bounds a hung test. */
export const DEFAULT_IMAGE_TESTS_TIMEOUT_MINUTES = 60;

export interface GoldenImagePipelineArgs {
    /** Environment name, tagged as `apiproxy:environment`. */
    readonly environment: string;
    /** The image whose recipe, build infrastructure and AMI settings (name, CMK, tags) the pipeline reuses. */
    readonly image: GoldenImage;
    /** The launch templates each build becomes the default version of (ProxyPair.launchTemplateIds). */
    readonly launchTemplateIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Rebuild schedule (cron), picking up OS patches; undefined = builds started by hand. Default: undefined. */
    readonly scheduleExpression?: string;
    /** Extra tags for every resource. */
    readonly tags?: Readonly<Record<string, string>>;
}

export class GoldenImagePipeline extends pulumi.ComponentResource {
    public readonly pipelineArn: pulumi.Output<string>;
    public readonly distributionConfigurationArn: pulumi.Output<string>;

    constructor(name: string, args: GoldenImagePipelineArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("apiproxy:image:GoldenImagePipeline", name, {}, opts);
        if (args.scheduleExpression !== undefined && !/^(cron|rate)\(.+\)$/.test(args.scheduleExpression)) {
            throw new pulumi.ResourceError(`scheduleExpression must be cron(...) or rate(...), got "${args.scheduleExpression}"`, this);
        }
        const parent = { parent: this };
        const tags = tierTags(args.environment, "proxy", args.tags);
        const region = aws.getRegionOutput({}, parent).region;

        const distribution = new aws.imagebuilder.DistributionConfiguration(`${name}-pipeline-distribution`, {
            description: `apiproxy ${args.environment}: the golden image, published into the proxy launch templates`,
            distributions: [{
                region,
                amiDistributionConfiguration: args.image.amiDistribution,
                launchTemplateConfigurations: pulumi.output(args.launchTemplateIds).apply((ids) =>
                    ids.map((launchTemplateId) => ({ launchTemplateId, default: true }))),
            }],
            tags,
        }, parent);
        const pipeline = new aws.imagebuilder.ImagePipeline(`${name}-pipeline`, {
            description: `apiproxy ${args.environment}: golden image`,
            imageRecipeArn: args.image.recipeArn,
            infrastructureConfigurationArn: args.image.infrastructureConfigurationArn,
            distributionConfigurationArn: distribution.arn,
            enhancedImageMetadataEnabled: true,
            imageTestsConfiguration: { imageTestsEnabled: true, timeoutMinutes: DEFAULT_IMAGE_TESTS_TIMEOUT_MINUTES },
            status: "ENABLED",
            ...(args.scheduleExpression === undefined ? {} : {
                schedule: { scheduleExpression: args.scheduleExpression, pipelineExecutionStartCondition: "EXPRESSION_MATCH_ONLY" },
            }),
            tags,
            // The pipeline was GoldenImage's child before it fed the launch templates: same resource.
        }, { parent: this, aliases: [{ parent: args.image }] });

        this.pipelineArn = pipeline.arn;
        this.distributionConfigurationArn = distribution.arn;
        this.registerOutputs({ pipelineArn: this.pipelineArn, distributionConfigurationArn: this.distributionConfigurationArn });
    }
}
