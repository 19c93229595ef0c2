"""Layers as Lambda mounts them: a zip unpacked into the opt folder, file modes kept, read-only.

Lambda mounts ``/opt`` read-only, so Python cannot write ``__pycache__`` there and compiles a
layer's modules on every cold start; unpacking read-only reproduces that.
"""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

# The repository this harness sits in: the one definition of its root for the whole harness.
REPO = Path(__file__).resolve().parents[3]
# What `make layer` builds: the one definition of its path for tests, demo and benchmarks.
LAYER_ZIP = REPO / "dist" / "timeout-guard-layer.zip"


def unpack_layer(zip_path: Path, opt_dir: Path, read_only: bool = True) -> Path:
    """Unpack ``zip_path`` into ``opt_dir`` with the modes recorded in the zip; return opt_dir."""
    opt_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            target = opt_dir / info.filename
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            target.chmod(((info.external_attr >> 16) & 0o777) or 0o644)
    if read_only:
        make_read_only(opt_dir)
    return opt_dir


def make_read_only(folder: Path) -> None:
    """Remove write permission below and on ``folder`` (as Lambda's read-only mount)."""
    for path in sorted(folder.rglob("*"), reverse=True):
        path.chmod(path.stat().st_mode & ~0o222)
    folder.chmod(folder.stat().st_mode & ~0o222)


def make_writable(folder: Path) -> None:
    """Give the owner write permission again (to add files, or to delete the folder)."""
    folder.chmod(folder.stat().st_mode | 0o200)
    for path in folder.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)


def seal(folder: Path) -> bool:
    """Make ``folder`` read-only for root too (``chattr +i``); True when it is read-only.

    Mode bits do not stop root: run as root, Python would write ``__pycache__`` into an unpacked
    layer at the first start, and later starts would load that bytecode, which Lambda's read-only
    /opt never allows. Immutable files and folders stop it. ``unseal`` before deleting.
    """
    if os.geteuid() != 0:
        return True  # the read-only modes are enough
    done = subprocess.run(["chattr", "-R", "+i", str(folder)], capture_output=True, text=True)
    return done.returncode == 0


def unseal(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-R", "-i", str(folder)], capture_output=True)
