"""Handlers run in threads of one process (``AWS_LAMBDA_CONCURRENCY_MODE=thread|hybrid``).

awslambdaric on PyPI (4.2.2) has no thread mode: only the experimental
``python:3.14-experimental`` images do (runtime client issue 215). So this replays what such a
runtime does with the layer's real handler wrapper: the handler, wrapped once by the layer,
called concurrently from N threads, each with its own context and deadline, while the AWS SDK
(real botocore, patched by the layer) calls a server that never answers.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

import pytest
from loopback import BlackHole
from timeout_guard import bootstrap, invocation, settings
from timeout_guard.sdk.errors import DeadlineReadTimeoutError

from .conftest import install_layer
from .helpers import client

MARGIN_MS = 500


class Context:
    def __init__(self, request_id: str, remaining_ms: float) -> None:
        self.aws_request_id = request_id
        self._due = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self._due - time.monotonic()) * 1000)


@pytest.fixture
def black_hole() -> Any:
    server = BlackHole()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def thread_mode(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_LAMBDA_CONCURRENCY_MODE", "thread")
    monkeypatch.setenv("AWS_LAMBDA_MAX_CONCURRENCY", "3")
    monkeypatch.setenv("TIMEOUT_GUARD_MARGIN_MS", str(MARGIN_MS))
    install_layer()
    yield
    settings.reset()


def run_in_threads(handler: Any, contexts: list[Context]) -> list[Any]:
    """Call ``handler`` once per context, all at once, each in its own thread."""
    results: list[Any] = [None] * len(contexts)

    def run(index: int) -> None:
        try:
            results[index] = handler({"n": index}, contexts[index])
        except BaseException as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(contexts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_each_handler_thread_has_its_own_sdk_deadline(
    thread_mode: None, black_hole: BlackHole, caplog: pytest.LogCaptureFixture
) -> None:
    sqs = client("sqs", black_hole.endpoint_url)  # one client shared by every thread

    def handler(event: dict, context: Context) -> dict:
        seen = invocation.seconds_left()
        started = time.monotonic()
        try:
            sqs.list_queues()
        except Exception as error:
            return {"seen": seen, "took": time.monotonic() - started, "error": error}
        return {"seen": seen}

    caplog.set_level(logging.WARNING, "timeout_guard")
    guarded = bootstrap.guarded_handler(handler)
    alarm_handler = signal.getsignal(signal.SIGALRM)
    remaining = [1500, 2500, 3500]  # ms: the SDK call of each must end at its own - margin
    results = run_in_threads(guarded, [Context(f"req-{ms}", ms) for ms in remaining])

    for ms, result in zip(remaining, results, strict=True):
        budget = (ms - MARGIN_MS) / 1000
        assert isinstance(result, dict), result
        assert result["seen"] == pytest.approx(budget, abs=0.3)
        assert isinstance(result["error"], DeadlineReadTimeoutError)
        assert result["took"] == pytest.approx(budget, abs=0.4)
    # No signal machinery was touched from the handler threads, and nothing is left current.
    assert signal.getsignal(signal.SIGALRM) == alarm_handler
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert invocation.seconds_left() is None
    warnings = [r.getMessage() for r in caplog.records if "SIGALRM" in r.getMessage()]
    assert len(warnings) == 1 and "AWS_LAMBDA_CONCURRENCY_MODE=thread" in warnings[0]


def test_results_and_errors_pass_through_untouched(thread_mode: None) -> None:
    def handler(event: dict, context: Context) -> Any:
        if event["n"] == 1:
            raise ValueError("own error")
        time.sleep(0.2)
        return {"n": event["n"]}

    guarded = bootstrap.guarded_handler(handler)
    results = run_in_threads(guarded, [Context(f"req-{i}", 1000) for i in range(3)])
    assert results[0] == {"n": 0} and results[2] == {"n": 2}
    assert type(results[1]) is ValueError and str(results[1]) == "own error"
