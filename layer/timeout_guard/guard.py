"""The graceful end before the Lambda timeout: what happens, and when, in each invocation.

For each invocation the guard makes a :class:`Deadline` from
``context.get_remaining_time_in_millis()`` and a margin, and takes the alarm
(:mod:`timeout_guard.alarm`) for its steps, each at most once: fire at ``deadline - margin``
(a record, the callbacks, :class:`~timeout_guard.LambdaTimeoutError` in the handler), look for
a handler stuck again every ``margin/20`` after that, raise again at ``deadline - margin/2``,
a last word just before the hard deadline. What each step does is :mod:`timeout_guard.firing`,
imported when the guard first fires: an invocation that ends in time runs only this module.

Once the guard has fired, whatever exception the handler ends with is reported as
``LambdaTimeoutError`` (:meth:`Guard.replacement`). SDK attempts may run until the next step
that may cut them (so cleanup and callbacks can still call AWS; the checks do not cut them),
none past the last one.

Platform modes (README "Where it runs", :mod:`timeout_guard.modes`):

* Lambda Managed Instances (``AWS_LAMBDA_MAX_CONCURRENCY``): each worker process has its own
  guard, made after the fork. Nothing kills a timed-out invocation there, so after the last
  word the guard raises again every ``PAST_DEADLINE_EVERY_MS`` until the handler returns.
* Handlers run in threads (``AWS_LAMBDA_CONCURRENCY_MODE=thread|hybrid``, or any call off the
  main thread): ``SIGALRM`` cannot reach them; the deadline is kept per thread for the SDK
  side only, no alarm, no raise (warned once).
* Durable executions (the event has ``DurableExecutionArn`` and ``CheckpointToken``): the
  SDK's main thread only waits; anything raised there either marks the execution FAILED for
  good (SDK 1.x) or waits for the stuck user thread (2.x+). So the guard only logs, with the
  stack of the SDK's user thread, and runs the callbacks; Lambda's own timeout ends the
  invocation as a retriable timeout. SDK attempts are not capped at the deadline there.

The signal handler does no network I/O and takes no lock the interrupted code could hold,
other than logging's re-entrant ones (waited for briefly if another thread holds them; see
:mod:`timeout_guard.records`); its steps wait a moment while the main thread is inside logging
or an import (:func:`main_thread_busy`). The steps, the records and the stuck checks are
imported when the guard first fires, not at start-up (:func:`_load_later`). A process forked
during an invocation (``multiprocessing``) forgets it in the child: neither the guard's records
nor its exception belong there.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import time
import weakref

from . import LambdaTimeoutError, invocation
from ._startup import layer_broken
from .alarm import Alarm, raised_in_the_function
from .margin import auto_margin_ms, instrumentation_flush_ms
from .modes import durable_invocation, handlers_in_threads, managed_instances
from .settings import Settings, warn

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from types import FrameType, ModuleType
    from typing import Any, Callable, Mapping, Optional

    from .stuck import StuckWatch

LAST_WORD_MS = 100  # the final record comes this long before the hard deadline (at most margin/4)
PAST_DEADLINE_EVERY_MS = 1000  # Managed Instances: past the deadline, raise again this often
# Between firing and deadline - margin/2 the handler is looked at every margin/STUCK_CHECKS.
STUCK_CHECKS = 20
IMPORT_ROOM = 200  # frames the import of a module loaded later may use above the recursion limit
# The steps' module, loaded when the guard first fires: its file (for the alarm's list of the
# layer's own files, bootstrap.OWN_FILES) without importing it.
FIRING_FILE = os.path.join(os.path.dirname(__file__), "firing.py")


def resolve_callbacks(names: tuple[str, ...]) -> list[tuple[str, Callable[..., Any]]]:
    """Import ``module:function`` callbacks now (at init), never inside the signal handler.

    A callback that cannot be loaded is warned and skipped. The warning names what is missing;
    of an error the module's own code raised while importing, only the type (its message may
    carry the function's data).
    """
    found = []
    for name in names:
        module_name, _, function_name = name.partition(":")
        try:
            function = getattr(importlib.import_module(module_name), function_name, None)
            problem = None if callable(function) else f"no callable {function_name!r} in it"
        except ModuleNotFoundError as error:
            problem = f"ModuleNotFoundError: {error}"
        except Exception as error:
            problem = f"{type(error).__name__} while importing {module_name!r}"
        if problem is not None:
            warn(f"TIMEOUT_GUARD_ON_TIMEOUT callback {name!r} cannot be loaded ({problem}); "
                 "skipped")
            continue
        found.append((name, function))
    return found


def _load_later(name: str) -> ModuleType:
    """``timeout_guard.<name>``: a module the layer imports when it first needs it (the guard
    fires, or the layer fails), not at start-up. :mod:`timeout_guard.firing`,
    :mod:`timeout_guard.records` and :mod:`timeout_guard.stuck` are more than a quarter of the
    code the hook would otherwise load on every cold start (``tools/build_layer.py`` bundles
    them apart: ``LOADED_WHEN_FIRED``).

    When the guard first fires, this import runs in the signal handler: never inside another
    import (the alarm waits, :func:`main_thread_busy`), and with ``IMPORT_ROOM`` frames above the
    recursion limit, so that a handler recursing close to it still gets its record.
    """
    module = sys.modules.get(f"{__package__}.{name}")
    if module is None:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(limit + IMPORT_ROOM)
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        finally:
            sys.setrecursionlimit(limit)
    return module


def main_thread_busy(frame: Optional[FrameType]) -> bool:
    """Where the guard's steps must not run yet (the alarm waits, at most ``alarm.BUSY_WAIT``):

    * inside logging: this thread holds one of its locks (in a handler's ``emit``, say); an
      exception raised there would be taken by logging (``handleError``) or leave a lock held;
    * inside an import: a step may import the rest of the layer, which must not run inside
      another import's finder or loader (one that holds a lock of its own would wait for
      itself);
    * inside an SDK attempt past its cap (the process was off the CPU when the cut came): the
      cut is under way and fires the guard itself (:meth:`Deadline.sdk_attempt_cut`), with the
      SDK's error as the function's. Raised in urllib3's read instead, the guard's error would
      reach the function as a library's (a ``TimeoutError`` is the ``OSError`` urllib3 turns
      into a lost connection).
    """
    try:
        if invocation.attempt_overdue():
            return True
        locks = [getattr(logging, "_lock", None)]
        locks += [getattr(ref(), "lock", None) for ref in getattr(logging, "_handlerList", ())]
        for lock in locks:
            is_owned = getattr(lock, "_is_owned", None)
            if is_owned is not None and is_owned():
                return True
        while frame is not None:
            if frame.f_code.co_filename.startswith("<frozen importlib."):
                return True
            frame = frame.f_back
    except Exception:
        pass
    return False


class Step:
    """One thing the guard does at one moment of an invocation: the function of
    :mod:`timeout_guard.firing` so named, run with the deadline and the interrupted frame."""

    __slots__ = ("bounds_sdk", "due", "name")

    def __init__(self, due: float, name: str, bounds_sdk: bool = True) -> None:
        self.due = due  # time.monotonic()
        self.name = name
        self.bounds_sdk = bounds_sdk  # SDK attempts end before it (a check does not cut them)


class Deadline:
    """One invocation's deadline and steps: the only owner of "how long is left".

    The SDK side reads it through :mod:`timeout_guard.invocation` (``sdk_seconds_left``) and
    reports attempts it cut short (``sdk_attempt_cut``).
    """

    def __init__(
        self,
        guard: Guard,
        event: Any,
        context: Any,
        now: float,
        remaining_ms: float,
        margin_ms: Optional[int],
    ) -> None:
        self.guard = guard
        self.event = event
        self.context = context
        self.request_id: Optional[str] = getattr(context, "aws_request_id", None)
        self.started = now
        self.lambda_deadline = now + remaining_ms / 1000
        self.margin_ms = margin_ms or 0
        self.fired = False
        self.durable = durable_invocation(event)
        # Raise in the handler: not in a durable execution (the SDK's main thread only waits).
        self.raises = guard.settings.action == "raise" and not self.durable
        self.steps: list[Step] = []
        self.watch: Optional[StuckWatch] = None  # made when it fires
        if margin_ms is not None:
            last_gap = min(LAST_WORD_MS, margin_ms / 4) / 1000
            self.steps.append(Step(self.lambda_deadline - margin_ms / 1000, "fire"))
            if self.raises:
                self.steps.append(Step(self.lambda_deadline - margin_ms / 2000, "raise_again"))
            self.steps.append(Step(self.lambda_deadline - last_gap, "last_word"))

    # --- read and reported by the SDK side -----------------------------------------------------

    def sdk_seconds_left(self) -> Optional[float]:
        """Until the next step that may cut an attempt, or the hard deadline after the last.

        None (no cap) in a durable execution: an attempt cut there would become a step or
        checkpoint failure, where Lambda's own timeout is retried.
        """
        if self.durable:
            return None
        due = next((s.due for s in self.steps if s.bounds_sdk), self.lambda_deadline)
        return min(due, self.lambda_deadline) - time.monotonic()

    def sdk_attempt_cut(self, error: Optional[BaseException] = None) -> None:
        """An SDK attempt ended at the firing time: fire now, without raising
        (:func:`timeout_guard.firing.attempt_cut`).

        Only from the main thread: a worker thread's call leaves the alarm to interrupt the
        main thread on time.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        if self.fired or not self.steps or self.steps[0].name != "fire":
            return
        firing = self._firing()
        if firing is None:
            return
        try:
            firing.attempt_cut(self, error)
        except Exception as failure:
            if raised_in_the_function(failure):
                raise  # a SIGALRM handler's, raised while the guard fired: the function's
            _load_later("records").log_failure("firing at an SDK attempt's cut failed", failure)

    # --- the steps -----------------------------------------------------------------------------

    def next_step_due(self) -> Optional[float]:
        return self.steps[0].due if self.steps else None

    def run_due_step(self, frame: Optional[FrameType]) -> None:
        """The alarm came: run the step that is due (it may raise in the handler)."""
        if not self.steps:
            return
        step = self.steps.pop(0)
        self.guard.alarm.set_due(self.next_step_due())
        firing = self._firing()
        if firing is not None:
            getattr(firing, step.name)(self, frame)

    def _firing(self) -> Optional[ModuleType]:
        """The steps' module, or None if the layer's files lack it (a damaged layer): the
        guard then stops for this invocation, which runs on as without the layer."""
        try:
            return _load_later("firing")
        except ImportError as error:
            if raised_in_the_function(error):
                raise
            self.steps = []
            self.guard.alarm.set_due(None)
            layer_broken("the pre-timeout hook", error)
            return None


class Guard:
    """The per-process policy: a :class:`Deadline` and the alarm around each invocation.

    :meth:`enter` and :meth:`exit` never raise (a failure inside the layer leaves the function
    running as without it); only the steps raise, in the function's code.
    """

    def __init__(
        self,
        settings: Settings,
        own_files: set[str],
        handler: Any = None,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self.settings = settings
        self.handler = handler  # the function's handler (durable: where its user code runs)
        self.callbacks = resolve_callbacks(settings.on_timeout)
        self.alarm = Alarm(self._on_alarm, own_files, main_thread_busy)
        self.current: Optional[Deadline] = None
        self.managed = managed_instances(environ)
        self._warned_no_time = False
        self._warned_threads = False
        _guards.add(self)
        if handlers_in_threads(environ):
            self._warn_threads(
                f"AWS_LAMBDA_CONCURRENCY_MODE={environ['AWS_LAMBDA_CONCURRENCY_MODE']}"
            )

    def _warn_threads(self, why: str) -> None:
        if not self._warned_threads:
            self._warned_threads = True
            warn(
                f"{why}: handlers run in threads, where SIGALRM cannot reach them; the "
                "pre-timeout hook is off (no record, no LambdaTimeoutError); the SDK timeouts "
                "and the deadline-capped attempts stay on"
            )

    def enter(self, event: Any, context: Any) -> None:
        """Make this invocation's deadline current and arm its first step."""
        try:
            if threading.current_thread() is threading.main_thread():
                self._enter(event, context)
            else:
                self._enter_thread(event, context)
        except Exception as error:
            _load_later("records").log_failure("pre-timeout timer not armed", error)

    def _enter_thread(self, event: Any, context: Any) -> None:
        """A handler called off the main thread: its deadline for the SDK side, in this thread."""
        self._warn_threads("the handler runs outside the main thread")
        now = time.monotonic()
        remaining_ms = float(context.get_remaining_time_in_millis())
        margin_ms = self.settings.margin_ms or auto_margin_ms(remaining_ms)
        margin = margin_ms if margin_ms < remaining_ms else None
        invocation.begin(Deadline(self, event, context, now, remaining_ms, margin), per_thread=True)

    def _enter(self, event: Any, context: Any) -> None:
        now = time.monotonic()
        remaining_ms = float(context.get_remaining_time_in_millis())
        margin_ms = self._margin_ms(remaining_ms)
        deadline = self.current = Deadline(self, event, context, now, remaining_ms, margin_ms)
        invocation.begin(deadline)
        if deadline.steps:
            self.alarm.take()
            self.alarm.set_due(deadline.next_step_due())

    def _margin_ms(self, remaining_ms: float) -> Optional[int]:
        """The margin for this invocation; None (no timer, warned once) if it leaves no time."""
        chosen = self.settings.margin_ms
        if chosen is not None:
            margin = chosen
        else:
            margin = auto_margin_ms(remaining_ms, instrumentation_flush_ms())
        if margin < remaining_ms:
            return margin
        if not self._warned_no_time:
            self._warned_no_time = True
            what = (
                f"TIMEOUT_GUARD_MARGIN_MS={margin}"
                if chosen is not None
                else f"the automatic margin ({margin} ms)"
            )
            warn(
                f"{what} leaves no time: only {remaining_ms:.0f} ms remain at invocation "
                "start; no pre-timeout timer"
            )
        return None

    def exit(self) -> None:
        """Disarm, give the function its own handler and timer back, end the invocation."""
        if threading.current_thread() is not threading.main_thread():
            invocation.end(per_thread=True)
            return
        try:
            self.alarm.release()
        except Exception as error:
            _load_later("records").log_failure("pre-timeout timer not disarmed cleanly", error)
        deadline, self.current = self.current, None
        if deadline is not None:
            # Over: a thread of the function that still holds it sees no step and no data of the
            # invocation's (the event, the context, the frames the stuck checks kept).
            deadline.steps = []
            deadline.event = deadline.context = None
            if deadline.watch is not None:
                deadline.watch.forget()
        invocation.end()

    def forget(self) -> None:
        """In a forked child: no invocation, the function's own ``SIGALRM`` handler back."""
        try:
            self.alarm.forget()
        except Exception as error:
            _load_later("records").log_failure(
                "the pre-timeout timer not forgotten in a forked child", error
            )
        self.current = None
        invocation.forget()

    def replacement(self, error: BaseException) -> Optional[BaseException]:
        """What the invocation ends with instead of ``error``, or None for ``error`` itself.

        Once the guard has fired (action ``raise``), any other exception becomes a
        ``LambdaTimeoutError`` with the handler's traceback, chained to ``error``.
        """
        deadline = self.current
        if deadline is None or not deadline.fired or isinstance(error, LambdaTimeoutError):
            return None
        if not deadline.raises:
            return None
        replacement = _load_later("firing").timeout_error(deadline, error)
        return replacement.with_traceback(error.__traceback__)

    def _on_alarm(self, frame: Optional[FrameType]) -> None:
        deadline = self.current
        if deadline is not None:
            deadline.run_due_step(frame)


_guards: weakref.WeakSet[Guard] = weakref.WeakSet()  # the process's guards (one, in Lambda)


def _forget_in_child() -> None:
    for each in list(_guards):
        each.forget()


os.register_at_fork(after_in_child=_forget_in_child)
