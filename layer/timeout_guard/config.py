"""Every ``TIMEOUT_GUARD_*`` variable, parsed once, typed, and never fatal.

A value that does not parse or is out of range is replaced by its default with one warning
that names the variable and the value (the layer must never stop a function from starting).
Only the standard library is imported here, so reading the configuration costs nothing.
"""

from __future__ import annotations

import logging
import os
import sys

TYPE_CHECKING = False  # typing costs milliseconds at start-up; annotations only
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping, Optional, TypeVar

    T = TypeVar("T")

LOGGER_NAME = "timeout_guard"
PREFIX = "TIMEOUT_GUARD_"

MAX_SECONDS = 900.0  # Lambda's longest timeout; no SDK timeout beyond it makes sense.
MAX_MARGIN_MS = 900_000
RETRY_MODES = ("legacy", "standard", "adaptive")
ACTIONS = ("raise", "log")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

_DEFAULTS = {
    "enabled": True,
    "margin_ms": None,  # None: 10 % of the remaining time, clamped to 500-3000 ms
    "action": "raise",
    "on_timeout": (),
    "connect_timeout": 2.0,
    "read_timeout": 5.0,
    "max_attempts": 3,
    "retry_mode": "standard",
    "read_timeouts": {},  # "sqs.ReceiveMessage" or "sqs" -> seconds, or None for "off"
    "botocore": True,
    "hook": True,
    "log_level": "WARNING",
}


class Settings:
    """The layer's configuration (immutable); the defaults are the documented defaults.

    A plain class rather than a dataclass: ``dataclasses`` imports ``inspect``, which would
    add milliseconds to every cold start.
    """

    __slots__ = tuple(_DEFAULTS)
    enabled: bool
    margin_ms: Optional[int]
    action: str
    on_timeout: tuple[str, ...]
    connect_timeout: float
    read_timeout: float
    max_attempts: int
    retry_mode: str
    read_timeouts: Mapping[str, Optional[float]]
    botocore: bool
    hook: bool
    log_level: str

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(_DEFAULTS)
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        for name, default in _DEFAULTS.items():
            value = values.get(name, default)
            object.__setattr__(self, name, dict(value) if name == "read_timeouts" else value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Settings are immutable")

    def replace(self, **changes: Any) -> Settings:
        values = {name: getattr(self, name) for name in _DEFAULTS}
        values.update(changes)
        return Settings(**values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Settings):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in _DEFAULTS)

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in _DEFAULTS)
        return f"Settings({fields})"


def warn(message: str) -> None:
    """Warn through the ``timeout_guard`` logger, or straight to stderr before logging is set up.

    Configuration is usually read after awslambdaric configured logging, so the warning follows
    the function's log format; if not, a plain line that still carries the word WARNING.
    """
    logger = logging.getLogger(LOGGER_NAME)
    if logger.hasHandlers():
        logger.warning(message)
    else:
        sys.stderr.write(f"[WARNING] {LOGGER_NAME}: {message}\n")


class _Reader:
    """Reads variables from one environment mapping, warning once per bad variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def get(
        self,
        suffix: str,
        parse: Callable[[str], T],
        default: T,
        expected: str,
        default_text: Optional[str] = None,
    ) -> T:
        name = PREFIX + suffix
        raw = self.environ.get(name)
        if raw is None or raw.strip() == "":
            return default  # empty means unset, as for any Lambda variable
        try:
            return parse(raw.strip())
        except (ValueError, TypeError):
            shown = default_text if default_text is not None else repr(default)
            warn(f"{name}={raw!r} is not valid ({expected}); using the default {shown}")
            return default


def _boolean(raw: str) -> bool:
    value = raw.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(raw)


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.lower() if options is not LOG_LEVELS else raw.upper()
        if value not in options:
            raise ValueError(raw)
        return value

    return parse


def _finite_float(raw: str) -> float:
    value = float(raw)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(raw)
    return value


def parse_seconds(raw: str) -> float:
    """A timeout in seconds: positive and at most 900."""
    value = _finite_float(raw)
    if not 0 < value <= MAX_SECONDS:
        raise ValueError(raw)
    return value


def _margin_ms(raw: str) -> int:
    value = _finite_float(raw)
    if not 0 < value < MAX_MARGIN_MS:
        raise ValueError(raw)
    return int(round(value))


def _attempts(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 20:
        raise ValueError(raw)
    return value


def _callbacks(raw: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in raw.split(",") if part.strip())
    for name in names:
        module, _, function = name.partition(":")
        if not module or not function or not _is_dotted_name(module) or not function.isidentifier():
            raise ValueError(name)
    return names


def _is_dotted_name(text: str) -> bool:
    return all(part.isidentifier() for part in text.split("."))


def parse_read_timeouts(raw: str) -> dict[str, Optional[float]]:
    """Parse ``sqs.ReceiveMessage=30,bedrock-runtime=300,lambda.Invoke=off``.

    A bad entry is warned about and skipped; the others apply.
    """
    table: dict[str, Optional[float]] = {}
    name = PREFIX + "READ_TIMEOUTS"
    for entry in raw.split(","):
        entry = entry.strip()
        if not entry:
            continue
        key, sep, value = entry.partition("=")
        key, value = key.strip(), value.strip()
        service, _, operation = key.partition(".")
        valid_key = (
            bool(service)
            and all(c.isalnum() or c == "-" for c in service)
            and (not operation or operation.isidentifier())
        )
        if not sep or not valid_key or "." in operation:
            warn(f"{name} entry {entry!r} is not 'service[.Operation]=seconds|off'; skipped")
            continue
        if value.lower() == "off":
            table[key] = None
            continue
        try:
            table[key] = parse_seconds(value)
        except ValueError:
            warn(f"{name} entry {entry!r} needs seconds in (0, 900] or 'off'; skipped")
    return table


def load(environ: Optional[Mapping[str, str]] = None) -> Settings:
    """Parse the environment into :class:`Settings`; never raises."""
    env = os.environ if environ is None else environ
    read = _Reader(env)
    d = Settings()
    raw_table = env.get(PREFIX + "READ_TIMEOUTS", "")
    return Settings(
        enabled=read.get("ENABLED", _boolean, d.enabled, "true or false"),
        margin_ms=read.get(
            "MARGIN_MS",
            _margin_ms,
            d.margin_ms,
            f"milliseconds, above 0 and below {MAX_MARGIN_MS}",
            "(10% of the remaining time, 500 to 3000 ms)",
        ),
        action=read.get("ACTION", _choice(ACTIONS), d.action, "raise or log"),
        on_timeout=read.get(
            "ON_TIMEOUT", _callbacks, d.on_timeout, "module:function[,...]", "(none)"
        ),
        connect_timeout=read.get(
            "CONNECT_TIMEOUT", parse_seconds, d.connect_timeout, "seconds in (0, 900]"
        ),
        read_timeout=read.get("READ_TIMEOUT", parse_seconds, d.read_timeout, "seconds in (0, 900]"),
        max_attempts=read.get("MAX_ATTEMPTS", _attempts, d.max_attempts, "a whole number 1 to 20"),
        retry_mode=read.get(
            "RETRY_MODE", _choice(RETRY_MODES), d.retry_mode, "legacy, standard or adaptive"
        ),
        read_timeouts=parse_read_timeouts(raw_table) if raw_table.strip() else {},
        botocore=read.get("BOTOCORE", _boolean, d.botocore, "true or false"),
        hook=read.get("HOOK", _boolean, d.hook, "true or false"),
        log_level=read.get("LOG_LEVEL", _choice(LOG_LEVELS), d.log_level, "DEBUG to CRITICAL"),
    )


_settings: Optional[Settings] = None


def settings() -> Settings:
    """The process-wide settings, read from ``os.environ`` on first use."""
    global _settings
    if _settings is None:
        _settings = load()
        logging.getLogger(LOGGER_NAME).setLevel(_settings.log_level)
    return _settings
