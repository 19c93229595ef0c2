"""Print presigned URLs and POST fields as JSON; ``--layer``: with the layer started first.

Run as a script by test_presign.py, once with and once without the layer, so the two outputs
can be compared. The layer is started as its bootstrap starts it: post-import hooks installed
before botocore is imported. Nothing is sent anywhere.
"""

from __future__ import annotations

import json
import os
import sys

if "--layer" in sys.argv:
    from timeout_guard import _startup

    _startup.start()

for name, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}.items():
    os.environ[name] = value

import boto3  # noqa: E402
import botocore.session  # noqa: E402

session = boto3.session.Session()
session.client("sqs", endpoint_url="http://127.0.0.1:9")  # a client with per-operation rules
s3 = session.client("s3", endpoint_url="http://127.0.0.1:9")
sts = session.client("sts", endpoint_url="http://127.0.0.1:9")
output = {
    "layer_active": bool(
        getattr(botocore.session.Session.create_client, "__timeout_guard_wrapper__", False)
    ),
    "s3_get": s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"}),
    "s3_put": s3.generate_presigned_url(
        "put_object", Params={"Bucket": "b", "Key": "k", "ContentType": "text/plain"}
    ),
    "s3_post": s3.generate_presigned_post("b", "k", Fields={"acl": "private"}),
    "sts": sts.generate_presigned_url("get_caller_identity", HttpMethod="GET"),
}
print(json.dumps(output))
