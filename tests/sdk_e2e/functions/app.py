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


def presign(event, context):
    """Presigned S3 and STS URLs next to a client with per-operation rules (sqs)."""
    session = boto3.session.Session()
    session.client("sqs", endpoint_url=event["endpoint"])
    s3 = session.client("s3", endpoint_url=event["endpoint"])
    sts = session.client("sts", endpoint_url=event["endpoint"])
    return {
        "get": s3.generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": "k"}),
        "post": s3.generate_presigned_post("bucket", "k")["fields"]["key"],
        "sts": sts.generate_presigned_url("get_caller_identity"),
    }
