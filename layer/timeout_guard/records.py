"""The guard's log records: bounded in size, and free of the function's data.

A record names where the function was (file, line, function name, the source line) and when;
never the event, the response, local variables, request or response bodies, or environment
values. The stack keeps the handler's entry frame and the innermost frames, and elides the
middle with a count, so a deep recursion gives a record of the same size as a shallow one.
Writing a record never raises: a closed or broken stderr costs the record, not the function.
"""

from __future__ import annotations

import logging
import traceback

from .settings import LOGGER_NAME

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from types import CodeType, FrameType
    from typing import Optional

_log = logging.getLogger(LOGGER_NAME)

INNERMOST_FRAMES = 20  # kept at the inner end of the stack
MAX_LINE = 240  # characters of one formatted source line

PACKAGE_DIR = __file__[: -len("records.py")]  # frames in here are the layer's own
# The handler wrapper's file (set by ``bootstrap``): the frame after it is the handler's entry.
wrapper_file: Optional[str] = None

# Why the guard does not stop the handler, when it does not.
ACTION_LOG = "not stopping (action log)"
DURABLE = "not stopping (durable execution: Lambda's own timeout lets the service retry it)"


def _is_layer(frame: FrameType) -> bool:
    return frame.f_code.co_filename.startswith(PACKAGE_DIR)


def _frames(frame: Optional[FrameType], entry_code: Optional[CodeType] = None) -> list[FrameType]:
    """The stack from the handler's entry frame (outermost first), without the layer's frames.

    ``entry_code``: the stack starts at this function's frame instead (another thread's stack).
    """
    stack = []
    while frame is not None:
        stack.append(frame)
        frame = frame.f_back
    stack.reverse()
    entry = 0
    for index, each in enumerate(stack):
        if entry_code is not None and each.f_code is entry_code:
            entry = index
            break
        if entry_code is None and each.f_code.co_filename == wrapper_file:
            entry = index + 1
            break
    return [f for f in stack[entry:] if not _is_layer(f)]


def _short(text: str) -> str:
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 3] + "..."


def stack_lines(frame: Optional[FrameType], entry: Optional[CodeType] = None) -> list[str]:
    """``File "x", line N, in f`` / source pairs, bounded: entry frame, ..., innermost frames."""
    frames = _frames(frame, entry)
    elided = 0
    if len(frames) > INNERMOST_FRAMES + 1:
        elided = len(frames) - INNERMOST_FRAMES - 1
        frames = frames[:1] + frames[-INNERMOST_FRAMES:]
    summary = traceback.StackSummary.extract(
        ((f, f.f_lineno) for f in frames), lookup_lines=True, capture_locals=False
    )
    lines = []
    for index, item in enumerate(summary):
        if elided and index == 1:
            lines.append(f"  ... {elided} frames elided ...")
        lines.append(_short(f'  File "{item.filename}", line {item.lineno}, in {item.name}'))
        if item.line:
            lines.append(_short(f"    {item.line.strip()}"))
    return lines


def where(frame: Optional[FrameType]) -> str:
    """The innermost frame outside the layer, as ``name (file:line)``."""
    while frame is not None and _is_layer(frame):
        frame = frame.f_back
    if frame is None:
        return "unknown"
    code = frame.f_code
    return _short(f"{code.co_name} ({code.co_filename}:{frame.f_lineno})")


def log_pre_timeout(
    request_id: Optional[str],
    remaining_ms: float,
    elapsed_ms: float,
    margin_ms: int,
    stopping: bool,
    frame: Optional[FrameType],
    entry: Optional[CodeType] = None,
    why_not: str = ACTION_LOG,
) -> None:
    """The ERROR record at ``deadline - margin``: when, and where the function was."""
    try:
        stack = stack_lines(frame, entry)
        stuck_in = where(frame)
        _log.error(
            "Lambda timeout in %.0f ms: %s the handler (elapsed %.0f ms, margin %d ms, "
            "request id %s). It was in %s. Stack (most recent call last):\n%s",
            remaining_ms,
            "stopping" if stopping else why_not,
            elapsed_ms,
            margin_ms,
            request_id,
            stuck_in,
            "\n".join(stack),
            extra={
                "timeout_guard": "pre-timeout",
                "remaining_ms": round(remaining_ms),
                "elapsed_ms": round(elapsed_ms),
                "margin_ms": margin_ms,
                "stuck_in": stuck_in,
                "stack": stack,
            },
        )
    except Exception:
        pass


def log_callback_failed(name: str, error: BaseException) -> None:
    """A ``TIMEOUT_GUARD_ON_TIMEOUT`` callback raised: its name and the exception's type only."""
    try:
        _log.error("TIMEOUT_GUARD_ON_TIMEOUT callback %s failed: %s", name, type(error).__name__)
    except Exception:
        pass


def log_last_word(
    left_ms: float,
    caught: bool,
    frame: Optional[FrameType],
    raising_every_ms: Optional[int] = None,
) -> None:
    """The last ERROR record, just before Lambda's hard deadline.

    ``raising_every_ms``: Managed Instances, where nothing stops the invocation; the guard
    raises again this often past the deadline.
    """
    then = (
        "Lambda will kill the process"
        if raising_every_ms is None
        else "on Lambda Managed Instances nothing stops it: LambdaTimeoutError is raised again "
        f"at the deadline and every {raising_every_ms} ms after it until the handler returns"
    )
    try:
        stuck_in = where(frame)
        _log.error(
            "Still running %.0f ms before the hard Lambda deadline%s; %s. It is in %s.",
            left_ms,
            " after TimeoutError was raised and caught" if caught else "",
            then,
            stuck_in,
            extra={"timeout_guard": "hard-deadline", "stuck_in": stuck_in},
        )
    except Exception:
        pass
