"""Reports what the function observes of its start-up, its AWS SDK clients, and can hang."""

import os
import sys
import time

VOLATILE = ("AWS_LAMBDA_RUNTIME_API", "_X_AMZN_TRACE_ID")  # differ per run or per invocation


def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    import boto3

    config = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9").meta.config
    started = sys.modules.get("sitecustomize")
    return {
        "environ": {k: v for k, v in os.environ.items() if k not in VOLATILE},
        "sys_path": sys.path,
        "sitecustomize": getattr(started, "OWNER", None),
        "sitecustomize_ran_here": getattr(started, "RAN_IN_PID", None) == os.getpid(),
        "guard_active": "timeout_guard" in sys.modules,
        "client": {
            "connect_timeout": config.connect_timeout,
            "read_timeout": config.read_timeout,
            "retries": config.retries,
        },
    }
