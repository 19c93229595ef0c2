#!/usr/bin/env python3
"""Build the Timeout Guard layer: one recipe for `make layer` and for `sam build`.

    tools/build_layer.py --zip dist/timeout-guard-layer.zip   # make layer
    tools/build_layer.py --tree "$ARTIFACTS_DIR"               # make build-TimeoutGuardLayer

The layer tree (the same for both outputs):

    timeout-guard                         wrapper/timeout-guard, mode 0755
    python/timeout_guard/...              layer/timeout_guard (no __pycache__, no bytecode)

Nothing else at the root and nothing else at the top of `python/`, by construction: the layer has
no third-party dependency, so the function keeps importing its own versions of everything.

The zip is reproducible byte for byte: sorted entries, a fixed date (1980-01-01), modes 0755
(wrapper, directories) and 0644 (everything else), one compression level, no extra fields,
whatever the file times or the umask. It must stay under 150 KiB.

Standard library only: SAM's makefile builder runs this with whatever `python3` is on PATH.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import sys
import zipfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
SIZE_BUDGET = 150 * 1024
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
COMPRESS_LEVEL = 9
WRAPPER_NAME = "timeout-guard"
PACKAGE = "timeout_guard"
# Files never shipped from layer/timeout_guard (bytecode, native code, editor and OS debris).
EXCLUDED_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd", ".c", ".o", ".orig", ".rej", ".swp", "~")


class BuildError(Exception):
    pass


def package_files(root: Path) -> dict[str, bytes]:
    source = root / "layer" / PACKAGE
    if not (source / "__init__.py").is_file():
        raise BuildError(f"{source}/__init__.py is missing")
    files = {}
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(d for d in dirnames
                             if d not in EXCLUDED_DIRS and not d.startswith("."))
        for filename in filenames:
            if filename.startswith(".") or filename.endswith(EXCLUDED_SUFFIXES):
                continue
            path = Path(dirpath, filename)
            if not path.is_file():
                continue
            files[path.relative_to(source).as_posix()] = path.read_bytes()
    return files


def layer_tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """{archive path: (content, mode)} of the whole layer."""
    wrapper = root / "wrapper" / WRAPPER_NAME
    if not wrapper.is_file():
        raise BuildError(f"{wrapper} is missing: the layer needs its exec wrapper "
                         f"(AWS_LAMBDA_EXEC_WRAPPER=/opt/{WRAPPER_NAME})")
    tree = {WRAPPER_NAME: (wrapper.read_bytes(), 0o755)}
    for rel, data in package_files(root).items():
        tree[f"python/{PACKAGE}/{rel}"] = (data, 0o644)
    return dict(sorted(tree.items()))


def directories(paths) -> list[str]:
    dirs = set()
    for path in paths:
        parent = PurePosixPath(path).parent
        while str(parent) != ".":
            dirs.add(f"{parent}/")
            parent = parent.parent
    return sorted(dirs)


def zip_bytes(tree: dict[str, tuple[bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    entries = [(d, None, 0o755) for d in directories(tree)]
    entries += [(path, data, mode) for path, (data, mode) in tree.items()]
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, mode in sorted(entries, key=lambda entry: entry[0]):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3  # Unix, so external_attr carries the mode
            if data is None:
                info.external_attr = (0o040000 | mode) << 16 | 0x10  # S_IFDIR, MS-DOS dir bit
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, b"")
            else:
                info.external_attr = (0o100000 | mode) << 16  # S_IFREG
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data, compresslevel=COMPRESS_LEVEL)
    return buffer.getvalue()


def write_zip(tree: dict[str, tuple[bytes, int]], target: Path) -> None:
    data = zip_bytes(tree)
    size = len(data)
    if size > SIZE_BUDGET:
        raise BuildError(f"{target}: {size} bytes is over the {SIZE_BUDGET} byte (150 KiB) "
                         f"budget; not written")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(data)
    os.chmod(partial, 0o644)
    os.replace(partial, target)
    print(f"{target}: {len(tree)} files, {size} bytes ({size / 1024:.1f} KiB of 150 KiB)")
    print(f"sha256 {hashlib.sha256(data).hexdigest()}  {target}")


def write_tree(tree: dict[str, tuple[bytes, int]], target: Path) -> None:
    tops = {PurePosixPath(path).parts[0] for path in tree}
    target.mkdir(parents=True, exist_ok=True)
    for top in tops:
        stale = target / top
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale)
        elif stale.exists() or stale.is_symlink():
            stale.unlink()
    for directory in directories(tree):
        path = target / directory
        path.mkdir(exist_ok=True)
        os.chmod(path, 0o755)
    for rel, (data, mode) in tree.items():
        path = target / rel
        path.write_bytes(data)
        os.chmod(path, mode)
    others = sorted(p.name for p in target.iterdir() if p.name not in tops)
    if others:
        print(f"warning: {target} also holds {', '.join(others)} (not part of the layer)",
              file=sys.stderr)
    total = sum(len(data) for data, _ in tree.values())
    print(f"{target}: {len(tree)} files, {total} bytes unpacked")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zip", type=Path, help="write the layer zip here")
    parser.add_argument("--tree", type=Path, help="write the unpacked layer tree into this folder")
    parser.add_argument("--list", action="store_true", help="print each entry with its mode")
    args = parser.parse_args(argv)
    if not (args.zip or args.tree):
        parser.error("give --zip PATH and/or --tree DIR")
    try:
        tree = layer_tree(ROOT)
        if args.list:
            for path, (data, mode) in tree.items():
                print(f"{mode:04o} {len(data):7d} {path}")
        if args.zip:
            write_zip(tree, args.zip)
        if args.tree:
            write_tree(tree, args.tree)
    except BuildError as exc:
        print(f"build_layer: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
