"""Fail-fast AWS SDK: the layer's timeouts and retries for every botocore client.

The start-up's post-import hook calls :func:`install` with ``botocore.session`` once the
function imports it (never earlier: the layer imports no botocore at start-up), and with
``aiobotocore.session`` if it does. Idempotent, and fail-open: on any internal error it logs at
DEBUG and leaves the SDK as it was.

Wrap points, each for a measured need:

* ``Session.create_client``: the layered Config, and the client's per-operation read timeouts;
* ``Endpoint._do_get_response``: one place per attempt that sees the call's context, to cap
  the attempt at the invocation's deadline and count it;
* ``Endpoint._needs_retry``: to veto retries the layer must prevent (a synchronous Invoke's
  read timeout, no time left);
* ``AWSHTTP(S)ConnectionPool.urlopen``: where the attempt's urllib3 ``Timeout`` (a ``total``
  for the deadline, or the per-operation read timeout on botocore < 1.43.68) can be handed in.

aiobotocore's ``AioSession._create_client`` gets the Config and read timeouts only: its
endpoint class overrides the per-attempt methods.

The three per-attempt methods are botocore's private ones. A botocore where one is missing, or
takes other parameters than the ones the layer reads, gets the Config part only (said once at
DEBUG); on a botocore that cannot apply per-operation read timeouts by itself, the layer's read
timeout is then left out too, so that long polls keep theirs.
"""

from __future__ import annotations

import copy
import logging
from types import ModuleType
from typing import Any, Optional

from .. import invocation
from ..alarm import raised_in_the_function
from ..settings import LOGGER_NAME, Settings

# Every module of the SDK patch, loaded with this one (before anything is wrapped, and by the
# bootstrap's bundle without importlib's per-module machinery: see ``_bootstrap/sitecustomize``).
from . import accounting, attempts, clients
from .wrapping import unwrap_method, wrap_method

MARK = "__timeout_guard_patched__"
_log = logging.getLogger(LOGGER_NAME)

# The parameters (after self) the per-attempt wrappers read, by position or name.
DO_GET_RESPONSE = ("request", "operation_model", "context")
NEEDS_RETRY = ("attempts", "operation_model", "request_dict", "response", "caught_exception")
URLOPEN_TIMEOUT = "timeout"  # passed by keyword
BOTOCORE_READ_TIMEOUT = 60.0  # botocore's own default


def install(session_module: ModuleType, settings: Settings) -> bool:
    """Patch ``botocore.session`` or ``aiobotocore.session``; True when patched (now or before)."""
    try:
        if not settings.botocore:
            return False
        aio = session_module.__name__.startswith("aiobotocore")
        session_cls = getattr(session_module, "AioSession" if aio else "Session", None)
        if session_cls is None:
            return False
        if session_cls.__dict__.get(MARK, False):
            return True
        (_patch_aiobotocore if aio else _patch_botocore)(session_cls, settings)
        setattr(session_cls, MARK, True)
        return True
    except Exception as error:
        if raised_in_the_function(error):
            raise  # the guard's, raised in the function's import of botocore
        if _is_own_file_error(error):
            from .._startup import layer_broken

            layer_broken("the AWS SDK timeouts", error)
        else:
            from ..records import log_failure

            log_failure(f"{session_module.__name__} left untouched", error)
        return False


def _is_own_file_error(error: BaseException) -> bool:
    """One of the layer's own modules is missing or unreadable (a damaged layer)."""
    if isinstance(error, ImportError):
        return (error.name or "").startswith("timeout_guard")
    return isinstance(error, OSError) and "timeout_guard" in str(getattr(error, "filename", ""))


def uninstall(session_module: ModuleType) -> None:
    """Undo :func:`install` (tests re-install with other settings; nothing else needs it)."""
    aio = session_module.__name__.startswith("aiobotocore")
    session_cls = getattr(session_module, "AioSession" if aio else "Session")
    if not session_cls.__dict__.get(MARK, False):
        return
    if aio:
        unwrap_method(session_cls, "_create_client")
    else:
        import botocore.awsrequest
        import botocore.endpoint

        unwrap_method(session_cls, "create_client")
        unwrap_method(botocore.endpoint.Endpoint, "_do_get_response")
        unwrap_method(botocore.endpoint.Endpoint, "_needs_retry")
        unwrap_method(botocore.awsrequest.AWSHTTPConnectionPool, "urlopen")
        unwrap_method(botocore.awsrequest.AWSHTTPSConnectionPool, "urlopen")
        if accounting.flush in invocation._end_callbacks:
            invocation._end_callbacks.remove(accounting.flush)
    delattr(session_cls, MARK)


def _patch_botocore(session_cls: type, settings: Settings) -> None:
    import botocore.awsrequest
    import botocore.endpoint
    import botocore.httpsession

    endpoint = botocore.endpoint.Endpoint
    pools = [
        getattr(botocore.awsrequest, name, None)
        for name in ("AWSHTTPConnectionPool", "AWSHTTPSConnectionPool")
    ]
    # botocore >= 1.43.68 passes context['read_timeout'] to urllib3 by itself.
    native = callable(getattr(botocore.httpsession.URLLib3Session, "_get_request_timeout", None))
    mismatch = _per_attempt_mismatch(endpoint, pools)
    if mismatch is not None:
        if not native:  # per-operation read timeouts would need the per-attempt methods
            settings = copy.copy(settings)
            settings.read_timeout = BOTOCORE_READ_TIMEOUT
        _log.debug(
            "timeout_guard: botocore %s: %s; clients get the layer's Config only (%s), no "
            "per-attempt deadline",
            getattr(botocore, "__version__", "?"),
            mismatch,
            "timeouts and retries" if native else "connect timeout and retries",
        )
    wrap_method(session_cls, "create_client", clients.create_client_wrapper(settings, native))
    if mismatch is not None:
        return
    wrap_method(endpoint, "_do_get_response", attempts.do_get_response_wrapper(native))
    wrap_method(endpoint, "_needs_retry", attempts.needs_retry)
    for pool in pools:
        wrap_method(pool, "urlopen", attempts.urlopen)
    invocation.on_end(accounting.flush)


def _per_attempt_mismatch(endpoint: type, pools: list[Any]) -> Optional[str]:
    """Why the per-attempt methods are not the ones the layer knows, or None if they are."""
    if any(pool is None for pool in pools):
        return "botocore.awsrequest has no AWSHTTP(S)ConnectionPool"
    checks = [
        (endpoint, "_do_get_response", DO_GET_RESPONSE, True),
        (endpoint, "_needs_retry", NEEDS_RETRY, True),
    ] + [(pool, "urlopen", (URLOPEN_TIMEOUT,), False) for pool in pools]
    for owner, name, expected, in_order in checks:
        method = getattr(owner, name, None)
        if not callable(method):
            return f"{owner.__name__}.{name} is missing"
        names = _parameters(method)
        if names is None:
            return f"{owner.__name__}.{name} is not a Python function"
        in_place = names[1 : 1 + len(expected)] == expected
        if not (in_place if in_order else set(expected) <= set(names)):
            return f"{owner.__name__}.{name} takes ({', '.join(names)})"
    return None


def _parameters(function: Any) -> Optional[tuple[str, ...]]:
    """A function's parameter names from its code object (``inspect`` costs milliseconds to
    import); through ``functools.wraps`` wrappers to the function itself."""
    for _ in range(10):
        wrapped = getattr(function, "__wrapped__", None)
        if wrapped is None:
            break
        function = wrapped
    code = getattr(function, "__code__", None)
    if code is None:
        return None
    return code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]


def _patch_aiobotocore(session_cls: type, settings: Settings) -> None:
    if not callable(getattr(session_cls, "_create_client", None)):
        raise RuntimeError("aiobotocore has no AioSession._create_client")
    try:
        import aiobotocore.httpsession as aio_http

        native = callable(getattr(aio_http.AIOHTTPSession, "_get_request_timeout", None))
    except Exception as error:
        if raised_in_the_function(error):
            raise
        native = False
    wrap_method(session_cls, "_create_client", clients.aio_create_client_wrapper(settings, native))


__all__ = ["install", "uninstall"]
