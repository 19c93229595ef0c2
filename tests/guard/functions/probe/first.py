"""Reports, at the very first invocation, whether botocore was imported by anyone."""

import sys


def handler(event, context):
    return {"botocore": "botocore" in sys.modules, "boto3": "boto3" in sys.modules}
