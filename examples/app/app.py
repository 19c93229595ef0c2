"""The example function of template.yaml: no code change is needed for Timeout Guard.

Event ``{"sleep": 12}`` sleeps (with a 10 s function timeout the layer ends it a margin
before the deadline); ``{"record": "text"}`` puts one Firehose record into the stream named by
``DELIVERY_STREAM_NAME`` (a hung endpoint now costs seconds, not minutes).
"""

import json
import os
import time

import boto3

firehose = boto3.client("firehose")


def handler(event, context):
    event = event or {}
    if "record" in event:
        data = json.dumps(event["record"]).encode() + b"\n"
        response = firehose.put_record(
            DeliveryStreamName=os.environ["DELIVERY_STREAM_NAME"], Record={"Data": data}
        )
        return {
            "record_id": response["RecordId"],
            "retry_attempts": response["ResponseMetadata"]["RetryAttempts"],
        }
    seconds = float(event.get("sleep", 0))
    try:
        time.sleep(seconds)
    finally:
        print(f"finally ran, {context.get_remaining_time_in_millis()} ms left")
    return {"slept": seconds}
