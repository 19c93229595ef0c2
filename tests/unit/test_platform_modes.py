"""The guard's platform modes, in process: Managed Instances, durable executions, SnapStart."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import pytest
from timeout_guard import LambdaTimeoutError, firing, guard, invocation, modes
from timeout_guard.settings import Settings

from .helpers import OWN_FILES, Context

DURABLE_EVENT = {"DurableExecutionArn": "arn", "CheckpointToken": "token"}




def run(deadline: guard.Deadline, step: guard.Step) -> None:
    """Run one of the deadline's steps now, as the alarm would (in the interrupted frame)."""
    getattr(firing, step.name)(deadline, None)


def make_guard(environ: dict[str, str] | None = None, handler: Any = None) -> guard.Guard:
    settings = Settings({"TIMEOUT_GUARD_MARGIN_MS": "500"})
    return guard.Guard(settings, OWN_FILES, handler, environ or {})


def test_managed_instances_raise_again_past_the_deadline_until_the_handler_returns() -> None:
    g = make_guard({"AWS_LAMBDA_MAX_CONCURRENCY": "4"})
    g.enter({}, Context(10_000))
    deadline = g.current
    for step in list(deadline.steps):  # fire, raise_again, last_word: run them in turn
        deadline.steps.remove(step)
        try:
            run(deadline, step)
        except LambdaTimeoutError:
            pass
    # (firing also planned the stuck checks before deadline - margin/2: not the subject here)
    deadline.steps = [s for s in deadline.steps if s.name != "check_stuck"]
    assert [s.name for s in deadline.steps] == ["raise_past_deadline"]
    assert deadline.steps[0].due == deadline.lambda_deadline
    for _ in range(3):  # each raise schedules the next, PAST_DEADLINE_EVERY_MS later
        step = deadline.steps.pop(0)
        before = time.monotonic()
        with pytest.raises(LambdaTimeoutError):
            run(deadline, step)
        assert deadline.steps[0].due - before == pytest.approx(1.0, abs=0.05)
    assert deadline.sdk_seconds_left() < 10  # SDK attempts: never past the hard deadline
    g.exit()
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_classic_runtime_has_no_step_past_the_deadline() -> None:
    g = make_guard()
    g.enter({}, Context(10_000))
    deadline = g.current
    deadline.steps = deadline.steps[-1:]
    deadline.run_due_step(None)  # the last word
    assert deadline.steps == []
    g.exit()


def test_durable_invocation_logs_only_and_does_not_cap_the_sdk() -> None:
    g = make_guard()
    g.enter(DURABLE_EVENT, Context(10_000))
    deadline = g.current
    assert [s.name for s in deadline.steps] == ["fire", "last_word"]
    assert invocation.seconds_left() is None
    run(deadline, deadline.steps.pop(0))  # fires: a record, no exception
    assert deadline.fired
    assert g.replacement(ValueError("the SDK's own error")) is None
    g.exit()


def test_durable_record_finds_the_user_thread() -> None:
    started = threading.Event()
    release = threading.Event()

    def user_code(event: Any, context: Any) -> None:
        started.set()
        release.wait(10)

    def durable_wrapper(event: Any, context: Any) -> None:  # as functools.wraps leaves it
        pass

    durable_wrapper.__wrapped__ = user_code  # type: ignore[attr-defined]
    thread = threading.Thread(target=user_code, args=({}, None), name="dex-handler_0")
    thread.start()
    started.wait(5)
    try:
        frame, entry = modes.user_thread_frame(durable_wrapper)
        assert entry is user_code.__code__
        assert frame is not None and frame.f_code.co_name == "wait"  # inside release.wait()
    finally:
        release.set()
        thread.join(5)


def test_no_clock_reading_from_init_survives_into_an_invocation(monkeypatch) -> None:
    """SnapStart: the guard made at init, the clock moved on (a restore elsewhere), then an
    invocation: its steps come from its own context and the clock at its start."""
    g = make_guard()
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + 3600.0)
    g.enter({}, Context(10_000))
    deadline = g.current
    assert deadline.steps[0].due - time.monotonic() == pytest.approx(9.5, abs=0.05)
    assert signal.getitimer(signal.ITIMER_REAL)[0] == pytest.approx(9.5, abs=0.05)
    g.exit()
