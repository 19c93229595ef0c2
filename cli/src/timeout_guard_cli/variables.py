"""The function variables Timeout Guard uses, and the rules a ``--set`` value must follow.

The value rules repeat those of the layer (``layer/timeout_guard/settings.py``): the command must
not import the layer, and the layer must not grow a dependency on the command. They live here
and nowhere else in the command; ``tests/cli/test_variables.py`` checks that the two agree on
every variable over a table of good and bad values. The difference is deliberate: where the
layer warns and falls back to its default (it must never stop a function), the command refuses
the value before changing anything.
"""

from __future__ import annotations

import math
from typing import Callable

WRAPPER_VAR = "AWS_LAMBDA_EXEC_WRAPPER"
WRAPPER_PATH = "/opt/timeout-guard"
PREFIX = "TIMEOUT_GUARD_"
NEXT_WRAPPER_VAR = "TIMEOUT_GUARD_NEXT_WRAPPER"
# attach's record of what it overwrote, so that detach puts it back (see plan.py).
UNDO_VAR = "TIMEOUT_GUARD_UNDO"

MAX_SECONDS = 900.0
MAX_MARGIN_MS = 900_000
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _boolean(value: str) -> None:
    if value.lower() not in _TRUE + _FALSE:
        raise ValueError


def _choice(*options: str, upper: bool = False) -> Callable[[str], None]:
    def check(value: str) -> None:
        if (value.upper() if upper else value.lower()) not in options:
            raise ValueError

    return check


def _finite(value: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError
    return number


def _seconds(value: str) -> None:
    if not 0 < _finite(value) <= MAX_SECONDS:
        raise ValueError


def _margin_ms(value: str) -> None:
    if not 1 <= round(_finite(value)) < MAX_MARGIN_MS:  # whole milliseconds, as the layer keeps
        raise ValueError


def _attempts(value: str) -> None:
    if not 1 <= int(value) <= 20:
        raise ValueError


def _callbacks(value: str) -> None:
    for name in (part.strip() for part in value.split(",")):
        if not name:
            continue
        module, _, function = name.partition(":")
        dotted = module and all(part.isidentifier() for part in module.split("."))
        if not dotted or not function.isidentifier():
            raise ValueError


def _read_timeouts(value: str) -> None:
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        key, sep, seconds = entry.partition("=")
        service, _, operation = key.strip().partition(".")
        valid_service = bool(service) and all(c.isalnum() or c == "-" for c in service)
        valid_operation = not operation or (operation.isidentifier() and "." not in operation)
        if not sep or not valid_service or not valid_operation:
            raise ValueError
        if seconds.strip().lower() != "off":
            _seconds(seconds.strip())


# name -> (check, what a valid value looks like): the README's configuration table.
SETTABLE: dict[str, tuple[Callable[[str], None], str]] = {
    "TIMEOUT_GUARD_ENABLED": (_boolean, "true or false"),
    "TIMEOUT_GUARD_MARGIN_MS": (_margin_ms, f"whole milliseconds, 1 to {MAX_MARGIN_MS - 1}"),
    "TIMEOUT_GUARD_ACTION": (_choice("raise", "log"), "raise or log"),
    "TIMEOUT_GUARD_ON_TIMEOUT": (_callbacks, "module:function[,module:function...]"),
    "TIMEOUT_GUARD_CONNECT_TIMEOUT": (_seconds, "seconds, above 0 and at most 900"),
    "TIMEOUT_GUARD_READ_TIMEOUT": (_seconds, "seconds, above 0 and at most 900"),
    "TIMEOUT_GUARD_MAX_ATTEMPTS": (_attempts, "a whole number from 1 to 20"),
    "TIMEOUT_GUARD_RETRY_MODE": (
        _choice("legacy", "standard", "adaptive"),
        "legacy, standard or adaptive",
    ),
    "TIMEOUT_GUARD_READ_TIMEOUTS": (
        _read_timeouts,
        "service[.Operation]=seconds|off[,...], seconds above 0 and at most 900",
    ),
    "TIMEOUT_GUARD_BOTOCORE": (_boolean, "true or false"),
    "TIMEOUT_GUARD_HOOK": (_boolean, "true or false"),
    "TIMEOUT_GUARD_LOG_LEVEL": (
        _choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", upper=True),
        "DEBUG, INFO, WARNING, ERROR or CRITICAL",
    ),
}

# Names the command manages itself; ``--set`` refuses them, with this reason.
MANAGED = {
    NEXT_WRAPPER_VAR: "attach sets it from the function's existing AWS_LAMBDA_EXEC_WRAPPER",
    UNDO_VAR: "attach's own record for detach",
}


def problem(name: str, value: str) -> str | None:
    """Why ``name=value`` may not be set on a function, or None when it may.

    Like the layer, surrounding blanks are ignored; unlike the layer, an empty value is refused
    (the layer would treat it as unset, which is what not setting it already does).
    """
    if name in MANAGED:
        return f"{name} cannot be set: {MANAGED[name]}"
    if name not in SETTABLE:
        known = ", ".join(sorted(SETTABLE))
        return f"unknown variable {name!r}; the settable ones are: {known}"
    check, expected = SETTABLE[name]
    text = value.strip()
    if not text:
        return f"{name} needs a value ({expected})"
    try:
        check(text)
    except (ValueError, TypeError):
        return f"{name}={value!r} is not valid: expected {expected}"
    return None


def parse_assignment(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` from ``--set``, checked; ValueError with one readable line otherwise."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ValueError(f"--set {text!r}: expected TIMEOUT_GUARD_NAME=VALUE")
    error = problem(name, value)
    if error:
        raise ValueError(f"--set {error}")
    return name, value


def is_guard_variable(name: str) -> bool:
    """A variable in Timeout Guard's namespace (the layer's settings, the chain, the record)."""
    return name.startswith(PREFIX)
