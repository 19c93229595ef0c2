"""The layer zip the command publishes: the one in its wheel, or a source checkout's build.

A wheel built by ``make cli`` or ``pip install ./cli`` carries ``data/timeout-guard-layer.zip``.
An editable install (the repository's development venv) carries none: it falls back to the
checkout's ``dist/timeout-guard-layer.zip`` (``make layer``). ``publish --zip PATH`` overrides
both.
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources
from pathlib import Path
from typing import Optional

from timeout_guard_cli.errors import CommandError

ZIP_NAME = "timeout-guard-layer.zip"


def packaged() -> Optional[Path]:
    entry = resources.files("timeout_guard_cli").joinpath("data", ZIP_NAME)
    return Path(str(entry)) if entry.is_file() else None


def from_checkout() -> Optional[Path]:
    """``dist/`` of the repository when this package runs from its ``cli/src`` folder."""
    package = Path(__file__).resolve().parent
    if package.parent.name != "src" or package.parent.parent.name != "cli":
        return None
    candidate = package.parents[2] / "dist" / ZIP_NAME
    return candidate if candidate.is_file() else None


def locate(explicit: Optional[Path] = None) -> Path:
    if explicit is not None:
        if not explicit.is_file():
            raise CommandError(f"--zip {explicit}: no such file")
        return explicit
    found = packaged() or from_checkout()
    if found is None:
        raise CommandError(
            "this installation carries no layer zip: build one with `make layer` and pass "
            "--zip dist/timeout-guard-layer.zip"
        )
    return found


def code_sha256(data: bytes) -> str:
    """As Lambda reports ``CodeSha256``: base64 of the SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()
