"""Powertools BatchProcessor for SQS; records whose body says ``hang`` block until interrupted,
and those with a ``stall_url`` call an SQS endpoint there that never answers.

After the batch, the handler cleans up (a short flush) and prints how much time it had left.
"""

import json
import time

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record):
    body = json.loads(record.body)
    if body.get("hang"):
        time.sleep(60)
    if body.get("stall_url"):
        import boto3

        sqs = boto3.client(
            "sqs",
            endpoint_url=body["stall_url"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        sqs.list_queues()
    return body["n"]


def handler(event, context):
    try:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    finally:
        time.sleep(0.02)  # cleanup: a flush, closing connections
        left = context.get_remaining_time_in_millis()
        print(json.dumps({"cleanup_done_ms_left": left}), flush=True)
