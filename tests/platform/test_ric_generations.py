"""Every awslambdaric generation Lambda's Python runtimes bundle, each on a Python it supports.

2.0.0 (the oldest 2.x: ``run(app_root, handler, api)``), 3.0.2 (SnapStart hooks), 3.1.1
(``handle_event_request`` gained ``tenant_id``), 4.2.2 (Managed Instances; the newest, which
the rest of the suite runs everywhere). A representative subset of the end-to-end checks on
each: the graceful end, error parity, the SDK's timeouts and the deadline-capped attempt.
"""

from __future__ import annotations

import json
from pathlib import Path

import locallambda
import pytest
from conftest import VERSIONS, write_function
from error_cases import INIT_ERRORS
from locallambda import provision

HARNESS = Path(locallambda.__file__).resolve().parent  # its requirements-ric-*.txt
STUCK = Path(__file__).resolve().parents[1] / "guard" / "functions" / "stuck"
# (awslambdaric, the Python it runs on): each generation on a Python it ships wheels for.
GENERATIONS = [("2.0.0", "3.10"), ("3.0.2", "3.12"), ("3.1.1", "3.13"), ("4.2.2", "3.13")]
TIMEOUT = 2.0
MARGIN_MS = 500

SDK_FUNCTION = """
import boto3

# The service's model loaded at init: the invocations' own client then takes milliseconds, well
# inside the 2 s timeout's 1.5 s before the guard fires, even on a busy machine (a cold first
# client took long enough there once).
boto3.client("sqs", endpoint_url="http://127.0.0.1:9")


def handler(event, context):
    client = boto3.client("sqs", endpoint_url=event["endpoint"])
    config = client.meta.config
    if event.get("call"):
        client.list_queues()
    return [config.connect_timeout, config.read_timeout, config.retries]
"""


def generation_params() -> list:
    return [
        pytest.param(
            ric,
            python,
            id=f"awslambdaric{ric}-python{python}",
            marks=pytest.mark.skipif(python not in VERSIONS, reason=f"no python{python} here"),
        )
        for ric, python in GENERATIONS
    ]


def runtime(ric: str, python: str):
    if ric == "4.2.2":
        return provision(python)  # the default replica
    return provision(python, HARNESS / f"requirements-ric-{ric}.txt", flavour=f"ric{ric}")


@pytest.mark.parametrize(("ric", "python"), generation_params())
def test_graceful_end(make_lambda, wrapper: str, tmp_path: Path, ric: str, python: str) -> None:
    marker = tmp_path / "finally"
    fn = make_lambda(
        STUCK,
        "app.sleeping",
        python=runtime(ric, python),
        timeout=TIMEOUT,
        exec_wrapper=wrapper,
        env={"TIMEOUT_GUARD_MARGIN_MS": str(MARGIN_MS)},
    )
    result = fn.invoke({"marker": str(marker)})
    assert result.error_type == "LambdaTimeoutError", result.payload
    assert result.duration_ms < TIMEOUT * 1000
    assert "It was in sleeping (" in result.logs
    assert marker.read_text() == "sleeping"  # the finally block ran
    assert "app.py" in result.stack_trace[0]  # the function's own frame comes first


@pytest.mark.parametrize(("ric", "python"), generation_params())
@pytest.mark.parametrize("case", ["import_error"])
def test_error_parity(
    make_lambda, wrapper: str, tmp_path: Path, ric: str, python: str, case: str
) -> None:
    files, handler, _, _ = INIT_ERRORS[case]
    task = write_function(tmp_path / "task", files)
    reported = []
    for exec_wrapper in (None, wrapper):
        fn = make_lambda(task, handler, python=runtime(ric, python), exec_wrapper=exec_wrapper)
        result = fn.invoke({})
        reported.append((result.error_type, result.error_message))
        fn.close()
    assert reported[0] == reported[1]
    assert reported[0][0] is not None


@pytest.mark.parametrize(("ric", "python"), generation_params())
def test_sdk_timeouts(make_lambda, wrapper: str, tmp_path: Path, ric: str, python: str) -> None:
    from loopback import BlackHole

    task = write_function(tmp_path / "task", {"app.py": SDK_FUNCTION})
    fn = make_lambda(
        task,
        "app.handler",
        python=runtime(ric, python),
        timeout=TIMEOUT,
        exec_wrapper=wrapper,
        env={"TIMEOUT_GUARD_MARGIN_MS": str(MARGIN_MS)},
    )
    hole = BlackHole()
    hole.start()
    try:
        settings = fn.invoke({"endpoint": hole.endpoint_url})
        assert settings.payload == [2.0, 5.0, {"mode": "standard", "total_max_attempts": 3}]
        cut = fn.invoke({"endpoint": hole.endpoint_url, "call": True})
    finally:
        hole.stop()
    # The attempt ended at the guard's deadline with the layer's error, reported as a timeout.
    assert cut.error_type == "LambdaTimeoutError", json.dumps(cut.payload)
    assert "Lambda deadline" in cut.error_message
    assert cut.duration_ms < TIMEOUT * 1000
