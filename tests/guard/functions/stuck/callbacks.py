"""TIMEOUT_GUARD_ON_TIMEOUT callbacks used by the tests."""

import json


def record(event, context):
    with open(event["callback_marker"], "w") as f:
        json.dump({"request_id": context.aws_request_id, "event_marker": event["marker"]}, f)


def broken(event, context):
    raise RuntimeError("callback bug")
