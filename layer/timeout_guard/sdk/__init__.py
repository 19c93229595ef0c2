"""Fail-fast AWS SDK: the layer's timeouts and retries for every botocore client.

The bootstrap's post-import hook calls :func:`install` with the ``botocore.session`` module
once it has been imported (never earlier: the layer imports no botocore at start-up), and
:func:`install_aiobotocore` with ``aiobotocore.session``. Both are idempotent and fail open:
on any internal error they log at DEBUG and leave the SDK as it was. Nothing here imports
botocore until one of them is called.
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

from ..config import LOGGER_NAME

_MARK = "__timeout_guard_patched__"
_log = logging.getLogger(LOGGER_NAME)


def install(module: ModuleType) -> bool:
    """Patch ``botocore.session.Session.create_client`` (and botocore's per-attempt path).

    Returns True when patched by this or an earlier call, False when left alone.
    """
    try:
        from .. import config

        if not config.settings().botocore:
            return False
        session_cls = getattr(module, "Session", None)
        if session_cls is None:
            return False
        if session_cls.__dict__.get(_MARK, False):
            return True
        _install_botocore(module)
        return True
    except Exception:
        _log.debug("timeout_guard: botocore left untouched", exc_info=True)
        return False


def _install_botocore(module: ModuleType) -> None:
    import botocore.awsrequest
    import botocore.endpoint
    import botocore.httpsession

    from .. import invocation
    from . import accounting, attempt, patch
    from ._wrap import wrap_method

    endpoint = botocore.endpoint.Endpoint
    # Feature detection: the attempt path we wrap, and urllib3 pools we can hand a timeout.
    for name in ("_do_get_response", "_needs_retry"):
        if not callable(getattr(endpoint, name, None)):
            raise RuntimeError(f"botocore Endpoint has no {name}")
    pools = [
        getattr(botocore.awsrequest, n, None)
        for n in ("AWSHTTPConnectionPool", "AWSHTTPSConnectionPool")
    ]
    if not all(p is not None and callable(getattr(p, "urlopen", None)) for p in pools):
        raise RuntimeError("botocore has no AWSHTTP(S)ConnectionPool.urlopen")
    # botocore >= 1.43.68 passes context['read_timeout'] to urllib3 by itself.
    attempt.NATIVE_READ_TIMEOUT = callable(
        getattr(botocore.httpsession.URLLib3Session, "_get_request_timeout", None)
    )

    wrap_method(module.Session, "create_client", patch.create_client)
    wrap_method(endpoint, "_do_get_response", attempt.do_get_response)
    wrap_method(endpoint, "_needs_retry", attempt.needs_retry)
    for pool in pools:
        wrap_method(pool, "urlopen", attempt.urlopen)
    invocation.on_end(accounting.flush)
    setattr(module.Session, _MARK, True)


def install_aiobotocore(module: ModuleType) -> bool:
    """Give ``aiobotocore.session.AioSession`` clients the same Config merge and read timeouts.

    AioSession creates clients without calling botocore's ``create_client``. Its config stays
    an ``AioConfig``. Per-operation read timeouts use aiobotocore's own
    ``context['read_timeout']`` support where it has it.
    """
    try:
        from .. import config

        if not config.settings().botocore:
            return False
        session_cls: Any = getattr(module, "AioSession", None)
        if session_cls is None or not callable(getattr(session_cls, "_create_client", None)):
            return False
        if session_cls.__dict__.get(_MARK, False):
            return True
        from . import patch
        from ._wrap import wrap_method

        try:
            import aiobotocore.httpsession as aio_http

            patch.AIO_NATIVE_READ_TIMEOUT = callable(
                getattr(aio_http.AIOHTTPSession, "_get_request_timeout", None)
            )
        except Exception:
            patch.AIO_NATIVE_READ_TIMEOUT = False
        wrap_method(session_cls, "_create_client", patch.aio_create_client)
        setattr(session_cls, _MARK, True)
        return True
    except Exception:
        _log.debug("timeout_guard: aiobotocore left untouched", exc_info=True)
        return False


__all__ = ["install", "install_aiobotocore"]
