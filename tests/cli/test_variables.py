"""``--set`` validation, and its agreement with the layer's own parsing of every variable.

The command repeats the layer's value rules (it must not import the layer). The parity test
runs the layer's ``config.load`` on the same samples: the command accepts a value exactly when
the layer takes it without a warning.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from timeout_guard_cli.variables import MANAGED, SETTABLE, parse_assignment, problem

LAYER = Path(__file__).resolve().parents[2] / "layer"

SAMPLES = {
    "TIMEOUT_GUARD_ENABLED": ["true", "FALSE", "1", "0", "yes", "Off", "maybe", "2", "t"],
    "TIMEOUT_GUARD_MARGIN_MS": [
        "500",
        "0.5",
        "899999",
        "900000",
        "0",
        "-1",
        "nan",
        "inf",
        "1e3",
        "x",
    ],
    "TIMEOUT_GUARD_ACTION": ["raise", "LOG", "Raise", "kill", "raise,log"],
    "TIMEOUT_GUARD_ON_TIMEOUT": [
        "app.hooks:flush",
        "a:b, c.d:e",
        "a:b,",
        "app.hooks",
        "app:",
        ":f",
        "a-b:c",
        "a:b:c",
        "1a:b",
    ],
    "TIMEOUT_GUARD_CONNECT_TIMEOUT": ["2", "0.1", "900", "900.5", "0", "-2", "1_0", "inf", "two"],
    "TIMEOUT_GUARD_READ_TIMEOUT": ["5", " 5 ", "1e2", "1e3", "0.0"],
    "TIMEOUT_GUARD_MAX_ATTEMPTS": ["1", "20", "0", "21", "3.0", "three", " 4"],
    "TIMEOUT_GUARD_RETRY_MODE": ["legacy", "Standard", "ADAPTIVE", "smart"],
    "TIMEOUT_GUARD_READ_TIMEOUTS": [
        "sqs.ReceiveMessage=30,bedrock-runtime=300,lambda.Invoke=off",
        "s3=OFF",
        "athena.GetQueryResults=60,",
        "sqs.ReceiveMessage",
        "sqs.ReceiveMessage=0",
        "sqs.ReceiveMessage=901",
        "sqs.Receive.Message=3",
        "s3 bucket=3",
        "=3",
        "s3=3,bad",
    ],
    "TIMEOUT_GUARD_BOTOCORE": ["false", "no", "nope"],
    "TIMEOUT_GUARD_HOOK": ["on", "off", "enabled"],
    "TIMEOUT_GUARD_LOG_LEVEL": ["debug", "INFO", "Warning", "CRITICAL", "TRACE", "10"],
}


def test_every_settable_variable_has_samples():
    assert set(SAMPLES) == set(SETTABLE)


@pytest.fixture(scope="module")
def layer_parsing():
    """The layer's parsing module and how to read one environment with it.

    ``timeout_guard.config`` (``load(environ)``) or, after the layer's settings rework,
    ``timeout_guard.settings`` (``Settings(environ)``; ``TIMEOUT_GUARD_ENABLED`` is read by the
    wrapper only there, with the module's ``boolean`` rules, so it is checked with those).
    """
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))
    try:
        from timeout_guard import settings as module

        return module, module.Settings, module.boolean
    except ImportError:
        from timeout_guard import config as module

        return module, module.load, module._boolean


def _layer_accepts(layer_parsing, monkeypatch, name: str, value: str) -> bool:
    module, read, boolean = layer_parsing
    if name == "TIMEOUT_GUARD_ENABLED":
        try:
            boolean(value.strip())
        except ValueError:
            return False
        return True
    warnings: list[str] = []
    monkeypatch.setattr(module, "warn", warnings.append)
    read({name: value})
    return not warnings


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_command_accepts_exactly_what_the_layer_accepts(name, layer_parsing, monkeypatch):
    for value in SAMPLES[name]:
        layer_ok = _layer_accepts(layer_parsing, monkeypatch, name, value)
        command_ok = problem(name, value) is None
        assert command_ok == layer_ok, f"{name}={value!r}: layer {layer_ok}, command {command_ok}"


def test_good_assignment():
    assert parse_assignment("TIMEOUT_GUARD_MARGIN_MS=800") == ("TIMEOUT_GUARD_MARGIN_MS", "800")
    assert parse_assignment("TIMEOUT_GUARD_READ_TIMEOUTS=s3=30") == (
        "TIMEOUT_GUARD_READ_TIMEOUTS",
        "s3=30",
    )


@pytest.mark.parametrize(
    "text, words",
    [
        ("TIMEOUT_GUARD_MARGIN_MS", "expected TIMEOUT_GUARD_NAME=VALUE"),
        ("=800", "expected TIMEOUT_GUARD_NAME=VALUE"),
        ("TIMEOUT_GUARD_MARGIN_MS=", "needs a value"),
        ("TIMEOUT_GUARD_MARGIN_MS=-5", "TIMEOUT_GUARD_MARGIN_MS='-5' is not valid"),
        ("TIMEOUT_GUARD_MARGIN=500", "unknown variable 'TIMEOUT_GUARD_MARGIN'"),
        ("DB_HOST=x", "unknown variable 'DB_HOST'"),
        ("AWS_LAMBDA_EXEC_WRAPPER=/opt/x", "unknown variable"),
        ("TIMEOUT_GUARD_NEXT_WRAPPER=/opt/x", "cannot be set"),
        ("TIMEOUT_GUARD_UNDO={}", "cannot be set"),
    ],
)
def test_bad_assignments_say_what_is_wrong_in_one_line(text, words):
    with pytest.raises(ValueError) as caught:
        parse_assignment(text)
    message = str(caught.value)
    assert words in message and "\n" not in message


def test_managed_names_are_not_settable():
    assert not set(MANAGED) & set(SETTABLE)
