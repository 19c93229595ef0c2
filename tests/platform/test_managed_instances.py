"""Lambda Managed Instances: awslambdaric 4.x forks workers, and nothing kills a timed-out one.

The local runtime runs the real awslambdaric in its multi-concurrent mode
(``AWS_LAMBDA_MAX_CONCURRENCY``): N worker processes each polling ``/next``; at an invocation's
deadline the caller gets ``Sandbox.Timedout`` and the worker goes on running the handler.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import VERSIONS
from loopback import BlackHole

FUNCTION = Path(__file__).resolve().parent / "functions" / "managed"
MI_PYTHON = next((v for v in VERSIONS if v >= "3.13"), None)
WORKERS = 4
TIMEOUT = 3.0
MARGIN_MS = 500
# Without the layer, how long the normal invocations wait for a worker (they never get one).
QUEUE_WAIT = 3.0

pytestmark = pytest.mark.skipif(MI_PYTHON is None, reason="Managed Instances need python3.13+")


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    server = BlackHole()
    server.start()
    yield server
    server.stop()


def managed(make_lambda, wrapper: str | None, **kwargs):
    env = {"TIMEOUT_GUARD_MARGIN_MS": str(MARGIN_MS)}
    return make_lambda(
        FUNCTION,
        "app.handler",
        python=MI_PYTHON,
        timeout=TIMEOUT,
        max_concurrency=kwargs.pop("workers", WORKERS),
        queue_timeout=QUEUE_WAIT,
        exec_wrapper=wrapper,
        env=env,
        **kwargs,
    )


def hang_then_serve(fn) -> tuple[list, list]:
    """N invocations that hang, then (once each has an answer) N normal ones."""
    fn.start()  # every worker up and polling (their init is not part of the scenario)
    assert fn.api.wait_for_polls(WORKERS, 30), "the workers did not all reach /next"
    stuck = fn.invoke_many([{"do": "hang"}] * WORKERS)
    normal = fn.invoke_many([{"do": "answer"}] * WORKERS)
    return stuck, normal


def test_without_the_layer_stuck_workers_serve_nobody(make_lambda) -> None:
    fn = managed(make_lambda, None)
    stuck, normal = hang_then_serve(fn)
    assert [r.error_type for r in stuck] == ["Sandbox.Timedout"] * WORKERS
    assert len({r.pid for r in stuck}) == WORKERS  # one per worker, none killed
    assert [r.error_type for r in normal] == ["Runtime.Unavailable"] * WORKERS
    assert fn.pid is not None  # the runtime still runs: nothing was killed


def test_with_the_layer_every_stuck_worker_is_freed(make_lambda, wrapper: str) -> None:
    fn = managed(make_lambda, wrapper)
    stuck, normal = hang_then_serve(fn)
    for result in stuck:
        assert result.error_type == "LambdaTimeoutError", result.logs
        assert result.duration_ms < TIMEOUT * 1000
        assert "Lambda timeout in" in result.logs and "app.py" in result.logs
        assert result.request_id in result.logs  # the record names its own invocation
    assert len({r.pid for r in stuck}) == WORKERS
    assert [r.status for r in normal] == ["success"] * WORKERS
    assert {r.pid for r in normal} <= {r.pid for r in stuck}  # the same workers, freed


def test_a_handler_that_keeps_catching_is_raised_at_until_it_returns(
    make_lambda, wrapper: str
) -> None:
    """Past the deadline the guard raises again every second (guard.PAST_DEADLINE_EVERY_MS)."""
    fn = managed(make_lambda, wrapper, workers=1)
    caught = 5  # at deadline - margin, - margin/2, at the deadline, then +1 s and +2 s
    late = fn.invoke({"do": "catch", "times": caught})
    assert late.error_type == "Sandbox.Timedout"  # Lambda answered the caller at the deadline
    after = fn.invoke({"do": "answer"})  # waits for the only worker: served once it returned
    assert after.status == "success", after.payload
    assert after.pid == late.pid
    assert re.findall(r"caught LambdaTimeoutError #\d", late.logs) == [
        f"caught LambdaTimeoutError #{n}" for n in range(1, caught + 1)
    ]
    assert "every 1000 ms after it until the handler returns" in late.logs
    # The late result was answered as Lambda answers it (410), and the worker went on.
    assert (late.request_id, "response", 410) in fn.api.late_answers
    assert "This won't kill the Runtime loop" in late.logs


def test_each_worker_has_its_own_deadline_and_sdk_record(
    make_lambda, wrapper: str, black_hole: BlackHole
) -> None:
    fn = managed(make_lambda, wrapper, workers=2)
    fn.start()
    assert fn.api.wait_for_polls(2, 30)
    first = fn.start_invoke({"do": "sdk", "endpoint": black_hole.endpoint_url})
    time.sleep(1.0)
    second = fn.start_invoke({"do": "hang"}).result()
    first = first.result()
    assert first.pid != second.pid
    for result in (first, second):
        assert result.error_type == "LambdaTimeoutError", result.logs
        assert result.duration_ms < TIMEOUT * 1000
        assert result.request_id in result.logs
    # The SDK call was cut at its own invocation's deadline, and only its worker reports it.
    assert "Lambda deadline" in first.error_message or "DeadlineReadTimeoutError" in first.logs
    assert "AWS SDK: 1 calls" in first.logs
    assert "AWS SDK:" not in second.logs
    # Each record counts from its own invocation's start (the second began 1 s later).
    elapsed = [int(re.search(r"elapsed (\d+) ms", r.logs).group(1)) for r in (first, second)]
    expected = TIMEOUT * 1000 - MARGIN_MS
    assert all(abs(e - expected) < 300 for e in elapsed), elapsed
