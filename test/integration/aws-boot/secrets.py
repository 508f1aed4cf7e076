"""The boot test's side of Secrets Manager: creates and rotates the tier's TLS secrets in the
emulator (moto), through boto3 and the same endpoint the instances use.

    secrets.py ENDPOINT_URL CA_BUNDLE create NAME FILE   -> prints the secret's ARN
    secrets.py ENDPOINT_URL CA_BUNDLE put ARN FILE       -> a new version (rotation)
"""
import sys

import boto3


def main() -> None:
    endpoint, ca_bundle, action, secret, path = sys.argv[1:6]
    client = boto3.client(
        "secretsmanager", region_name="us-east-1", endpoint_url=endpoint, verify=ca_bundle,
        aws_access_key_id="boot-test", aws_secret_access_key="boot-test",
    )
    with open(path, encoding="utf-8") as handle:
        value = handle.read()
    if action == "create":
        print(client.create_secret(Name=secret, SecretString=value)["ARN"])
    elif action == "put":
        print(client.put_secret_value(SecretId=secret, SecretString=value)["VersionId"])
    else:
        raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    main()
