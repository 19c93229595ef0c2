"""The SDK promise end to end: a function in the local Lambda runtime, with and without the layer,
calling Firehose (moto in server mode) through a connection that stalls.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from conftest import mode_params
from locallambda import provision
from locallambda.provision import OLDEST_SDK_REQUIREMENTS
from loopback import MotoServer, StallFirst

FUNCTION = Path(__file__).resolve().parent / "functions"
OLDEST_RUNTIME = OLDEST_SDK_REQUIREMENTS
STREAM = "events"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        options = server.client_options()
        boto3.client("s3", **options).create_bucket(Bucket="bucket")
        firehose = boto3.client("firehose", **options)
        firehose.create_delivery_stream(
            DeliveryStreamName=STREAM,
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::123456789012:role/firehose",
                "BucketARN": "arn:aws:s3:::bucket",
            },
        )
        yield server


def _function(make_lambda, layer_opt, python, with_layer: bool, timeout: float = 10.0):
    wrapper = str(layer_opt / "timeout-guard") if with_layer else None
    return make_lambda(
        FUNCTION,
        "app.put_record",
        python=python,
        opt_dir=layer_opt,
        exec_wrapper=wrapper,
        timeout=timeout,
    )


@pytest.mark.parametrize("version", mode_params())
def test_stalled_first_connection_recovers_with_one_retry(make_lambda, layer_opt, moto, version):
    fn = _function(make_lambda, layer_opt, version, with_layer=True)
    with StallFirst(moto.endpoint_url) as stall:
        result = fn.invoke({"endpoint": stall.endpoint_url, "stream": STREAM})
    assert result.status == "success", result.logs
    assert result.payload["retry_attempts"] == 1
    assert 5.0 <= result.payload["seconds"] < 2 * 5.0  # one 5 s read timeout, then the retry
    assert (result.payload["connect_timeout"], result.payload["read_timeout"]) == (2, 5)
    records = [line for line in result.logs.splitlines() if "AWS SDK:" in line]
    assert len(records) == 1, result.logs
    assert "1 calls, 1 retries, 1 timeouts; slowest firehose.PutRecord" in records[0]


def test_without_the_layer_the_stall_eats_the_whole_timeout(make_lambda, layer_opt, moto):
    """botocore alone waits 60 s on the stalled read: Lambda kills the function first."""
    fn = _function(make_lambda, layer_opt, "3.11", with_layer=False, timeout=7.0)
    with StallFirst(moto.endpoint_url) as stall:
        result = fn.invoke({"endpoint": stall.endpoint_url, "stream": STREAM})
    assert result.status == "timeout"


def test_no_sdk_record_when_all_went_well(make_lambda, layer_opt, moto):
    fn = _function(make_lambda, layer_opt, "3.11", with_layer=True)
    result = fn.invoke({"endpoint": moto.endpoint_url, "stream": STREAM})
    assert result.status == "success", result.logs
    assert result.payload["retry_attempts"] == 0
    assert "AWS SDK:" not in result.logs and "timeout_guard" not in result.logs


def test_oldest_supported_botocore_in_the_runtime(make_lambda, layer_opt, moto):
    """python3.10 with the SDK it shipped with: the layer's old-botocore code path."""
    try:
        runtime = provision("3.10", requirements=OLDEST_RUNTIME, flavour="oldest-sdk")
    except LookupError:
        pytest.skip("no Python 3.10 interpreter on this machine")
    fn = _function(make_lambda, layer_opt, runtime, with_layer=True)
    with StallFirst(moto.endpoint_url) as stall:
        result = fn.invoke({"endpoint": stall.endpoint_url, "stream": STREAM})
    assert result.status == "success", result.logs
    assert result.payload["botocore"] == "1.29.90"
    assert result.payload["retry_attempts"] == 1
    assert 5.0 <= result.payload["seconds"] < 2 * 5.0  # old standard mode backs off up to 1 s


@pytest.mark.parametrize("action", ["raise", "log"])
def test_cleanup_and_callbacks_can_still_call_aws_after_the_guard_fired(
    make_lambda, layer_opt, moto, tmp_path, action
):
    """After the hook fired, SDK attempts may run until the next step (not refused)."""
    fn = make_lambda(
        FUNCTION,
        "app.put_after_timeout",
        opt_dir=layer_opt,
        exec_wrapper=str(layer_opt / "timeout-guard"),
        timeout=2.0,
        env={
            "TIMEOUT_GUARD_MARGIN_MS": "1000",
            "TIMEOUT_GUARD_ACTION": action,
            "TIMEOUT_GUARD_ON_TIMEOUT": "app:callback_puts",
        },
    )
    event = {
        "endpoint": moto.endpoint_url,
        "stream": STREAM,
        "marker": str(tmp_path / "finally.json"),
        "callback_marker": str(tmp_path / "callback.json"),
    }
    result = fn.invoke(event)
    assert json.loads((tmp_path / "callback.json").read_text()) == {"callback_status": 200}
    if action == "raise":
        assert result.error_type == "LambdaTimeoutError", result.logs
        assert json.loads((tmp_path / "finally.json").read_text()) == {"finally_status": 200}
    else:
        assert result.status == "timeout"  # log only: Lambda kills it as usual


@pytest.mark.parametrize("version", mode_params())
def test_presigning_in_a_function_with_the_layer(make_lambda, layer_opt, moto, version):
    """Presigned URLs made inside an invocation, next to an sqs client (issue: TypeError)."""
    fn = make_lambda(
        FUNCTION,
        "app.presign",
        python=version,
        opt_dir=layer_opt,
        exec_wrapper=str(layer_opt / "timeout-guard"),
        timeout=10.0,
    )
    result = fn.invoke({"endpoint": moto.endpoint_url})
    assert result.status == "success", result.logs
    assert "/bucket/k?" in result.payload["get"] and result.payload["post"] == "k"
    assert "Action=GetCallerIdentity" in result.payload["sts"]
    assert "timeout_guard" not in result.logs
