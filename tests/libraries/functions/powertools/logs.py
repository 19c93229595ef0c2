"""Powertools Logger with inject_lambda_context; SERVICE names the service (default payments)."""

import os
import time

from aws_lambda_powertools import Logger

logger = Logger(service=os.environ.get("SERVICE", "payments"))


@logger.inject_lambda_context
def handler(event, context):
    logger.info("order received", extra={"order_id": event["order_id"]})
    if event.get("sleep"):
        time.sleep(event["sleep"])
    logger.info("order done", extra={"order_id": event["order_id"]})
    return {"order_id": event["order_id"]}
