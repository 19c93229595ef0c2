"""Presigning works with the layer exactly as without it.

A presign request's context has no ``client_config``; the session-wide handler once looked it
up in a weak map and raised ``TypeError`` as soon as a client with per-operation read timeouts
(sqs, lambda, s3 ...) existed in the session. The URLs made here are used for real against moto.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from .helpers import REGION, in_invocation

PROBE = Path(__file__).resolve().parent / "presign_probe.py"
LAYER = Path(__file__).resolve().parents[2] / "layer"

# Other clients created first: sqs and lambda have per-operation rules (the session handler
# gets registered), kms has none.
NEIGHBOURS = [(), ("sqs",), ("lambda", "sqs", "kms")]


def _session(moto: Any, neighbours: tuple[str, ...]) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    for name in neighbours:
        session.client(name, endpoint_url=moto.endpoint_url)
    return session


def _http(method: str, url: str, data: bytes | None = None, headers: Any = None) -> Any:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


def _multipart(fields: dict[str, str], content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("inside", [False, True], ids=["outside", "inside-invocation"])
@pytest.mark.parametrize("neighbours", NEIGHBOURS, ids=lambda n: "+".join(n) or "alone")
def test_s3_presigned_url_and_post(moto: Any, neighbours: tuple[str, ...], inside: bool) -> None:
    session = _session(moto, neighbours)
    s3 = session.client("s3", endpoint_url=moto.endpoint_url)
    bucket = f"presign-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    with in_invocation(30) if inside else contextlib.nullcontext():
        put_url = s3.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": "a"}, ExpiresIn=300
        )
        get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a"})
        post = s3.generate_presigned_post(bucket, "b")
    assert _http("PUT", put_url, b"hello", {"Content-Type": "application/octet-stream"})[0] == 200
    assert _http("GET", get_url) == (200, b"hello")
    body, content_type = _multipart(post["fields"], b"posted")
    assert _http("POST", post["url"], body, {"Content-Type": content_type})[0] in (200, 204)
    assert s3.get_object(Bucket=bucket, Key="b")["Body"].read() == b"posted"


@pytest.mark.parametrize("inside", [False, True], ids=["outside", "inside-invocation"])
@pytest.mark.parametrize("neighbours", NEIGHBOURS, ids=lambda n: "+".join(n) or "alone")
def test_sts_presigned_get_caller_identity(
    moto: Any, neighbours: tuple[str, ...], inside: bool
) -> None:
    """The EKS token recipe: a presigned sts GetCallerIdentity URL (SigV4 in the query).

    moto's server cannot route a query-signed GET to sts, so the URL is checked here and
    compared with the one made without the layer below.
    """
    session = _session(moto, neighbours)
    sts = session.client("sts", endpoint_url=moto.endpoint_url)
    with in_invocation(30) if inside else contextlib.nullcontext():
        url = sts.generate_presigned_url(
            "get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET"
        )
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["Action"] == "GetCallerIdentity"
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256" and query["X-Amz-Expires"] == "60"
    assert len(query["X-Amz-Signature"]) == 64


# Parts of a presigned URL or POST that depend on the clock (and so differ between two runs).
TIME_DEPENDENT = {
    "x-amz-date",
    "x-amz-signature",
    "x-amz-credential",
    "signature",
    "expires",
    "policy",
}


def _without_time(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("http"):
        parts = urllib.parse.urlsplit(value)
        query = sorted(
            (k, v)
            for k, v in urllib.parse.parse_qsl(parts.query)
            if k.lower() not in TIME_DEPENDENT
        )
        return [parts.scheme, parts.netloc, parts.path, query]
    if isinstance(value, dict):
        return {k: _without_time(v) for k, v in value.items() if k.lower() not in TIME_DEPENDENT}
    if isinstance(value, list):
        return [_without_time(v) for v in value]
    return value


def _probe(layer: bool) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEOUT_GUARD_")}
    env["PYTHONPATH"] = str(LAYER)
    command = [sys.executable, str(PROBE)] + (["--layer"] if layer else [])
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_presigned_output_is_the_same_with_and_without_the_layer() -> None:
    """Same URLs and POST fields (but for the clock) in a process with and without the layer."""
    plain, patched = _probe(layer=False), _probe(layer=True)
    assert patched.pop("layer_active") is True and plain.pop("layer_active") is False
    assert _without_time(patched) == _without_time(plain)
    assert set(patched) == {"s3_get", "s3_put", "s3_post", "sts"}
