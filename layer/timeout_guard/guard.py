"""The graceful end before the Lambda timeout: what happens, and when, in each invocation.

For each invocation the guard makes a :class:`Deadline` from
``context.get_remaining_time_in_millis()`` and a margin, and takes the alarm
(:mod:`timeout_guard.alarm`) for its steps, each at most once:

1. :meth:`Deadline.fire` at ``deadline - margin``: one ERROR record (request id, remaining and
   elapsed ms, margin, where the function was and its stack), the ``TIMEOUT_GUARD_ON_TIMEOUT``
   callbacks, then (action ``raise``) :class:`~timeout_guard.LambdaTimeoutError` in the handler;
2. :meth:`Deadline.check_stuck` every ``margin/20`` from then on (action ``raise``; planned
   when it fires): a handler that caught the error, went on past the frame that caught it and
   got stuck again (a batch processor's next record) gets it again;
3. :meth:`Deadline.raise_again` at ``deadline - margin/2`` (action ``raise``): the handler
   caught the error and is still running;
4. :meth:`Deadline.last_word` just before the hard deadline: one last ERROR record.

Once the guard has fired, whatever exception the handler ends with is reported as
``LambdaTimeoutError`` (:meth:`Guard.replacement`). SDK attempts may run until the next step
that may cut them (so cleanup and callbacks can still call AWS; the checks do not cut them),
none past the last one.

Platform modes (README "Where it runs", :mod:`timeout_guard.modes`):

* Lambda Managed Instances (``AWS_LAMBDA_MAX_CONCURRENCY``): each worker process has its own
  guard, made after the fork. Nothing kills a timed-out invocation there, so after the last
  word :meth:`Deadline.raise_past_deadline` raises again every ``PAST_DEADLINE_EVERY_MS``
  until the handler returns.
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
or an import (:func:`main_thread_busy`). The records and the stuck checks are imported when
the guard first fires, not at start-up (:func:`_load_later`). A process forked during an
invocation (``multiprocessing``) forgets it in the child: neither the guard's records nor its
exception belong there.
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
from .alarm import Alarm
from .margin import auto_margin_ms, instrumentation_flush_ms
from .modes import durable_invocation, handlers_in_threads, managed_instances, user_thread_frame
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
# An SDK attempt cut at its cap ends a little before the firing time (sdk.attempts.SAFETY, and
# CUT_SLACK in judging it cut): the guard waits for that time, so the function's error never
# arrives before deadline - margin. A cut further from it fires at once. Above SAFETY, with room.
CUT_EARLY_MAX = 0.1


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
    fires, or the layer fails), not at start-up. :mod:`timeout_guard.records` and
    :mod:`timeout_guard.stuck` are a fifth of the code the hook would otherwise load on every
    cold start (``tools/build_layer.py`` bundles them apart: ``LOADED_WHEN_FIRED``).

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
    """One thing the guard does at one moment of an invocation."""

    __slots__ = ("bounds_sdk", "due", "run")

    def __init__(
        self, due: float, run: Callable[[Optional[FrameType]], None], bounds_sdk: bool = True
    ) -> None:
        self.due = due  # time.monotonic()
        self.run = run
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
        self.watch: Optional[StuckWatch] = None  # made when it fires (:meth:`_watch`)
        if margin_ms is not None:
            last_gap = min(LAST_WORD_MS, margin_ms / 4) / 1000
            self.steps.append(Step(self.lambda_deadline - margin_ms / 1000, self.fire))
            if self.raises:
                self.steps.append(Step(self.lambda_deadline - margin_ms / 2000, self.raise_again))
            self.steps.append(Step(self.lambda_deadline - last_gap, self.last_word))

    def _watch(self) -> StuckWatch:
        """After firing: did the handler go on and get stuck again?"""
        if self.watch is None:
            self.watch = _load_later("stuck").StuckWatch()
        return self.watch

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
        """An SDK attempt ended at the firing time: fire now (one record, the callbacks), without
        raising; the SDK raises its own ``error``, which the invocation then reports as the
        cause. A handler that catches it, goes on and gets stuck is raised in, as after the
        guard's own error (the stuck checks watch ``error``'s catching frame).

        Only from the main thread: a worker thread's call leaves the alarm to interrupt the
        main thread on time.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        if self.fired or not self.steps or self.steps[0].run != self.fire:
            return
        try:
            step = self.steps.pop(0)
            self.guard.alarm.set_due(self.next_step_due())
            early = step.due - time.monotonic()
            if 0 < early <= CUT_EARLY_MAX:  # the attempt ended a few ms early: fire on time
                time.sleep(early)
            self.fire(sys._getframe(1), interrupt=False)
            if self.raises and error is not None:
                self._watch().raised = error
                self._plan_checks()
        except Exception as failure:
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
        step.run(frame)

    def fire(self, frame: Optional[FrameType], interrupt: bool = True) -> None:
        self.fired = True
        now = time.monotonic()
        entry = None
        if self.durable:  # where the user's code is, not the SDK's wait in the main thread
            user_frame, entry = user_thread_frame(self.guard.handler)
            frame = user_frame or frame
        records = _load_later("records")
        records.log_pre_timeout(
            request_id=self.request_id,
            remaining_ms=(self.lambda_deadline - now) * 1000,
            elapsed_ms=(now - self.started) * 1000,
            margin_ms=self.margin_ms,
            stopping=self.raises,
            frame=frame,
            entry=entry,
            why_not=records.DURABLE if self.durable else records.ACTION_LOG,
        )
        for name, callback in self.guard.callbacks:
            try:
                callback(self.event, self.context)
            except Exception as error:
                records.log_callback_failed(name, error)
        if interrupt and self.raises:
            self._plan_checks()
            self._raise()

    def _plan_checks(self) -> None:
        """From now until the next raise (at deadline - margin/2), a check every margin/20."""
        if not self.steps:
            return
        every = self.margin_ms / 1000 / STUCK_CHECKS
        now, until = time.monotonic(), self.steps[0].due - every / 2
        dues = [now + n * every for n in range(1, STUCK_CHECKS // 2)]
        self.steps[0:0] = [Step(due, self.check_stuck, False) for due in dues if due < until]
        self.guard.alarm.set_due(self.next_step_due())

    def check_stuck(self, frame: Optional[FrameType]) -> None:
        """The handler caught the error and went on: raise again if it got stuck again
        (:mod:`timeout_guard.stuck` says when)."""
        half_a_check = self.margin_ms / 1000 / STUCK_CHECKS / 2  # closer: a late alarm's check
        if self._watch().stuck_again(frame, half_a_check):
            self._raise()

    def raise_again(self, frame: Optional[FrameType]) -> None:
        self._raise()

    def _raise(self) -> None:
        error = self._watch().raised = self.timeout_error()
        raise error

    def last_word(self, frame: Optional[FrameType]) -> None:
        now = time.monotonic()
        caught = self.fired and self.raises
        again = self.guard.managed and self.raises
        _load_later("records").log_last_word(
            (self.lambda_deadline - now) * 1000,
            caught,
            frame,
            raising_every_ms=PAST_DEADLINE_EVERY_MS if again else None,
        )
        if again:
            self.steps.append(Step(self.lambda_deadline, self.raise_past_deadline))
            self.guard.alarm.set_due(self.next_step_due())

    def raise_past_deadline(self, frame: Optional[FrameType]) -> None:
        """Managed Instances: nothing stops a timed-out invocation, so raise until it returns."""
        self.steps.append(
            Step(time.monotonic() + PAST_DEADLINE_EVERY_MS / 1000, self.raise_past_deadline)
        )
        self.guard.alarm.set_due(self.next_step_due())
        self._raise()

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
            # Steps hold the deadline's bound methods: without this the deadline would be a
            # reference cycle, freed only by a garbage collection (tens of µs, every few calls).
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
