"""Per-invocation SDK accounting: one log record when a call retried or timed out, else nothing.

Counted per attempt by the attempt wrapper (inside an invocation only), flushed by
``invocation.on_end``. A lock keeps the counts right when the function calls AWS from threads.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Optional

from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

from ..alarm import raised_in_the_function
from ..settings import LOGGER_NAME

START = "timeout_guard.started"  # context key: monotonic time of the call's first attempt

_lock = threading.Lock()


class Counts:
    """What the SDK did in the invocation in progress."""

    def __init__(self) -> None:
        self.calls = 0
        self.retries = 0
        self.timeouts = 0
        self.slowest_ms = 0.0
        self.slowest: Optional[str] = None


counts = Counts()


def begin(context: dict) -> None:
    """An attempt of a call starts: the first one counts a call, any later one a retry."""
    with _lock:
        if START in context:
            counts.retries += 1
        else:
            context[START] = time.monotonic()
            counts.calls += 1


def end(context: dict, operation_model: Any, error: Optional[BaseException]) -> None:
    """An attempt ended (``error``: its exception, if any): timeouts and the slowest call."""
    now = time.monotonic()
    with _lock:
        if isinstance(error, (ReadTimeoutError, ConnectTimeoutError)):
            counts.timeouts += 1
        elapsed_ms = (now - context.get(START, now)) * 1000.0
        if elapsed_ms > counts.slowest_ms:
            counts.slowest_ms = elapsed_ms
            counts.slowest = _name(operation_model)


def _name(operation_model: Any) -> str:
    try:
        service = operation_model.service_model.service_id.hyphenize()
    except Exception as error:
        if raised_in_the_function(error):
            raise
        service = "?"
    return f"{service}.{getattr(operation_model, 'name', '?')}"


def flush() -> None:
    """At the end of an invocation: log one record if anything went wrong, then reset."""
    global counts
    with _lock:
        done, counts = counts, Counts()
    if not done.retries and not done.timeouts:
        return
    logging.getLogger(LOGGER_NAME).warning(
        "AWS SDK: %d calls, %d retries, %d timeouts; slowest %s %d ms",
        done.calls,
        done.retries,
        done.timeouts,
        done.slowest,
        round(done.slowest_ms),
        extra={
            "timeout_guard_sdk": {
                "calls": done.calls,
                "retries": done.retries,
                "timeouts": done.timeouts,
                "slowest_operation": done.slowest,
                "slowest_ms": round(done.slowest_ms),
            }
        },
    )
