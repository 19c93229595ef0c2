"""The layer's log records are bounded and clean, end to end in the local runtime.

Bounded: the guard's ERROR record has the same size whatever the stack depth (the handler's
entry frame, the 20 innermost frames, the middle elided with a count; at most
``records.MAX_RECORD_CHARS`` of message), and the SDK accounting record whatever the number of
calls. Clean: at every ``TIMEOUT_GUARD_LOG_LEVEL``, nothing the function's runtime printed
contains the event, the response, request or response bodies, environment values, credentials
or exception messages.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from conftest import mode_params
from loopback import MotoServer, StallFirst

FUNCTION = Path(__file__).resolve().parent / "functions" / "records"
LAYER_PACKAGE = Path(__file__).resolve().parents[2] / "layer"
ENTRY_AND_INNERMOST = 21


def _max_record_chars() -> int:
    """The bound the layer states (read from its source: the tests do not import the layer)."""
    for line in (LAYER_PACKAGE / "timeout_guard" / "records.py").read_text().splitlines():
        if line.startswith("MAX_RECORD_CHARS ="):
            return eval(line.split("=", 1)[1].split("#")[0])  # noqa: S307 - "12 * 1024"
    raise AssertionError("records.py states no MAX_RECORD_CHARS")


def _json_records(result) -> list[dict]:
    return [
        json.loads(line)
        for line in result.stdout.splitlines()
        if line.startswith("{") and '"timeout_guard"' in line
    ]


@pytest.mark.parametrize("version", mode_params())
@pytest.mark.parametrize("depth", [900, 980])
def test_deep_stack_record_is_bounded(make_lambda, layer_opt, wrapper, version, depth) -> None:
    """900 frames deep (and 980, close to the default recursion limit of 1000): the error is
    reported, and the record keeps the entry frame and the innermost frames, not the middle."""
    fn = make_lambda(
        FUNCTION,
        "app.deep",
        python=version,
        opt_dir=layer_opt,
        exec_wrapper=wrapper,
        env={"TIMEOUT_GUARD_MARGIN_MS": "500", "AWS_LAMBDA_LOG_FORMAT": "JSON"},
        timeout=2.0,
    )
    result = fn.invoke({"depth": depth})
    assert result.status == "error", result.logs
    assert result.error_type == "LambdaTimeoutError", result.logs
    records = [r for r in _json_records(result) if r.get("timeout_guard") == "pre-timeout"]
    assert len(records) == 1, result.stdout[-3000:]
    record = records[0]
    assert len(record["message"]) <= _max_record_chars()
    stack = record["stack"]
    frames = [line for line in stack if line.startswith('  File "')]
    assert len(frames) == ENTRY_AND_INNERMOST
    assert frames[0].endswith("in deep")  # the handler's entry frame
    assert all(line.endswith("in dive") for line in frames[1:])
    assert stack[-1].strip() == "time.sleep(60)"  # the innermost frame: where it waited
    handler_frames = depth + 2  # deep, then dive(depth) ... dive(0)
    assert f"  ... {handler_frames - ENTRY_AND_INNERMOST} frames elided ..." in stack
    assert fn.invoke({"depth": 0}).pid == result.pid  # 60 s at depth 0 too: stopped again


@pytest.fixture(scope="module")
def aws() -> Iterator[dict]:
    """moto with a queue and a bucket holding one planted object; the endpoint and names."""
    with MotoServer() as server:
        options = server.client_options()
        queue = boto3.client("sqs", **options).create_queue(QueueName="records")["QueueUrl"]
        boto3.client("s3", **options).create_bucket(Bucket="records")
        yield {"server": server, "options": options, "queue": queue, "bucket": "records"}


@pytest.mark.parametrize("calls", [1, 300])
def test_sdk_record_is_bounded_whatever_the_number_of_calls(
    make_lambda, layer_opt, wrapper, aws, calls
) -> None:
    fn = make_lambda(
        FUNCTION,
        "app.many_calls",
        opt_dir=layer_opt,
        exec_wrapper=wrapper,
        env={"TIMEOUT_GUARD_READ_TIMEOUT": "0.5"},
        timeout=60.0,
    )
    with StallFirst(aws["server"].endpoint_url) as stall:
        event = {
            "stall": stall.endpoint_url,
            "moto": aws["server"].endpoint_url,
            "queue": aws["queue"],
            "calls": calls,
        }
        result = fn.invoke(event)
    assert result.status == "success", result.logs
    records = [line for line in result.logs.splitlines() if "AWS SDK:" in line]
    assert len(records) == 1, result.logs
    assert f"AWS SDK: {calls} calls, 1 retries, 1 timeouts; slowest sqs.SendMessage" in records[0]
    assert len(records[0]) < 300  # one line of counts, whatever the number of calls


def _secrets() -> dict[str, str]:
    """A distinctive value for every place data could leak from."""
    names = [
        "event",
        "return_value",
        "env_value",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "sqs_request",
        "s3_request",
        "sqs_response",
        "s3_response",
        "missing_key",  # in the S3 error response's body (moto names the key there)
        "handler_error",
        "callback_error",
    ]
    return {name: f"SECRET{secrets.token_hex(6)}{name.upper()}" for name in names}


@pytest.mark.parametrize(
    ("level", "log_format"),
    [(level, "Text") for level in ("DEBUG", "INFO", "WARNING", "ERROR")] + [("DEBUG", "JSON")],
)
def test_no_secret_in_anything_printed(
    make_lambda, layer_opt, wrapper, aws, level, log_format
) -> None:
    planted = _secrets()
    options = aws["options"]
    boto3.client("s3", **options).put_object(
        Bucket=aws["bucket"], Key="planted", Body=planted["s3_response"].encode()
    )
    boto3.client("sqs", **options).send_message(
        QueueUrl=aws["queue"], MessageBody=planted["sqs_response"]
    )
    fn = make_lambda(
        FUNCTION,
        "app.with_secrets",
        opt_dir=layer_opt,
        exec_wrapper=wrapper,
        timeout=3.0,
        env={
            "TIMEOUT_GUARD_LOG_LEVEL": level,
            "AWS_LAMBDA_LOG_FORMAT": log_format,
            "TIMEOUT_GUARD_MARGIN_MS": "1000",
            "TIMEOUT_GUARD_READ_TIMEOUT": "0.5",
            "TIMEOUT_GUARD_ON_TIMEOUT": "app:callback_fails",
            "APP_DB_PASSWORD": planted["env_value"],
            "APP_ERROR_TEXT": planted["handler_error"],
            "AWS_ACCESS_KEY_ID": planted["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": planted["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": planted["aws_session_token"],
        },
    )
    event = {
        "event_data": planted["event"],
        "return_value": planted["return_value"],
        "sqs_request": planted["sqs_request"],
        "s3_request": planted["s3_request"],
        "missing_key": planted["missing_key"],
        "callback_error": planted["callback_error"],
        "queue": aws["queue"],
        "bucket": aws["bucket"],
    }
    with StallFirst(aws["server"].endpoint_url) as stall:
        sdk = fn.invoke({**event, "step": "sdk", "stall": stall.endpoint_url})
    stuck = fn.invoke({**event, "step": "stuck"})
    assert sdk.status == stuck.status == "success", sdk.logs + stuck.logs
    assert stuck.payload == sdk.payload == {"value": planted["return_value"]}
    printed = sdk.logs + stuck.logs  # every byte of stdout and stderr, init included
    # The records were there to be searched: the guard's (and its callback's) at every level,
    # the SDK's from WARNING down.
    assert "Lambda timeout in" in printed and "callback app:callback_fails failed" in printed
    assert ("AWS SDK: " in printed) is (level != "ERROR"), printed
    found = {name: value for name, value in planted.items() if value in printed}
    assert found == {}, printed
