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


def put_after_timeout(event, context):
    """Stuck until the guard fires; cleanup (``finally``) then still writes to Firehose."""
    import json

    client = boto3.client("firehose", endpoint_url=event["endpoint"])
    try:
        time.sleep(60)
    finally:
        response = client.put_record(DeliveryStreamName=event["stream"], Record={"Data": b"y"})
        with open(event["marker"], "w") as f:
            json.dump({"finally_status": response["ResponseMetadata"]["HTTPStatusCode"]}, f)


def callback_puts(event, context):
    """A TIMEOUT_GUARD_ON_TIMEOUT callback that writes to Firehose (after the guard fired)."""
    import json

    client = boto3.client("firehose", endpoint_url=event["endpoint"])
    response = client.put_record(DeliveryStreamName=event["stream"], Record={"Data": b"z"})
    with open(event["callback_marker"], "w") as f:
        json.dump({"callback_status": response["ResponseMetadata"]["HTTPStatusCode"]}, f)
