"""A function that writes to Firehose and reports how the call went."""

import time

import boto3
import botocore


def put_record(event, context):
    client = boto3.client("firehose", endpoint_url=event["endpoint"])
    started = time.monotonic()
    response = client.put_record(DeliveryStreamName=event["stream"], Record={"Data": b"x"})
    return {
        "seconds": time.monotonic() - started,
        "retry_attempts": response["ResponseMetadata"]["RetryAttempts"],
        "botocore": botocore.__version__,
        "connect_timeout": client.meta.config.connect_timeout,
        "read_timeout": client.meta.config.read_timeout,
    }
