"""Corner cases of the guard's timer and import hooks, in process (signals need the main thread).

The end-to-end tests cannot hit these windows on purpose; here the guard's methods are driven
directly, with real ``SIGALRM`` handlers and timers.
"""

from __future__ import annotations

import importlib
import importlib.util
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layer"
if str(LAYER) not in sys.path:
    sys.path.insert(0, str(LAYER))

from timeout_guard import _imports, config, hook, invocation  # noqa: E402


class _Context:
    aws_request_id = "req-1"

    def __init__(self, remaining_ms: float) -> None:
        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


@pytest.fixture
def guard():
    previous = signal.getsignal(signal.SIGALRM)
    guard = hook.Guard(config.Settings(margin_ms=500))
    yield guard
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)
    if invocation.current.lambda_deadline is not None:
        invocation.end()


def _frame_in(path: str):
    """A real frame whose code belongs to ``path`` (as if the alarm interrupted that file)."""
    namespace: dict = {}
    exec(compile("import sys\ndef where():\n    return sys._getframe()\n", path, "exec"), namespace)
    return namespace["where"]()


def test_alarm_inside_the_guard_is_retried_not_raised(guard) -> None:
    """An alarm between the handler's return and the disarm must not raise there, nor leave
    the timer armed between invocations."""
    guard.enter({}, _Context(10_000))
    guard._phases[0] = (time.monotonic() - 0.001, hook.FIRE)  # the fire is due now
    guard._on_alarm(signal.SIGALRM, _frame_in(hook.__file__))  # lands inside the guard
    assert not guard.fired
    assert guard._phases[0][1] == hook.FIRE  # put back, a moment later
    guard.exit()
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is not None
    assert signal.getsignal(signal.SIGALRM) != guard._on_alarm


def test_alarm_in_the_function_raises(guard) -> None:
    guard.enter({}, _Context(10_000))
    guard._phases[0] = (time.monotonic() - 0.001, hook.FIRE)
    with pytest.raises(TimeoutError):
        guard._on_alarm(signal.SIGALRM, _frame_in("/var/task/app.py"))
    assert guard.fired
    guard.exit()


def test_deadline_reached_in_a_worker_thread_does_not_fire(guard) -> None:
    """Only the main thread fires the hook (its stack, its callbacks, its interruption)."""
    guard.enter({}, _Context(10_000))
    worker = threading.Thread(target=invocation.deadline_reached)
    worker.start()
    worker.join()
    assert not guard.fired and guard._phases[0][1] == hook.FIRE
    invocation.deadline_reached()  # the main thread's own SDK call does fire it
    assert guard.fired
    guard.exit()


def test_after_firing_sdk_time_moves_to_the_next_step(guard) -> None:
    guard.enter({}, _Context(10_000))
    first = invocation.current.guard_deadline
    invocation.deadline_reached()
    assert invocation.current.guard_deadline == pytest.approx(guard.lambda_deadline - 0.25)
    assert invocation.current.guard_deadline > first
    guard.exit()


def test_import_hook_survives_a_find_spec_probe(tmp_path, monkeypatch) -> None:
    (tmp_path / "probed_module_for_hook.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []
    _imports.when_imported("probed_module_for_hook", seen.append)
    assert importlib.util.find_spec("probed_module_for_hook") is not None  # a probe only
    assert seen == []
    module = importlib.import_module("probed_module_for_hook")
    assert seen == [module]
    importlib.reload(module)
    assert seen == [module]  # once only
    sys.modules.pop("probed_module_for_hook", None)
