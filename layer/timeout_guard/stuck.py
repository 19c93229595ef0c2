"""Did a handler that caught the guard's error go on, and get stuck again?

A batch processor (Powertools ``BatchProcessor``, say) catches the guard's error as one
record's failure and goes on to the next record, which may hang too. Between firing and
``deadline - margin/2`` the guard looks at the main thread every margin/20 and raises again
only when both hold:

* it went on: the frame that caught the guard's last error has returned (while that frame still
  runs, it is cleaning up after the error: ``except``/``finally``/a flush, and keeps its time);
* it is stuck: at the same frame and instruction as at the previous look, at least half a check
  apart, and not inside an AWS SDK attempt (that ends by the deadline with botocore's own error;
  interrupting its socket read would make botocore retry).
"""

from __future__ import annotations

import time

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from types import FrameType
    from typing import Optional

SDK_DIR = __file__[: -len("stuck.py")] + "sdk/"  # frames in here: an SDK attempt is running


class StuckWatch:
    """One invocation's looks at the main thread after the guard fired."""

    def __init__(self) -> None:
        self.raised: Optional[BaseException] = None  # the guard's last error in the handler
        self._last_spot: Optional[tuple[FrameType, int, float]] = None

    def stuck_again(self, frame: Optional[FrameType], min_gap: float) -> bool:
        """Whether to raise again now (``min_gap``: seconds the spot must have held)."""
        spot, self._last_spot = self._last_spot, None
        catcher = _catcher(self.raised)
        if frame is None or catcher is None or _on_stack(catcher, frame):
            return False
        if _in_sdk_attempt(frame):
            return False
        now = time.monotonic()
        same = spot is not None and spot[0] is frame and spot[1] == frame.f_lasti
        self._last_spot = (frame, frame.f_lasti, now)
        return same and now - spot[2] >= min_gap  # type: ignore[index]

    def forget(self) -> None:
        """Drop the frames and the error (they hold the function's objects alive)."""
        self.raised = None
        self._last_spot = None


def _catcher(error: Optional[BaseException]) -> Optional[FrameType]:
    """The outermost frame ``error`` has reached: the one that caught it, once caught."""
    traceback = error.__traceback__ if error is not None else None
    return traceback.tb_frame if traceback is not None else None


def _on_stack(wanted: FrameType, frame: Optional[FrameType]) -> bool:
    while frame is not None:
        if frame is wanted:
            return True
        frame = frame.f_back
    return False


def _in_sdk_attempt(frame: Optional[FrameType]) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith(SDK_DIR):
            return True
        frame = frame.f_back
    return False
