#!/usr/bin/env python3
"""Build the Timeout Guard layer: one recipe for `make layer` and for `sam build`.

    tools/build_layer.py --zip dist/timeout-guard-layer.zip   # make layer
    tools/build_layer.py --tree "$ARTIFACTS_DIR"               # make build-TimeoutGuardLayer
    tools/build_layer.py --update-lock                         # after bumping the wrapt pin

The layer tree (the same for both outputs):

    timeout-guard                         wrapper/timeout-guard, mode 0755
    python/timeout_guard/...              layer/timeout_guard (no __pycache__, no bytecode)
    python/timeout_guard/_vendor/...      third-party code, vendored at build time:
        __init__.py                       generated
        wrapt/*.py, wrapt/LICENSE         wrapt's pure-Python source (no C extension)

wrapt's version is the `wrapt==X` pin in requirements-dev.txt. Its wheel (or sdist) is
downloaded once with pip into .cache/vendor/ and checked against the sha256 in tools/vendor.lock;
later builds (including `sam build`) reuse the cache and work offline.

The zip is reproducible byte for byte: sorted entries, a fixed date (1980-01-01), modes 0755
(wrapper, directories) and 0644 (everything else), one compression level, no extra fields,
whatever the file times or the umask. It must stay under 150 KiB.

Standard library only: SAM's makefile builder runs this with whatever `python3` is on PATH.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
SIZE_BUDGET = 150 * 1024
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
COMPRESS_LEVEL = 9
WRAPPER_NAME = "timeout-guard"
PACKAGE = "timeout_guard"
VENDOR = "_vendor"
# Files never shipped from layer/timeout_guard (bytecode, native code, editor and OS debris).
EXCLUDED_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd", ".c", ".o", ".orig", ".rej", ".swp", "~")

VENDOR_INIT = '''\
"""Third-party code vendored into the layer at build time (see tools/build_layer.py).

Imported as ``timeout_guard._vendor.<name>`` so the function keeps its own copies.
{listing}
"""
'''


class BuildError(Exception):
    pass


# --- the vendored dependency ---------------------------------------------------------------


def read_pin(root: Path, name: str) -> str:
    path = root / "requirements-dev.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BuildError(f"cannot read {path}: {exc}") from exc
    pins = re.findall(rf"^\s*{re.escape(name)}\s*==\s*([A-Za-z0-9.+!-]+)\s*(?:#.*)?$", text, re.M)
    if len(pins) != 1:
        raise BuildError(f"{path}: expected exactly one '{name}==X' pin, found {len(pins)}")
    return pins[0]


def read_lock(root: Path) -> dict[str, tuple[str, str, str]]:
    """tools/vendor.lock: `name version filename sha256` lines; `#` starts a comment."""
    path = root / "tools" / "vendor.lock"
    lock = {}
    if not path.exists():
        return lock
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 4 or not re.fullmatch(r"[0-9a-f]{64}", fields[3]):
            raise BuildError(f"{path}:{number}: expected 'name version filename sha256'")
        lock[fields[0]] = (fields[1], fields[2], fields[3])
    return lock


def write_lock(root: Path, entries: dict[str, tuple[str, str, str]]) -> None:
    lines = [
        "# Third-party code vendored into the layer by tools/build_layer.py.",
        "# name version file sha256. The version must equal the pin in requirements-dev.txt;",
        "# after bumping the pin run: python3 tools/build_layer.py --update-lock (needs PyPI),",
        "# and review the new hash (it is whatever PyPI served at that moment).",
    ]
    lines += [f"{name} {v} {f} {h}" for name, (v, f, h) in sorted(entries.items())]
    (root / "tools" / "vendor.lock").write_text("\n".join(lines) + "\n", encoding="utf-8")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_download(name: str, version: str, dest: Path, wheel: bool) -> Path:
    """Download the pure-Python wheel (or, wheel=False, the sdist) of name==version into dest."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as scratch:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--quiet", "--dest", scratch]
        if wheel:
            cmd += ["--only-binary", ":all:", "--platform", "any", "--implementation", "py",
                    "--abi", "none", "--python-version", "3.10"]
        else:
            cmd += ["--no-binary", ":all:"]
        cmd.append(f"{name}=={version}")
        print("+ " + " ".join(cmd), file=sys.stderr)
        try:
            result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, check=False)
        except OSError as exc:
            raise BuildError(f"cannot run pip: {exc}") from exc
        files = sorted(Path(scratch).iterdir())
        if result.returncode != 0 or len(files) != 1:
            raise BuildError(
                f"pip could not download {name}=={version} into {dest} (it needs PyPI once; "
                f"afterwards the cache is enough):\n{result.stdout.strip()}")
        target = dest / files[0].name
        os.replace(files[0], target)
        return target


def fetch_vendored(root: Path, cache: Path, name: str) -> tuple[str, Path]:
    """The verified archive of the pinned `name`, from the cache or downloaded into it."""
    version = read_pin(root, name)
    lock = read_lock(root)
    if name not in lock:
        raise BuildError(f"tools/vendor.lock has no entry for {name}; run "
                         f"`python3 tools/build_layer.py --update-lock`")
    locked_version, filename, sha256 = lock[name]
    if locked_version != version:
        raise BuildError(
            f"requirements-dev.txt pins {name}=={version} but tools/vendor.lock has "
            f"{locked_version}; run `python3 tools/build_layer.py --update-lock` and review it")
    path = cache / filename
    if not path.exists():
        downloaded = pip_download(name, version, cache, wheel=filename.endswith(".whl"))
        if downloaded.name != filename:
            raise BuildError(f"pip downloaded {downloaded.name}, tools/vendor.lock expects "
                             f"{filename}")
    actual = sha256_file(path)
    if actual != sha256:
        path.unlink()
        raise BuildError(f"{path}: sha256 {actual} does not match tools/vendor.lock ({sha256}); "
                         f"the file was removed, run the build again to download it afresh")
    return version, path


def update_lock(root: Path, cache: Path, name: str = "wrapt") -> None:
    version = read_pin(root, name)
    try:
        path = pip_download(name, version, cache, wheel=True)
    except BuildError as exc:
        print(f"no pure-Python wheel ({exc}); trying the sdist", file=sys.stderr)
        path = pip_download(name, version, cache, wheel=False)
    if path.name.endswith(".whl") and not path.name.endswith("-none-any.whl"):
        raise BuildError(f"{path.name} is not a pure-Python wheel")
    entries = read_lock(root)
    entries[name] = (version, path.name, sha256_file(path))
    write_lock(root, entries)
    print(f"tools/vendor.lock: {name} {version} {path.name} {entries[name][2]}")


def wrapt_files(archive: Path) -> dict[str, bytes]:
    """wrapt's pure-Python modules and its LICENSE, keyed by path relative to `wrapt/`."""
    members: dict[str, bytes] = {}
    if archive.name.endswith(".whl"):
        with zipfile.ZipFile(archive) as whl:
            for info in whl.infolist():
                parts = PurePosixPath(info.filename).parts
                if len(parts) == 2 and parts[0] == "wrapt" and parts[1].endswith(".py"):
                    members[parts[1]] = whl.read(info)
                elif (len(parts) >= 2 and parts[0].endswith(".dist-info")
                      and parts[-1] == "LICENSE"):
                    members["LICENSE"] = whl.read(info)
    else:
        with tarfile.open(archive) as sdist:
            for info in sdist.getmembers():
                parts = PurePosixPath(info.name).parts
                if not info.isfile():
                    continue
                if len(parts) == 4 and parts[1:3] == ("src", "wrapt") and parts[3].endswith(".py"):
                    members[parts[3]] = sdist.extractfile(info).read()
                elif len(parts) == 2 and parts[1] == "LICENSE":
                    members["LICENSE"] = sdist.extractfile(info).read()
    if "__init__.py" not in members or "LICENSE" not in members:
        raise BuildError(f"{archive.name}: wrapt/__init__.py or LICENSE not found")
    for filename, data in members.items():
        if filename.endswith(".py"):
            check_relative_imports(f"wrapt/{filename}", data)
    return members


def check_relative_imports(label: str, source: bytes) -> None:
    """Vendored code must import its own modules relatively, or it would load a second wrapt."""
    for node in ast.walk(ast.parse(source, label)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        for imported in names:
            if imported == "wrapt" or imported.startswith("wrapt."):
                raise BuildError(f"{label}:{node.lineno}: absolute import of {imported}; "
                                 f"vendoring it would import the function's own wrapt")


# --- the tree ------------------------------------------------------------------------------


def package_files(root: Path) -> dict[str, bytes]:
    source = root / "layer" / PACKAGE
    if not (source / "__init__.py").is_file():
        raise BuildError(f"{source}/__init__.py is missing")
    if (source / VENDOR).exists():
        raise BuildError(f"{source / VENDOR} exists in the sources; vendored code is added at "
                         f"build time only, remove that folder")
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


def layer_tree(root: Path, cache: Path) -> dict[str, tuple[bytes, int]]:
    """{archive path: (content, mode)} of the whole layer."""
    wrapper = root / "wrapper" / WRAPPER_NAME
    if not wrapper.is_file():
        raise BuildError(f"{wrapper} is missing: the layer needs its exec wrapper "
                         f"(AWS_LAMBDA_EXEC_WRAPPER=/opt/{WRAPPER_NAME})")
    tree = {WRAPPER_NAME: (wrapper.read_bytes(), 0o755)}
    prefix = f"python/{PACKAGE}/"
    for rel, data in package_files(root).items():
        tree[prefix + rel] = (data, 0o644)
    version, archive = fetch_vendored(root, cache, "wrapt")
    for rel, data in wrapt_files(archive).items():
        tree[f"{prefix}{VENDOR}/wrapt/{rel}"] = (data, 0o644)
    listing = f"\nwrapt {version} (BSD-2-Clause, wrapt/LICENSE), from {archive.name}"
    init = VENDOR_INIT.format(listing=listing).encode()
    tree[f"{prefix}{VENDOR}/__init__.py"] = (init, 0o644)
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
    digest = hashlib.sha256(data).hexdigest()
    if size > SIZE_BUDGET:
        raise BuildError(f"{target}: {size} bytes is over the {SIZE_BUDGET} byte (150 KiB) "
                         f"budget; not written")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(data)
    os.chmod(partial, 0o644)
    os.replace(partial, target)
    print(f"{target}: {len(tree)} files, {size} bytes ({size / 1024:.1f} KiB of 150 KiB)")
    print(f"sha256 {digest}  {target}")


def write_tree(tree: dict[str, tuple[bytes, int]], target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for top in {PurePosixPath(path).parts[0] for path in tree}:
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
    others = sorted(p.name for p in target.iterdir()
                    if p.name not in {PurePosixPath(path).parts[0] for path in tree})
    if others:
        print(f"warning: {target} also holds {', '.join(others)} (not part of the layer)",
              file=sys.stderr)
    total = sum(len(data) for data, _ in tree.values())
    print(f"{target}: {len(tree)} files, {total} bytes unpacked")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zip", type=Path, help="write the layer zip here")
    parser.add_argument("--tree", type=Path, help="write the unpacked layer tree into this folder")
    parser.add_argument("--update-lock", action="store_true",
                        help="download the pinned wrapt and record its sha256 in tools/vendor.lock")
    parser.add_argument("--vendor-cache", type=Path,
                        default=Path(os.environ.get("TIMEOUT_GUARD_VENDOR_CACHE")
                                     or ROOT / ".cache" / "vendor"),
                        help="where downloaded third-party archives are kept "
                             "(default .cache/vendor, or $TIMEOUT_GUARD_VENDOR_CACHE)")
    parser.add_argument("--list", action="store_true", help="print each entry with its mode")
    args = parser.parse_args(argv)
    try:
        if args.update_lock:
            update_lock(ROOT, args.vendor_cache)
            if not (args.zip or args.tree):
                return 0
        if not (args.zip or args.tree):
            parser.error("give --zip PATH and/or --tree DIR")
        tree = layer_tree(ROOT, args.vendor_cache)
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
