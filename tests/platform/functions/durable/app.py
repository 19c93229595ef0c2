"""A durable function (aws-durable-execution-sdk-python): one step that takes a while."""

import time

from aws_durable_execution_sdk_python import durable_execution


def work(seconds):
    time.sleep(seconds)  # the step's work: past the deadline when it hangs
    return "done"


@durable_execution
def handler(event, context):
    result = context.step(lambda _: work(event["step_seconds"]), name="work")
    return {"step": result}
