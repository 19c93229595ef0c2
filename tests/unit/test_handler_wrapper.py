"""The handler wrapper (``bootstrap.guarded_handler``) called the way the runtime calls it, and
every other way: awslambdaric's own tests call a handler from ``_get_handler`` with no
arguments, and a test harness may call it with keywords. Only the runtime's call,
``(event, context)``, is guarded; any other reaches the handler unchanged, with the handler's
own result or error.
"""

from __future__ import annotations

from typing import Any

import pytest
from timeout_guard import bootstrap, invocation

from .helpers import Context


def _guarded(handler: Any) -> Any:
    wrapped = bootstrap.guarded_handler(handler)
    assert wrapped is not handler, "the hook is off: nothing here would be tested"
    return wrapped


def test_the_runtimes_call_is_guarded() -> None:
    def handler(event: Any, context: Any) -> Any:
        return event, invocation.current is not None

    assert _guarded(handler)({"k": 1}, Context(60_000)) == ({"k": 1}, True)
    assert invocation.current is None  # ended with the call


def test_a_handler_without_parameters_called_without_arguments() -> None:
    def my_handler() -> str:
        return "Good with slash"

    assert _guarded(my_handler)() == "Good with slash"


def test_keyword_arguments_reach_the_handler_unguarded() -> None:
    def handler(event: Any, context: Any = None) -> Any:
        return event, context, invocation.current is not None

    assert _guarded(handler)(event=1, context=2) == (1, 2, False)
    assert _guarded(handler)(1) == (1, None, False)


@pytest.mark.parametrize("args", [(), (1,), (1, 2, 3)])
def test_a_wrong_call_fails_as_the_handler_itself_fails(args: tuple) -> None:
    def handler(event: Any, context: Any) -> None:
        raise AssertionError("not reached")

    with pytest.raises(TypeError) as plain:
        handler(*args)
    with pytest.raises(TypeError) as wrapped:
        _guarded(handler)(*args)
    assert str(wrapped.value) == str(plain.value)
