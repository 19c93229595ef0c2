"""SnapStart (python3.12+): the runtime hooks of ``snapshot_restore_py`` run as without the layer.

With ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`` awslambdaric runs the before-snapshot hooks
after loading the handler, calls ``/restore/next`` (Lambda takes the snapshot there and the
call returns in the restored environment), then runs the after-restore hooks. The local
runtime answers ``/restore/next`` after a pause; it cannot snapshot a process, so the restore
on another host (and its clock change) is not reproduced: the layer keeps no clock reading or
deadline from init (each invocation's deadline is made from its own context when it starts),
which tests/unit/test_platform_modes.py checks with the clock moved between init and invoke.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MODE_312

FUNCTION = Path(__file__).resolve().parent / "functions" / "snapstart"
TIMEOUT = 2.0

pytestmark = pytest.mark.skipif(MODE_312 is None, reason="SnapStart needs python3.12+")


@pytest.mark.parametrize("layer", [False, True], ids=["without-layer", "with-layer"])
def test_hooks_run_the_same_and_the_guard_works_after_restore(
    make_lambda, wrapper: str, layer: bool
) -> None:
    fn = make_lambda(
        FUNCTION,
        "app.handler",
        python=MODE_312,
        timeout=TIMEOUT,
        exec_wrapper=wrapper if layer else None,
        env={"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start", "TIMEOUT_GUARD_MARGIN_MS": "500"},
    )
    first = fn.invoke({})
    assert first.status == "success", first.payload
    assert first.payload["hooks"] == ["before_snapshot", "after_restore"]
    assert fn.api.restores == 1
    assert first.logs.index("before snapshot") < first.logs.index("after restore")
    stuck = fn.invoke({"stuck": True})
    if layer:
        assert stuck.error_type == "LambdaTimeoutError", stuck.payload
        assert stuck.duration_ms < TIMEOUT * 1000
        after = fn.invoke({})  # the same process: the hooks ran once, the finally block too
        assert after.payload["hooks"] == ["before_snapshot", "after_restore", "finally"]
    else:
        assert stuck.error_type == "Sandbox.Timedout"
