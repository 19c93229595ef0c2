"""What the guard does when an invocation's time comes: its steps, run by the alarm.

Each step is a function of the invocation's :class:`~timeout_guard.guard.Deadline` and the
interrupted frame, named by the deadline's steps (``Step.name``), each run at most once:

1. :func:`fire` at ``deadline - margin``: one ERROR record (request id, remaining and elapsed
   ms, margin, where the function was and its stack), the ``TIMEOUT_GUARD_ON_TIMEOUT``
   callbacks, then (action ``raise``) :class:`~timeout_guard.LambdaTimeoutError` in the handler;
2. :func:`check_stuck` every ``margin/20`` from then on (action ``raise``; planned when it
   fires): a handler that caught the error, went on past the frame that caught it and got stuck
   again (a batch processor's next record) gets it again;
3. :func:`raise_again` at ``deadline - margin/2`` (action ``raise``): the handler caught the
   error and is still running;
4. :func:`last_word` just before the hard deadline: one last ERROR record; on Lambda Managed
   Instances, where nothing kills a timed-out invocation, then :func:`raise_past_deadline`
   every ``PAST_DEADLINE_EVERY_MS`` until the handler returns.

:func:`attempt_cut` fires without raising when an SDK attempt ended at the firing time (the
SDK raises its own error). This module is imported when the guard first fires, not at start-up
(``guard._load_later``; ``tools/build_layer.py`` bundles it apart with the records it writes):
none of it runs in an invocation that ends in time.
"""

from __future__ import annotations

import sys
import time

from . import LambdaTimeoutError
from .guard import PAST_DEADLINE_EVERY_MS, STUCK_CHECKS, Step
from .modes import user_thread_frame
from .records import ACTION_LOG, DURABLE, log_callback_failed, log_last_word, log_pre_timeout
from .stuck import StuckWatch

TYPE_CHECKING = False  # no typing import; annotations only
if TYPE_CHECKING:
    from types import FrameType
    from typing import Optional

    from .guard import Deadline

# An SDK attempt cut at its cap ends a little before the firing time (sdk.attempts.SAFETY, and
# CUT_SLACK in judging it cut): the guard waits for that time, so the function's error never
# arrives before deadline - margin. A cut further from it fires at once. Above SAFETY, with room.
CUT_EARLY_MAX = 0.1


def fire(deadline: Deadline, frame: Optional[FrameType], interrupt: bool = True) -> None:
    deadline.fired = True
    now = time.monotonic()
    entry = None
    if deadline.durable:  # where the user's code is, not the SDK's wait in the main thread
        user_frame, entry = user_thread_frame(deadline.guard.handler)
        frame = user_frame or frame
    log_pre_timeout(
        request_id=deadline.request_id,
        remaining_ms=(deadline.lambda_deadline - now) * 1000,
        elapsed_ms=(now - deadline.started) * 1000,
        margin_ms=deadline.margin_ms,
        stopping=deadline.raises,
        frame=frame,
        entry=entry,
        why_not=DURABLE if deadline.durable else ACTION_LOG,
    )
    for name, callback in deadline.guard.callbacks:
        try:
            callback(deadline.event, deadline.context)
        except Exception as error:
            log_callback_failed(name, error)
    if interrupt and deadline.raises:
        _plan_checks(deadline)
        _raise(deadline)


def attempt_cut(deadline: Deadline, error: Optional[BaseException]) -> None:
    """An SDK attempt ended at the firing time: fire now (one record, the callbacks), without
    raising; the SDK raises its own ``error``, which the invocation then reports as the cause.
    A handler that catches it, goes on and gets stuck is raised in, as after the guard's own
    error (the stuck checks watch ``error``'s catching frame)."""
    step = deadline.steps.pop(0)
    deadline.guard.alarm.set_due(deadline.next_step_due())
    early = step.due - time.monotonic()
    if 0 < early <= CUT_EARLY_MAX:  # the attempt ended a few ms early: fire on time
        time.sleep(early)
    fire(deadline, sys._getframe(2), interrupt=False)
    if deadline.raises and error is not None:
        _watch(deadline).raised = error
        _plan_checks(deadline)


def check_stuck(deadline: Deadline, frame: Optional[FrameType]) -> None:
    """The handler caught the error and went on: raise again if it got stuck again
    (:mod:`timeout_guard.stuck` says when)."""
    half_a_check = deadline.margin_ms / 1000 / STUCK_CHECKS / 2  # closer: a late alarm's check
    if _watch(deadline).stuck_again(frame, half_a_check):
        _raise(deadline)


def raise_again(deadline: Deadline, frame: Optional[FrameType]) -> None:
    _raise(deadline)


def last_word(deadline: Deadline, frame: Optional[FrameType]) -> None:
    now = time.monotonic()
    caught = deadline.fired and deadline.raises
    again = deadline.guard.managed and deadline.raises
    log_last_word(
        (deadline.lambda_deadline - now) * 1000,
        caught,
        frame,
        raising_every_ms=PAST_DEADLINE_EVERY_MS if again else None,
    )
    if again:
        deadline.steps.append(Step(deadline.lambda_deadline, "raise_past_deadline"))
        deadline.guard.alarm.set_due(deadline.next_step_due())


def raise_past_deadline(deadline: Deadline, frame: Optional[FrameType]) -> None:
    """Managed Instances: nothing stops a timed-out invocation, so raise until it returns."""
    due = time.monotonic() + PAST_DEADLINE_EVERY_MS / 1000
    deadline.steps.append(Step(due, "raise_past_deadline"))
    deadline.guard.alarm.set_due(deadline.next_step_due())
    _raise(deadline)


def timeout_error(deadline: Deadline, cause: Optional[BaseException] = None) -> LambdaTimeoutError:
    """The error the invocation ends with; names the handler's own error if it had one."""
    ran_ms = deadline.lambda_deadline - deadline.margin_ms / 1000 - deadline.started
    message = (
        f"Function stopped {deadline.margin_ms} ms before the Lambda timeout "
        f"(TIMEOUT_GUARD_MARGIN_MS); it was still running after {ran_ms * 1000:.0f} ms"
    )
    if cause is not None:
        message += f"; then it raised {type(cause).__name__}: {cause}"
    return LambdaTimeoutError(message)


def _plan_checks(deadline: Deadline) -> None:
    """From now until the next raise (at deadline - margin/2), a check every margin/20."""
    if not deadline.steps:
        return
    every = deadline.margin_ms / 1000 / STUCK_CHECKS
    now, until = time.monotonic(), deadline.steps[0].due - every / 2
    dues = [now + n * every for n in range(1, STUCK_CHECKS // 2)]
    deadline.steps[0:0] = [Step(due, "check_stuck", False) for due in dues if due < until]
    deadline.guard.alarm.set_due(deadline.next_step_due())


def _watch(deadline: Deadline) -> StuckWatch:
    """After firing: did the handler go on and get stuck again?"""
    if deadline.watch is None:
        deadline.watch = StuckWatch()
    return deadline.watch


def _raise(deadline: Deadline) -> None:
    error = _watch(deadline).raised = timeout_error(deadline)
    raise error
