"""Where the handler runs: the platform modes the guard adapts to (README "Where it runs").

* Lambda Managed Instances (``AWS_LAMBDA_MAX_CONCURRENCY``): worker processes forked by the
  runtime client, each running one invocation at a time; a timed-out invocation is not killed.
* The experimental thread and hybrid concurrency modes: handlers run in threads of one process,
  where ``SIGALRM`` cannot reach them.
* Durable executions (``aws-durable-execution-sdk-python``): the user's code runs in a worker
  thread while the SDK's main thread waits on it.
"""

from __future__ import annotations

import os
import sys
import threading

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from types import CodeType, FrameType
    from typing import Any, Mapping, Optional


def managed_instances(environ: Mapping[str, str] = os.environ) -> bool:
    """Lambda Managed Instances, as awslambdaric decides it: a timed-out invocation runs on."""
    return "AWS_LAMBDA_MAX_CONCURRENCY" in environ


def handlers_in_threads(environ: Mapping[str, str] = os.environ) -> bool:
    """The experimental thread and hybrid concurrency modes: handlers run in threads."""
    return environ.get("AWS_LAMBDA_CONCURRENCY_MODE", "").lower() in ("thread", "hybrid")


def durable_invocation(event: Any) -> bool:
    """The input of an ``aws-durable-execution-sdk-python`` execution."""
    return isinstance(event, dict) and "DurableExecutionArn" in event and "CheckpointToken" in event


def user_thread_frame(handler: Any) -> tuple[Optional[FrameType], Optional[CodeType]]:
    """The frame of the thread running the function the handler wraps (durable executions).

    The decorated functions are found through ``__wrapped__`` (``functools.wraps``); the thread
    is the one, other than the main thread, whose stack holds one of them. Returns its current
    frame and the matching code (where the record's stack starts), or (None, None).
    """
    codes = set()
    inner = getattr(handler, "__wrapped__", None)
    while inner is not None and len(codes) < 8:
        code = getattr(inner, "__code__", None)
        if code is not None:
            codes.add(code)
        inner = getattr(inner, "__wrapped__", None)
    if not codes:
        return None, None
    main = threading.main_thread().ident
    for ident, top in sys._current_frames().items():
        if ident == main:
            continue
        frame: Optional[FrameType] = top
        while frame is not None:
            if frame.f_code in codes:
                return top, frame.f_code
            frame = frame.f_back
    return None, None
