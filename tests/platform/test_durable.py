"""Durable functions: the real ``aws-durable-execution-sdk-python`` in the local runtime.

The SDK runs the user's code in a worker thread while its main thread waits. Anything the
guard raised there would either mark the execution FAILED for good (SDK 1.x's
``except Exception``) or be held up by the stuck thread and end as a function error that
leaves the thread running into the next invocation (2.x+). So in a durable invocation the
guard logs where the user's code is and lets Lambda's own timeout end it: a retriable
``Sandbox.Timedout`` that resets the process, exactly as without the layer.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MODE_312
from durable_service import DurableService, durable_event
from locallambda.packages import install_into

FUNCTION = Path(__file__).resolve().parent / "functions" / "durable"
SDK = ["aws-durable-execution-sdk-python==3.0.0"]  # boto3 comes from the runtime (1.44.5)
TIMEOUT = 3.0
MARGIN_MS = 1000

pytestmark = pytest.mark.skipif(MODE_312 is None, reason="the durable SDK needs python3.11+")


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("durable")
    shutil.copy(FUNCTION / "app.py", folder / "app.py")
    return install_into(folder, SDK, no_deps=True)


@pytest.fixture
def service() -> Iterator[DurableService]:
    server = DurableService()
    yield server
    server.stop()


def run(make_lambda, task_dir: Path, service: DurableService, wrapper, step_seconds: float):
    fn = make_lambda(
        task_dir,
        "app.handler",
        python=MODE_312,
        timeout=TIMEOUT,
        exec_wrapper=wrapper,
        env={
            "AWS_ENDPOINT_URL_LAMBDA": service.endpoint_url,
            "TIMEOUT_GUARD_MARGIN_MS": str(MARGIN_MS),
        },
    )
    return fn.invoke(durable_event("execution-1", {"step_seconds": step_seconds}))


@pytest.mark.parametrize("layer", [False, True], ids=["without-layer", "with-layer"])
def test_a_stuck_step_ends_as_lambdas_own_retriable_timeout(
    make_lambda, task_dir: Path, service: DurableService, wrapper: str, layer: bool
) -> None:
    result = run(make_lambda, task_dir, service, wrapper if layer else None, 600)
    # Never a FAILED execution, never the guard's error: Lambda's timeout, the process reset.
    assert result.status == "timeout", result.payload
    assert result.error_type == "Sandbox.Timedout"
    if layer:
        assert "not stopping (durable execution" in result.logs
        # The record shows the user's step in the SDK's worker thread, not the main thread's wait.
        assert "It was in work (" in result.logs and "time.sleep(seconds)" in result.logs
        assert "lambda _: work(" in result.logs
        assert "invocation_future.result()" not in result.logs


@pytest.mark.parametrize("layer", [False, True], ids=["without-layer", "with-layer"])
def test_a_step_that_ends_after_the_margin_keeps_its_result(
    make_lambda, task_dir: Path, service: DurableService, wrapper: str, layer: bool
) -> None:
    # The step ends between deadline - margin (when the guard fires) and the deadline.
    seconds = TIMEOUT - MARGIN_MS / 2000
    result = run(make_lambda, task_dir, service, wrapper if layer else None, seconds)
    assert result.status == "success", result.payload
    assert result.payload["Status"] == "SUCCEEDED"
    assert json.loads(result.payload["Result"]) == {"step": "done"}
    assert [u["Action"] for c in service.checkpoints for u in c["Updates"]] == ["START", "SUCCEED"]
    if layer:
        assert "Lambda timeout in" in result.logs  # it fired, and only logged
