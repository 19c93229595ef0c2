"""Powertools idempotency on DynamoDB (table TABLE), with a charge that hangs on demand.

The charge hangs while the file named by the event's ``hang_while`` exists: the test removes it
before retrying the very same event.
"""

import os
import time

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
    idempotent_function,
)

persistence = DynamoDBPersistenceLayer(table_name=os.environ["TABLE"])
config = IdempotencyConfig(expires_after_seconds=3600)


def _charge(order):
    while os.path.exists(order["hang_while"]):
        time.sleep(0.05)
    return {"charged": order["order_id"], "pid": os.getpid()}


@idempotent(persistence_store=persistence, config=config)
def handler(event, context):
    """The whole handler is idempotent (the event is the key)."""
    return _charge(event)


@idempotent_function(data_keyword_argument="order", persistence_store=persistence, config=config)
def charge(order):
    return _charge(order)


def function_handler(event, context):
    """One function inside the handler is idempotent (its ``order`` argument is the key)."""
    return charge(order=event)
