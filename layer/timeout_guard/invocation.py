"""The invocation in progress, as the SDK side sees it.

The guard owns each invocation's deadline (:class:`timeout_guard.guard.Deadline`) and makes it
current here for the length of the invocation. The SDK side asks it how long an attempt may
still take and tells it when an attempt was cut short by it, without importing the guard; and
registers what must run when each invocation ends (its accounting record).

Where handlers run in threads of one process (``AWS_LAMBDA_CONCURRENCY_MODE=thread``), each
handler thread has its own invocation (``per_thread``): an SDK call made in invocation A's
thread sees A's deadline. Threads the function starts itself see the process-wide one.
"""

from __future__ import annotations

import threading
import time

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from typing import Callable, Optional, Protocol

    class Deadline(Protocol):
        request_id: Optional[str]

        def sdk_seconds_left(self) -> Optional[float]: ...

        def sdk_attempt_cut(self, error: Optional[BaseException] = None) -> None: ...


current: Optional[Deadline] = None  # the invocation in progress; None between invocations
# .deadline: the invocation of a handler thread (thread mode); .attempt_cap: when this thread's
# SDK attempt is cut (time.monotonic()), None outside a capped attempt
_thread = threading.local()
_end_callbacks: list[Callable[[], None]] = []


def _deadline() -> Optional[Deadline]:
    return getattr(_thread, "deadline", None) or current


def seconds_left() -> Optional[float]:
    """Seconds an SDK attempt may still take in this invocation; None for no limit (outside an
    invocation, or an invocation whose attempts are not capped)."""
    deadline = _deadline()
    return None if deadline is None else deadline.sdk_seconds_left()


def attempt_cut(error: Optional[BaseException] = None) -> None:
    """An SDK attempt ended because the deadline came; the SDK raises ``error`` next."""
    deadline = _deadline()
    if deadline is not None:
        deadline.sdk_attempt_cut(error)


def attempt_capped(cap: Optional[float]) -> Optional[float]:
    """The SDK side: this thread's attempt is cut at ``cap`` (``time.monotonic()``); when it is
    over, the cap returned (an enclosing attempt's, or None) is put back."""
    previous = getattr(_thread, "attempt_cap", None)
    _thread.attempt_cap = cap
    return previous


def attempt_overdue() -> bool:
    """This thread is in an SDK attempt past its cap: being cut, it reports the cut next
    (:func:`attempt_cut`)."""
    cap = getattr(_thread, "attempt_cap", None)
    return cap is not None and time.monotonic() >= cap


def on_end(callback: Callable[[], None]) -> None:
    """Call ``callback()`` when each invocation ends (before its result is reported)."""
    if callback not in _end_callbacks:
        _end_callbacks.append(callback)


def begin(deadline: Deadline, per_thread: bool = False) -> None:
    global current
    if per_thread:
        _thread.deadline = deadline
    else:
        current = deadline


def end(per_thread: bool = False) -> None:
    """Forget the invocation, then run the end callbacks (each guarded)."""
    global current
    if per_thread:
        _thread.deadline = None
    else:
        current = None
    for callback in list(_end_callbacks):
        try:
            callback()
        except Exception as error:  # the layer's bookkeeping never breaks the function
            from .records import log_failure

            log_failure("end callback failed", error)


def forget() -> None:
    """Forget the invocation without ending it (a forked child: the invocation is the parent's)."""
    global current
    current = None
