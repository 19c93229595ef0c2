"""Every ``TIMEOUT_GUARD_*`` variable the Python side reads: declared once, never fatal.

Each variable is one line of :class:`Settings`: its full name, its parser (which holds the range
and the expected form) and its default. A value that does not parse or is out of range is
replaced by the default with one warning that names the variable and the value: the layer must
never stop a function from starting. ``TIMEOUT_GUARD_ENABLED`` and ``TIMEOUT_GUARD_NEXT_WRAPPER``
are read by the exec wrapper only (``wrapper/timeout-guard``), with :func:`boolean`'s rules.

Start-up modules (this one, ``post_import``, ``bootstrap``, ``guard``, ``alarm``,
``invocation``) import only what the interpreter has already loaded by then: no ``typing``,
``dataclasses`` or ``enum``, which cost milliseconds of every cold start.
"""

from __future__ import annotations

import functools
import logging
import os
import sys

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from typing import Callable, Mapping, Optional, TypeVar

    T = TypeVar("T")

LOGGER_NAME = "timeout_guard"


def warn(message: str) -> None:
    """Warn through the ``timeout_guard`` logger, or straight to stderr before logging is set up.

    Settings are read after awslambdaric configured logging, so the warning follows the
    function's log format; if not, a plain line that still carries the word WARNING.
    """
    logger = logging.getLogger(LOGGER_NAME)
    if logger.hasHandlers():
        logger.warning(message)
    else:
        try:
            sys.stderr.write(f"[WARNING] {LOGGER_NAME}: {message}\n")
        except Exception:
            pass


# --- parsers: each raises ValueError on a bad value; ``expected`` is said in the warning --------


def _expects(text: str) -> Callable[[Callable[[str], T]], Callable[[str], T]]:
    def attach(parse: Callable[[str], T]) -> Callable[[str], T]:
        parse.expected = text  # type: ignore[attr-defined]
        return parse

    return attach


TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


@_expects("true or false")
def boolean(raw: str) -> bool:
    """``true/false``, ``1/0``, ``yes/no``, ``on/off``, any case (the wrapper's rules too)."""
    value = raw.lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ValueError(raw)


def _finite(raw: str) -> float:
    value = float(raw)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(raw)
    return value


MAX_SECONDS = 900.0  # Lambda's longest timeout: no SDK timeout beyond it makes sense


@_expects("seconds in (0, 900]")
def seconds(raw: str) -> float:
    value = _finite(raw)
    if not 0 < value <= MAX_SECONDS:
        raise ValueError(raw)
    return value


MAX_MARGIN_MS = 900_000


@_expects(f"whole milliseconds, 1 to {MAX_MARGIN_MS - 1}")
def margin_ms(raw: str) -> int:
    value = round(_finite(raw))  # 0.4 would be 0: no margin at all
    if not 1 <= value < MAX_MARGIN_MS:
        raise ValueError(raw)
    return value


@_expects("a whole number 1 to 20")
def attempts(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 20:
        raise ValueError(raw)
    return value


def choice(*options: str) -> Callable[[str], str]:
    @_expects(" or ".join(options))
    def parse(raw: str) -> str:
        value = raw.lower()
        if value not in options:
            raise ValueError(raw)
        return value

    return parse


@_expects("DEBUG, INFO, WARNING, ERROR or CRITICAL")
def log_level(raw: str) -> str:
    value = raw.upper()
    if value not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(raw)
    return value


@_expects("module:function[,module:function...]")
def callbacks(raw: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in raw.split(",") if part.strip())
    for name in names:
        module, _, function = name.partition(":")
        dotted = all(part.isidentifier() for part in module.split("."))
        if not module or not dotted or not function.isidentifier():
            raise ValueError(name)
    return names


READ_TIMEOUTS = "TIMEOUT_GUARD_READ_TIMEOUTS"


@_expects("service[.Operation]=seconds|off[,...]")
def read_timeout_table(raw: str) -> dict[str, Optional[float]]:
    """``sqs.ReceiveMessage=30,bedrock-runtime=300,lambda.Invoke=off`` (None stands for off).

    A bad entry is warned about and skipped; the others apply.
    """
    table: dict[str, Optional[float]] = {}
    for entry in raw.split(","):
        entry = entry.strip()
        if not entry:
            continue
        key, sep, value = (part.strip() for part in entry.partition("="))
        service, _, operation = key.partition(".")
        valid_key = (
            bool(service)
            and all(c.isalnum() or c == "-" for c in service)
            and (not operation or operation.isidentifier())
        )
        if not sep or not valid_key:
            warn(f"{READ_TIMEOUTS} entry {entry!r} is not 'service[.Operation]=seconds|off'; "
                 "skipped")
            continue
        if value.lower() == "off":
            table[key] = None
            continue
        try:
            table[key] = seconds(value)
        except ValueError:
            warn(f"{READ_TIMEOUTS} entry {entry!r} needs seconds in (0, 900] or 'off'; skipped")
    return table


# --- the settings ------------------------------------------------------------------------------


def read(
    environ: Mapping[str, str],
    name: str,
    parse: Callable[[str], T],
    default: T,
    default_text: str = "",
) -> T:
    """Variable ``name`` of ``environ`` parsed, or ``default`` (unset, empty, or bad: warned)."""
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default  # empty means unset, as for any Lambda variable
    try:
        return parse(raw.strip())
    except (ValueError, TypeError):
        expected = getattr(parse, "expected", "a valid value")
        warn(
            f"{name}={raw!r} is not valid ({expected}); "
            f"using the default {default_text or repr(default)}"
        )
        return default


class Settings:
    """The layer's configuration, read from one environment mapping (``os.environ`` by default).

    One line per variable: name, parser, default. A plain class, not a dataclass: start-up cost.
    """

    def __init__(self, environ: Optional[Mapping[str, str]] = None) -> None:
        get = functools.partial(read, os.environ if environ is None else environ)
        # None: 10 % of the remaining time at invocation start, clamped to 500-3000 ms.
        self.margin_ms: Optional[int] = get(
            "TIMEOUT_GUARD_MARGIN_MS", margin_ms, None, "(10% of the remaining time, 500-3000 ms)"
        )
        self.action: str = get("TIMEOUT_GUARD_ACTION", choice("raise", "log"), "raise")
        self.on_timeout: tuple[str, ...] = get("TIMEOUT_GUARD_ON_TIMEOUT", callbacks, (), "(none)")
        self.connect_timeout: float = get("TIMEOUT_GUARD_CONNECT_TIMEOUT", seconds, 2.0)
        self.read_timeout: float = get("TIMEOUT_GUARD_READ_TIMEOUT", seconds, 5.0)
        self.max_attempts: int = get("TIMEOUT_GUARD_MAX_ATTEMPTS", attempts, 3)
        self.retry_mode: str = get(
            "TIMEOUT_GUARD_RETRY_MODE", choice("legacy", "standard", "adaptive"), "standard"
        )
        # "sqs.ReceiveMessage" or "sqs" -> seconds, or None for "off".
        self.read_timeouts: dict[str, Optional[float]] = get(
            READ_TIMEOUTS, read_timeout_table, {}, "(none)"
        )
        self.botocore: bool = get("TIMEOUT_GUARD_BOTOCORE", boolean, True)
        self.hook: bool = get("TIMEOUT_GUARD_HOOK", boolean, True)
        self.log_level: str = get("TIMEOUT_GUARD_LOG_LEVEL", log_level, "WARNING")

    def __repr__(self) -> str:
        return f"Settings({vars(self)!r})"


_current: Optional[Settings] = None


def settings() -> Settings:
    """The process-wide settings, read from ``os.environ`` on first use."""
    global _current
    if _current is None:
        _current = Settings()
        logging.getLogger(LOGGER_NAME).setLevel(_current.log_level)
    return _current


def reset() -> None:
    """Forget the process-wide settings (tests change the environment between cases)."""
    global _current
    _current = None
