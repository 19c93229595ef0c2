"""Operations that wait by design get their own read timeout; everything else the tight one."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Optional

import botocore
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError
from loopback import BlackHole, DelayServer
from timeout_guard.sdk import clients, read_timeouts
from timeout_guard.settings import read_timeout_table

from .helpers import client

JSON10 = {"Content-Type": "application/x-amz-json-1.0"}


def read_timeout_of(c: Any, operation: str, **params: Any) -> Optional[float]:
    """The read timeout the layer chose for one call (None: the client's own applies).

    The call's context is captured at ``before-call`` and the call is then answered there, so
    nothing is sent; a call that never reached ``before-call`` fails the test.
    """
    seen: dict[str, Any] = {}

    def capture(params: Any, **_: Any) -> Any:
        seen["value"] = params["context"].get(clients.OP_READ)
        return None

    c.meta.events.register_first("before-call", capture)
    try:
        getattr(c, operation)(**params)
    except Exception:  # noqa: S110 - only the captured timeout matters here
        pass
    assert "value" in seen, f"{operation} never reached before-call"
    return seen["value"]


@pytest.fixture(scope="module")
def fast_json() -> Any:
    with DelayServer(0, headers=JSON10) as server:
        yield server


def test_sqs_long_poll_on_request_survives_default_read_timeout(moto: Any) -> None:
    """WaitTimeSeconds=20 with the default 5 s read timeout: a message after about 6.5 s."""
    sqs = client("sqs", moto.endpoint_url)
    url = sqs.create_queue(QueueName="tg-long-poll")["QueueUrl"]
    sender = threading.Timer(6.5, lambda: sqs.send_message(QueueUrl=url, MessageBody="late"))
    sender.start()
    try:
        started = time.monotonic()
        response = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
        elapsed = time.monotonic() - started
    finally:
        sender.cancel()
        sender.join()
    assert [m["Body"] for m in response.get("Messages", [])] == ["late"]
    assert elapsed > 5.0, elapsed  # longer than the tight read timeout: the table applied
    assert response["ResponseMetadata"]["RetryAttempts"] == 0


def test_sqs_long_poll_set_on_queue_only_survives(moto: Any, guard_env: Any) -> None:
    """The wait is the queue's (invisible to the client): 3 s against a 1 s read timeout."""
    guard_env(TIMEOUT_GUARD_READ_TIMEOUT="1", TIMEOUT_GUARD_MAX_ATTEMPTS="1")
    sqs = client("sqs", moto.endpoint_url)
    url = sqs.create_queue(
        QueueName="tg-queue-wait", Attributes={"ReceiveMessageWaitTimeSeconds": "3"}
    )["QueueUrl"]
    started = time.monotonic()
    response = sqs.receive_message(QueueUrl=url)
    assert time.monotonic() - started > 2.5
    assert "Messages" not in response
    assert read_timeout_of(sqs, "receive_message", QueueUrl=url, WaitTimeSeconds=0) == 1.0
    assert read_timeout_of(sqs, "receive_message", QueueUrl=url) == 21.0


def test_sqs_short_poll_keeps_tight_timeout(guard_env: Any) -> None:
    """Control: WaitTimeSeconds=0 gets the tight read timeout and fails fast on a black hole."""
    guard_env(TIMEOUT_GUARD_READ_TIMEOUT="0.5", TIMEOUT_GUARD_MAX_ATTEMPTS="1")
    with BlackHole() as hole:
        sqs = client("sqs", hole.endpoint_url)
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError):
            sqs.receive_message(QueueUrl=hole.endpoint_url + "/1/q", WaitTimeSeconds=0)
        assert time.monotonic() - started < 10  # 0.5 s, not the long poll's 20 + 0.5 s


def test_sync_invoke_answered_late_succeeds_with_one_request() -> None:
    """A function answering in 8 s (30 s in the issue; shortened to keep the suite fast)."""
    with DelayServer(8.0, body=b'{"ok": true}') as fn:
        lam = client("lambda", fn.endpoint_url)
        started = time.monotonic()
        response = lam.invoke(FunctionName="slow", Payload=b"{}")
        elapsed = time.monotonic() - started
    assert response["StatusCode"] == 200
    assert response["Payload"].read() == b'{"ok": true}'
    assert elapsed >= 8.0
    assert len(fn.requests) == 1


def test_sync_invoke_read_timeout_is_never_retried(guard_env: Any) -> None:
    guard_env(TIMEOUT_GUARD_READ_TIMEOUTS="lambda.Invoke=0.5")
    with BlackHole() as hole:
        lam = client("lambda", hole.endpoint_url)
        with pytest.raises(ReadTimeoutError):
            lam.invoke(FunctionName="f", Payload=b"{}")
    assert hole.connections == 1


def test_async_invoke_keeps_tight_timeout_and_retries(guard_env: Any) -> None:
    guard_env(TIMEOUT_GUARD_READ_TIMEOUT="0.3", TIMEOUT_GUARD_MAX_ATTEMPTS="2")
    with BlackHole() as hole:
        lam = client("lambda", hole.endpoint_url)
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError):
            lam.invoke(FunctionName="f", InvocationType="Event", Payload=b"{}")
        assert time.monotonic() - started < 20  # 2 x 0.3 s, not the sync Invoke's 900 s
    assert hole.connections == 2


def test_sfn_and_swf_polls_get_their_table_timeouts(fast_json: Any) -> None:
    sfn = client("stepfunctions", fast_json.endpoint_url)
    swf = client("swf", fast_json.endpoint_url)
    assert read_timeout_of(sfn, "get_activity_task", activityArn="arn:a") == 70.0
    assert read_timeout_of(sfn, "describe_activity", activityArn="arn:a") is None
    assert read_timeout_of(swf, "poll_for_activity_task", domain="d", taskList={"name": "t"}) == 70
    assert read_timeout_of(swf, "poll_for_decision_task", domain="d", taskList={"name": "t"}) == 70


def test_sfn_poll_answered_after_tight_timeout_succeeds(guard_env: Any) -> None:
    guard_env(TIMEOUT_GUARD_READ_TIMEOUT="0.5", TIMEOUT_GUARD_MAX_ATTEMPTS="1")
    with DelayServer(1.5, headers=JSON10, body=b"{}") as server:
        sfn = client("stepfunctions", server.endpoint_url)
        sfn.get_activity_task(activityArn="arn:aws:states:us-east-1:123456789012:activity:a")
        with pytest.raises(ReadTimeoutError):
            sfn.describe_activity(activityArn="arn:aws:states:us-east-1:123456789012:activity:a")


def test_user_read_timeouts_apply(guard_env: Any, fast_json: Any) -> None:
    guard_env(
        TIMEOUT_GUARD_READ_TIMEOUTS=(
            "sqs=9,sqs.ReceiveMessage=30,bedrock-runtime=300,lambda.Invoke=off,sfn=12,kinesis=45"
        )
    )
    url = fast_json.endpoint_url
    sqs = client("sqs", url)
    assert read_timeout_of(sqs, "receive_message", QueueUrl=url + "/1/q") == 30  # op > service
    assert read_timeout_of(sqs, "send_message", QueueUrl=url + "/1/q", MessageBody="b") == 9
    kinesis = client("kinesis", url)
    assert read_timeout_of(kinesis, "put_record", StreamName="s", Data=b"x", PartitionKey="k") == 45
    if "bedrock-runtime" in botocore.session.get_session().get_available_services():
        bedrock = client("bedrock-runtime", url)  # not in the oldest botocore
        assert read_timeout_of(bedrock, "invoke_model", modelId="m", body=b"{}") == 300
    lam = client("lambda", url)
    assert read_timeout_of(lam, "invoke", FunctionName="f") == 60.0  # off: botocore's own
    lam_own = client("lambda", url, config=Config(read_timeout=7))
    assert read_timeout_of(lam_own, "invoke", FunctionName="f") == 7  # off: the function's own
    sfn = client("stepfunctions", url)
    assert read_timeout_of(sfn, "get_activity_task", activityArn="arn:a") == 12  # user > table


def test_builtin_table_never_lowers_the_functions_own_read_timeout(fast_json: Any) -> None:
    sfn = client("stepfunctions", fast_json.endpoint_url, config=Config(read_timeout=120))
    assert read_timeout_of(sfn, "get_activity_task", activityArn="arn:a") == 120


def test_bad_read_timeouts_entries_are_warned_and_skipped(caplog: Any) -> None:
    with caplog.at_level(logging.WARNING, logger="timeout_guard"):
        logging.getLogger("timeout_guard").addHandler(logging.NullHandler())
        table = read_timeout_table("sqs.ReceiveMessage=30,nonsense,kinesis=abc,s3=0,x.y.z=1,a=off")
    assert table == {"sqs.ReceiveMessage": 30.0, "a": None}
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 4, warned
    assert all("TIMEOUT_GUARD_READ_TIMEOUTS" in w for w in warned)


def test_every_event_stream_operation_of_this_botocore_gets_a_long_read_timeout() -> None:
    """Checked against the installed botocore's own models, whatever its version."""
    session = botocore.session.get_session()
    streams, checked = 0, 0
    for name in session.get_available_services():
        model = session.get_service_model(name)
        names = read_timeouts.service_names(model.service_id.hyphenize(), name)
        for op in model.operation_names:
            operation = model.operation_model(op)
            rule = read_timeouts.resolve(names, operation, {}, 5.0, 60.0, False)
            seconds = rule({}) if rule is not None else None
            if operation.has_event_stream_output:
                streams += 1
                assert seconds is not None and seconds >= 300, f"{names[0]}.{op}: {seconds}"
            checked += 1
    assert streams >= 1 and checked > 1000, (streams, checked)  # the scan really ran


def test_event_stream_operations_get_a_long_read_timeout(fast_json: Any) -> None:
    s3 = client("s3", fast_json.endpoint_url)
    seconds = read_timeout_of(
        s3,
        "select_object_content",
        Bucket="b",
        Key="k",
        Expression="select",
        ExpressionType="SQL",
        InputSerialization={"CSV": {}},
        OutputSerialization={"CSV": {}},
    )
    assert seconds == read_timeouts.EVENT_STREAM_READ_TIMEOUT
