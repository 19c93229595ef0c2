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
"""

from __future__ import annotations

import logging
from types import ModuleType

from ..settings import LOGGER_NAME, Settings

MARK = "__timeout_guard_patched__"
_log = logging.getLogger(LOGGER_NAME)


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
    except Exception:
        _log.debug("timeout_guard: %s left untouched", session_module.__name__, exc_info=True)
        return False


def uninstall(session_module: ModuleType) -> None:
    """Undo :func:`install` (tests re-install with other settings; nothing else needs it)."""
    from . import accounting
    from .wrapping import unwrap_method

    aio = session_module.__name__.startswith("aiobotocore")
    session_cls = getattr(session_module, "AioSession" if aio else "Session")
    if not session_cls.__dict__.get(MARK, False):
        return
    if aio:
        unwrap_method(session_cls, "_create_client")
    else:
        import botocore.awsrequest
        import botocore.endpoint

        from .. import invocation

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

    from .. import invocation
    from . import accounting, attempts, clients
    from .wrapping import wrap_method

    endpoint = botocore.endpoint.Endpoint
    pools = [botocore.awsrequest.AWSHTTPConnectionPool, botocore.awsrequest.AWSHTTPSConnectionPool]
    for owner, name in [(endpoint, "_do_get_response"), (endpoint, "_needs_retry")] + [
        (pool, "urlopen") for pool in pools
    ]:
        if not callable(getattr(owner, name, None)):
            raise RuntimeError(f"botocore has no {owner.__name__}.{name}")
    # botocore >= 1.43.68 passes context['read_timeout'] to urllib3 by itself.
    native = callable(getattr(botocore.httpsession.URLLib3Session, "_get_request_timeout", None))

    wrap_method(session_cls, "create_client", clients.create_client_wrapper(settings, native))
    wrap_method(endpoint, "_do_get_response", attempts.do_get_response_wrapper(native))
    wrap_method(endpoint, "_needs_retry", attempts.needs_retry)
    for pool in pools:
        wrap_method(pool, "urlopen", attempts.urlopen)
    invocation.on_end(accounting.flush)


def _patch_aiobotocore(session_cls: type, settings: Settings) -> None:
    if not callable(getattr(session_cls, "_create_client", None)):
        raise RuntimeError("aiobotocore has no AioSession._create_client")
    from . import clients
    from .wrapping import wrap_method

    try:
        import aiobotocore.httpsession as aio_http

        native = callable(getattr(aio_http.AIOHTTPSession, "_get_request_timeout", None))
    except Exception:
        native = False
    wrap_method(session_cls, "_create_client", clients.aio_create_client_wrapper(settings, native))


__all__ = ["install", "uninstall"]
