"""Everything a run needs on a fresh machine: the interpreter, a pinned venv, botocore's sdist.

All of it lands under ``.cache/conformance/`` (gitignored) and is reused while its inputs (the
requirements file, the interpreter) are unchanged. The sdist is downloaded at run time, never
committed: its ``tests/`` are botocore's, not ours.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from .targets import CACHE, Target


def find_python(version: str) -> str:
    """``python3.X`` from PATH, else from pyenv's versions (a shim may not be active)."""
    candidates = [f"python{version}"]
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    try:
        pyenv_root = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"))
    for candidate in candidates:
        if _works(candidate):
            return candidate
    # Better a run on another Python than none: the venv then says which one it used.
    print(f"WARNING: no Python {version} (PATH or pyenv); using {sys.executable} instead")
    return sys.executable


def _works(python: str) -> bool:
    try:
        return subprocess.run([python, "-c", "pass"], capture_output=True).returncode == 0
    except OSError:
        return False


def ensure_venv(target: Target) -> Path:
    """``.cache/conformance/venv-<botocore>/``, rebuilt when its requirements change."""
    return pinned_venv(
        f"venv-{target.botocore}", find_python(target.python), target.requirements,
        label=f"botocore {target.botocore}",
    )


def pinned_venv(name: str, python: str, requirements: Path, *extra: str, label: str) -> Path:
    """``.cache/conformance/<name>/`` with ``requirements`` (and the ``extra`` requirement
    specifiers) installed by ``python``; rebuilt when any of them changes."""
    venv = CACHE / name
    stamp = venv / ".installed"
    wanted = " ".join([hashlib.sha256(requirements.read_bytes()).hexdigest(), *extra, python])
    if stamp.exists() and stamp.read_text() == wanted:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    print(f"== venv for {label} ({python}, {requirements.name})")
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "-r", str(requirements), *extra], check=True)
    stamp.write_text(wanted)
    return venv


def ensure_sdist(target: Target) -> Path:
    """botocore's sdist from PyPI (it ships ``tests/``), checked against the pinned sha256."""
    return pinned_sdist("botocore", target.botocore, target.sdist_sha256)


def pinned_sdist(project: str, version: str, sha256: str) -> Path:
    """``project``'s sdist of ``version`` from PyPI, in the cache, checked against ``sha256``."""
    folder = CACHE / "sdist"
    path = folder / f"{project.replace('-', '_')}-{version}.tar.gz"  # PEP 625's file name
    if not path.exists() or _sha256(path) != sha256:
        folder.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        print(f"== downloading {project} {version} sdist")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--dest",
                str(folder),
                f"{project}=={version}",
            ],
            check=True,
        )
    actual = _sha256(path)
    if actual != sha256:
        raise SystemExit(f"{path.name}: sha256 {actual}, expected {sha256}")
    return path


def extract(sdist: Path, dest: Path) -> Path:
    """A fresh copy of the sdist tree in ``dest``: each run gets its own, untouched by others."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    with tarfile.open(sdist) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(dest, filter="data")
        else:  # a Python without extraction filters; the archive's sha256 was checked
            archive.extractall(dest)
    (root,) = [p for p in dest.iterdir() if p.is_dir()]
    return root


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
