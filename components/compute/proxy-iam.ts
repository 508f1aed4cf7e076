/**
 * Least-privilege IAM documents for the proxy instances (pure: values in, JSON-able out).
 */

/** AWS-managed policy for Session Manager and SSM agent, the only way onto an instance. */
export const SSM_CORE_POLICY = "AmazonSSMManagedInstanceCore";

export function ec2AssumeRolePolicy(): object {
    return {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    };
}

export interface ProxyPolicyInput {
    readonly region: string;
    /** Exactly the TLS secrets the proxy reads at boot. */
    readonly secretArns: readonly string[];
    /** The CMK encrypting those secrets. */
    readonly kmsKeyArn: string;
    /** The tier's log group (without the trailing ":*"). */
    readonly logGroupArn: string;
}

/**
 * Read the tier's TLS secrets, decrypt them only through Secrets Manager, write to the tier's
 * log group; nothing else (CIS AWS Foundations 1.16: no wildcard admin; AWS IAM best practice:
 * least privilege).
 */
export function proxyInstancePolicy(input: ProxyPolicyInput): object {
    const statements: object[] = [];
    if (input.secretArns.length > 0) {
        statements.push({
            Sid: "ReadTierTlsSecrets",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: [...input.secretArns],
        });
    }
    statements.push(
        {
            Sid: "DecryptTierKeyOnlyThroughSecretsManager",
            Effect: "Allow",
            Action: "kms:Decrypt",
            Resource: input.kmsKeyArn,
            Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${input.region}.amazonaws.com` } },
        },
        {
            Sid: "WriteTierLogGroup",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: [input.logGroupArn, `${input.logGroupArn}:log-stream:*`],
        },
    );
    return { Version: "2012-10-17", Statement: statements };
}
