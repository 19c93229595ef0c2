"""Timeout Guard chained with another exec wrapper, end to end in the local runtime.

Two stand-ins for observability layers' wrappers (``wrappers/``, written after reading how
OpenTelemetry's work): ``other-sh``, a sh script in the style of ``otel-instrument`` (its own
sitecustomize folder first on PYTHONPATH, variables, ``exec "$@"``), and ``other-py``, a Python
script that swaps ``_HANDLER`` for a wrapping handler of its own and runs its arguments as a
command after putting its sitecustomize folder first (as ``opentelemetry-instrument`` does).

Each is chained before and after Timeout Guard, and by hand in both orders. Every chain must
give the function both wrappers' effects, the guard on time, the layer's client timeouts, and
exactly the world the other wrapper alone gives it (environment, PYTHONPATH, sys.path,
_HANDLER), less the variables that wire the chain.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import MODE_312, MODES
from locallambda import LocalLambda
from locallambda.layers import make_read_only, make_writable

HERE = Path(__file__).resolve().parent
PROBE = HERE / "functions" / "probe"
VERSION = MODE_312 or (MODES[0] if MODES else None)
pytestmark = pytest.mark.skipif(VERSION is None, reason="no interpreter for the local runtime")

TIMEOUT = 2.0
MARGIN_MS = 500
COMMON = {"TIMEOUT_GUARD_MARGIN_MS": str(MARGIN_MS)}  # set in every run, with or without us
# What wires a chain: the user's own configuration, expected to differ between the runs.
WIRING = {"AWS_LAMBDA_EXEC_WRAPPER", "TIMEOUT_GUARD_NEXT_WRAPPER", "OTHER_SH_NEXT", "OTHER_PY_NEXT"}
LAYER_CLIENT = {
    "connect_timeout": 2.0,
    "read_timeout": 5.0,
    "retries": {"mode": "standard", "total_max_attempts": 3},
}
OTHERS = {"sh": ("other-sh", "OTHER_SH_NEXT"), "py": ("other-py", "OTHER_PY_NEXT")}


@pytest.fixture(scope="session")
def chain_opt(layer_opt: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/opt as Lambda merges two layers: ours and one holding the other wrappers (read-only)."""
    opt = tmp_path_factory.mktemp("chain") / "opt"
    shutil.copytree(layer_opt, opt, symlinks=True)
    make_writable(opt)
    for item in (HERE / "wrappers").iterdir():
        if item.is_dir():
            shutil.copytree(item, opt / item.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, opt / item.name)
    (opt / "not-executable").write_text("#!/bin/sh\nexec \"$@\"\n")
    (opt / "not-executable").chmod(0o644)
    (opt / "guard-link").symlink_to(opt / "timeout-guard")
    make_read_only(opt)
    return opt


@pytest.fixture(scope="session")
def alone(chain_opt: Path) -> Iterator[dict[str, Any]]:
    """What each other wrapper alone gives the function (one run each, shared by the tests)."""
    seen: dict[str, Any] = {}
    for kind, (name, _) in OTHERS.items():
        with LocalLambda(
            PROBE, "app.handler", python=VERSION, opt_dir=chain_opt,
            exec_wrapper=str(chain_opt / name), env=COMMON, timeout=TIMEOUT,
        ) as fn:
            result = fn.invoke({})
        assert result.status == "success", result.logs
        seen[kind] = result.payload
    yield seen


def hand_written(tmp_path: Path, *commands: Path) -> str:
    """A wrapper script a user writes to chain wrappers in a given order."""
    script = tmp_path / "chain"
    script.write_text("#!/bin/sh\nexec " + " ".join(f"'{c}'" for c in commands) + ' "$@"\n')
    script.chmod(0o755)
    return str(script)


def chained(order: str, kind: str, opt: Path, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """AWS_LAMBDA_EXEC_WRAPPER and the variables for one way of chaining."""
    name, next_variable = OTHERS[kind]
    guard, other = opt / "timeout-guard", opt / name
    if order == "guard-first":
        return str(guard), {"TIMEOUT_GUARD_NEXT_WRAPPER": str(other)}
    if order == "other-first":
        return str(other), {next_variable: str(guard)}
    if order == "by-hand-guard-first":  # the order that used to leave the guard off
        return hand_written(tmp_path, guard, other), {}
    assert order == "by-hand-other-first"
    return hand_written(tmp_path, other, guard), {}


def comparable(payload: dict[str, Any]) -> dict[str, Any]:
    """What the function observes, less the chain's wiring and our own effects."""
    seen = {k: v for k, v in payload.items() if k not in ("client", "guard_active")}
    seen["environ"] = {k: v for k, v in payload["environ"].items() if k not in WIRING}
    return seen


def warnings_of(logs: str) -> list[str]:
    return [line for line in logs.splitlines() if "WARNING" in line and "timeout_guard" in line]


ORDERS = ["guard-first", "other-first", "by-hand-guard-first", "by-hand-other-first"]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("kind", list(OTHERS))
def test_both_wrappers_take_effect(make_lambda, chain_opt, alone, tmp_path, kind, order) -> None:
    exec_wrapper, wiring = chained(order, kind, chain_opt, tmp_path)
    fn = make_lambda(
        PROBE, "app.handler", python=VERSION, opt_dir=chain_opt, exec_wrapper=exec_wrapper,
        env={**COMMON, **wiring}, timeout=TIMEOUT,
    )
    result = fn.invoke({})
    assert result.status == "success", result.logs
    seen, other_alone = result.payload, alone[kind]

    # The other wrapper's effects: its sitecustomize ran in this process, its variables...
    assert seen["sitecustomize"] == OTHERS[kind][0] and seen["sitecustomize_ran_here"]
    environ = seen["environ"]
    if kind == "sh":
        assert environ["OTHER_SH_STARTED"] == "yes"
        assert environ["OTHER_SH_SERVICE"] == "local-function"
        assert environ["PYTHONPATH"].startswith(str(chain_opt / "other-sh.d" / "site") + ":")
    else:  # ...and its handler in front of the function's
        assert environ["OTHER_PY_STARTED"] == "yes"
        assert environ["_HANDLER"] == "other_py_handler.handler"
        assert environ["ORIG_HANDLER"] == "app.handler"
        assert seen["other_py_wrapped"] is True
        assert environ["PYTHONPATH"].startswith(str(chain_opt / "other-py.d" / "site") + ":")
    # ours: the guard loaded, the layer's client settings.
    assert seen["guard_active"] and not other_alone["guard_active"]
    assert seen["client"] == LAYER_CLIENT
    assert other_alone["client"]["connect_timeout"] == 60
    # Exactly the world the other wrapper alone gives: nothing of ours left anywhere.
    assert comparable(seen) == comparable(other_alone)
    ours = [k for k in environ if k.startswith("TIMEOUT_GUARD_") and k not in {**COMMON, **wiring}]
    assert ours == []
    assert not [p for p in seen["sys_path"] if "_bootstrap" in p]
    assert warnings_of(result.logs) == []

    # And the guard fires on time, through the other wrapper's handler.
    hung = fn.invoke({"sleep": 30})
    assert hung.status == "error" and hung.error_type == "LambdaTimeoutError", hung.logs
    assert hung.duration_ms >= (TIMEOUT * 1000 - MARGIN_MS) - 50
    assert hung.pid == result.pid  # reported before the hard kill: the process lives on
    assert "Lambda timeout in" in hung.logs and "app.py" in hung.logs
    if kind == "py":
        assert "other-py saw LambdaTimeoutError" in hung.logs


def _guard_with(make_lambda, opt: Path, wiring: dict[str, str], exec_wrapper: str = "") -> Any:
    fn = make_lambda(
        PROBE, "app.handler", python=VERSION, opt_dir=opt,
        exec_wrapper=exec_wrapper or str(opt / "timeout-guard"), env={**COMMON, **wiring},
        timeout=TIMEOUT,
    )
    return fn.invoke({})


BROKEN = {
    "missing": ("does-not-exist", "is missing"),
    "not executable": ("not-executable", "is not executable"),
    "loop": ("timeout-guard", "is Timeout Guard itself"),
    "loop through a symlink": ("guard-link", "is or runs Timeout Guard as well"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_next_wrapper_that_cannot_work_is_warned_once(make_lambda, chain_opt, case) -> None:
    name, reason = BROKEN[case]
    wiring = {"TIMEOUT_GUARD_NEXT_WRAPPER": str(chain_opt / name)}
    result = _guard_with(make_lambda, chain_opt, wiring)
    assert result.status == "success", result.logs  # the function starts, guarded
    assert result.payload["guard_active"] and result.payload["client"] == LAYER_CLIENT
    lines = warnings_of(result.logs)
    assert len(lines) == 1 and reason in lines[0], result.logs
    assert not [p for p in result.payload["sys_path"] if "_bootstrap" in p]
    leftovers = [k for k in result.payload["environ"] if k.startswith("TIMEOUT_GUARD_")]
    assert sorted(leftovers) == ["TIMEOUT_GUARD_MARGIN_MS", "TIMEOUT_GUARD_NEXT_WRAPPER"]


def test_hand_written_chain_with_a_missing_wrapper(make_lambda, chain_opt, tmp_path) -> None:
    script = hand_written(tmp_path, chain_opt / "timeout-guard", chain_opt / "does-not-exist")
    result = _guard_with(make_lambda, chain_opt, {}, exec_wrapper=script)
    assert result.status == "success", result.logs
    assert result.payload["guard_active"]
    lines = warnings_of(result.logs)
    assert len(lines) == 1 and "is missing" in lines[0], result.logs


def test_other_wrapper_that_runs_the_guard_again_is_warned(make_lambda, chain_opt) -> None:
    """Both ways at once: the guard names the other wrapper, which names the guard."""
    wiring = {
        "TIMEOUT_GUARD_NEXT_WRAPPER": str(chain_opt / "other-sh"),
        "OTHER_SH_NEXT": str(chain_opt / "timeout-guard"),
    }
    result = _guard_with(make_lambda, chain_opt, wiring)
    assert result.status == "success", result.logs
    assert result.payload["guard_active"] and result.payload["sitecustomize"] == "other-sh"
    lines = warnings_of(result.logs)
    assert len(lines) == 1 and "ran twice" in lines[0], result.logs
