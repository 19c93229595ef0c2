"""The rollout command's tests: moto in server mode on 127.0.0.1, a fresh fleet per test.

The command runs with the standard AWS environment pointing at moto (``AWS_ENDPOINT_URL``,
test credentials, ``AWS_REGION``), no profile files, and the instance metadata lookup off (so
a missing credential never sends anything beyond 127.0.0.1).

``cli`` runs ``main(argv)`` in process (fast; a test may hand in a boto3 session with botocore
event hooks, to inject throttling or an update in progress); ``console`` runs the
``timeout-guard`` console script of the pip-installed package in a subprocess, as users do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import boto3
import pytest
from loopback import MotoServer

from .fleet import REGION, Fleet

REPO = Path(__file__).resolve().parents[2]

_CLEARED = (
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_ENDPOINT_URL_LAMBDA",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


def aws_environment(endpoint_url: str, tmp_path: Path) -> dict[str, str]:
    """The variables a user would set to point the command at this endpoint."""
    empty = tmp_path / "aws-config-empty"
    empty.write_text("")
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,  # boto3 reads only AWS_DEFAULT_REGION: the command reads both
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.fixture
def aws_env(
    moto_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    env = aws_environment(moto_server.endpoint_url, tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture(scope="session")
def _fleet(moto_server: MotoServer) -> dict[str, Any]:
    """One Fleet (its clients made once) and whether moto still holds it untouched."""
    return {"fleet": Fleet(moto_server.endpoint_url), "pristine": False}


@pytest.fixture
def fleet(moto_server: MotoServer, _fleet: dict[str, Any], aws_env: dict[str, str]) -> Fleet:
    """A fresh fleet, for a test that changes it."""
    moto_server.reset()
    _fleet["pristine"] = False
    _fleet["fleet"].create()
    return _fleet["fleet"]


@pytest.fixture
def unchanged_fleet(
    moto_server: MotoServer, _fleet: dict[str, Any], aws_env: dict[str, str]
) -> Iterator[Fleet]:
    """The fleet for a test that must change nothing: created again only when needed, and
    checked to be exactly as it was afterwards (the test fails otherwise)."""
    fleet = _fleet["fleet"]
    if not _fleet["pristine"]:
        moto_server.reset()
        fleet.create()
    before = fleet.snapshot()
    _fleet["pristine"] = False
    yield fleet
    assert fleet.snapshot() == before, "the fleet changed"
    _fleet["pristine"] = True


@pytest.fixture
def cli(capsys: pytest.CaptureFixture, aws_env: dict[str, str]):
    """``cli("attach", "--all", session=...)``: the command in process."""
    from timeout_guard_cli.main import main

    def run(*argv: str, session: Optional[boto3.Session] = None) -> Run:
        capsys.readouterr()
        code = main(list(argv), session=session)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def console_script() -> str:
    """The ``timeout-guard`` script pip installed next to this interpreter."""
    script = shutil.which("timeout-guard", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.fail(
            "timeout-guard is not installed in this venv: `make venv` (pip install -e ./cli)"
        )
    return script


@pytest.fixture
def console(aws_env: dict[str, str]):
    """``console("status", "--all", env={...})``: the console script in a subprocess."""

    def run(*argv: str, env: Optional[dict[str, Any]] = None, script: Optional[str] = None) -> Run:
        full_env = {**os.environ, **(env or {})}
        for name, value in (env or {}).items():
            if value is None:
                full_env.pop(name, None)
        result = subprocess.run(
            [script or console_script(), *argv],
            env=full_env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        return Run(result.returncode, result.stdout, result.stderr)

    return run
