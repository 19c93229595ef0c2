"""How the layer wraps botocore's methods, reads their arguments, and fails open.

``wrap_method`` replaces a method on a class by ``wrapper(wrapped, instance, args, kwargs)``
(wrapt's convention) with ``wrapped`` the original bound to ``instance``: a plain function
costs ~0.2 µs per call where wrapt's pure-Python proxies cost ~4 µs (three sit on every AWS
API call), and importing wrapt would pull ``asyncio`` into the first botocore import.

``argument`` is the one way wrappers read a call's arguments, positional or keyword.
``layer_failed`` is what every wrapper and handler calls when the layer's own code fails on a
request's path: the call then goes on as without the layer. An error a ``SIGALRM`` handler
raised (the guard's, or the function's own handler's) is no such failure: it goes on to the
function.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any, Callable

from ..alarm import raised_in_the_function

TYPE_CHECKING = False  # the alias below is for annotations only: no typing work at import
if TYPE_CHECKING:
    Wrapper = Callable[[Callable[..., Any], Any, tuple, dict], Any]

MARK = "__timeout_guard_wrapper__"
MISSING = object()

_log = logging.getLogger("timeout_guard")
_reported: set[str] = set()


def wrap_method(owner: type, name: str, wrapper: Wrapper) -> None:
    """Wrap ``owner.name`` (a plain method defined on ``owner`` or inherited), once."""
    original = getattr(owner, name)
    if getattr(original, MARK, False):
        return

    @functools.wraps(original)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return wrapper(original.__get__(self, owner), self, args, kwargs)

    setattr(method, MARK, True)
    if name not in owner.__dict__:
        setattr(owner, f"_{MARK}_inherited_{name}", True)
    setattr(owner, name, method)


def unwrap_method(owner: type, name: str) -> None:
    """Put back the method ``wrap_method`` replaced (if it is still the layer's)."""
    current = owner.__dict__.get(name)
    if current is not None and getattr(current, MARK, False):
        original = current.__wrapped__
        if owner.__dict__.get(f"_{MARK}_inherited_{name}", False):
            delattr(owner, name)  # the original lives on a base class
            delattr(owner, f"_{MARK}_inherited_{name}")
        else:
            setattr(owner, name, original)


def is_wrapped(owner: type, name: str) -> bool:
    return getattr(getattr(owner, name, None), MARK, False)


def argument(args: tuple, kwargs: dict, index: int, name: str, default: Any = MISSING) -> Any:
    """The argument passed as ``name=`` or at position ``index`` (self not counted)."""
    if name in kwargs:
        return kwargs[name]
    if len(args) > index:
        return args[index]
    if default is MISSING:
        raise TypeError(f"missing argument {name!r}")
    return default


def layer_failed(point: str) -> None:
    """The layer's own code failed at ``point`` on a request's path: say so once, at DEBUG.

    Call it from an ``except`` block; the caller then lets the call go on as without the layer
    (an error inside the layer must never reach the function). The line names the exception's
    type and where it was raised, never its message (it may carry the request's data).

    The guard's ``LambdaTimeoutError``, or what the function's own ``SIGALRM`` handler raised,
    is raised again instead: the signal came while the layer's code (or the call it wraps) ran
    in the function's call, and the error is the function's to handle.
    """
    error = sys.exc_info()[1]
    if raised_in_the_function(error):
        raise error  # type: ignore[misc]
    if point in _reported:
        return
    _reported.add(point)
    try:
        from ..records import failure

        error = sys.exc_info()[1]
        _log.debug(
            "timeout_guard: %s failed (%s); the call goes on as without the layer",
            point,
            failure(error) if error is not None else "?",
        )
    except Exception:
        pass
