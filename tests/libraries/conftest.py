"""Fixtures for functions that use real instrumentation libraries, with and without the layer.

Each function's folder holds its code plus the libraries of ``requirements.txt``, installed as a
deployment package installs them (``packages.py``). "Without the layer" is the layer attached
with no ``AWS_LAMBDA_EXEC_WRAPPER`` (what Lambda does when the variable is unset); "with" adds
the wrapper. Both run at once where a test compares them: most of their time is spent waiting
for a deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest
from locallambda import LocalLambda
from loopback import MotoServer

from .helpers import VERSION
from .packages import deployment_package, installed

HERE = Path(__file__).resolve().parent
FUNCTIONS = HERE / "functions"


@pytest.fixture(scope="session")
def packages() -> Path:
    assert VERSION is not None
    return installed(VERSION, HERE / "requirements.txt")


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def function(packages: Path, layer_opt: Path, make_lambda: Any, tmp_path: Path) -> Any:
    """``function(code, handler, layer=True/False, env=..., timeout=...)``: a LocalLambda of
    ``functions/<code>`` with the libraries in its folder."""
    tasks: dict[str, Path] = {}
    lock = threading.Lock()  # ``both`` makes the two variants at once

    def make(
        code: str,
        handler: str,
        *,
        layer: bool,
        env: Optional[dict[str, str]] = None,
        timeout: float = 3.0,
    ) -> LocalLambda:
        with lock:
            if code not in tasks:
                tasks[code] = deployment_package(tmp_path / code, FUNCTIONS / code, packages)
        return make_lambda(
            tasks[code],
            handler,
            python=VERSION,
            opt_dir=layer_opt,
            exec_wrapper=str(layer_opt / "timeout-guard") if layer else None,
            env=env,
            timeout=timeout,
        )

    return make

