"""The command's wheel: built from a clean checkout, it carries the layer zip of ``make layer``.

The checkout is what git would hand out (tracked and new, not ignored, files; no ``dist/``,
no build leftovers), built with pip as ``pip install ./cli`` or ``make cli`` would. The
installed wheel's console script then publishes its own packaged zip to moto.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO, aws_environment
from .fleet import Fleet

LAYER_ZIP = REPO / "dist" / "timeout-guard-layer.zip"
PACKAGED = "timeout_guard_cli/data/timeout-guard-layer.zip"


def clean_checkout(dest: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for relative in filter(None, listed.split("\0")):
        source = REPO / relative
        if source.is_file():
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    assert not (dest / "dist").exists()
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not LAYER_ZIP.is_file():
        pytest.fail(f"{LAYER_ZIP} is missing: run `make layer` (make test does it)")
    checkout = clean_checkout(tmp_path_factory.mktemp("checkout"))
    out = tmp_path_factory.mktemp("wheelhouse")
    env = {k: v for k, v in os.environ.items() if k != "TIMEOUT_GUARD_LAYER_ZIP"}
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), "./cli"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("timeout_guard_cli-*.whl")
    return built


def test_the_wheel_carries_the_layer_zip_of_make_layer(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert archive.read(PACKAGED) == LAYER_ZIP.read_bytes()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt")))
    assert b"timeout-guard = timeout_guard_cli.main:run" in entry_points
    assert b"Requires-Dist: boto3" in metadata and b"Requires-Dist: rich" in metadata
    assert not [n for n in names if n.startswith(("layer/", "tests/", "timeout_guard/"))]


def test_the_installed_wheel_publishes_its_own_zip(wheel, tmp_path, moto_server):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    moto_server.reset()
    env = {**os.environ, **aws_environment(moto_server.endpoint_url, tmp_path)}
    env["PYTHONPATH"] = str(target)  # the wheel's copy first; boto3 and rich from this venv
    script = target / "bin" / "timeout-guard"
    version = subprocess.run([str(script), "--version"], env=env, capture_output=True, text=True)
    assert str(target / PACKAGED) in version.stdout.replace("\n", "")
    run = subprocess.run(
        [str(script), "publish", "--output", "json"], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    row = json.loads(run.stdout)["layers"][0]
    info = (
        Fleet(moto_server.endpoint_url)
        .client()
        .get_layer_version(LayerName="timeout-guard", VersionNumber=row["version"])
    )
    from timeout_guard_cli.layerzip import code_sha256

    assert info["Content"]["CodeSha256"] == code_sha256(LAYER_ZIP.read_bytes())


def test_the_layer_never_imports_the_command():
    for path in (REPO / "layer").rglob("*.py"):
        assert "timeout_guard_cli" not in path.read_text(), path
