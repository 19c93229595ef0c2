"""Per-attempt timeouts: per-operation read timeouts and the Lambda deadline.

botocore sends each attempt through ``Endpoint._do_get_response(request, operation_model,
context)`` and asks ``Endpoint._needs_retry`` before each retry, on every version we support.
Wrapping those two (once, on the class) gives one place per attempt that sees the call's
context, without an event handler per call:

* inside an invocation, an attempt gets at most the time left before the guard fires
  (urllib3 ``Timeout(total=...)`` bounds connect + read together); with too little time left
  it is not sent, and an attempt that was shortened and timed out is not retried;
* on botocore without ``context['read_timeout']`` support (< 1.43.68) the per-operation read
  timeout travels the same way: a urllib3 ``Timeout`` handed to botocore's own connection
  pools' ``urlopen(timeout=...)`` through a thread-local set around the attempt;
* a synchronous ``lambda.Invoke`` that hit a read timeout is not retried (the function may be
  running: a retry would invoke it again).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

from .. import invocation
from . import accounting
from .clients import NO_READ_RETRY, OP_READ
from .wrapping import argument, layer_failed

# The deadline's own errors (.errors) are imported where an attempt is cut or not sent, not
# here: making their three botocore exception classes (long MROs) costs about 0.1 ms of every
# cold start that imports botocore, and an invocation that stays clear of the deadline never
# needs them.

# A key in botocore's per-call request context (a plain dict shared by all attempts of a call).
STOP = "timeout_guard.stop"  # no further attempt: the deadline is too near

# Seconds: attempts end this long before the guard fires, so that the cut (the socket's timeout,
# urllib3's and botocore's errors, the layer's judging) is over before the alarm comes: an
# attempt cut by the deadline fires the guard itself (invocation.attempt_cut), on time (it waits
# for the firing time, guard.CUT_EARLY_MAX). An alarm that comes first anyway (the process off
# the CPU) waits for the cut, at most alarm.BUSY_WAIT (invocation.attempt_overdue).
SAFETY = 0.05
MIN_ATTEMPT = 0.1  # seconds: less than this left, an attempt is not sent at all
# The attempts a vetoed retry's needs-retry event says were made: above any retry mode's limit,
# so that botocore's retry handlers decline there, as after the last attempt they allow (no
# retry quota taken, no sleep: standard mode sleeps in the event itself for a long poll once its
# quota is spent), and the event's other handlers still see the response.
NO_MORE_ATTEMPTS = 1_000_000
CUT_SLACK = 0.02  # seconds: a timeout this close to the budget was the deadline's doing

_local = threading.local()


def _timeout(connect: Optional[float], read: Optional[float], total: Optional[float]) -> Any:
    from urllib3.util.timeout import Timeout

    return Timeout(connect=connect, read=read, total=total)


class _Attempt:
    """What the layer decided for one attempt: its urllib3 timeout and how to judge its end."""

    def __init__(self, timeout: Any, budget: Optional[float], shortened: bool) -> None:
        self.timeout = timeout
        self.budget = budget  # seconds the attempt may take inside an invocation, else None
        self.shortened = shortened
        self.started = time.monotonic()


def _plan(request: Any, operation_model: Any, context: dict, native: bool) -> Any:
    """The attempt's plan; None: nothing to do; a ``(None, error)`` tuple: do not send it.

    ``native``: botocore applies ``context['read_timeout']`` itself (1.43.68 and later).
    """
    left = invocation.seconds_left()
    op_read = context.get(OP_READ)
    if left is None and (op_read is None or native):
        return None  # outside an invocation: nothing to do per attempt
    config = context.get("client_config")
    read = op_read if op_read is not None else getattr(config, "read_timeout", None)
    connect = getattr(config, "connect_timeout", None)
    if left is None:
        # An operation read timeout on a botocore that cannot apply it itself.
        return _Attempt(_timeout(connect, read, None), None, False)
    budget = left - SAFETY
    if budget < MIN_ATTEMPT:
        from .errors import DeadlineNotSentError

        context[STOP] = True
        error = DeadlineNotSentError(
            endpoint_url=getattr(request, "url", ""), left_ms=int(max(left, 0) * 1000)
        )
        accounting.begin(context)
        accounting.end(context, operation_model, error)
        return None, error
    # ``total`` bounds connect + every read of the attempt together (a slow connect followed
    # by a stall, or a trickling response, would each pass a per-read limit).
    shortened = any(t is None or t > budget for t in (connect, read)) or (connect + read > budget)
    connect = budget if connect is None else min(connect, budget)
    read = budget if read is None else min(read, budget)
    accounting.begin(context)
    return _Attempt(_timeout(connect, read, budget), budget, shortened)


def _judge(plan: _Attempt, request: Any, operation_model: Any, context: dict, result: Any) -> Any:
    """After an attempt inside an invocation: account for it; a cut attempt ends the call."""
    accounting.end(context, operation_model, result[1] if result else None)
    budget = plan.budget
    assert budget is not None
    cut = plan.shortened and time.monotonic() - plan.started >= budget - CUT_SLACK
    if cut and result and isinstance(result[1], (ReadTimeoutError, ConnectTimeoutError)):
        from .errors import DeadlineConnectTimeoutError, DeadlineReadTimeoutError

        cls = (
            DeadlineReadTimeoutError
            if isinstance(result[1], ReadTimeoutError)
            else DeadlineConnectTimeoutError
        )
        context[STOP] = True
        error = cls(endpoint_url=getattr(request, "url", ""), timeout_s=round(budget, 3))
        error.__cause__ = result[1]
        invocation.attempt_cut(error)  # the guard fires now: one record, the callbacks
        return None, error
    return result


def do_get_response_wrapper(native: bool) -> Any:
    """The wrapper of ``Endpoint._do_get_response(request, operation_model, context)``."""

    def do_get_response(wrapped: Callable[..., Any], endpoint: Any, args: Any, kwargs: Any) -> Any:
        """Timeouts for one attempt, and accounting. Fails open: an error in the layer's own
        code sends the attempt as without the layer."""
        try:
            request = argument(args, kwargs, 0, "request")
            operation_model = argument(args, kwargs, 1, "operation_model")
            context = argument(args, kwargs, 2, "context")
            plan = _plan(request, operation_model, context, native)
            if isinstance(plan, _Attempt):
                _local.timeout = plan.timeout  # picked up by ``urlopen`` below
        except Exception:
            layer_failed("the attempt timeout")
            plan = None
        if plan is None:
            return wrapped(*args, **kwargs)
        if isinstance(plan, tuple):
            return plan  # not sent: the deadline is too near
        if plan.budget is None:
            try:
                return wrapped(*args, **kwargs)
            finally:
                _local.timeout = None
        # Until the cut is judged and reported, the guard's alarm waits once the cap has passed
        # (guard.main_thread_busy): the cut, not the alarm, ends the attempt.
        enclosing = invocation.attempt_capped(plan.started + plan.budget)
        try:
            try:
                result = wrapped(*args, **kwargs)
            finally:
                _local.timeout = None
            try:
                return _judge(plan, request, operation_model, context, result)
            except Exception:
                layer_failed("the attempt's accounting")
                return result
        finally:
            invocation.attempt_capped(enclosing)

    return do_get_response


def needs_retry(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """Wrapper of ``Endpoint._needs_retry``: veto retries the layer must prevent.

    A vetoed retry's ``needs-retry`` event is still emitted, as botocore emits it after every
    attempt: its handlers do more than decide (S3's turns a 200 whose body is an error into
    that error; without it the call would return the error as its result). It is emitted as
    after the last attempt allowed (``NO_MORE_ATTEMPTS``), which the veto makes this one.
    """
    try:
        veto = _veto_retry(args, kwargs)
    except Exception:
        layer_failed("the retry veto")
        veto = False
    if not veto:
        return wrapped(*args, **kwargs)
    try:
        event_name, event = _needs_retry_event(instance, args, kwargs)
    except Exception:
        layer_failed("the vetoed retry's event")
        return False
    instance._event_emitter.emit(event_name, **event)  # a handler's error: as from botocore
    return False


def _needs_retry_event(endpoint: Any, args: Any, kwargs: Any) -> tuple[str, dict[str, Any]]:
    """The ``needs-retry`` event ``Endpoint._needs_retry`` would emit: its name and arguments."""
    operation_model = argument(args, kwargs, 1, "operation_model")
    service_id = operation_model.service_model.service_id.hyphenize()
    return f"needs-retry.{service_id}.{operation_model.name}", {
        "response": argument(args, kwargs, 3, "response", None),
        "endpoint": endpoint,
        "operation": operation_model,
        "attempts": max(argument(args, kwargs, 0, "attempts"), NO_MORE_ATTEMPTS),
        "caught_exception": argument(args, kwargs, 4, "caught_exception", None),
        "request_dict": argument(args, kwargs, 2, "request_dict"),
    }


def _veto_retry(args: Any, kwargs: Any) -> bool:
    """``Endpoint._needs_retry(attempts, operation_model, request_dict, response,
    caught_exception)``: True when the layer must stop botocore from retrying."""
    request_dict = argument(args, kwargs, 2, "request_dict", None)
    context = request_dict.get("context") if isinstance(request_dict, dict) else None
    if context:
        if context.get(STOP):
            return True
        if context.get(NO_READ_RETRY):
            caught = argument(args, kwargs, 4, "caught_exception", None)
            if isinstance(caught, ReadTimeoutError):
                return True
    left = invocation.seconds_left()
    # No time for another attempt: end with this attempt's result.
    return left is not None and left - SAFETY < MIN_ATTEMPT


def urlopen(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """Wrapper of botocore's connection pools' ``urlopen``: apply the attempt's timeout."""
    try:
        timeout = getattr(_local, "timeout", None)
        if timeout is not None:
            _local.timeout = None  # one attempt, one request
            kwargs["timeout"] = timeout
    except Exception:
        layer_failed("the attempt's urllib3 timeout")
    return wrapped(*args, **kwargs)

