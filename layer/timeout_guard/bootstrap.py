"""Wraps the function's handler as the runtime's own loader returns it.

``awslambdaric.bootstrap._get_handler`` still loads the handler, so import errors, syntax
errors and missing handlers are reported exactly as without the layer, and ``_HANDLER`` is
never touched. Only the handler it returns gets wrapped, by the guard of this process.

This module is named ``bootstrap.py`` on purpose: awslambdaric drops the leading stack frames
of files whose path contains ``/bootstrap.py`` from the stack traces it reports, so the
wrapper's frame (``guarded`` below) never shows in a function error's ``stackTrace``.
"""

from __future__ import annotations

import functools
import sys

from . import alarm, guard, invocation, post_import
from .settings import settings, warn

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from typing import Any, Callable

MARK = "__timeout_guard__"

# The layer's files an alarm must never land in (it is delivered a moment later instead): the
# modules say so themselves (the guard's steps' module too, loaded when it first fires).
# post_import runs inside the function's imports (the finder of the layer's folder, the hooked
# loaders), where a guard's exception could be taken for the finder's own error.
OWN_FILES = {
    module.__file__ for module in (sys.modules[__name__], alarm, guard, invocation, post_import)
} | {guard.FIRING_FILE}


# Said once when the runtime client is not one the layer can wrap; the function runs as is.
NOT_ACTIVE = "the pre-timeout hook of timeout_guard is not active"


def attach(ric_bootstrap: Any) -> None:
    """Replace ``_get_handler`` in awslambdaric's bootstrap module by a wrapping one.

    A runtime client without it (another version of awslambdaric) runs the function as
    without the layer; the user is told once that the hook is off.
    """
    original = getattr(ric_bootstrap, "_get_handler", None)
    if not callable(original):
        if settings().hook:
            warn(f"{NOT_ACTIVE}: this runtime's awslambdaric has no _get_handler to wrap")
        return
    if getattr(original, MARK, False):
        return

    @functools.wraps(original)
    def _get_handler(handler: str) -> Callable[..., Any]:
        return guarded_handler(original(handler))

    setattr(_get_handler, MARK, True)
    ric_bootstrap._get_handler = _get_handler


def guarded_handler(request_handler: Any) -> Any:
    """The guarded handler, or the handler itself if the hook is off or cannot be set up."""
    try:
        config = settings()
        if not config.hook:
            return request_handler
        if not callable(request_handler):
            kind = type(request_handler).__name__
            warn(f"{NOT_ACTIVE}: awslambdaric's _get_handler returned a {kind}, not a function")
            return request_handler
        process_guard = guard.Guard(config, {f for f in OWN_FILES if f}, request_handler)
    except Exception as error:
        from .records import log_failure  # not at start-up (guard._load_later)

        log_failure("pre-timeout hook not set up", error)
        return request_handler

    def guarded(*args: Any, **kwargs: Any) -> Any:
        if len(args) != 2 or kwargs:  # not the runtime's call (event, context): passed as is
            return request_handler(*args, **kwargs)
        process_guard.enter(*args)
        try:
            return request_handler(*args)
        except BaseException as error:
            replacement = process_guard.replacement(error)
            if replacement is None:
                raise
            raise replacement from error
        finally:
            process_guard.exit()

    try:
        functools.update_wrapper(guarded, request_handler)
    except Exception:
        pass
    return guarded
