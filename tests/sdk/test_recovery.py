"""Hung connections end fast: a stalled first connection, a black hole, a closed door.

Real botocore clients against loopback servers. Time bounds are loose (they exist to show the
60 s hang does not happen, and which timeout ended an attempt); lower bounds are exact (a timeout
never ends early); the counts of connections show how many attempts were made. How close to its
timeout an attempt ends is `make bench`'s business.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import time
import traceback
from typing import Any, Iterator, Optional

import botocore.session
import pytest
import urllib3.connectionpool
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from loopback import BlackHole, DelayServer, NeverAccept, StallFirst
from timeout_guard import LambdaTimeoutError, guard, invocation
from timeout_guard.sdk.errors import DeadlineNotSentError, DeadlineReadTimeoutError
from timeout_guard.settings import Settings
from unit.helpers import OWN_FILES, Context

from .helpers import REGION, client, in_invocation

ARN = "arn:aws:iam::123456789012:role/r"


@pytest.fixture(scope="module")
def firehose_stream(moto: Any) -> str:
    s3 = client("s3", moto.endpoint_url)
    s3.create_bucket(Bucket="tg-stall-bucket")
    fh = client("firehose", moto.endpoint_url)
    fh.create_delivery_stream(
        DeliveryStreamName="tg-stall",
        ExtendedS3DestinationConfiguration={
            "RoleARN": ARN,
            "BucketARN": "arn:aws:s3:::tg-stall-bucket",
        },
    )
    return "tg-stall"


def test_stalled_first_connection_recovers_with_defaults(moto: Any, firehose_stream: str) -> None:
    """Defaults (5 s read timeout): one retry after 5 s; botocore alone waits 60 s."""
    with StallFirst(moto.endpoint_url, stall=1) as proxy:
        fh = client("firehose", proxy.endpoint_url)
        started = time.monotonic()
        response = fh.put_record(DeliveryStreamName=firehose_stream, Record={"Data": b"x"})
        elapsed = time.monotonic() - started
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert proxy.connections == 2
    assert 5.0 <= elapsed < 2 * 5.0, elapsed  # one 5 s timeout, not two, nor 60 s


def test_stalled_first_connection_recovers_tuned(
    moto: Any, firehose_stream: str, guard_env: Any
) -> None:
    guard_env(TIMEOUT_GUARD_READ_TIMEOUT="1")
    with StallFirst(moto.endpoint_url, stall=1) as proxy:
        fh = client("firehose", proxy.endpoint_url)
        started = time.monotonic()
        response = fh.put_record(DeliveryStreamName=firehose_stream, Record={"Data": b"x"})
        elapsed = time.monotonic() - started
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert 1.0 <= elapsed < 5.0, elapsed  # the tuned 1 s read timeout, not the default 5 s


def test_black_hole_fails_within_attempts_times_timeout(guard_env: Any) -> None:
    guard_env(TIMEOUT_GUARD_READ_TIMEOUT="0.5", TIMEOUT_GUARD_CONNECT_TIMEOUT="0.5")
    with BlackHole() as hole:
        fh = client("firehose", hole.endpoint_url)
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError):
            fh.put_record(DeliveryStreamName="s", Record={"Data": b"x"})
        elapsed = time.monotonic() - started
    assert hole.connections == 3  # 3 attempts in total, standard mode
    # 3 x 0.5 s plus standard backoff (at most 1 s + 2 s): far from the default 3 x 5 s
    assert 3 * 0.5 <= elapsed < 12, elapsed


@pytest.mark.slow
def test_black_hole_with_defaults_is_bounded() -> None:
    """With the layer's defaults a black hole costs 3 x 5 s plus backoff, not 3 x 60 s."""
    with BlackHole() as hole:
        fh = client("firehose", hole.endpoint_url)
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError):
            fh.put_record(DeliveryStreamName="s", Record={"Data": b"x"})
        elapsed = time.monotonic() - started
    assert hole.connections == 3
    assert 15 <= elapsed < 15 + 3 + 2, elapsed


def test_never_accepting_endpoint_gives_connect_timeout(guard_env: Any) -> None:
    guard_env(TIMEOUT_GUARD_CONNECT_TIMEOUT="0.5")
    with NeverAccept() as door:
        fh = client("firehose", door.endpoint_url)
        started = time.monotonic()
        with pytest.raises(ConnectTimeoutError) as caught:
            fh.put_record(DeliveryStreamName="s", Record={"Data": b"x"})
        elapsed = time.monotonic() - started
    assert not isinstance(caught.value, DeadlineNotSentError)
    assert 3 * 0.5 <= elapsed < 12, elapsed  # three attempts really waited, not 3 x 2 s


def test_attempt_is_cut_to_the_deadline_and_not_retried() -> None:
    """Inside an invocation with 1.5 s left, a black hole ends before the guard, once."""
    with BlackHole() as hole, in_invocation(1.5):
        fh = client("firehose", hole.endpoint_url)
        started = time.monotonic()
        with pytest.raises(DeadlineReadTimeoutError) as caught:
            fh.put_record(DeliveryStreamName="s", Record={"Data": b"x"})
        elapsed = time.monotonic() - started
    assert isinstance(caught.value, ReadTimeoutError)  # still botocore's own class
    assert "deadline is near" in str(caught.value)
    assert hole.connections == 1  # not retried
    assert elapsed < 4.0, elapsed  # the deadline's budget (1.5 s), not the 5 s read timeout


def test_an_alarm_that_comes_while_an_attempt_is_being_cut_waits_for_the_cut(
    monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """The process is off the CPU when the attempt's cap comes, so the guard's alarm is due
    while urllib3 is still turning the socket's timeout into its error: the alarm waits, and the
    function gets the SDK's deadline error (the guard fired once, by the cut), not the guard's
    error raised inside urllib3 (which urllib3 and botocore turn into ConnectionClosedError).

    Real guard, real alarm (``SIGALRM``), real botocore against a black hole. What cannot be
    made real on purpose is the scheduler: urllib3's timeout handling is held on the CPU until
    just past the firing time.
    """
    g = guard.Guard(Settings({"TIMEOUT_GUARD_MARGIN_MS": "500"}), OWN_FILES)
    seen_overdue: list[bool] = []
    on_signal = g.alarm._on_signal

    def counting(signum: int, frame: Any) -> None:
        seen_overdue.append(invocation.attempt_overdue())
        on_signal(signum, frame)

    g.alarm._on_signal = counting  # type: ignore[method-assign]
    real_raise_timeout = urllib3.connectionpool.HTTPConnectionPool._raise_timeout

    def late_raise_timeout(self: Any, *args: Any, **kwargs: Any) -> Any:
        until = firing + 0.01  # past the firing time, within alarm.BUSY_WAIT
        while time.monotonic() < until:
            pass
        return real_raise_timeout(self, *args, **kwargs)

    monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "_raise_timeout",
                        late_raise_timeout)
    with BlackHole() as hole, caplog.at_level(logging.ERROR, logger="timeout_guard"):
        fh = client("firehose", hole.endpoint_url)
        g.enter({}, Context(1500))
        try:
            deadline = g.current
            firing = deadline.steps[0].due
            with pytest.raises(DeadlineReadTimeoutError):
                fh.put_record(DeliveryStreamName="s", Record={"Data": b"x"})
            assert deadline.fired
        finally:
            g.exit()
    assert True in seen_overdue  # the alarm did come inside the attempt, past its cap
    assert [r.timeout_guard for r in caplog.records] == ["pre-timeout"]  # fired once
    assert hole.connections == 1


def test_the_guards_error_while_a_client_is_being_created_reaches_the_handler() -> None:
    """A handler creating clients when the guard fires: its alarm comes inside botocore's
    ``create_client`` (milliseconds each), under the layer's wrapper, whose fail-open must not
    take the guard's error for its own failure and create the client again without it.

    Real guard, real alarm (``SIGALRM``), real botocore. Up to three invocations: botocore
    itself drops an error raised while it inspects a handler's signature (``inspect`` turns it
    into ``TypeError``, which botocore takes for "no ``**kwargs``"), with or without the layer.
    """
    session = botocore.session.get_session()
    session.create_client("s3", region_name=REGION)  # models loaded, lazy imports done
    g = guard.Guard(Settings({"TIMEOUT_GUARD_MARGIN_MS": "500"}), OWN_FILES)
    errors: list[Optional[BaseException]] = []
    with _no_collection():
        for _ in range(3):
            g.enter({}, Context(800))  # fires in 0.3 s, raises again 0.25 s later
            try:
                errors.append(_create_clients_for(session, 1.3))
            finally:
                g.exit()
            if _reached_through_create_client(errors[-1], LambdaTimeoutError):
                break
    assert _reached_through_create_client(errors[-1], LambdaTimeoutError), errors


def _create_clients_for(session: Any, seconds: float) -> Optional[BaseException]:
    """Create clients (all kept) for ``seconds``: the error that stopped it, or None."""
    made = []
    until = time.monotonic() + seconds
    try:
        while time.monotonic() < until:
            made.append(session.create_client("s3", region_name=REGION))
    except Exception as error:
        return error
    return None


def _reached_through_create_client(error: Optional[BaseException], kind: type) -> bool:
    """``error`` is ``kind``, or was raised while one was handled (``inspect`` turns any error
    into ``TypeError``), and came up through the layer's ``create_client`` wrapper."""
    if error is None or not _chain_has(error, kind):
        return False
    files = [frame.f_code.co_filename for frame, _ in traceback.walk_tb(error.__traceback__)]
    return any(f.endswith("sdk/clients.py") for f in files)


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """No object freed meanwhile: Python drops an error raised while a weakref callback or a
    ``__del__`` runs (it is "unraisable"), so a signal whose handler raises there is lost, with
    or without the layer (the guard raises again later; these tests look at the first raise)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _chain_has(error: BaseException, kind: type) -> bool:
    while error is not None:
        if isinstance(error, kind):
            return True
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return False


def test_no_attempt_without_time_left() -> None:
    with BlackHole() as hole, in_invocation(0.08):
        fh = client("firehose", hole.endpoint_url)
        started = time.monotonic()
        with pytest.raises(DeadlineNotSentError, match="deadline is near"):
            fh.put_record(DeliveryStreamName="s", Record={"Data": b"x"})
        elapsed = time.monotonic() - started
    assert hole.connections == 0  # never sent (counted on accept, so nothing to wait for)
    assert elapsed < 4.0, elapsed  # at once, not after a 5 s read timeout


class OwnTimeoutError(Exception):
    """What the function's own SIGALRM handler raises."""


def test_the_functions_own_timeout_while_a_client_is_being_created_reaches_it() -> None:
    """The function times a call of its own out with SIGALRM (its handler, a timer set in the
    invocation), and the timer comes while botocore's ``create_client`` runs under the layer's
    wrapper: its error is not taken for the layer's failure (no second creation, nothing
    swallowed). Real guard, real alarm, real botocore; up to three invocations, as above."""
    session = botocore.session.get_session()
    session.create_client("s3", region_name=REGION)

    def expired(signum: int, frame: Any) -> None:
        raise OwnTimeoutError()

    previous = signal.signal(signal.SIGALRM, expired)
    g = guard.Guard(Settings({"TIMEOUT_GUARD_MARGIN_MS": "500"}), OWN_FILES)
    errors: list[Optional[BaseException]] = []
    try:
        with _no_collection():
            for _ in range(3):
                g.enter({}, Context(10_000))
                try:
                    signal.setitimer(signal.ITIMER_REAL, 0.2)
                    errors.append(_create_clients_for(session, 1.0))
                finally:
                    g.exit()
                if _reached_through_create_client(errors[-1], OwnTimeoutError):
                    break
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert _reached_through_create_client(errors[-1], OwnTimeoutError), errors


S3_ERROR_IN_A_200 = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message>"
    b"<RequestId>r</RequestId><HostId>h</HostId></Error>"
)


def test_a_vetoed_retry_still_turns_an_s3_200_carrying_an_error_into_the_error() -> None:
    """S3 may answer ``CopyObject`` with 200 and an error in the body: botocore's own
    ``needs-retry`` handler turns it into that error (and retries it). When the answer comes
    less than 150 ms before the guard fires, the layer vetoes the retry: the handler must still
    run, or the call returns S3's error as its result."""
    with DelayServer(
        0, status=200, headers={"Content-Type": "application/xml"}, body=S3_ERROR_IN_A_200
    ) as server:
        s3 = client("s3", server.endpoint_url, config=Config(s3={"addressing_style": "path"}))
        with in_invocation(30) as deadline:

            def little_time_left_when_it_answers(**_: Any) -> None:
                deadline.steps[0].due = time.monotonic() + 0.1  # the guard fires in 100 ms

            s3.meta.events.register("before-send.s3.CopyObject", little_time_left_when_it_answers)
            with pytest.raises(ClientError) as caught:
                s3.copy_object(Bucket="b", Key="k", CopySource="b/source")
            left = invocation.seconds_left()
    # The error, not a result. botocore 1.44 parses the body as S3's error; 1.29 (the oldest) raises
    # with what it parsed of the 200 (as it does when it has no retry left).
    error = caught.value.response.get("Error")
    assert error is None or error["Code"] == "InternalError", caught.value.response
    assert len(server.requests) == 1  # the retry was vetoed
    assert left is not None and left < 0.15  # the veto's reason: no time for another attempt


def test_a_vetoed_retry_takes_no_retry_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vetoed retry's event is emitted as after the last attempt allowed: botocore's
    standard retry mode declines there, and takes none of the client's retry quota for a retry
    that will not happen (nor sleeps in the event, as it does for a long poll once its quota is
    spent)."""
    from botocore.retries import quota

    taken: list[int] = []
    real_acquire = quota.RetryQuota.acquire

    def counting(self: Any, capacity_amount: int) -> bool:
        taken.append(capacity_amount)
        return real_acquire(self, capacity_amount)

    monkeypatch.setattr(quota.RetryQuota, "acquire", counting)
    body = b'{"__type":"ServiceUnavailableException","message":"try again"}'
    with DelayServer(0, status=500, body=body) as server:
        fh = client("firehose", server.endpoint_url)
        with in_invocation(30) as deadline:

            def little_time_left_when_it_answers(**_: Any) -> None:
                deadline.steps[0].due = time.monotonic() + 0.1

            fh.meta.events.register(
                "before-send.firehose.PutRecord", little_time_left_when_it_answers
            )
            with pytest.raises(ClientError) as caught:
                fh.put_record(DeliveryStreamName="s", Record={"Data": b"x"})
    assert caught.value.response["Error"]["Code"] == "ServiceUnavailableException"
    assert len(server.requests) == 1  # vetoed
    assert taken == []


def test_deadline_leaves_healthy_calls_alone(moto: Any, firehose_stream: str) -> None:
    with in_invocation(30):
        fh = client("firehose", moto.endpoint_url)
        response = fh.put_record(DeliveryStreamName=firehose_stream, Record={"Data": b"x"})
    assert response["ResponseMetadata"]["RetryAttempts"] == 0
