"""Builds, once per interpreter, what Lambda's image holds: ``/var/lang`` and ``/var/runtime``.

For each Python version the local runtime gets:

- ``lang/``: an empty virtual environment of that interpreter (``/var/lang/bin/python3.X``),
  so nothing from the machine's own site-packages leaks into the function;
- ``runtime/``: ``awslambdaric`` and the bundled SDK (``requirements-runtime.txt`` beside
  this file), installed with the interpreter's own pip, plus the replicas of ``bootstrap`` and
  ``bootstrap.py`` (``/var/runtime``).

Everything lives under ``.cache/locallambda/`` and is rebuilt when its inputs change.
``python -m locallambda 3.11 3.12`` (``make runtimes``: all of them) provisions ahead of a test run.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .layers import REPO

CACHE = Path(os.environ.get("LOCAL_LAMBDA_CACHE", REPO / ".cache" / "locallambda"))
REPLICA = Path(__file__).resolve().parent / "replica"
DEFAULT_REQUIREMENTS = Path(__file__).resolve().parent / "requirements-runtime.txt"
# A python3.10 runtime bundling the oldest SDK the layer supports (botocore 1.29.90).
OLDEST_SDK_REQUIREMENTS = Path(__file__).resolve().parent / "requirements-runtime-oldest.txt"
SUPPORTED = ("3.10", "3.11", "3.12", "3.13", "3.14")


@dataclass(frozen=True)
class Runtime:
    """A provisioned managed-runtime replica for one Python version."""

    version: str  # "3.12"
    python: Path  # the interpreter the runtime runs (inside lang/)
    runtime_dir: Path  # LAMBDA_RUNTIME_DIR
    bootstrap: Path  # the bash bootstrap replica

    @property
    def name(self) -> str:
        return f"python{self.version}"

    @property
    def threaded_next(self) -> bool:
        """awslambdaric polls ``/next`` in a worker thread from python3.12 on."""
        return tuple(int(p) for p in self.version.split(".")) >= (3, 12)


def find_interpreter(version: str) -> Optional[Path]:
    """A base interpreter for ``version``: on PATH, else in pyenv's versions folder."""
    candidates = []
    found = shutil.which(f"python{version}")
    if found:
        candidates.append(found)
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"))
    for candidate in candidates:
        try:
            out = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=20,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return Path(candidate)
    return None


def available_versions() -> list[str]:
    """The supported versions this machine has an interpreter for (``LOCAL_LAMBDA_PYTHONS``,
    space-separated, narrows them)."""
    found = [v for v in SUPPORTED if find_interpreter(v) is not None]
    wanted = os.environ.get("LOCAL_LAMBDA_PYTHONS")
    return [v for v in wanted.split() if v in found] if wanted else found


def runtime_modes(versions: list[str]) -> tuple[Optional[str], Optional[str]]:
    """The two behaviours of awslambdaric, and the version that stands for each.

    python3.11 mode: the main thread waits in native ``next()`` between invocations (a signal
    handler runs only when the next event arrives); python3.12+ mode: ``next()`` runs in a
    worker thread. The first 3.12+ version present stands for the latter.
    """
    mode_311 = "3.11" if "3.11" in versions else None
    mode_312 = next((v for v in versions if v >= "3.12"), None)
    return mode_311, mode_312


def _fingerprint(requirements: Path) -> str:
    digest = hashlib.sha256()
    for path in (requirements, REPLICA / "bootstrap.in", REPLICA / "bootstrap.py", Path(__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def provision(
    version: str, requirements: Path = DEFAULT_REQUIREMENTS, flavour: str = ""
) -> Runtime:
    """Return the runtime replica for ``version``, building it first if needed.

    ``flavour`` names a variant with other requirements (an older bundled botocore, say).
    """
    base = find_interpreter(version)
    if base is None:
        raise LookupError(f"no Python {version} interpreter on this machine")
    name = f"python{version}" + (f"-{flavour}" if flavour else "")
    root = CACHE / name
    runtime = Runtime(
        version=version,
        python=root / "lang" / "bin" / f"python{version}",
        runtime_dir=root / "runtime",
        bootstrap=root / "runtime" / "bootstrap",
    )
    stamp = root / ".provisioned"
    fingerprint = _fingerprint(requirements)
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == fingerprint and runtime.python.exists():
            return runtime
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        subprocess.run([str(base), "-m", "venv", "--without-pip", str(root / "lang")], check=True)
        subprocess.run(
            [
                str(base),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-warn-script-location",
                "--no-warn-conflicts",
                "--root-user-action=ignore",
                "--target",
                str(runtime.runtime_dir),
                "-r",
                str(requirements),
            ],
            check=True,
        )
        shutil.copy(REPLICA / "bootstrap.py", runtime.runtime_dir / "bootstrap.py")
        script = (REPLICA / "bootstrap.in").read_text()
        script = (
            script.replace("@PYTHON@", str(runtime.python))
            .replace("@RUNTIME_DIR@", str(runtime.runtime_dir))
            .replace("@RUNTIME@", runtime.name)
        )
        runtime.bootstrap.write_text(script)
        runtime.bootstrap.chmod(0o755)
        stamp.write_text(fingerprint)
    return runtime


def main(argv: list[str]) -> int:
    versions = argv or available_versions()
    for version in versions:
        runtime = provision(version)
        print(f"local Lambda runtime {runtime.name}: {runtime.python}")
    return 0

