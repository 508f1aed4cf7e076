/**
 * The tier's TLS material in Secrets Manager, encrypted with a dedicated customer-managed key.
 * Instances fetch it at boot through their role (components/compute/proxy-pair.ts); nothing
 * secret ever travels in user data or in the golden image.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { tierTags } from "../network/tags";
import { keyPolicy } from "./key-policy";

/** 30 days is the longest window AWS allows: the most time to notice an unwanted deletion. */
export const DEFAULT_SECRET_RECOVERY_WINDOW_DAYS = 30;
/** KMS's maximum pending-deletion window, for the same reason (AWS allows 7-30). */
export const KMS_DELETION_WINDOW_DAYS = 30;

export interface TlsSecretsArgs {
    /** Environment name, tagged as `apiproxy:environment`. */
    readonly environment: string;
    /** PEM server certificate followed by its intermediates. */
    readonly serverCertificateChain: pulumi.Input<string>;
    /** PEM server private key; stored as a Pulumi secret whether or not it arrives as one. */
    readonly serverPrivateKey: pulumi.Input<string>;
    /** PEM CA bundle that mTLS client certificates are verified against. */
    readonly clientCaBundle: pulumi.Input<string>;
    /** Days a deleted secret stays recoverable (0 = immediate, 7-30). Default: 30 (DEFAULT_SECRET_RECOVERY_WINDOW_DAYS). */
    readonly recoveryWindowInDays?: number;
    /** Extra tags for every resource. */
    readonly tags?: Readonly<Record<string, string>>;
}

/** The secrets this component stores, by name. */
export interface TlsSecretArns {
    readonly serverCertificateChain: pulumi.Output<string>;
    readonly serverPrivateKey: pulumi.Output<string>;
    readonly clientCaBundle: pulumi.Output<string>;
}

export class TlsSecrets extends pulumi.ComponentResource {
    /** Secret ARNs by name. */
    public readonly secretArns: TlsSecretArns;
    /** The same ARNs as a list, for IAM policies. */
    public readonly secretArnList: pulumi.Output<string[]>;
    /** ARN of the customer-managed key encrypting the secrets. */
    public readonly kmsKeyArn: pulumi.Output<string>;

    constructor(name: string, args: TlsSecretsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("apiproxy:secrets:TlsSecrets", name, {}, opts);
        const recoveryWindowInDays = args.recoveryWindowInDays ?? DEFAULT_SECRET_RECOVERY_WINDOW_DAYS;
        if (recoveryWindowInDays !== 0 && (recoveryWindowInDays < 7 || recoveryWindowInDays > 30)) {
            throw new pulumi.ResourceError(`recoveryWindowInDays must be 0 or 7-30, got ${recoveryWindowInDays}`, this);
        }
        const tags = tierTags(args.environment, "proxy", args.tags);
        const parent = { parent: this };

        const identity = aws.getCallerIdentityOutput({}, parent);
        const region = aws.getRegionOutput({}, parent);
        const partition = aws.getPartitionOutput({}, parent);
        const policy = pulumi.all([identity.accountId, region.region, partition.partition])
            .apply(([accountId, regionName, partitionName]) => JSON.stringify(
                keyPolicy({ accountId, region: regionName, partition: partitionName }, { allowCloudWatchLogs: true })));

        // One key for the tier's TLS material and its log group; rotation on (NIST SP 800-57 cryptoperiods).
        const key = new aws.kms.Key(`${name}-key`, {
            description: `apiproxy ${args.environment}: TLS secrets and proxy logs`,
            enableKeyRotation: true,
            deletionWindowInDays: KMS_DELETION_WINDOW_DAYS,
            policy,
            tags,
        }, parent);
        new aws.kms.Alias(`${name}-key-alias`, {
            name: `alias/apiproxy-${args.environment}-${name}`,
            targetKeyId: key.keyId,
        }, parent);

        const store = (suffix: string, description: string, value: pulumi.Input<string>): pulumi.Output<string> => {
            const secret = new aws.secretsmanager.Secret(`${name}-${suffix}`, {
                description: `apiproxy ${args.environment}: ${description}`,
                kmsKeyId: key.arn,
                recoveryWindowInDays,
                tags,
            }, parent);
            new aws.secretsmanager.SecretVersion(`${name}-${suffix}`, {
                secretId: secret.id,
                secretString: pulumi.secret(value),
            }, parent);
            return secret.arn;
        };

        this.secretArns = {
            serverCertificateChain: store("server-chain", "server certificate chain (PEM)", args.serverCertificateChain),
            serverPrivateKey: store("server-key", "server private key (PEM)", args.serverPrivateKey),
            clientCaBundle: store("client-ca", "mTLS client CA bundle (PEM)", args.clientCaBundle),
        };
        this.secretArnList = pulumi.all([
            this.secretArns.serverCertificateChain, this.secretArns.serverPrivateKey, this.secretArns.clientCaBundle,
        ]);
        this.kmsKeyArn = key.arn;
        this.registerOutputs({ secretArns: this.secretArns, secretArnList: this.secretArnList, kmsKeyArn: this.kmsKeyArn });
    }
}
