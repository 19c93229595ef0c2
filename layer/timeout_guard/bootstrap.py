"""Wraps the function's handler through the runtime's own loader.

``awslambdaric.bootstrap._get_handler`` still loads the handler, so import errors, syntax
errors and missing handlers are reported exactly as without the layer, and ``_HANDLER`` is
never touched. Only the handler it returns gets wrapped.

This module is named ``bootstrap.py`` on purpose: awslambdaric drops the leading stack frames
of files whose path contains ``/bootstrap.py`` from the stack traces it reports, so the
wrapper's frames never show in a function error's ``stackTrace``.
"""

from __future__ import annotations

import functools
import logging

from . import LambdaTimeoutError
from .config import LOGGER_NAME, settings

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from typing import Any, Callable

_log = logging.getLogger(LOGGER_NAME)


def attach(ric_bootstrap: Any) -> None:
    """Replace ``_get_handler`` in awslambdaric's bootstrap module by a wrapping one."""
    original = ric_bootstrap._get_handler
    if getattr(original, "__timeout_guard__", False):
        return

    @functools.wraps(original)
    def _get_handler(handler: str) -> Callable[..., Any]:
        return wrap(original(handler))

    _get_handler.__timeout_guard__ = True  # type: ignore[attr-defined]
    ric_bootstrap._get_handler = _get_handler


def wrap(request_handler: Callable[..., Any]) -> Callable[..., Any]:
    """The guarded handler, or the handler itself if the hook is off or cannot be set up."""
    try:
        config = settings()
        if not config.hook:
            return request_handler
        from .hook import Guard

        guard = Guard(config)
    except Exception:
        _log.debug("pre-timeout hook not set up", exc_info=True)
        return request_handler

    def guarded(event: Any, context: Any) -> Any:
        try:
            guard.enter(event, context)
        except Exception:
            _log.debug("pre-timeout timer not armed", exc_info=True)
        try:
            return request_handler(event, context)
        except BaseException as error:
            if (
                guard.fired
                and guard.settings.action == "raise"
                and not isinstance(error, LambdaTimeoutError)
            ):
                # The handler's traceback, so the reported stack shows where it was.
                timeout = guard.timeout_error(error).with_traceback(error.__traceback__)
                raise timeout from error
            raise
        finally:
            try:
                guard.exit()
            except Exception:
                _log.debug("pre-timeout timer not disarmed cleanly", exc_info=True)

    try:
        functools.update_wrapper(guarded, request_handler)
    except Exception:
        pass
    return guarded
