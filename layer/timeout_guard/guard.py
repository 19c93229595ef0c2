"""The graceful end before the Lambda timeout: what happens, and when, in each invocation.

For each invocation the guard makes a :class:`Deadline` from
``context.get_remaining_time_in_millis()`` and a margin, and takes the alarm
(:mod:`timeout_guard.alarm`) for its steps, each at most once:

1. :meth:`Deadline.fire` at ``deadline - margin``: one ERROR record (request id, remaining and
   elapsed ms, margin, where the function was and its stack), the ``TIMEOUT_GUARD_ON_TIMEOUT``
   callbacks, then (action ``raise``) :class:`~timeout_guard.LambdaTimeoutError` in the handler;
2. :meth:`Deadline.raise_again` at ``deadline - margin/2`` (action ``raise``): the handler
   caught the error and is still running;
3. :meth:`Deadline.last_word` just before the hard deadline: one last ERROR record.

Once the guard has fired, whatever exception the handler ends with is reported as
``LambdaTimeoutError`` (:meth:`Guard.replacement`). SDK attempts may run until the next step
(so cleanup and callbacks can still call AWS), none past the last one.

The signal handler does no network I/O and takes no lock the interrupted code could hold,
other than logging's re-entrant ones (waited for briefly if another thread holds them; see
:mod:`timeout_guard.records`); it does not raise inside logging (``records.logging_held``). A
process forked during an invocation (``multiprocessing``) forgets it in the child: neither the
guard's records nor its exception belong there.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import time
import weakref

from . import LambdaTimeoutError, invocation, records
from .alarm import Alarm
from .settings import Settings, warn

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any, Callable, Optional

MIN_AUTO_MARGIN_MS = 500
MAX_AUTO_MARGIN_MS = 3000
LAST_WORD_MS = 100  # the final record comes this long before the hard deadline (at most margin/4)


def auto_margin_ms(remaining_ms: float) -> int:
    """10 % of the remaining time, clamped to 500-3000 ms."""
    return int(min(MAX_AUTO_MARGIN_MS, max(MIN_AUTO_MARGIN_MS, remaining_ms * 0.1)))


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


class Step:
    """One thing the guard does at one moment of an invocation."""

    __slots__ = ("due", "run")

    def __init__(self, due: float, run: Callable[[Optional[FrameType]], None]) -> None:
        self.due = due  # time.monotonic()
        self.run = run


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
        self.steps: list[Step] = []
        if margin_ms is not None:
            raise_ = guard.settings.action == "raise"
            last_gap = min(LAST_WORD_MS, margin_ms / 4) / 1000
            self.steps.append(Step(self.lambda_deadline - margin_ms / 1000, self.fire))
            if raise_:
                self.steps.append(Step(self.lambda_deadline - margin_ms / 2000, self.raise_again))
            self.steps.append(Step(self.lambda_deadline - last_gap, self.last_word))

    # --- read and reported by the SDK side -----------------------------------------------------

    def sdk_seconds_left(self) -> float:
        """Until the next step (no attempt may run into it), or the hard deadline after the last."""
        due = self.steps[0].due if self.steps else self.lambda_deadline
        return due - time.monotonic()

    def sdk_attempt_cut(self) -> None:
        """An SDK attempt ended at the firing time: fire now (one record, the callbacks), without
        raising; the SDK raises its own error, which the invocation then reports as the cause.

        Only from the main thread: a worker thread's call leaves the alarm to interrupt the
        main thread on time.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        if self.fired or not self.steps or self.steps[0].run != self.fire:
            return
        try:
            self.steps.pop(0)
            self.guard.alarm.set_due(self.next_step_due())
            self.fire(sys._getframe(1), interrupt=False)
        except Exception as error:
            records.log_failure("firing at an SDK attempt's cut failed", error)

    # --- the steps -----------------------------------------------------------------------------

    def next_step_due(self) -> Optional[float]:
        return self.steps[0].due if self.steps else None

    def run_due_step(self, frame: Optional[FrameType]) -> None:
        """The alarm came: run the step that is due (it may raise in the handler)."""
        if not self.steps:
            return
        step = self.steps.pop(0)
        self.guard.alarm.set_due(self.next_step_due())
        step.run(frame)

    def fire(self, frame: Optional[FrameType], interrupt: bool = True) -> None:
        self.fired = True
        raise_ = self.guard.settings.action == "raise"
        now = time.monotonic()
        records.log_pre_timeout(
            request_id=self.request_id,
            remaining_ms=(self.lambda_deadline - now) * 1000,
            elapsed_ms=(now - self.started) * 1000,
            margin_ms=self.margin_ms,
            stopping=raise_,
            frame=frame,
        )
        for name, callback in self.guard.callbacks:
            try:
                callback(self.event, self.context)
            except Exception as error:
                records.log_callback_failed(name, error)
        if interrupt and raise_:
            raise self.timeout_error()

    def raise_again(self, frame: Optional[FrameType]) -> None:
        raise self.timeout_error()

    def last_word(self, frame: Optional[FrameType]) -> None:
        now = time.monotonic()
        caught = self.fired and self.guard.settings.action == "raise"
        records.log_last_word((self.lambda_deadline - now) * 1000, caught, frame)

    def timeout_error(self, cause: Optional[BaseException] = None) -> LambdaTimeoutError:
        """The error the invocation ends with; names the handler's own error if it had one."""
        ran_ms = self.lambda_deadline - self.margin_ms / 1000 - self.started
        message = (
            f"Function stopped {self.margin_ms} ms before the Lambda timeout "
            f"(TIMEOUT_GUARD_MARGIN_MS); it was still running after {ran_ms * 1000:.0f} ms"
        )
        if cause is not None:
            message += f"; then it raised {type(cause).__name__}: {cause}"
        return LambdaTimeoutError(message)


class Guard:
    """The per-process policy: a :class:`Deadline` and the alarm around each invocation.

    :meth:`enter` and :meth:`exit` never raise (a failure inside the layer leaves the function
    running as without it); only the steps raise, in the function's code.
    """

    def __init__(self, settings: Settings, own_files: set[str]) -> None:
        self.settings = settings
        self.callbacks = resolve_callbacks(settings.on_timeout)
        self.alarm = Alarm(self._on_alarm, own_files, records.logging_held)
        self.current: Optional[Deadline] = None
        self._warned_no_time = False
        _guards.add(self)

    def enter(self, event: Any, context: Any) -> None:
        """Make this invocation's deadline current and arm its first step."""
        try:
            self._enter(event, context)
        except Exception as error:
            records.log_failure("pre-timeout timer not armed", error)

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
        margin = chosen if chosen is not None else auto_margin_ms(remaining_ms)
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
        try:
            self.alarm.release()
        except Exception as error:
            records.log_failure("pre-timeout timer not disarmed cleanly", error)
        deadline, self.current = self.current, None
        if deadline is not None:
            deadline.event = deadline.context = None
        invocation.end()

    def forget(self) -> None:
        """In a forked child: no invocation, the function's own ``SIGALRM`` handler back."""
        try:
            self.alarm.forget()
        except Exception as error:
            records.log_failure("the pre-timeout timer not forgotten in a forked child", error)
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
        if self.settings.action != "raise":
            return None
        return deadline.timeout_error(error).with_traceback(error.__traceback__)

    def _on_alarm(self, frame: Optional[FrameType]) -> None:
        deadline = self.current
        if deadline is not None:
            deadline.run_due_step(frame)


_guards: weakref.WeakSet[Guard] = weakref.WeakSet()  # the process's guards (one, in Lambda)


def _forget_in_child() -> None:
    for each in list(_guards):
        each.forget()


os.register_at_fork(after_in_child=_forget_in_child)
