"""The invocation in progress, as the SDK side sees it.

The guard owns each invocation's deadline (:class:`timeout_guard.guard.Deadline`) and makes it
current here for the length of the invocation. The SDK side asks it how long an attempt may
still take and tells it when an attempt was cut short by it, without importing the guard; and
registers what must run when each invocation ends (its accounting record).
"""

from __future__ import annotations

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from typing import Callable, Optional, Protocol

    class Deadline(Protocol):
        request_id: Optional[str]

        def sdk_seconds_left(self) -> float: ...

        def sdk_attempt_cut(self) -> None: ...


current: Optional[Deadline] = None  # the invocation in progress; None between invocations
_end_callbacks: list[Callable[[], None]] = []


def seconds_left() -> Optional[float]:
    """Seconds an SDK attempt may still take in this invocation; None outside an invocation."""
    deadline = current
    return None if deadline is None else deadline.sdk_seconds_left()


def attempt_cut() -> None:
    """An SDK attempt ended because the deadline came (the SDK then raises its own error)."""
    deadline = current
    if deadline is not None:
        deadline.sdk_attempt_cut()


def on_end(callback: Callable[[], None]) -> None:
    """Call ``callback()`` when each invocation ends (before its result is reported)."""
    if callback not in _end_callbacks:
        _end_callbacks.append(callback)


def begin(deadline: Deadline) -> None:
    global current
    current = deadline


def end() -> None:
    """Forget the invocation, then run the end callbacks (each guarded)."""
    global current
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
