"""aws-xray-sdk with patch_all(): one DynamoDB call per invocation, traced as subsegments."""

import time

from aws_xray_sdk.core import patch_all

patch_all()

import boto3  # noqa: E402


def handler(event, context):
    client = boto3.client("dynamodb", endpoint_url=event["endpoint"])
    started = time.monotonic()
    response = client.list_tables()
    config = client.meta.config
    return {
        "client": {
            "connect_timeout": config.connect_timeout,
            "read_timeout": config.read_timeout,
            "retries": config.retries,
        },
        "seconds": time.monotonic() - started,
        "retry_attempts": response["ResponseMetadata"]["RetryAttempts"],
    }
