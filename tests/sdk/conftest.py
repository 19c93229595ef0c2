"""In-process SDK tests: real botocore (patched by the layer) against moto and loopback servers.

The layer's ``layer/`` folder goes on ``sys.path``; the patch is installed once, the way the
bootstrap's post-import hook does it. Each test sets its ``TIMEOUT_GUARD_*`` / ``AWS_*``
variables through :func:`guard_env`, which re-installs the patch with the new settings.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layer"
if str(LAYER) not in sys.path:
    sys.path.insert(0, str(LAYER))

import botocore.session  # noqa: E402
from loopback import MotoServer  # noqa: E402
from timeout_guard import invocation, sdk, settings  # noqa: E402


def install_layer() -> None:
    """(Re)install the botocore patch as the start-up's post-import hook does, with settings
    read from the environment now (the layer reads them once per process)."""
    sdk.uninstall(botocore.session)
    settings.reset()
    installed = sdk.install(botocore.session, settings.settings())
    assert installed or not settings.settings().botocore, "the botocore patch did not install"


install_layer()

from .helpers import REGION  # noqa: E402

_CLEARED = (
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_DEFAULTS_MODE",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("TIMEOUT_GUARD_") or name in _CLEARED:
            monkeypatch.delenv(name)
    empty = tmp_path / "aws-config"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    install_layer()
    yield
    settings.reset()
    if invocation.current is not None:
        invocation.end()


@pytest.fixture
def guard_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``guard_env(TIMEOUT_GUARD_READ_TIMEOUT="1", ...)``: set variables, re-read settings."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        install_layer()

    return apply


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server
