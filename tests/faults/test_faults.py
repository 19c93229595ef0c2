"""Injected faults: the function always starts and runs, and the user is told what the layer
cannot do (one line with WARNING and timeout_guard), or nothing where it still can.

End to end, in the local runtime, through the built layer. Each fault is real: a changed copy
of the installed botocore or awslambdaric (``patched.py``), a damaged copy of the layer, a
function that holds logging's locks, forks, recurses or breaks its own stdout and stderr.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import MODE_311, mode_params, write_function
from locallambda import LAYER_ZIP, provision, unpack_layer
from locallambda.layers import make_writable
from loopback import MotoServer, StallFirst
from patched import linked_copy, patched_runtime, replace

FUNCTIONS = Path(__file__).resolve().parent / "functions"
TIMEOUT = 2.0
MARGIN_MS = 500


def _guarded(make_lambda, layer_opt, wrapper, handler, version, env=None, task=FUNCTIONS, **kw):
    settings = {"TIMEOUT_GUARD_MARGIN_MS": str(MARGIN_MS), **(env or {})}
    kw.setdefault("timeout", TIMEOUT)
    return make_lambda(
        task, handler, python=version, opt_dir=layer_opt, exec_wrapper=wrapper, env=settings, **kw
    )


def _layer_lines(logs: str) -> list[str]:
    return [line for line in logs.splitlines() if "timeout_guard" in line]


def _warnings(logs: str) -> list[str]:
    return [line for line in _layer_lines(logs) if "WARNING" in line]


def _records(logs: str) -> list[str]:
    return [line for line in logs.splitlines() if "Lambda timeout in" in line]


def _stopped_by_the_guard(result) -> None:
    assert result.status == "error", result.logs  # reported before Lambda's hard kill
    assert result.error_type == "LambdaTimeoutError", result.logs


# --- logging's locks when the alarm comes ------------------------------------------------------


@pytest.mark.parametrize("version", mode_params())
def test_main_thread_holding_the_logging_lock(make_lambda, layer_opt, wrapper, version, tmp_path):
    """The handler lock is re-entrant: the guard's record goes through, then its error."""
    fn = _guarded(make_lambda, layer_opt, wrapper, "app.holds_logging_lock", version)
    result = fn.invoke({"marker": str(tmp_path / "m")})
    _stopped_by_the_guard(result)
    assert (tmp_path / "m").read_text() == "finally ran"
    assert len(_records(result.logs)) == 1, result.logs
    assert fn.invoke({}).pid == result.pid  # the process goes on


@pytest.mark.parametrize("version", mode_params())
def test_another_thread_holding_the_logging_lock(
    make_lambda, layer_opt, wrapper, version, tmp_path
):
    """The guard waits for the lock a moment only (it would otherwise wait in the signal handler
    until Lambda's kill), writes its record straight to stderr, and stops the handler."""
    fn = _guarded(make_lambda, layer_opt, wrapper, "app.other_thread_holds_logging_lock", version)
    result = fn.invoke({"marker": str(tmp_path / "m"), "hold": 3 * TIMEOUT})
    _stopped_by_the_guard(result)
    assert (tmp_path / "m").read_text() == "finally ran"
    fallback = [line for line in result.stderr.splitlines() if "Lambda timeout in" in line]
    assert len(fallback) == 1, result.logs
    assert fallback[0].startswith("[ERROR] timeout_guard: ")
    assert "held by another thread" in fallback[0] and "other_thread_holds" in fallback[0]


@pytest.mark.parametrize("version", mode_params())
def test_no_error_raised_inside_a_log_handler(make_lambda, layer_opt, wrapper, version, tmp_path):
    """A handler spending most of its time in ``StreamHandler.emit`` (a slow log destination):
    the guard's error raised in there would be swallowed by logging's ``handleError``; it comes
    a moment later, outside logging."""
    fn = _guarded(make_lambda, layer_opt, wrapper, "app.logs_through_a_slow_handler", version)
    event = {"marker": str(tmp_path / "m"), "write_seconds": 0.03, "between_seconds": 0.005}
    result = fn.invoke(event)
    _stopped_by_the_guard(result)
    assert "Logging error" not in result.logs  # nothing swallowed by handleError
    assert (tmp_path / "m").read_text().startswith("finally ran after")
    assert len(_records(result.logs)) == 1, result.logs


# --- fork -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", mode_params())
def test_forked_child_has_no_part_in_the_invocation(
    make_lambda, layer_opt, wrapper, version, tmp_path
):
    """A ``multiprocessing`` child (fork) outliving the guard's time and using SIGALRM itself:
    its own handler runs, the guard neither raises nor logs there."""
    fn = _guarded(make_lambda, layer_opt, wrapper, "app.forks_a_child", version)
    child_result = tmp_path / "child.json"
    event = {"marker": str(tmp_path / "m"), "child_result": str(child_result), "child_sleep": 2.5}
    result = fn.invoke(event)
    _stopped_by_the_guard(result)
    deadline = time.monotonic() + 60
    while not child_result.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    seen = json.loads(child_result.read_text())
    assert seen == {"raised": None, "invocation_state_left": False, "own_handler_ran": True}
    assert len(_records(result.logs)) == 1, result.logs  # the parent's record only


# --- stdout and stderr ------------------------------------------------------------------------


@pytest.mark.parametrize("version", mode_params())
@pytest.mark.parametrize("how", ["broken_pipe", "closed"])
def test_streams_gone_when_the_guard_writes(
    make_lambda, layer_opt, wrapper, version, how, tmp_path
):
    fn = _guarded(make_lambda, layer_opt, wrapper, "app.streams_gone", version)
    result = fn.invoke({"marker": str(tmp_path / "m"), "how": how})
    _stopped_by_the_guard(result)  # the record is lost, the error is not
    assert (tmp_path / "m").read_text() == "finally ran"
    after = fn.invoke({})
    assert after.status == "success" and after.pid == result.pid, after.logs


# --- a botocore the layer does not know -------------------------------------------------------

ENDPOINT = "endpoint.py"  # in botocore/
BOTOCORE_FAULTS = {
    "renamed": (
        {ENDPOINT: replace("_do_get_response(", "_do_get_response_v2(")},
        "Endpoint._do_get_response is missing",
    ),
    "other signature": (  # the parameter renamed; the keyword botocore's retry handlers get kept
        {
            ENDPOINT: lambda text: replace("caught_exception=None,", "error=None,")(
                replace("caught_exception=caught_exception,", "caught_exception=error,")(text)
            )
        },
        "Endpoint._needs_retry takes (self, attempts, operation_model, request_dict, response, "
        "error)",
    ),
}
BOTOCORE_APP = """
import time

import boto3
import botocore.endpoint


def handler(event, context):
    sqs = boto3.client("sqs", endpoint_url=event["endpoint"])
    started = time.monotonic()
    sent = sqs.send_message(QueueUrl=event["queue"], MessageBody="x")
    return {
        "botocore": botocore.endpoint.__file__,
        "config": [sqs.meta.config.connect_timeout, sqs.meta.config.read_timeout],
        "retries": sent["ResponseMetadata"]["RetryAttempts"],
        "seconds": time.monotonic() - started,
        "per_attempt_wrapped": any(
            hasattr(getattr(botocore.endpoint.Endpoint, name, None), "__timeout_guard_wrapper__")
            for name in ("_do_get_response", "_do_get_response_v2", "_needs_retry")
        ),
    }
"""


@pytest.fixture(scope="module")
def moto_queue():
    with MotoServer() as server:
        import boto3

        sqs = boto3.client("sqs", **server.client_options())
        yield server, sqs.create_queue(QueueName="faults")["QueueUrl"]


@pytest.mark.parametrize("fault", list(BOTOCORE_FAULTS))
@pytest.mark.parametrize("level", ["WARNING", "DEBUG"])
def test_botocore_with_changed_private_methods(
    make_lambda, layer_opt, wrapper, moto_queue, tmp_path, fault, level
):
    """The function ships a botocore whose per-attempt methods differ: its clients still get the
    layer's Config (a stalled call recovers on the layer's read timeout), the per-attempt part
    is left out, and only DEBUG says so, once."""
    patches, reason = BOTOCORE_FAULTS[fault]
    runtime = provision(MODE_311 or "3.11")
    task = write_function(tmp_path / "task", {"app.py": BOTOCORE_APP})
    linked_copy(runtime.runtime_dir / "botocore", task / "botocore", patches)
    env = {"TIMEOUT_GUARD_READ_TIMEOUT": "1", "TIMEOUT_GUARD_LOG_LEVEL": level}
    fn = _guarded(make_lambda, layer_opt, wrapper, "app.handler", runtime, env, task, timeout=20)
    server, queue = moto_queue
    with StallFirst(server.endpoint_url) as stall:
        result = fn.invoke({"endpoint": stall.endpoint_url, "queue": queue})
    assert result.status == "success", result.logs
    body = result.payload
    assert body["botocore"].startswith(str(task))  # the function's own (changed) copy
    assert body["config"] == [2.0, 1.0]  # the layer's Config
    assert body["retries"] == 1 and body["seconds"] < 10  # recovered on the 1 s read timeout
    assert body["per_attempt_wrapped"] is False
    lines = _layer_lines(result.logs)
    if level == "DEBUG":
        assert len(lines) == 1 and lines[0].startswith("[DEBUG]"), result.logs
        assert reason in lines[0] and "Config only" in lines[0]
    else:
        assert lines == [], result.logs


# --- a runtime client the layer does not know -------------------------------------------------

RIC = "awslambdaric/bootstrap.py"
RUNTIME_FAULTS = {
    "no _get_handler": {
        RIC: lambda text: replace("request_handler = _get_handler(", "request_handler = _load(")(
            replace("def _get_handler(", "def _load(")(text)
        ),
    },
    "_get_handler returns a tuple": {
        RIC: lambda text: replace(
            "request_handler = _get_handler(handler)",
            "request_handler, _ = _get_handler(handler)",
        )(
            replace(
                "def _get_handler(handler):",
                "def _get_handler(handler):\n    return _load(handler), None\n\n\n"
                "def _load(handler):",
            )(text)
        ),
    },
}


@pytest.mark.parametrize("fault", list(RUNTIME_FAULTS))
def test_runtime_client_without_a_usable_get_handler(
    make_lambda, layer_opt, wrapper, tmp_path, fault
):
    """A runtime whose awslambdaric loads handlers another way: the function runs as without
    the layer (the SDK part still applies), and one WARNING line says the hook is off."""
    runtime = patched_runtime(provision(MODE_311 or "3.11"), tmp_path / "rt", RUNTIME_FAULTS[fault])
    fn = _guarded(make_lambda, layer_opt, wrapper, "app.ok", runtime)
    first, second = fn.invoke({}), fn.invoke({})
    assert first.status == second.status == "success", first.logs
    assert first.payload["hooked"] is False
    assert first.payload["connect_timeout"] == 2.0  # the SDK part is not affected
    warnings = _warnings(first.logs + second.logs)
    assert len(warnings) == 1, first.logs + second.logs
    assert "pre-timeout hook of timeout_guard is not active" in warnings[0]
    assert _layer_lines(first.logs + second.logs) == warnings


# --- a damaged layer --------------------------------------------------------------------------

PKG = "python/timeout_guard"
BUNDLE = f"{PKG}/__pycache__/bytecode.cpython-311.bundle"  # the runtime's version's bytecode
# what is damaged -> (how, path in the layer, SDK settings still active, hook still active)
DAMAGED = {
    "guard.py missing": ("delete", f"{PKG}/guard.py", True, False),
    "sdk/attempts.py missing": ("delete", f"{PKG}/sdk/attempts.py", False, True),
    "_startup.py missing": ("delete", f"{PKG}/_startup.py", False, False),
    # The runtime is python3.11, for which the layer ships bytecode: the bundle's modules are
    # loaded without reading their source, so an unreadable guard.py (not a missing one) is no
    # damage at all there.
    "guard.py unreadable": ("chmod", f"{PKG}/guard.py", True, True),
    "sdk/ unreadable": ("chmod", f"{PKG}/sdk", False, True),
    "package unreadable": ("chmod", PKG, False, False),
    # A bundle that cannot be used is no bundle: the modules come from the sources, silently.
    "bytecode bundle damaged": ("garble", BUNDLE, True, True),
    "bytecode bundle of another Python": ("other magic", BUNDLE, True, True),
}
DROP_ROOTS_READ = "--bounding-set=-dac_override,-dac_read_search"


@pytest.mark.parametrize("missing", ["firing.py", "records.py"])
def test_layer_missing_what_it_loads_when_the_guard_fires(make_lambda, tmp_path, missing):
    """The modules the guard imports when it first fires are gone (a damaged layer): when it
    would fire, the function runs on as without the layer, to Lambda's own timeout, and one
    WARNING line says why; the guard's import error never reaches the function."""
    opt = unpack_layer(LAYER_ZIP, tmp_path / "opt", read_only=False)
    (opt / PKG / missing).unlink()
    marker = tmp_path / "marker"
    try:
        fn = make_lambda(
            FUNCTIONS,
            "app.sleeping",
            opt_dir=opt,
            exec_wrapper=str(opt / "timeout-guard"),
            env={"TIMEOUT_GUARD_MARGIN_MS": str(MARGIN_MS)},
            timeout=TIMEOUT,
        )
        result = fn.invoke({"marker": str(marker)})
    finally:
        make_writable(opt)
    assert result.status == "timeout", result.logs  # Lambda's kill: the guard did not fire
    assert not marker.exists()  # nothing was raised in the handler
    warnings = _warnings(result.logs)
    assert len(warnings) == 1, result.logs
    assert "incomplete or unreadable (ModuleNotFoundError" in warnings[0], warnings
    assert "the pre-timeout hook" in warnings[0], warnings
    assert _records(result.logs) == [], result.logs


@pytest.mark.parametrize("case", list(DAMAGED))
def test_damaged_layer(make_lambda, tmp_path, case):
    how, path, sdk_active, hook_active = DAMAGED[case]
    opt = unpack_layer(LAYER_ZIP, tmp_path / "opt", read_only=False)
    wrapper = str(opt / "timeout-guard")
    if how == "delete":
        (opt / path).unlink()
    elif how == "garble":
        data = (opt / path).read_bytes()
        (opt / path).write_bytes(data[:4] + b"\x00not marshal data" + data[4:])
    elif how == "other magic":
        data = (opt / path).read_bytes()
        (opt / path).write_bytes(b"\x00\x00\r\n" + data[4:])
    else:
        (opt / path).chmod(0)
        if os.geteuid() == 0:  # root reads anything: run the runtime without that privilege
            if shutil.which("setpriv") is None:
                pytest.skip("running as root and setpriv is missing")
            drop = tmp_path / "drop-read-privilege"
            drop.write_text(f'#!/bin/sh\nexec setpriv {DROP_ROOTS_READ} -- "{wrapper}" "$@"\n')
            drop.chmod(0o755)
            wrapper = str(drop)
    try:
        fn = make_lambda(
            FUNCTIONS,
            "app.ok",
            opt_dir=opt,
            exec_wrapper=wrapper,
            env={"TIMEOUT_GUARD_MARGIN_MS": str(MARGIN_MS)},
        )
        first, second = fn.invoke({}), fn.invoke({})
    finally:
        make_writable(opt)
    assert first.status == second.status == "success", first.logs
    assert first.payload["hooked"] is hook_active
    assert first.payload["connect_timeout"] == (2.0 if sdk_active else 60)
    if how in ("garble", "other magic"):
        assert first.payload["layer_loaders"] == ["SourceFileLoader"]  # from the sources
    elif how == "chmod" and path.endswith(".py"):
        assert first.payload["layer_loaders"] == ["Bundle"]  # the bytecode, not the source
    logs = first.logs + second.logs
    warnings = _warnings(logs)
    assert len(warnings) == (0 if sdk_active and hook_active else 1), logs
    assert _layer_lines(logs) == warnings, logs
