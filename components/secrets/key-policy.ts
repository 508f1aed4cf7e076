/**
 * KMS key policies for the tier's customer-managed keys (pure: data in, policy document out).
 */

export interface KeyPolicyContext {
    readonly partition: string;
    readonly region: string;
    readonly accountId: string;
}

/**
 * The account keeps administration through IAM (the AWS default key policy statement, so a
 * key can never become unmanageable); CloudWatch Logs may use the key only for log groups of
 * this account and region (AWS: "Encrypt log data in CloudWatch Logs using AWS KMS").
 */
export function keyPolicy(context: KeyPolicyContext, options: { readonly allowCloudWatchLogs: boolean }): object {
    const { partition, region, accountId } = context;
    const statements: object[] = [{
        Sid: "AccountAdministersKeyThroughIam",
        Effect: "Allow",
        Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
        Action: "kms:*",
        Resource: "*",
    }];
    if (options.allowCloudWatchLogs) {
        statements.push({
            Sid: "CloudWatchLogsEncryptsThisAccountsLogGroups",
            Effect: "Allow",
            Principal: { Service: `logs.${region}.amazonaws.com` },
            Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            Resource: "*",
            Condition: {
                ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:${partition}:logs:${region}:${accountId}:log-group:*` },
            },
        });
    }
    return { Version: "2012-10-17", Statement: statements };
}
