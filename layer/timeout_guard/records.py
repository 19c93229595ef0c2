"""The guard's log records: bounded in size, and free of the function's data.

A record names where the function was (file, line, function name, the source line) and when;
never the event, the response, local variables, request or response bodies, environment
values, or exception messages (they may carry any of those). The stack keeps the handler's
entry frame and the innermost frames, and elides the middle with a count, so a deep recursion
gives a record of the same size as a shallow one: at most ``MAX_RECORD_CHARS`` of message.

Writing a record never raises and never blocks for long: it runs in the signal handler, where
the main thread may have been interrupted inside logging (its locks are re-entrant), or another
thread may hold a lock logging needs (the record then waits at most ``LOCK_WAIT`` and is
written straight to stderr instead). A closed or broken stream costs the record, not the
function.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback

from .settings import LOGGER_NAME

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from types import CodeType, FrameType
    from typing import Any, Optional

_log = logging.getLogger(LOGGER_NAME)

INNERMOST_FRAMES = 20  # kept at the inner end of the stack
MAX_LINE = 240  # characters of one formatted source line
# The pre-timeout record's message: a header of capped parts, then at most 21 frames of two
# capped lines each and the elision line.
MAX_RECORD_CHARS = 12 * 1024
LOCK_WAIT = 0.1  # seconds the record waits for logging locks another thread holds
RECURSION_ROOM = 200  # frames the record may use above the function's own depth
PIPE_BUF = 512  # POSIX's smallest atomic pipe write: the stderr fallback line fits in it

PACKAGE_DIR = __file__[: -len("records.py")]  # frames in here are the layer's own

# Why the guard does not stop the handler, when it does not.
ACTION_LOG = "not stopping (action log)"
DURABLE = "not stopping (durable execution: Lambda's own timeout lets the service retry it)"


def _is_layer(frame: FrameType) -> bool:
    return frame.f_code.co_filename.startswith(PACKAGE_DIR)


def _wrapper_file() -> Optional[str]:
    """The handler wrapper's file (:mod:`timeout_guard.bootstrap`): the frame after it is the
    handler's entry."""
    wrapper = sys.modules.get(__name__.rpartition(".")[0] + ".bootstrap")
    return getattr(wrapper, "__file__", None)


def _frames(frame: Optional[FrameType], entry_code: Optional[CodeType] = None) -> list[FrameType]:
    """The stack from the handler's entry frame (outermost first), without the layer's frames.

    ``entry_code``: the stack starts at this function's frame instead (another thread's stack).
    """
    wrapper_file = _wrapper_file()
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
    with _RecursionRoom():
        try:
            stack = stack_lines(frame, entry)
            stuck_in = where(frame)
            _emit(
                "Lambda timeout in %.0f ms: %s the handler (elapsed %.0f ms, margin %d ms, "
                "request id %s). It was in %s.",
                (
                    remaining_ms,
                    "stopping" if stopping else why_not,
                    elapsed_ms,
                    margin_ms,
                    _short(str(request_id)),
                    stuck_in,
                ),
                " Stack (most recent call last):\n%s",
                "\n".join(stack),
                {
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
        _emit(
            "TIMEOUT_GUARD_ON_TIMEOUT callback %s failed: %s",
            (_short(name), type(error).__name__),
        )
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
    with _RecursionRoom():
        try:
            stuck_in = where(frame)
            _emit(
                "Still running %.0f ms before the hard Lambda deadline%s; %s. It is in %s.",
                (
                    left_ms,
                    " after TimeoutError was raised and caught" if caught else "",
                    then,
                    stuck_in,
                ),
                extra={"timeout_guard": "hard-deadline", "stuck_in": stuck_in},
            )
        except Exception:
            pass


# --- writing a record from the signal handler ---------------------------------------------------


class _RecursionRoom:
    """Raise the recursion limit while a record is made: a handler recursing close to the
    limit still gets its record (the record itself needs a few dozen frames)."""

    def __enter__(self) -> None:
        self.limit = sys.getrecursionlimit()
        try:
            sys.setrecursionlimit(self.limit + RECURSION_ROOM)
        except Exception:
            pass

    def __exit__(self, *exc: Any) -> None:
        try:
            sys.setrecursionlimit(self.limit)
        except Exception:
            pass


def _locks() -> list[Any]:
    """The locks logging takes for a record of ours: its module lock, each handler's lock."""
    locks = [getattr(logging, "_lock", None)]
    logger: Optional[logging.Logger] = _log
    while logger is not None:
        locks += [getattr(handler, "lock", None) for handler in logger.handlers]
        logger = logger.parent if logger.propagate else None
    return [lock for lock in locks if lock is not None]


def _emit(
    message: str,
    args: tuple,
    stack_format: str = "",
    stack: Optional[str] = None,
    extra: Optional[dict] = None,
) -> None:
    """Log one ERROR record, waiting at most ``LOCK_WAIT`` for logging's locks.

    The locks are re-entrant: held by the main thread itself (interrupted inside logging), they
    are taken again at once. Held by another thread for longer (a thread stuck writing, or
    holding a handler's lock), the record goes straight to stderr, without its stack.
    """
    held = []
    deadline = time.monotonic() + LOCK_WAIT
    try:
        for lock in _locks():
            if not lock.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
                _write_stderr(f"{message % args} (logging was held by another thread)")
                return
            held.append(lock)
        if stack is None:
            _log.error(message, *args, extra=extra)
        else:
            _log.error(message + stack_format, *args, stack, extra=extra)
    finally:
        for lock in reversed(held):
            lock.release()


def _write_stderr(line: str) -> None:
    """One line on stderr without blocking: only if the pipe takes it at once."""
    try:
        import select  # here, not at start-up: a rare fallback, and every import costs there

        data = f"[ERROR] {LOGGER_NAME}: {line}".encode("utf-8", "replace")[: PIPE_BUF - 1]
        _, writable, _ = select.select([], [2], [], 0)
        if writable:
            os.write(2, data + b"\n")
    except Exception:
        pass


# --- the layer's own failures ----------------------------------------------------------------


def failure(error: BaseException) -> str:
    """An exception inside the layer, for a DEBUG line: its type and where it was raised, never
    its message (it may carry an event's or a request's data)."""
    frames = traceback.extract_tb(error.__traceback__)[-4:]
    places = " <- ".join(
        f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}" for f in reversed(frames)
    )
    return f"{type(error).__name__} at {places or 'unknown'}"


def log_failure(what: str, error: BaseException) -> None:
    """A failure inside the layer that the function must not see: one DEBUG line."""
    try:
        _log.debug("timeout_guard: %s (%s)", what, failure(error))
    except Exception:
        pass
