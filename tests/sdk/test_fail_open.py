"""An error inside the layer's own code on a request's path never reaches the caller.

Each test breaks one point the layer runs on the way of a call (event handler, method wrapper,
retry veto, attempt cap, accounting) and shows that the call still works as without the layer,
and that the failure is logged once, at DEBUG, on the ``timeout_guard`` logger. The guard's own
error is no such failure: raised by its alarm at any of those points, it reaches the caller.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import botocore.client
import botocore.session
import pytest
from botocore.config import Config
from botocore.configprovider import ConfigValueStore
from loopback import StallFirst
from timeout_guard import LambdaTimeoutError, invocation, settings
from timeout_guard.sdk import accounting, attempts, clients, merge, read_timeouts, wrapping

from .helpers import client, in_invocation


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected layer failure")


@pytest.fixture(autouse=True)
def fresh_reports() -> Any:
    settings.settings()  # sets the logger's level: before caplog lowers it
    wrapping._reported.clear()
    yield
    wrapping._reported.clear()


@pytest.fixture
def queue(moto: Any) -> str:
    return client("sqs", moto.endpoint_url).create_queue(QueueName="fail-open")["QueueUrl"]


def _layer_debug_records(caplog: Any) -> list[logging.LogRecord]:
    """The layer's DEBUG lines about its own failures: they name the exception's type and where
    it was raised (``RuntimeError at file:line in f``), never its message."""
    return [
        r
        for r in caplog.records
        if r.name == "timeout_guard" and r.levelno == logging.DEBUG and " at " in r.getMessage()
    ]


def _two_sqs_calls(moto: Any, queue: str) -> None:
    sqs = client("sqs", moto.endpoint_url)
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0, MaxNumberOfMessages=10)
    assert {m["Body"] for m in got["Messages"]} >= {"a", "b"}


# (what is broken, where, inside an invocation?)
POINTS: list[tuple[str, Callable[[pytest.MonkeyPatch], None], bool]] = [
    ("read timeout rule lookup", lambda mp: mp.setattr(read_timeouts, "resolve", _boom), False),
    ("session handler rules", lambda mp: mp.setattr(clients.ClientRules, "apply", _boom), True),
    ("client rules at creation", lambda mp: mp.setattr(clients, "client_rules", _boom), False),
    ("attempt plan", lambda mp: mp.setattr(attempts, "_plan", _boom), True),
    ("attempt accounting begin", lambda mp: mp.setattr(accounting, "begin", _boom), True),
    ("attempt accounting end", lambda mp: mp.setattr(accounting, "end", _boom), True),
    ("retry veto", lambda mp: mp.setattr(attempts, "_veto_retry", _boom), True),
    ("urllib3 hand-off", lambda mp: mp.setattr(attempts, "_local", _Exploding()), True),
    ("config merge", lambda mp: mp.setattr(clients, "merge", _boom), False),
]


class _Exploding:
    """A thread-local stand-in whose every attribute access fails."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("injected layer failure")

    def __setattr__(self, name: str, value: Any) -> None:
        raise RuntimeError("injected layer failure")


@pytest.mark.parametrize(
    ("break_it", "inside"), [p[1:] for p in POINTS], ids=[p[0] for p in POINTS]
)
def test_calls_work_when_the_layer_breaks(
    moto: Any,
    queue: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: Any,
    break_it: Callable[[pytest.MonkeyPatch], None],
    inside: bool,
) -> None:
    break_it(monkeypatch)
    with caplog.at_level(logging.DEBUG, logger="timeout_guard"):
        if inside:
            with in_invocation(30):
                _two_sqs_calls(moto, queue)
        else:
            _two_sqs_calls(moto, queue)
    records = _layer_debug_records(caplog)
    messages = [r.getMessage() for r in records]
    assert records and len(set(messages)) == len(messages), messages  # each point once
    assert all("RuntimeError at test_fail_open.py:" in m for m in messages), messages
    assert not any("injected layer failure" in m for m in messages)  # never the message
    assert not any(r.exc_info for r in records)
    assert caplog.records and all(
        r.levelno <= logging.DEBUG for r in caplog.records if r.name == "timeout_guard"
    )


# The points where the guard's alarm can come while the layer's own code (or the call it wraps)
# runs, inside an invocation: (what runs, owner, attribute). Not the urllib3 hand-off: botocore's
# own send wraps whatever is raised there in HTTPClientError, as it does without the layer (the
# attempt's cap keeps the alarm out of it).
GUARD_POINTS: list[tuple[str, Any, str]] = [
    ("botocore creating the client", botocore.client.ClientCreator, "create_client"),
    ("config merge", clients, "merge"),
    ("botocore reading the profile in the merge", botocore.session.Session, "get_scoped_config"),
    ("botocore's config store in the merge", ConfigValueStore, "get_config_variable"),
    ("client rules at creation", clients, "client_rules"),
    ("read timeout rule lookup", read_timeouts, "resolve"),
    ("session handler rules", clients.ClientRules, "apply"),
    ("attempt plan", attempts, "_plan"),
    ("attempt accounting begin", accounting, "begin"),
    ("attempt accounting end", accounting, "end"),
    ("retry veto", attempts, "_veto_retry"),
]


@pytest.mark.parametrize(
    ("owner", "name"), [p[1:] for p in GUARD_POINTS], ids=[p[0] for p in GUARD_POINTS]
)
def test_the_guards_error_at_any_point_reaches_the_caller(
    moto: Any, queue: str, monkeypatch: pytest.MonkeyPatch, caplog: Any, owner: Any, name: str
) -> None:
    """The guard's error, raised once at that point (as its alarm would), is not taken for the
    layer's failure: the call does not go on as without the layer, is not made again, and
    nothing is logged as the layer's."""
    original = getattr(owner, name)
    raised: list[str] = []

    def guard_fires_once(*args: Any, **kwargs: Any) -> Any:
        if not raised:
            raised.append(name)
            raise LambdaTimeoutError("the guard's alarm came here")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, guard_fires_once)
    with (
        caplog.at_level(logging.DEBUG, logger="timeout_guard"),
        in_invocation(30),
        pytest.raises(LambdaTimeoutError, match="the guard's alarm came here"),
    ):
        _two_sqs_calls(moto, queue)
    assert raised == [name]
    assert _layer_debug_records(caplog) == []


def test_a_retry_still_happens_when_the_veto_breaks(
    moto: Any, queue: str, monkeypatch: pytest.MonkeyPatch, guard_env: Any
) -> None:
    """botocore's own retry decision runs when the layer's veto cannot."""
    guard_env(TIMEOUT_GUARD_READ_TIMEOUT="0.5")
    monkeypatch.setattr(attempts, "_veto_retry", _boom)
    with StallFirst(moto.endpoint_url, stall=1) as proxy, in_invocation(30):
        sqs = client("sqs", proxy.endpoint_url)
        response = sqs.send_message(QueueUrl=queue, MessageBody="x")
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert proxy.connections == 2


def test_client_is_created_when_botocore_rejects_the_layers_config(
    monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """If the layered Config itself breaks create_client, the function's own arguments are used."""
    real_merge = merge.merge

    def bad_config(*args: Any, **kwargs: Any) -> Any:
        merged = real_merge(*args, **kwargs)
        return merge.Merged("not a Config", merged.own_read, merged.user_chose_read)

    monkeypatch.setattr(clients, "merge", bad_config)
    with caplog.at_level(logging.DEBUG, logger="timeout_guard"):
        sqs = client("sqs", "http://127.0.0.1:9", config=Config(read_timeout=9))
    assert (sqs.meta.config.connect_timeout, sqs.meta.config.read_timeout) == (60, 9)
    assert len(_layer_debug_records(caplog)) == 1


def test_end_of_invocation_bookkeeping_never_raises(
    monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setattr(invocation, "_end_callbacks", [_boom])  # as if install() had added it
    with caplog.at_level(logging.DEBUG, logger="timeout_guard"), in_invocation(30):
        pass
    assert invocation.current is None
    assert _layer_debug_records(caplog)
