"""What the layer knows about the invocation in progress (set by the handler wrapper).

The SDK side reads the guard's deadline from here so that no attempt waits past it, and
registers end-of-invocation callbacks (its accounting record). Standard library only.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from types import FrameType
    from typing import Callable, Optional

_end_callbacks: list[Callable[[], None]] = []
_deadline_handler: Optional[Callable[[Optional[FrameType]], None]] = None


class Current:
    """The invocation in progress; all None between invocations."""

    request_id: Optional[str] = None
    lambda_deadline: Optional[float] = None  # time.monotonic() of Lambda's hard deadline
    # time.monotonic() by which SDK attempts must end: when the guard fires next (None: no
    # timer). After it fired, the next step (raise again, or the last word), so that cleanup
    # and callbacks can still call AWS.
    guard_deadline: Optional[float] = None


current = Current()


def seconds_left() -> Optional[float]:
    """Seconds until the guard fires (or Lambda's deadline without a timer); None outside."""
    deadline = current.guard_deadline or current.lambda_deadline
    return None if deadline is None else deadline - time.monotonic()


def on_end(callback: Callable[[], None]) -> None:
    """Call ``callback()`` when each invocation ends (before the result is reported)."""
    if callback not in _end_callbacks:
        _end_callbacks.append(callback)


def set_deadline_handler(handler: Optional[Callable[[Optional[FrameType]], None]]) -> None:
    global _deadline_handler
    _deadline_handler = handler


def deadline_reached() -> None:
    """An SDK attempt ended because the guard's deadline came: fire the hook now, once.

    The SDK calls this (and then raises its own botocore error) so that the outcome does not
    depend on whether the socket timeout or the alarm came first: one ERROR record with the
    caller's stack, the callbacks, and the invocation reported as ``LambdaTimeoutError`` with
    the botocore error as its cause. Never raises.
    """
    handler = _deadline_handler
    if handler is None or threading.current_thread() is not threading.main_thread():
        return  # a worker thread's call: the alarm interrupts the main thread on time
    try:
        handler(sys._getframe(1))
    except Exception:
        logging.getLogger("timeout_guard").debug("deadline handler failed", exc_info=True)


def begin(
    request_id: Optional[str], lambda_deadline: float, guard_deadline: Optional[float]
) -> None:
    current.request_id = request_id
    current.lambda_deadline = lambda_deadline
    current.guard_deadline = guard_deadline


def end() -> None:
    """Run the end callbacks (each guarded), then forget the invocation."""
    for callback in list(_end_callbacks):
        try:
            callback()
        except Exception:  # never let the layer's bookkeeping break the function
            logging.getLogger("timeout_guard").debug("end callback failed", exc_info=True)
    current.request_id = None
    current.lambda_deadline = None
    current.guard_deadline = None
