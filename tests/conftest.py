"""Suite-wide fixtures: the built layer unpacked into an "opt" folder, the runtime versions.

End-to-end tests run the layer exactly as it ships: ``dist/timeout-guard-layer.zip``
(``make test`` builds it first) unpacked into a temporary folder, as Lambda unpacks it in /opt.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Iterator, Union

import pytest
from locallambda import (
    LAYER_ZIP,
    LocalLambda,
    Runtime,
    available_versions,
    runtime_modes,
    unpack_layer,
)
from locallambda.function import all_spawned_pids, live_processes_in_group, runtimes_used
from locallambda.layers import seal, unseal
from locallambda.provision import SUPPORTED

REPO = Path(__file__).resolve().parents[1]
VERSIONS = available_versions()  # LOCAL_LAMBDA_PYTHONS="3.11 3.12" narrows them
MODE_311, MODE_312 = runtime_modes(VERSIONS)
MODES = [v for v in (MODE_311, MODE_312) if v]


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"local Lambda runtime interpreters: {', '.join(VERSIONS) or 'none'}",
        f"runtime modes: python3.11 mode on {MODE_311 or 'MISSING'}, "
        f"python3.12+ mode on {MODE_312 or 'MISSING'}",
    ]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    terminalreporter.write_line(
        f"local Lambda runtime ran on: {', '.join('python' + v for v in VERSIONS)} "
        f"(python3.11 mode: {MODE_311}, python3.12+ mode: {MODE_312})"
    )
    ran: dict[str, list[str]] = {}
    for name, ric in runtimes_used():
        ran.setdefault(name, []).append(ric)
    if ran:
        terminalreporter.write_line(
            "functions ran on: "
            + "; ".join(f"{name} (awslambdaric {', '.join(rics)})" for name, rics in ran.items())
        )
    missing = [f"python{v}" for v in SUPPORTED if v not in VERSIONS]
    if missing:
        terminalreporter.write_line(
            f"skipped for lack of an interpreter: {', '.join(missing)}", yellow=True
        )
    leaked = [pid for pid in all_spawned_pids() if live_processes_in_group(pid)]
    if leaked:
        terminalreporter.write_line(f"LEAKED runtime processes: {leaked}", red=True)


def mode_params() -> list:
    """Parametrize a test over the python3.11 and python3.12+ modes."""
    return [pytest.param(v, id=f"python{v}") for v in MODES] or [
        pytest.param(None, marks=pytest.mark.skip(reason="no interpreter for the local runtime"))
    ]


def version_params() -> list:
    """Parametrize a test over every interpreter the machine has (3.10 to 3.14)."""
    return [pytest.param(v, id=f"python{v}") for v in VERSIONS]


@pytest.fixture(scope="session")
def layer_opt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The built layer zip unpacked like Lambda does into /opt (file modes kept), read-only even
    for root (``chattr +i``), so no run writes bytecode into it."""
    if not LAYER_ZIP.exists():
        pytest.fail(f"{LAYER_ZIP} is missing: run `make layer` (make test does it)")
    opt = unpack_layer(LAYER_ZIP, tmp_path_factory.mktemp("opt"))
    seal(opt)
    yield opt
    unseal(opt)


@pytest.fixture
def wrapper(layer_opt: Path) -> str:
    """The value for AWS_LAMBDA_EXEC_WRAPPER."""
    return str(layer_opt / "timeout-guard")


def write_function(folder: Path, files: dict[str, str]) -> Path:
    """A task root with the given files (dedented)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return folder


@pytest.fixture
def make_lambda(request: pytest.FixtureRequest):
    """Factory for LocalLambda instances that are always closed after the test."""
    created: list[LocalLambda] = []

    def make(task_dir: Path, handler: str, *, python: Union[str, Runtime, None] = "3.11", **kwargs):
        fn = LocalLambda(task_dir, handler, python=python or "3.11", **kwargs)
        created.append(fn)
        return fn

    yield make
    for fn in created:
        fn.close()
