"""Third-party packages installed into a function's folder, as users do it (``pip install
--target``), pinned, from PyPI, once: cached under ``.cache/function-packages/``."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .provision import CACHE

PACKAGES = CACHE.parent / "function-packages"


def install_into(task_dir: Path, requirements: Sequence[str], no_deps: bool = False) -> Path:
    """Copy the pinned ``requirements`` (installed once into the cache) into ``task_dir``.

    ``no_deps``: leave out dependencies the runtime already bundles (boto3), as a function
    that relies on the runtime's SDK is packaged.
    """
    key = hashlib.sha256("\n".join([*requirements, str(no_deps)]).encode()).hexdigest()[:16]
    target = PACKAGES / key
    PACKAGES.mkdir(parents=True, exist_ok=True)
    with open(PACKAGES / f".{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".installed").exists():
            shutil.rmtree(target, ignore_errors=True)
            command = [sys.executable, "-m", "pip", "install", "--quiet"]
            command += ["--disable-pip-version-check", "--target", str(target)]
            command += ["--no-deps"] if no_deps else []
            subprocess.run([*command, *requirements], check=True)
            (target / ".installed").write_text("\n".join(requirements))
    skip = shutil.ignore_patterns(".installed")
    shutil.copytree(target, task_dir, dirs_exist_ok=True, ignore=skip)
    return task_dir
