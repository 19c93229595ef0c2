"""A function that imports boto3 at init, as most do (the layer's botocore patch loads then)."""

import boto3  # noqa: F401


def handler(event, context):
    return {"ok": True}
