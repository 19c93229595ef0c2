"""Changed copies of installed code: a botocore or an awslambdaric that differs from the one the
layer knows, built from the real installed files, not mocked.

A copy is a folder of symbolic links to the original files, except the folders on the way to a
changed file (real folders) and the changed files themselves (patched copies). Python imports it
like any installed package; nothing of the original is modified, and it takes milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from locallambda import Runtime

Patch = Optional[Callable[[str], str]]  # None: a plain copy (a real file, not a link)


def replace(old: str, new: str, count: int = -1) -> Callable[[str], str]:
    """A patch that replaces ``old`` by ``new``; the source must contain ``old``."""

    def patch(text: str) -> str:
        if old not in text:
            raise AssertionError(f"{old!r} not found: the installed version changed")
        return text.replace(old, new, count)

    return patch


def linked_copy(source: Path, target: Path, patches: dict[str, Patch]) -> Path:
    """``source`` recreated at ``target``; ``patches`` maps paths relative to ``source``."""
    missing = [rel for rel in patches if not (source / rel).is_file()]
    if missing:
        raise FileNotFoundError(f"nothing to patch at {missing} in {source}")
    target.mkdir(parents=True)
    for entry in sorted(source.iterdir()):
        if entry.name == "__pycache__":
            continue
        inside = {
            rel.split("/", 1)[1]: patch
            for rel, patch in patches.items()
            if rel.startswith(entry.name + "/")
        }
        destination = target / entry.name
        if inside:
            linked_copy(entry, destination, inside)
        elif entry.name in patches:
            patch = patches[entry.name]
            text = entry.read_text()
            destination.write_text(text if patch is None else patch(text))
            destination.chmod(entry.stat().st_mode & 0o777)
        else:
            destination.symlink_to(entry)
    return target


def patched_runtime(runtime: Runtime, target: Path, patches: dict[str, Patch]) -> Runtime:
    """The runtime replica with some of its files (``awslambdaric/bootstrap.py``...) changed:
    the same interpreter, a linked copy of its runtime folder (``/var/runtime``)."""
    runtime_dir = target / "runtime"
    old_dir = str(runtime.runtime_dir)
    linked_copy(
        runtime.runtime_dir,
        runtime_dir,
        {
            **patches,
            # Real files: Python puts the script's real folder on sys.path, and the bash
            # bootstrap names the runtime folder.
            "bootstrap.py": None,
            "bootstrap": replace(old_dir, str(runtime_dir)),
        },
    )
    return Runtime(
        version=runtime.version,
        python=runtime.python,
        runtime_dir=runtime_dir,
        bootstrap=runtime_dir / "bootstrap",
    )
