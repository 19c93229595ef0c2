"""Run botocore's tests in one venv, plain or with the layer started, and collect outcomes.

The plain and the patched run get the same sdist tree (each its own copy), the same pinned
venv, the same scrubbed environment and the same recording plugin; only ``-p
conformance_layer`` differs. They run side by side (one pytest process each, no xdist): on 2
cores that costs one collection per run instead of one per xdist worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .targets import PLUGINS_DIR

# Variables that could make the tests (or the layer) behave differently from a clean machine:
# the user's AWS settings and files, the layer's own settings, pytest and Python tweaks.
DROP_PREFIXES = ("AWS_", "BOTO_", "BOTOCORE_", "TIMEOUT_GUARD_", "PYTEST_", "PYTHON", "_HANDLER")
PER_TEST_TIMEOUT = 300  # seconds (pytest-timeout): a hang fails one test, not the run
RUN_TIMEOUT = 3600  # seconds: a run that takes longer than this is broken


@dataclass
class RunResult:
    """One pytest run's outcomes and what the harness checks about it."""

    name: str
    exitstatus: int
    seconds: float
    log: Path
    outcomes: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    botocore_file: str = ""
    proofs: list[dict[str, Any]] = field(default_factory=list)
    network: list[str] = field(default_factory=list)


def test_env(out: Path, layer: Path | None) -> dict[str, str]:
    """A clean environment: empty HOME (no ~/.aws), no AWS_* variables, plugins importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROP_PREFIXES)}
    home = out / "home"
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        PYTHONPATH=str(PLUGINS_DIR),
        PYTHONHASHSEED="0",
        PYTHONDONTWRITEBYTECODE="1",
        CONFORMANCE_OUT=str(out / "outcomes.json"),
        CONFORMANCE_NET_LOG=str(out / "network.log"),
    )
    if layer is not None:
        env.update(CONFORMANCE_LAYER_DIR=str(layer), CONFORMANCE_PROOF=str(out / "proof.jsonl"))
    return env


def pytest_command(venv: Path, paths: list[str], patched: bool) -> list[str]:
    plugins = ["-p", "conformance_record"] + (["-p", "conformance_layer"] if patched else [])
    return [
        str(venv / "bin" / "python"),
        "-m",
        "pytest",
        *paths,
        *plugins,
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "-q",
        "--tb=short",
        "--continue-on-collection-errors",
        f"--timeout={PER_TEST_TIMEOUT}",
    ]


def start(
    venv: Path, src: Path, paths: list[str], out: Path, layer: Path | None
) -> subprocess.Popen:
    """Start one run in ``src`` (its own sdist tree), with the layer found in ``layer`` (the
    folder holding ``timeout_guard/``) or plain; its output goes to ``out/pytest.log``."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("outcomes.json", "network.log", "proof.jsonl"):
        (out / stale).unlink(missing_ok=True)
    log = open(out / "pytest.log", "w", encoding="utf-8")  # noqa: SIM115 - closed by the child
    with log:
        return subprocess.Popen(
            pytest_command(venv, paths, layer is not None),
            cwd=src,
            env=test_env(out, layer),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def finish(name: str, process: subprocess.Popen, out: Path, started: float) -> RunResult:
    """Wait for a run and read what its plugins wrote."""
    try:
        exitstatus = process.wait(timeout=max(1.0, RUN_TIMEOUT - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        process.kill()
        exitstatus = process.wait()
    return load(name, out, exitstatus, time.monotonic() - started)


def load(name: str, out: Path, exitstatus: int | None = None, seconds: float = 0.0) -> RunResult:
    """A run's results from its folder (``--reuse`` compares the last runs again)."""
    result = RunResult(name, -1 if exitstatus is None else exitstatus, seconds, out / "pytest.log")
    data_path = out / "outcomes.json"
    if data_path.exists():
        data = json.loads(data_path.read_text(encoding="utf-8"))
        result.outcomes = data["outcomes"]
        result.failures = data["failures"]
        result.botocore_file = data["botocore_file"]
        if exitstatus is None:
            result.exitstatus = data["exitstatus"]
    proof = out / "proof.jsonl"
    if proof.exists():
        result.proofs = [json.loads(line) for line in proof.read_text().splitlines() if line]
    network = out / "network.log"
    if network.exists():
        result.network = network.read_text(encoding="utf-8", errors="replace").splitlines()
    return result
