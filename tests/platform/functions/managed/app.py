"""A function for Lambda Managed Instances: some invocations hang, the others answer at once."""

import os
import time

import boto3
from botocore.config import Config


def handler(event, context):
    what = event.get("do")
    if what == "hang":
        time.sleep(600)
    if what == "catch":  # a retry loop that swallows TimeoutError a few times, then gives up
        for attempt in range(event["times"]):
            try:
                time.sleep(600)
            except TimeoutError as error:
                print(f"caught {type(error).__name__} #{attempt + 1}", flush=True)
        return {"gave_up": True}
    if what == "sdk":  # a call to a server that accepts and never answers
        client = boto3.client(
            "sqs",
            endpoint_url=event["endpoint"],
            config=Config(read_timeout=300, retries={"total_max_attempts": 1}),
        )
        client.list_queues()
    return {"pid": os.getpid(), "left_ms": context.get_remaining_time_in_millis()}
