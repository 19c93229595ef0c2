"""How long before the Lambda deadline the guard fires, when the function did not say.

10 % of the remaining time at invocation start, clamped to 500-3000 ms, plus what known
instrumentation needs after the guard fired to get the error out before the deadline.
"""

from __future__ import annotations

import sys

MIN_AUTO_MARGIN_MS = 500
MAX_AUTO_MARGIN_MS = 3000


def auto_margin_ms(remaining_ms: float, flush_ms: float = 0) -> int:
    """10 % of the remaining time, clamped to 500-3000 ms; plus ``flush_ms``, the time the
    function's instrumentation may take after the guard fired before the runtime can report the
    error, as far as half the remaining time allows."""
    margin = int(min(MAX_AUTO_MARGIN_MS, max(MIN_AUTO_MARGIN_MS, remaining_ms * 0.1)))
    if flush_ms > 0:
        margin = max(margin, int(min(margin + flush_ms, remaining_ms / 2)))
    return margin


def instrumentation_flush_ms() -> float:
    """How long known instrumentation may hold the error back once the handler has ended.

    Sentry's AWS Lambda integration flushes its queue before the runtime posts the invocation's
    result or error, waiting up to its ``shutdown_timeout`` (2 s by default) for a Sentry that
    does not answer. 0 without it, and on any doubt (never raises).
    """
    sentry = sys.modules.get("sentry_sdk")
    if sentry is None:
        return 0
    try:
        get_client = getattr(sentry, "get_client", None)  # sentry-sdk 2.x; 1.x: Hub.current
        client = get_client() if get_client is not None else sentry.Hub.current.client
        if "aws_lambda" not in client.integrations or client.transport is None:
            return 0
        return max(0.0, float(client.options.get("shutdown_timeout", 2)) * 1000)
    except Exception:
        return 0
