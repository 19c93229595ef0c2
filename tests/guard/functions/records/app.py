"""Functions for the record tests: a deep stack, many SDK calls, and data that must never be
logged (every secret arrives through the event, the environment or AWS: none is in this file,
so a source line in a stack cannot carry one)."""

import os
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def deep(event, context):
    """Recurses ``depth`` frames, then waits there for the guard."""

    def dive(n):
        if n == 0:
            time.sleep(60)
            return 0
        return dive(n - 1) + 1

    return dive(event["depth"])


def many_calls(event, context):
    """``calls`` SQS calls; the first goes through a stalled connection (one retry)."""
    stalled = boto3.client("sqs", endpoint_url=event["stall"])
    stalled.send_message(QueueUrl=event["queue"], MessageBody="x")
    direct = boto3.client("sqs", endpoint_url=event["moto"])
    for _ in range(event["calls"] - 1):
        direct.send_message(QueueUrl=event["queue"], MessageBody="y")
    return "done"


def _clients(endpoint):
    path_style = Config(s3={"addressing_style": "path"})
    return (
        boto3.client("sqs", endpoint_url=endpoint),
        boto3.client("s3", endpoint_url=endpoint, config=path_style),
    )


def with_secrets(event, context):
    """SDK calls carrying secrets (one retried: the SDK record), exceptions carrying secrets
    (caught), a stuck wait the guard ends (the guard's record; its callback fails with a
    secret), and a secret returned."""
    if event["step"] == "sdk":
        sqs, s3 = _clients(event["stall"])  # the first connection stalls: a retry
        sqs.send_message(QueueUrl=event["queue"], MessageBody=event["sqs_request"])
        s3.put_object(Bucket=event["bucket"], Key="k", Body=event["s3_request"].encode())
        received = sqs.receive_message(QueueUrl=event["queue"], MaxNumberOfMessages=10)
        assert received["Messages"]
        body = s3.get_object(Bucket=event["bucket"], Key="planted")["Body"].read()
        assert body
        try:
            s3.get_object(Bucket=event["bucket"], Key=event["missing_key"])
        except ClientError:
            pass
        try:
            raise ValueError(os.environ["APP_ERROR_TEXT"])
        except ValueError:
            pass
    else:
        try:
            time.sleep(60)
        except TimeoutError:
            pass
    return {"value": event["return_value"]}


def callback_fails(event, context):
    """A TIMEOUT_GUARD_ON_TIMEOUT callback whose error message is a secret."""
    raise RuntimeError(event["callback_error"])
