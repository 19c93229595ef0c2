"""AWS Lambda Powertools (installed in the function's folder), with and without the layer.

Logger: its JSON lines are the same, and the guard's record is there. Idempotency on DynamoDB
(moto): the invocation the guard stops releases its INPROGRESS record, so the same event retried
at once runs. BatchProcessor for SQS: records that hang are each stopped and reported as
``batchItemFailures``, the others processed, cleanup done, all before the hard kill.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

import boto3
import pytest
from loopback import BlackHole

from .helpers import both, json_lines, needs_runtime

pytestmark = needs_runtime

VOLATILE = ("timestamp", "function_request_id", "xray_trace_id")


def powertools_lines(logs: str) -> list[dict[str, Any]]:
    """Powertools' own JSON lines, less what differs in any two runs."""
    lines = [line for line in json_lines(logs) if "service" in line and "location" in line]
    return [{k: v for k, v in line.items() if k not in VOLATILE} for line in lines]


def guard_records(logs: str) -> list[str]:
    return [line for line in logs.splitlines() if "Lambda timeout in" in line]


def test_logger_lines_unchanged_and_the_guard_record_present(function) -> None:
    def run(layer: bool) -> tuple[Any, Any]:
        fn = function("powertools", "logs.handler", layer=layer, timeout=2.0)
        return fn.invoke({"order_id": 1}), fn.invoke({"order_id": 2, "sleep": 30})

    (ok_without, hung_without), (ok_with, hung_with) = both(run)
    assert ok_without.status == ok_with.status == "success", ok_with.logs
    assert hung_without.status == "timeout"
    assert hung_with.error_type == "LambdaTimeoutError", hung_with.logs
    for without, with_layer in ((ok_without, ok_with), (hung_without, hung_with)):
        assert powertools_lines(with_layer.logs) == powertools_lines(without.logs)
    assert [line["message"] for line in powertools_lines(ok_with.logs)] == [
        "order received",
        "order done",
    ]
    assert [line["message"] for line in powertools_lines(hung_with.logs)] == ["order received"]
    records = guard_records(hung_with.logs)
    assert len(records) == 1 and hung_with.request_id in records[0]  # the runtime's format
    assert guard_records(ok_with.logs + hung_without.logs) == []


def test_known_quirk_a_service_named_like_part_of_the_guard_logger_hides_its_record(function):
    """Powertools adds ``SuppressFilter(service)`` to the root logger's handlers, which drops
    every record whose logger name *contains* the service name: ``Logger(service="guard")``
    drops the ``timeout_guard`` logger's records. The guard still stops the handler.
    ``POWERTOOLS_LOG_DEDUPLICATION_DISABLED=true`` (no such filter) brings the record back."""
    runs = {
        "hidden": {"SERVICE": "guard"},
        "other name": {"SERVICE": "guard-service"},
        "no dedup": {"SERVICE": "guard", "POWERTOOLS_LOG_DEDUPLICATION_DISABLED": "true"},
    }

    def run(env: dict[str, str]) -> Any:
        fn = function("powertools", "logs.handler", layer=True, env=env, timeout=2.0)
        return fn.invoke({"order_id": 3, "sleep": 30})

    with ThreadPoolExecutor(len(runs)) as pool:
        results = dict(zip(runs, pool.map(run, runs.values()), strict=True))
    assert {r.error_type for r in results.values()} == {"LambdaTimeoutError"}
    assert guard_records(results["hidden"].logs) == []
    assert len(guard_records(results["other name"].logs)) == 1
    assert len(guard_records(results["no dedup"].logs)) == 1


def _table(moto: Any) -> tuple[str, Any]:
    name = f"idempotency-{uuid.uuid4().hex[:8]}"
    ddb = boto3.client("dynamodb", **moto.client_options())
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name, ddb


IDEMPOTENT = {
    "idempotent handler": "orders.handler",
    "idempotent_function": "orders.function_handler",
}


@pytest.mark.parametrize("case", list(IDEMPOTENT))
def test_idempotency_record_released_so_a_retry_runs(function, moto, tmp_path, case) -> None:
    def run(layer: bool) -> tuple[Any, list[str], Any]:
        table, ddb = _table(moto)
        env = {"TABLE": table, "AWS_ENDPOINT_URL": moto.endpoint_url}
        fn = function("powertools", IDEMPOTENT[case], layer=layer, env=env, timeout=2.0)
        marker = tmp_path / f"hang-{layer}"
        marker.touch()
        event = {"order_id": 42, "hang_while": str(marker)}
        first = fn.invoke(event)
        left = [item["status"]["S"] for item in ddb.scan(TableName=table)["Items"]]
        marker.unlink()
        return first, left, fn.invoke(event)  # the same event, at once

    (first_without, left_without, retry_without), (first_with, left_with, retry_with) = both(run)
    # Without the layer: killed; the record stays INPROGRESS.
    assert first_without.status == "timeout"
    assert left_without == ["INPROGRESS"]
    # With it: stopped in time; Powertools deletes the record on the way out; the retry runs.
    assert first_with.error_type == "LambdaTimeoutError", first_with.logs
    assert left_with == []
    assert retry_with.status == "success", retry_with.logs
    assert retry_with.payload["charged"] == 42
    if case == "idempotent_function":  # no Lambda context registered: no in-progress expiry
        assert retry_without.error_type == "IdempotencyAlreadyInProgressError"
    else:  # the in-progress expiry is the Lambda deadline, over by the time of the retry
        assert retry_without.status == "success", retry_without.logs


def _sqs_event(hung: set[int], stalled: Optional[dict[int, str]] = None) -> dict[str, Any]:
    """Five records; ``hung`` ones sleep, ``stalled`` ones call an SQS endpoint at that URL."""
    records = []
    for n in range(5):
        body = {"n": n, "hang": n in hung, "stall_url": (stalled or {}).get(n)}
        records.append(
            {
                "messageId": f"m{n}",
                "receiptHandle": f"handle-{n}",
                "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


@pytest.mark.parametrize("hanging", [1, 2, 3])
def test_batch_reports_hung_records_as_failures_before_the_kill(function, hanging) -> None:
    hung = set(range(1, 1 + hanging))  # records m1.. hang; m0 before them and m4 after are fine

    def run(layer: bool) -> Any:
        fn = function("powertools", "batch.handler", layer=layer, timeout=3.0)
        return fn.invoke(_sqs_event(hung))

    without, with_layer = both(run)
    assert without.status == "timeout"  # the whole batch comes back, done records included
    assert with_layer.status == "success", with_layer.logs
    failures = [item["itemIdentifier"] for item in with_layer.payload["batchItemFailures"]]
    assert failures == [f"m{n}" for n in sorted(hung)]
    cleanup = [line for line in json_lines(with_layer.stdout) if "cleanup_done_ms_left" in line]
    assert len(cleanup) == 1 and cleanup[0]["cleanup_done_ms_left"] > 0
    assert len(guard_records(with_layer.logs)) == 1
    assert "Still running" not in with_layer.logs


def test_batch_record_cut_in_an_sdk_call_then_hung_records_all_end_before_the_kill(
    function,
) -> None:
    """m1's SQS call reaches the firing time and is cut (the guard fires from the SDK side, and
    BatchProcessor catches botocore's error); m2 and m3 then hang: the stuck checks end each."""
    with BlackHole() as endpoint:
        event = _sqs_event({2, 3}, stalled={1: endpoint.endpoint_url})

        def run(layer: bool) -> Any:
            return function("powertools", "batch.handler", layer=layer, timeout=3.0).invoke(event)

        without, with_layer = both(run)
    assert without.status == "timeout"
    assert with_layer.status == "success", with_layer.logs
    failures = [item["itemIdentifier"] for item in with_layer.payload["batchItemFailures"]]
    assert failures == ["m1", "m2", "m3"]
    assert len(guard_records(with_layer.logs)) == 1, with_layer.logs
    assert "sqs.list_queues()" in with_layer.logs  # its stack: it fired in m1's SDK call
    cleanup = [line for line in json_lines(with_layer.stdout) if "cleanup_done_ms_left" in line]
    assert len(cleanup) == 1 and cleanup[0]["cleanup_done_ms_left"] > 0
    assert "Still running" not in with_layer.logs
