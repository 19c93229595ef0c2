"""Third-party libraries installed as users install them: into the function's own folder.

``pip install --no-deps --target`` with the interpreter of the runtime version, once per
(version, requirements file) under ``.cache/libraries/``; each test's task folder then gets the
installed entries as symlinks next to its own code, which Python imports exactly like copies
(the folder is the first entry of ``sys.path``, as ``/var/task`` is).
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
from pathlib import Path

from locallambda import find_interpreter

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "libraries"


def installed(version: str, requirements: Path) -> Path:
    """The folder ``requirements`` is installed in for Python ``version`` (installed if needed)."""
    key = hashlib.sha256(requirements.read_bytes() + version.encode()).hexdigest()[:16]
    target = CACHE / f"python{version}-{key}"
    stamp = target / ".installed"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".python{version}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():
            return target
        interpreter = find_interpreter(version)
        if interpreter is None:
            raise LookupError(f"no Python {version} interpreter on this machine")
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        subprocess.run(
            [
                str(interpreter), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "--no-warn-script-location", "--root-user-action=ignore", "--no-deps",
                "--target", str(partial), "-r", str(requirements),
            ],
            check=True,
        )
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        stamp.write_text(requirements.read_text())
    return target


def deployment_package(task: Path, code: Path, packages: Path) -> Path:
    """``task``: the function's ``code`` folder plus every installed package (symlinked)."""
    shutil.copytree(code, task, ignore=shutil.ignore_patterns("__pycache__"))
    for entry in packages.iterdir():
        if entry.name not in ("bin", ".installed") and not (task / entry.name).exists():
            (task / entry.name).symlink_to(entry)
    return task
