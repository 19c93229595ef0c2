"""Every TIMEOUT_GUARD_* variable: parsed, range-checked, warned once when bad, never fatal."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from timeout_guard.settings import FALSE_WORDS, TRUE_WORDS, Settings, boolean

# variable, a valid value, what it becomes, the attribute, its default
VALID = [
    ("TIMEOUT_GUARD_MARGIN_MS", "750", 750, "margin_ms", None),
    ("TIMEOUT_GUARD_ACTION", "LOG", "log", "action", "raise"),
    ("TIMEOUT_GUARD_ON_TIMEOUT", "a.b:f, c:g", ("a.b:f", "c:g"), "on_timeout", ()),
    ("TIMEOUT_GUARD_CONNECT_TIMEOUT", "1.5", 1.5, "connect_timeout", 2.0),
    ("TIMEOUT_GUARD_READ_TIMEOUT", "900", 900.0, "read_timeout", 5.0),
    ("TIMEOUT_GUARD_MAX_ATTEMPTS", "20", 20, "max_attempts", 3),
    ("TIMEOUT_GUARD_RETRY_MODE", "Adaptive", "adaptive", "retry_mode", "standard"),
    ("TIMEOUT_GUARD_READ_TIMEOUTS", "sqs=9,lambda.Invoke=off", {"sqs": 9.0, "lambda.Invoke": None},
     "read_timeouts", {}),
    ("TIMEOUT_GUARD_BOTOCORE", " off ", False, "botocore", True),
    ("TIMEOUT_GUARD_HOOK", "0", False, "hook", True),
    ("TIMEOUT_GUARD_LOG_LEVEL", "debug", "DEBUG", "log_level", "WARNING"),
]

# variable, bad values (each warned once, the default kept)
INVALID = [
    ("TIMEOUT_GUARD_MARGIN_MS", ["0", "0.4", "-5", "900000", "899999.6", "soon", "nan", "inf"]),
    ("TIMEOUT_GUARD_ACTION", ["explode"]),
    ("TIMEOUT_GUARD_ON_TIMEOUT", ["nocolon", "a:", ":f", "a b:f", "a:f-g"]),
    ("TIMEOUT_GUARD_CONNECT_TIMEOUT", ["0", "-1", "901", "fast", "1e400"]),
    ("TIMEOUT_GUARD_READ_TIMEOUT", ["0", "nan"]),
    ("TIMEOUT_GUARD_MAX_ATTEMPTS", ["0", "21", "2.5", "three"]),
    ("TIMEOUT_GUARD_RETRY_MODE", ["smart"]),
    ("TIMEOUT_GUARD_BOTOCORE", ["maybe", "2"]),
    ("TIMEOUT_GUARD_HOOK", ["nope"]),
    ("TIMEOUT_GUARD_LOG_LEVEL", ["LOUD"]),
]


def warnings(caplog: Any) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_defaults() -> None:
    s = Settings({})
    for _, _, _, attribute, default in VALID:
        assert getattr(s, attribute) == default, attribute


@pytest.mark.parametrize(("name", "raw", "value", "attribute", "default"), VALID,
                         ids=[v[0] for v in VALID])
def test_valid_values(caplog: Any, name: str, raw: str, value: Any, attribute: str,
                      default: Any) -> None:
    assert getattr(Settings({name: raw}), attribute) == value
    assert warnings(caplog) == []


@pytest.mark.parametrize(
    ("name", "raw"), [(n, raw) for n, values in INVALID for raw in values],
    ids=[f"{n}={raw}" for n, values in INVALID for raw in values],
)
def test_bad_values_warn_once_and_keep_the_default(caplog: Any, name: str, raw: str) -> None:
    attribute = next(v[3] for v in VALID if v[0] == name)
    default = next(v[4] for v in VALID if v[0] == name)
    assert getattr(Settings({name: raw}), attribute) == default
    (message,) = warnings(caplog)
    assert name in message and repr(raw) in message and "using the default" in message


@pytest.mark.parametrize("name", [v[0] for v in VALID])
def test_empty_means_unset(caplog: Any, name: str) -> None:
    attribute, default = next((v[3], v[4]) for v in VALID if v[0] == name)
    assert getattr(Settings({name: "  "}), attribute) == default
    assert warnings(caplog) == []


def test_bad_read_timeout_entries_are_skipped_one_by_one(caplog: Any) -> None:
    raw = "sqs.ReceiveMessage=30,nonsense,kinesis=abc,s3=0,x.y.z=1,a=off"
    assert Settings({"TIMEOUT_GUARD_READ_TIMEOUTS": raw}).read_timeouts == {
        "sqs.ReceiveMessage": 30.0,
        "a": None,
    }
    warned = warnings(caplog)
    assert len(warned) == 4 and all("TIMEOUT_GUARD_READ_TIMEOUTS" in w for w in warned)


def test_every_variable_is_declared_once_with_its_full_name() -> None:
    """grep finds each variable where it is parsed: its full name is written in settings.py."""
    import timeout_guard.settings as module

    source = Path(module.__file__).read_text()
    for name, *_ in VALID:
        assert source.count(f'"{name}"') == 1 or name == "TIMEOUT_GUARD_READ_TIMEOUTS", name
    assert len(vars(Settings({}))) == len(VALID)  # no setting without a test row


@pytest.mark.parametrize("raw", [*TRUE_WORDS, *FALSE_WORDS, "TRUE", "Off", "yEs"])
def test_boolean_words(raw: str) -> None:
    assert boolean(raw) is (raw.lower() in TRUE_WORDS)
