#!/usr/bin/env python3
"""Build the Timeout Guard layer: one recipe for `make layer` and for `sam build`.

    tools/build_layer.py --zip dist/timeout-guard-layer.zip   # make layer
    tools/build_layer.py --tree "$ARTIFACTS_DIR"               # make build-TimeoutGuardLayer

The layer tree (the same for both outputs):

    timeout-guard                         wrapper/timeout-guard, mode 0755
    python/timeout_guard/...              layer/timeout_guard's sources, as they are
    python/timeout_guard/__pycache__/bytecode.cpython-3XX.bundle
                                          the package's bytecode, one file per version
    python/timeout_guard/_bootstrap/__pycache__/sitecustomize.cpython-3XX.pyc
                                          the bootstrap's, where `site` looks for it

Nothing else at the root and nothing else at the top of `python/`, by construction: the layer has
no third-party dependency, so the function keeps importing its own versions of everything.

Bytecode: Lambda mounts /opt read-only, so a module without bytecode is compiled from source at
every cold start (about 6 ms for the layer's start-up modules, 5 more for its botocore patch).
For each version in BYTECODE_PYTHONS (or `--python 3.X ...`), the first final CPython of it
found on PATH or in pyenv's versions folder compiles every module. The bootstrap sitecustomize
(imported by `site`) gets an unchecked-hash pyc (PEP 552): loaded by an interpreter whose magic
number matches, without a look at the source's time or hash; ignored by any other (which
compiles from source, as without bytecode). The package's modules go into one bundle per version
(the magic number, an index of the modules, their marshalled code; the format is `Bundle`'s in
_bootstrap/sitecustomize.py), which the bootstrap serves modules from: one file, instead of a
path search, an open and a read per module (about 0.4 ms of a cold start); its index is read at
start-up, each group of modules when the first of them loads. A folder's modules are marshalled
together (one `marshal.loads` for all of them, sharing their names' strings: about 14 % less
unmarshalling), except those the layer imports only when the guard fires (LOADED_WHEN_FIRED),
bundled apart so that a cold start never reads or unmarshals them. The
index lists, for each module, the package's modules its top level imports (read from its source
with `ast`): `Bundle` loads those before the module runs, without importlib's per-module
machinery. An interpreter with another magic number ignores the bundle and imports the package
from its sources. The versions compiled for, and those not, are printed. Bytecode is compiled
with ``-X no_debug_ranges`` (line numbers kept, no column ranges: tracebacks through the layer's
own frames lose their ``^^^`` marks) and ``optimize=2`` (no docstrings, no asserts: the layer's
own ``__doc__`` strings are None at run time; tracebacks still read source lines from the .py
files), without its functions' annotations (WITHOUT_ANNOTATIONS), and names
/opt/python/timeout_guard/... as its file (the bootstrap puts the real path in when it loads it,
as importlib does for a pyc).

Why only some versions: each version's bytecode takes about 45 KB of the zip, the sources and
the wrapper 57 KB, and the zip must stay under 150 KiB: two versions fit. BYTECODE_PYTHONS holds
the two the cold start target is measured on (python3.11 and python3.12, the two behaviours of
awslambdaric).

The zip is reproducible byte for byte for a given set of interpreters: sorted entries, a fixed
date (1980-01-01), modes 0755 (wrapper, directories) and 0644 (everything else), one compression
level, no extra fields, bytecode compiled with a fixed hash seed (set constants are ordered by
hash), whatever the file times, the umask or the checkout's path. It must stay under 150 KiB.

Standard library only: SAM's makefile builder runs this with whatever `python3` is on PATH.
"""

from __future__ import annotations

import argparse
import base64
import glob
import hashlib
import io
import json
import os
import shutil
import subprocess
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
# The CPython versions the layer supports (Lambda's python3.10 to python3.14 runtimes).
SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
# The versions it ships bytecode for by default (as many as the size budget allows).
BYTECODE_PYTHONS = ("3.11", "3.12")
# Where Lambda mounts the package: the file name compiled into the code objects.
MOUNTED_PACKAGE = f"/opt/python/{PACKAGE}"

# The package's own modules: everything but the bootstrap sitecustomize, which `site` imports.
BOOTSTRAP = "_bootstrap/sitecustomize.py"
# Modules the layer imports only when the guard first fires (guard._load_later): bundled apart from
# their folder, so that a cold start does not unmarshal them (tests/packaging checks that the
# start-up leaves them unimported).
LOADED_WHEN_FIRED = ("firing", "records", "stuck")

# Run by each interpreter (see compile_package): {"prefix": ..., "bootstrap": relative path,
# "sources": {relative path: source}} on stdin; on stdout {"pycs": {the bootstrap's relative
# path: unchecked-hash pyc}, "bundle": the package's bundle} (JSON, base64).
# The package's modules are compiled without their functions' annotations (which the layer never
# reads: they are strings, ``from __future__ import annotations``): an annotation is one more
# constant per argument to unmarshal and a tuple per function to build, at every cold start
# (about 0.15 M instructions of an empty function's, and 5 KB of the zip). Class and module
# annotations stay. Run by COMPILE_SCRIPT, and by the test that checks the bundle against the
# sources.
WITHOUT_ANNOTATIONS = """
import ast

def without_annotations(source):
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
        if isinstance(node, ast.arg):
            node.annotation = None
    return tree
"""
COMPILE_SCRIPT = WITHOUT_ANNOTATIONS + """
import ast, base64, importlib.util, json, marshal, os, py_compile, sys, tempfile
request = json.load(sys.stdin)
pycs, modules, imported = {}, {}, {}

def top_level_imports(tree, name, is_package):
    # The modules a module's own top level imports, in order: every module so named, and
    # for 'from X import a' X.a too (a module or not: the caller keeps the modules).
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            source = ".".join(filter(None, [base if node.level else "", node.module or ""]))
            found += [source] + [source + "." + alias.name for alias in node.names]
    return found

with tempfile.TemporaryDirectory() as work:
    for rel, source in sorted(request["sources"].items()):
        data = base64.b64decode(source)
        if rel != request["bootstrap"]:
            parts = rel[: -len(".py")].split("/")
            is_package = parts[-1] == "__init__"
            name = ".".join([request["package"]] + (parts[:-1] if is_package else parts))
            tree = without_annotations(data)  # its imports are untouched
            imported[name] = top_level_imports(tree, name, is_package)
            code = compile(tree, request["prefix"] + "/" + rel, "exec", dont_inherit=True,
                           optimize=2)
            # Freed now, as before: marshal flags for reuse only the objects something else
            # still refers to, so a live tree (the last module's) would change the bundle's bytes.
            del tree
            modules[name] = (rel, is_package, code)
            continue
        path = os.path.join(work, "source.py")
        with open(path, "wb") as f:
            f.write(data)
        cfile = os.path.join(work, "out.pyc")
        py_compile.compile(
            path, cfile, dfile=request["prefix"] + "/" + rel, doraise=True, optimize=2,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        with open(cfile, "rb") as f:
            pycs[rel] = base64.b64encode(f.read()).decode("ascii")
folders = {}  # a folder's modules, marshalled together: they share their names' strings
for name, (rel, is_package, code) in sorted(modules.items()):
    folder = name if is_package else name.rpartition(".")[0]
    if name in request["later"]:
        folder += " when fired"
    folders.setdefault(folder, {})[name] = (rel, is_package, code)
index, blobs, offset = {}, [], 0
for folder, members in sorted(folders.items()):
    blob = marshal.dumps({name: code for name, (_, _, code) in members.items()})
    for name, (rel, is_package, _) in members.items():
        # What Bundle loads before the module runs: the package's other modules it imports at
        # its top, bar itself (a package's ``from . import x`` names it) and its own packages
        # (imported before it) and, for a start-up module, those loaded when fired.
        later = request["later"] if name not in request["later"] else ()
        first = []
        for other in imported[name]:
            if (other in modules and other not in first and other not in later
                    and other != name and not name.startswith(other + ".")):
                first.append(other)
        index[name] = (rel, is_package, offset, len(blob), tuple(first))
    blobs.append(blob)
    offset += len(blob)
head = marshal.dumps(index)
bundle = b"".join([importlib.util.MAGIC_NUMBER, len(head).to_bytes(4, "little"), head, *blobs])
json.dump({"pycs": pycs, "bundle": base64.b64encode(bundle).decode("ascii")}, sys.stdout)
"""
IDENTIFY_SCRIPT = (
    "import sys; print(sys.implementation.name, sys.implementation.cache_tag, "
    "'%d.%d' % sys.version_info[:2], sys.version_info.releaselevel, "
    "sys.version.split()[0], sys.executable)"
)


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


class Interpreter:
    """A CPython found on this machine that compiles the layer's bytecode."""

    def __init__(self, version: str, cache_tag: str, release: str, executable: str) -> None:
        self.version = version  # "3.12"
        self.cache_tag = cache_tag  # "cpython-312"
        self.release = release  # "3.12.1"
        self.executable = executable  # the real binary (not a pyenv shim)

    def __str__(self) -> str:
        return f"{self.cache_tag} (Python {self.release}, {self.executable})"


def _identify(candidate: str, version: str) -> Interpreter | None:
    """The interpreter at ``candidate`` if it is a final CPython ``version``, else None."""
    try:
        done = subprocess.run([candidate, "-I", "-S", "-c", IDENTIFY_SCRIPT],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    fields = done.stdout.split(maxsplit=5)
    if done.returncode != 0 or len(fields) != 6:
        return None
    name, cache_tag, found, level, release, executable = fields
    if name != "cpython" or found != version or level != "final":
        return None  # another implementation, another version, or a pre-release's magic
    return Interpreter(version, cache_tag, release, executable.strip())


def find_interpreters(versions=SUPPORTED_PYTHONS) -> list[Interpreter]:
    """For each version, the first final CPython of it on PATH, else in pyenv's versions."""
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = []
    for version in versions:
        candidates = [shutil.which(f"python{version}")]
        candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"))
        for candidate in candidates:
            interpreter = _identify(candidate, version) if candidate else None
            if interpreter is not None:
                found.append(interpreter)
                break
    return found


def compile_package(files: dict[str, bytes], interpreter: Interpreter) -> dict[str, bytes]:
    """{relative path in the package: bytecode file}, compiled by ``interpreter``: the
    bootstrap's unchecked-hash pyc and the package's bundle."""
    sources = {rel: base64.b64encode(data).decode("ascii")
               for rel, data in files.items() if rel.endswith(".py")}
    request = json.dumps({"prefix": MOUNTED_PACKAGE, "package": PACKAGE,
                          "later": [f"{PACKAGE}.{m}" for m in LOADED_WHEN_FIRED],
                          "bootstrap": BOOTSTRAP, "sources": sources})
    # Not -I: it implies -E, which would ignore PYTHONHASHSEED. A clean environment instead,
    # -s -S (no user or site packages), -B (no bytecode of its own written anywhere).
    command = [interpreter.executable, "-s", "-S", "-B", "-X", "no_debug_ranges",
               "-c", COMPILE_SCRIPT]
    try:
        done = subprocess.run(command, input=request, capture_output=True, text=True,
                              timeout=120, env={"PYTHONHASHSEED": "0"})
    except (OSError, subprocess.SubprocessError) as exc:
        raise BuildError(f"{interpreter}: could not compile the layer: {exc}") from exc
    if done.returncode != 0:
        raise BuildError(f"{interpreter}: could not compile the layer:\n{done.stderr.strip()}")
    compiled = json.loads(done.stdout)
    out = {cached_path(rel, interpreter.cache_tag): base64.b64decode(pyc)
           for rel, pyc in compiled["pycs"].items()}
    out[bundle_path(interpreter.cache_tag)] = base64.b64decode(compiled["bundle"])
    return out


def cached_path(rel: str, cache_tag: str) -> str:
    """Where importlib looks for ``rel``'s bytecode: ``dir/__pycache__/name.<tag>.pyc``."""
    path = PurePosixPath(rel)
    return (path.parent / "__pycache__" / f"{path.stem}.{cache_tag}.pyc").as_posix()


def bundle_path(cache_tag: str) -> str:
    """Where the bootstrap looks for the package's bundle (``Bundle.open``)."""
    return f"__pycache__/bytecode.{cache_tag}.bundle"


def layer_tree(root: Path, interpreters=()) -> dict[str, tuple[bytes, int]]:
    """{archive path: (content, mode)} of the whole layer, with bytecode by ``interpreters``."""
    wrapper = root / "wrapper" / WRAPPER_NAME
    if not wrapper.is_file():
        raise BuildError(f"{wrapper} is missing: the layer needs its exec wrapper "
                         f"(AWS_LAMBDA_EXEC_WRAPPER=/opt/{WRAPPER_NAME})")
    tree = {WRAPPER_NAME: (wrapper.read_bytes(), 0o755)}
    files = package_files(root)
    for rel, data in files.items():
        tree[f"python/{PACKAGE}/{rel}"] = (data, 0o644)
    for interpreter in interpreters:
        for rel, bytecode in compile_package(files, interpreter).items():
            tree[f"python/{PACKAGE}/{rel}"] = (bytecode, 0o644)
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


def print_bytecode_versions(wanted, interpreters: list[Interpreter]) -> None:
    """One line per supported version: compiled for (by which interpreter), or why not."""
    compiled = {i.version: i for i in interpreters}
    for version in SUPPORTED_PYTHONS:
        if version in compiled:
            print(f"bytecode for python{version}: {compiled[version]}")
        elif version in wanted:
            print(f"bytecode for python{version}: none (no final CPython {version} found here; "
                  "it compiles the layer from source at each cold start)")
        else:
            print(f"bytecode for python{version}: none (not asked for; it compiles the layer "
                  "from source at each cold start)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zip", type=Path, help="write the layer zip here")
    parser.add_argument("--tree", type=Path, help="write the unpacked layer tree into this folder")
    parser.add_argument("--list", action="store_true", help="print each entry with its mode")
    parser.add_argument("--python", nargs="+", metavar="3.X", default=list(BYTECODE_PYTHONS),
                        help="the versions to ship bytecode for ('none': sources only); "
                             f"default: {' '.join(BYTECODE_PYTHONS)}")
    args = parser.parse_args(argv)
    if not (args.zip or args.tree):
        parser.error("give --zip PATH and/or --tree DIR")
    wanted = [v for v in args.python if v != "none"]
    unknown = sorted(set(wanted) - set(SUPPORTED_PYTHONS))
    if unknown:
        parser.error(f"--python {' '.join(unknown)}: supported are {' '.join(SUPPORTED_PYTHONS)}")
    try:
        interpreters = find_interpreters([v for v in SUPPORTED_PYTHONS if v in wanted])
        print_bytecode_versions(wanted, interpreters)
        tree = layer_tree(ROOT, interpreters)
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
