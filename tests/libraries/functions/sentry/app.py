"""sentry-sdk with its AWS Lambda integration, timeout warning on; the handler hangs on demand."""

import os
import time

import sentry_sdk
from sentry_sdk.integrations.aws_lambda import AwsLambdaIntegration

sentry_sdk.init(
    dsn=os.environ["SENTRY_DSN"],
    integrations=[AwsLambdaIntegration(timeout_warning=True)],
)


def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"ok": True}
