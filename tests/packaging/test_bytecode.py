"""The bytecode shipped in the layer: where the layer looks for it (the bootstrap's pyc where
`site` finds it, the package's bundle where the bootstrap does), for the versions the build
lists, each the compilation of the shipped source, and used by the runtime without hiding the
real source files from tracebacks and the guard.

Neither an unchecked-hash pyc (PEP 552) nor the bundle is compared with its source again at run
time: a stale one would run code that is not the shipped source. So every piece of bytecode is
checked here, by the interpreter it is for.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import json
import marshal
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import mode_params, write_function
from locallambda import LAYER_ZIP
from test_artifact import (  # noqa: F401 - layer_zip and opt: module fixtures shared from there
    REPO,
    _interpreters,
    build,
    copy_sources,
    layer_zip,
    make,
    opt,
    sha256,
)

SUPPORTED = ("3.10", "3.11", "3.12", "3.13", "3.14")
BYTECODE_PYTHONS = ("3.11", "3.12")  # tools/build_layer.py's default
# Imported when the guard first fires, not by the start-up (tools/build_layer.py bundles them
# apart, LOADED_WHEN_FIRED): a cold start neither unmarshals nor runs them.
LOADED_WHEN_FIRED = {"timeout_guard.firing", "timeout_guard.records", "timeout_guard.stuck"}
STUCK = REPO / "tests" / "guard" / "functions" / "stuck"
_LISTED = re.compile(r"^bytecode for python(3\.\d+): (cpython-3\d+|none)\b", re.M)


PKG = "python/timeout_guard"
BOOTSTRAP = f"{PKG}/_bootstrap/sitecustomize.py"


def bytecode_tags(zip_path: Path) -> set[str]:
    """The cache tags the layer ships bytecode for (its bundles' and bootstrap pycs')."""
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
    return {n.rsplit(".", 2)[-2] for n in names if n.endswith((".pyc", ".bundle"))}


@functools.cache
def build_layer() -> Any:
    """tools/build_layer.py as a module (its compile step's shared pieces)."""
    spec = importlib.util.spec_from_file_location("build_layer", REPO / "tools" / "build_layer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_modules_are_compiled_without_their_functions_annotations_only():
    namespace: dict = {}
    exec(build_layer().WITHOUT_ANNOTATIONS, namespace)
    source = textwrap.dedent(
        """
        from __future__ import annotations
        LIMIT: int = 3

        class Box:
            size: int = 2

            def grow(self, by: int = 1, *more: int, to: str = "x", **kw: float) -> Box:
                local: list[int] = [by, *more]
                return (self.size + sum(local), to, kw)

        async def wait(seconds: float) -> None:
            return None

        def plain(a, b=2):
            return lambda c: a + b + c
        """
    )
    stripped: dict = {}
    exec(compile(namespace["without_annotations"](source), "<m>", "exec"), stripped)
    original: dict = {}
    exec(compile(source, "<m>", "exec"), original)
    box, original_box = stripped["Box"], original["Box"]
    assert original_box.grow.__annotations__  # there was something to strip
    for function in (box.grow, stripped["wait"], stripped["plain"]):
        assert function.__annotations__ == {}
    assert box.__annotations__ == original_box.__annotations__ == {"size": "int"}
    assert stripped["__annotations__"] == original["__annotations__"] == {"LIMIT": "int"}
    assert box().grow(1, 2, to="y", z=1.0) == original_box().grow(1, 2, to="y", z=1.0)
    assert box.grow.__defaults__ == original_box.grow.__defaults__
    assert box.grow.__kwdefaults__ == original_box.grow.__kwdefaults__
    assert stripped["plain"](1)(3) == 6


def read_index(data: bytes) -> tuple[dict, int]:
    """A bundle's index, ``{module name: (path in the package, is a package, offset, length,
    the package's modules it imports at its top)}``, and where its groups begin: after the
    4-byte magic number, the index's length and the index (str, bool and int marshal alike in
    every Python 3). Also run by each interpreter in CHECK_BYTECODE."""
    end = 8 + int.from_bytes(data[4:8], "little")
    return marshal.loads(data[8:end]), end


def read_bundle(data: bytes) -> dict[str, tuple[str, bool, object]]:
    """A bundle's modules, {name: (path in the package, is a package, code object)}, read as
    the bootstrap's ``Bundle`` reads them: the index (:func:`read_index`), then at each offset
    the marshalled ``{module name: code}`` of one folder's modules. Also run by each
    interpreter in CHECK_BYTECODE."""
    index, end = read_index(data)
    folders: dict = {}
    modules = {}
    for name, (rel, is_package, offset, length, _) in index.items():
        if offset not in folders:
            folders[offset] = marshal.loads(data[end + offset : end + offset + length])
        modules[name] = (rel, is_package, folders[offset][name])
    return modules


@pytest.fixture(scope="module")
def build_output(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("listed") / "layer.zip"
    return out, build("--zip", str(out)).stdout


def test_build_lists_the_versions_it_compiled_for(build_output):
    zip_path, stdout = build_output
    listed = dict(_LISTED.findall(stdout))
    assert sorted(listed) == list(SUPPORTED), stdout  # one line per supported version
    compiled = {tag for tag in listed.values() if tag != "none"}
    assert compiled == bytecode_tags(zip_path)
    for version, tag in listed.items():
        assert tag in ("none", f"cpython-{version.replace('.', '')}"), (version, tag)


def test_every_module_has_bytecode_for_each_version_listed(layer_zip):  # noqa: F811
    with zipfile.ZipFile(layer_zip) as archive:
        names = set(archive.namelist())
        tags = bytecode_tags(layer_zip)
        assert tags, "the layer ships no bytecode"
        modules = sorted(
            n[len(PKG) + 1 :] for n in names if n.endswith(".py") and n != BOOTSTRAP
        )
        for tag in tags:
            assert f"{PKG}/_bootstrap/__pycache__/sitecustomize.{tag}.pyc" in names, tag
            bundle = read_bundle(archive.read(f"{PKG}/__pycache__/bytecode.{tag}.bundle"))
            assert sorted(rel for rel, _, _ in bundle.values()) == modules, tag
            for name, (rel, is_package, _) in bundle.items():
                dotted = rel[: -len(".py")].replace("/", ".")
                if is_package:
                    dotted = dotted[: -len(".__init__")] if "." in dotted else ""
                assert name == ".".join(filter(None, ["timeout_guard", dotted])), (name, rel)
                assert is_package == rel.endswith("__init__.py"), rel


def test_the_bundle_lists_what_each_module_imports_at_its_top(layer_zip):  # noqa: F811
    # Bundle loads these before the module runs; the build reads them from the sources' top
    # level: never the module's own package, and for a start-up module never a module loaded
    # only when the guard fires (those load together, when it fires).
    with zipfile.ZipFile(layer_zip) as archive:
        for tag in bytecode_tags(layer_zip):
            data = archive.read(f"{PKG}/__pycache__/bytecode.{tag}.bundle")
            index = read_index(data)[0]
            first = {name: entry[4] for name, entry in index.items()}
            assert set(first["timeout_guard.guard"]) == {
                f"timeout_guard.{m}"
                for m in ("invocation", "_startup", "alarm", "margin", "modes", "settings")
            }, tag
            assert "timeout_guard.guard" in first["timeout_guard.bootstrap"], tag
            # The SDK patch's modules load with the package, without importlib's machinery.
            sdk_first = ("invocation", "alarm", "settings", "sdk.accounting", "sdk.attempts")
            sdk_first += ("sdk.clients", "sdk.wrapping")
            assert first["timeout_guard.sdk"] == tuple(f"timeout_guard.{m}" for m in sdk_first), tag
            assert first["timeout_guard.post_import"] == ("timeout_guard.alarm",), tag
            assert set(first["timeout_guard.firing"]) == {
                f"timeout_guard.{m}" for m in ("guard", "modes", "records", "stuck")
            }, tag
            for name, loads in first.items():
                allowed = set(index) - (set() if name in LOADED_WHEN_FIRED else LOADED_WHEN_FIRED)
                assert set(loads) <= allowed, (tag, name, loads)
                assert not any(name.startswith(m + ".") for m in loads), (tag, name, loads)
                assert name not in loads, (tag, name, loads)


def test_a_version_not_asked_for_gets_no_bytecode(tmp_path):
    out = tmp_path / "one.zip"
    stdout = build("--zip", str(out), "--python", "3.12").stdout
    listed = dict(_LISTED.findall(stdout))
    assert bytecode_tags(out) <= {"cpython-312"}
    assert all(listed[v] == "none" for v in SUPPORTED if v != "3.12"), stdout
    sources_only = tmp_path / "none.zip"
    build("--zip", str(sources_only), "--python", "none")
    assert bytecode_tags(sources_only) == set()


def test_unknown_version_is_refused(tmp_path):
    result = build("--zip", str(tmp_path / "x.zip"), "--python", "3.9", check=False)
    assert result.returncode == 2 and "3.9: supported are 3.10" in result.stderr
    assert not (tmp_path / "x.zip").exists()


# Run by each interpreter on the unpacked layer: the bootstrap's pyc of its own cache tag must be
# an unchecked-hash pyc of the bootstrap's source, and each module of its bundle the compilation
# of the shipped source, by this interpreter; then the bootstrap starts the layer as `site` does
# and the package imports with no .py of the layer opened (the bytecode is what runs).
CHECK_BYTECODE = (
    build_layer().WITHOUT_ANNOTATIONS
    + inspect.getsource(read_index)
    + inspect.getsource(read_bundle)
) + textwrap.dedent(
    """
    import importlib.util, json, marshal, os, sys

    root = sys.argv[1]
    package = os.path.join(root, "timeout_guard")
    boot = os.path.join(package, "_bootstrap", "sitecustomize.py")
    checked = []

    def compiled(path, strip=True):  # the package's modules lose their functions' annotations
        with open(path, "rb") as f:
            source = f.read()
        tree = without_annotations(source) if strip else source
        return source, compile(tree, path, "exec", dont_inherit=True, optimize=2)

    pyc_path = importlib.util.cache_from_source(boot)
    if os.path.exists(pyc_path):
        with open(pyc_path, "rb") as f:
            data = f.read()
        source, expected = compiled(boot, strip=False)
        assert data[:4] == importlib.util.MAGIC_NUMBER
        assert int.from_bytes(data[4:8], "little") == 0b01  # hash-based, unchecked
        assert data[8:16] == importlib.util.source_hash(source)
        assert marshal.loads(data[16:]) == expected
        checked.append(os.path.relpath(boot, root))
    bundle_path = os.path.join(
        package, "__pycache__", "bytecode." + sys.implementation.cache_tag + ".bundle"
    )
    index = {}
    if os.path.exists(bundle_path):
        with open(bundle_path, "rb") as f:
            data = f.read()
        assert data[:4] == importlib.util.MAGIC_NUMBER
        for name, (rel, is_package, code) in sorted(read_bundle(data).items()):
            assert code == compiled(os.path.join(package, rel))[1], rel
            checked.append(os.path.join("timeout_guard", rel))
        index = read_index(data)[0]

    opened = []
    sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
    os.environ["TIMEOUT_GUARD_BOOTSTRAP_DIR"] = os.path.dirname(boot)
    spec = importlib.util.spec_from_file_location("sitecustomize", boot)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))  # starts the layer
    import timeout_guard, timeout_guard._startup, timeout_guard.bootstrap, timeout_guard.sdk
    import timeout_guard.sdk.errors  # imports botocore: the test venv has it
    from timeout_guard.sdk import accounting, attempts, clients, merge, read_timeouts, wrapping
    layer_files = [p for p in opened if package in p]
    layer_modules = {n: m for n, m in sys.modules.items() if n.partition(".")[0] == "timeout_guard"}
    unlike_importlib = []  # modules whose attributes are not those importlib would have set
    for name, module in sorted(layer_modules.items()):
        expected = vars(importlib.util.module_from_spec(module.__spec__))
        got = {key: vars(module)[key] for key in list(vars(module))[: len(expected)]}
        if list(got) != list(expected) or any(
            got[key] is not value and got[key] != value for key, value in expected.items()
        ):
            unlike_importlib.append(name)
    print(json.dumps({
        "tag": sys.implementation.cache_tag, "checked": checked,
        "sources_opened": sorted(p for p in layer_files if p.endswith(".py")),
        "bundles_opened": len([p for p in layer_files if p.endswith(".bundle")]),
        "groups_loaded": len({index[n][2] for n in sys.modules if n in index}),
        "unlike_importlib": unlike_importlib,
        "initializing": sorted(
            n for n, m in layer_modules.items()
            if getattr(m.__spec__, "_initializing", False) is not False
        ),
        "loaders": sorted({type(m.__loader__).__name__ for m in layer_modules.values()}),
    }))
    """
)


def check_bytecode(python: str, python_dir: Path) -> dict:
    """CHECK_BYTECODE's report, run by ``python`` on an unpacked layer's ``python`` folder."""
    botocore_dir = Path(__import__("botocore").__file__).parents[1]
    # -X no_debug_ranges: the build compiles that way, so compile() here gives the same code.
    # PYTHONPATH (so not -I): the sdk modules import botocore, from the test venv.
    result = subprocess.run(
        [python, "-s", "-X", "no_debug_ranges", "-c", CHECK_BYTECODE, str(python_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(botocore_dir), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    if result.returncode != 0 and "No module named 'botocore" in result.stderr:
        pytest.skip(f"{python} cannot import the test venv's botocore")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def assert_runs_from_its_bundle(report: dict, sources: list[str]) -> None:
    """Every shipped module checked against its source, and the package imported from the
    one bundle with no ``.py`` of the layer opened: the bytecode is what runs. The bundle is
    opened once for its index, then once for each group of modules loaded (never twice)."""
    assert sorted(report["checked"]) == sources
    assert report["sources_opened"] == []
    assert report["groups_loaded"] >= 2  # the start-up modules' and the SDK patch's
    assert report["bundles_opened"] == 1 + report["groups_loaded"]
    assert report["loaders"] == ["Bundle"]
    # each module as importlib's module_from_spec makes it, and no longer marked initializing
    assert report["unlike_importlib"] == []
    assert report["initializing"] == []


@pytest.mark.parametrize("python", _interpreters())
def test_every_bytecode_matches_its_source_and_is_what_runs(layer_zip, opt, python):  # noqa: F811
    report = check_bytecode(python, opt / "python")
    with zipfile.ZipFile(layer_zip) as archive:
        sources = sorted(n[len("python/") :] for n in archive.namelist() if n.endswith(".py"))
    if report["tag"] in bytecode_tags(layer_zip):
        assert_runs_from_its_bundle(report, sources)
    else:  # no bytecode for this interpreter: simply absent, compiled from source
        assert report["checked"] == []
        assert report["sources_opened"]
        assert report["loaders"] == ["SourceFileLoader"]


def test_reproducible_whatever_the_hash_seed(tmp_path):
    # python3.10 marshals set constants in hash order (3.11+ sorts them), and str hashes are
    # salted per process: the build must fix the seed for its bytecode to be reproducible.
    from locallambda import find_interpreter

    if find_interpreter("3.10") is None:
        pytest.skip("no python3.10 here (the only version whose bytecode depends on the seed)")
    root = copy_sources(tmp_path / "src", mtime=1_000_000_000, file_mode=0o644, dir_mode=0o755)
    words = ", ".join(f'"word{i}"' for i in range(24))
    (root / "layer" / "timeout_guard" / "sets.py").write_text(
        f"def known(word):\n    return word in {{{words}}}\n"
    )
    digests = set()
    for attempt in range(3):
        out = tmp_path / f"{attempt}.zip"
        build("--zip", str(out), "--python", "3.10", "3.12", root=root)
        digests.add(sha256(out))
    assert len(digests) == 1, digests


PROBE = """
import sys
import traceback

import boto3  # noqa: F401  (the layer's SDK patch loads now, at init)


def handler(event, context):
    mods = {name: m for name, m in sys.modules.items()
            if name == "timeout_guard" or name.startswith("timeout_guard.")}
    found = {}
    for name, module in sorted(mods.items()):
        codes = [v.__code__ for v in vars(module).values()
                 if getattr(v, "__module__", None) == name and hasattr(v, "__code__")]
        columns = None  # python3.10 code has no column positions at all
        if codes and hasattr(codes[0], "co_positions"):
            columns = sorted({str(p[2]) for c in codes for p in c.co_positions()})
        found[name] = {
            "loader": type(module.__loader__).__name__,
            "file": module.__file__,
            "code_files": sorted({c.co_filename for c in codes}),
            "columns": columns,
        }
    from timeout_guard import post_import

    seen = []
    post_import.when_imported("json", lambda m: seen.extend(traceback.format_stack()))
    return {"modules": found, "stack": seen}
"""


def test_a_layer_built_for_other_versions_runs_their_bytecode(tmp_path):
    """`BYTECODE=... sam build` (and `make layer-for BYTECODE=...`, the same build into a zip):
    bytecode for the versions asked for only, and each of them runs the layer from it. The
    default build's two versions are checked above; this covers the others found here."""
    from locallambda import find_interpreter

    found = {v: find_interpreter(v) for v in SUPPORTED if v not in BYTECODE_PYTHONS}
    versions = [v for v, interpreter in found.items() if interpreter]
    if not versions:
        pytest.skip("no interpreter here besides the default build's versions")
    tree = tmp_path / "artifacts"
    tree.mkdir()
    make("build-TimeoutGuardLayer", f"ARTIFACTS_DIR={tree}", f"BYTECODE={' '.join(versions)}",
         timeout=180)
    bundles = sorted(p.name for p in (tree / PKG / "__pycache__").glob("*.bundle"))
    tags = [f"cpython-{v.replace('.', '')}" for v in versions]
    assert bundles == sorted(f"bytecode.{tag}.bundle" for tag in tags)
    sources = sorted(
        p.relative_to(tree / "python").as_posix() for p in (tree / PKG).rglob("*.py")
    )
    for version, tag in zip(versions, tags, strict=True):
        report = check_bytecode(str(found[version]), tree / "python")
        assert report["tag"] == tag
        assert_runs_from_its_bundle(report, sources)
    dry_run = make("-n", "layer-for", f"BYTECODE={' '.join(versions)}").stdout
    names = "-".join(f"py{v}" for v in versions)
    assert f"--zip dist/timeout-guard-layer-{names}.zip --python {' '.join(versions)}" in dry_run


@pytest.mark.parametrize("version", mode_params())
def test_runtime_uses_the_bytecode_and_names_the_real_files(
    tmp_path, make_lambda, wrapper, layer_opt, version
):
    task = write_function(tmp_path / "probe", {"app.py": PROBE})
    fn = make_lambda(task, "app.handler", python=version, opt_dir=layer_opt, exec_wrapper=wrapper)
    result = fn.invoke({})
    assert result.status == "success", result.logs
    package = layer_opt / "python" / "timeout_guard"
    shipped = f"cpython-{version.replace('.', '')}" in bytecode_tags(LAYER_ZIP)
    if version in BYTECODE_PYTHONS:  # `make layer` compiled for it: the runtime modes' versions
        assert shipped, f"{LAYER_ZIP} has no bytecode for python{version}"
    modules = result.payload["modules"]
    assert {"timeout_guard.guard", "timeout_guard.bootstrap", "timeout_guard.alarm"} <= set(
        modules
    )
    assert not LOADED_WHEN_FIRED & set(modules), sorted(modules)  # the guard has not fired
    # The SDK patch came with botocore, from the same bundle; the deadline's own errors did not
    # (sdk.attempts imports them when an attempt is first cut or not sent).
    assert "timeout_guard.sdk.attempts" in modules, sorted(modules)
    assert "timeout_guard.sdk.errors" not in modules, sorted(modules)
    for name, info in modules.items():
        real = str(package / (name.replace(".", "/")[len("timeout_guard/") :] or "__init__"))
        assert info["file"] in (real + ".py", real + "/__init__.py"), (name, info["file"])
        assert info["code_files"] in ([], [info["file"]]), (name, info["code_files"])
        assert info["loader"] == ("Bundle" if shipped else "SourceFileLoader"), (name, info)
        if shipped and info["columns"]:
            # loaded from the shipped bundle (compiled without column ranges), not from source
            assert info["columns"] == ["None"], name
    stack = "".join(result.payload["stack"])
    assert f'File "{package / "post_import.py"}", line' in stack, stack
    assert "_run(name, hook, module)" in stack  # the source line, read from the real file


@pytest.mark.parametrize("version", mode_params())
def test_error_record_stack_names_the_function_not_the_layer(
    tmp_path, make_lambda, wrapper, layer_opt, version
):
    # The guard finds the handler's entry frame and skips its own frames by comparing code
    # file names with its modules' __file__: wrong names would show awslambdaric's and the
    # layer's frames here.
    fn = make_lambda(
        STUCK,
        "app.sleeping",
        python=version,
        opt_dir=layer_opt,
        exec_wrapper=wrapper,
        env={"TIMEOUT_GUARD_MARGIN_MS": "500", "AWS_LAMBDA_LOG_FORMAT": "JSON"},
        timeout=2.0,
    )
    result = fn.invoke({"marker": str(tmp_path / "m")})
    assert result.error_type == "LambdaTimeoutError", result.logs
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    ours = [r for r in records if r.get("logger") == "timeout_guard"]
    assert len(ours) == 1, result.stdout
    files = [line for line in ours[0]["stack"] if line.lstrip().startswith("File ")]
    assert files and all(f'File "{STUCK / "app.py"}"' in line for line in files), ours[0]["stack"]
    # The error's own traceback passes through the guard's frames: real files, real lines.
    package = layer_opt / "python" / "timeout_guard"
    layer_frames = [e for e in result.stack_trace if "timeout_guard" in e.split("\n")[0]]
    assert layer_frames, result.stack_trace
    for entry in layer_frames:
        where, _, line = entry.strip().partition("\n")
        assert where.startswith(f'File "{package}/'), entry
        assert line.strip(), entry  # the source line, read from that file
    assert any(e.strip().endswith("raise error") for e in layer_frames), layer_frames


# Run in a fresh interpreter: a Bundle (the bootstrap's class) opened on a small package of its
# own, whose bundle file is written here in the build's format. Loading the modules a module
# imports at its top must keep importlib's rules: in sys.modules while they run, marked
# initializing then, bound on their package, removed if one fails (the failure reaching the
# import statement), and left to the import statement when their source is gone.
LOAD_FIRST = textwrap.dedent(
    """
    import importlib.util, json, marshal, os, sys

    boot, root = sys.argv[1], sys.argv[2]
    spec = importlib.util.spec_from_file_location("layer_bootstrap", boot)
    bootstrap = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bootstrap)  # starts the layer too: harmless here
    package = os.path.join(root, "pkg")
    sources = {
        "pkg": "ORDER = []\\n",
        "pkg.a": "from . import b, c\\nfrom pkg import ORDER\\nORDER.append('a')\\n",
        "pkg.b": "import sys\\nfrom pkg import ORDER\\nORDER.append('b')\\n"
                 "RUNNING = getattr(sys.modules[__name__].__spec__, '_initializing', None)\\n",
        "pkg.c": "from .b import ORDER\\nORDER.append('c')\\n",
        "pkg.fails": "from . import broken\\n",
        "pkg.broken": "raise RuntimeError('broken at its top')\\n",
        "pkg.lost": "from . import gone\\n",
        "pkg.gone": "",
    }
    first = {"pkg.a": ("pkg.b", "pkg.c"), "pkg.c": ("pkg.b",), "pkg.fails": ("pkg.broken",),
             "pkg.lost": ("pkg.gone",)}
    os.makedirs(package)
    index, blobs, offset = {}, [], 0
    for name, source in sources.items():
        rel = "__init__.py" if name == "pkg" else name.split(".")[1] + ".py"
        path = os.path.join(package, rel)
        if name != "pkg.gone":  # its source is gone: the bundle must not serve it
            with open(path, "w") as f:
                f.write(source)
        blob = marshal.dumps({name: compile(source, path, "exec")})
        index[name] = (rel, name == "pkg", offset, len(blob), first.get(name, ()))
        blobs.append(blob)
        offset += len(blob)
    index_blob = marshal.dumps(index)
    os.makedirs(os.path.join(package, "__pycache__"))
    tag = sys.implementation.cache_tag
    with open(os.path.join(package, "__pycache__", f"bytecode.{tag}.bundle"), "wb") as f:
        f.write(importlib.util.MAGIC_NUMBER + len(index_blob).to_bytes(4, "little"))
        f.write(index_blob + b"".join(blobs))
    bundle = bootstrap.Bundle.open(package)
    bundle.serve(root)
    sys.path.insert(0, root)

    asked = []  # what importlib's finders were asked for, through sys.meta_path
    class Spy:
        def find_spec(self, name, path=None, target=None):
            if name.startswith("pkg."):
                asked.append(name)
    sys.meta_path.insert(0, Spy())

    import pkg.a
    report = {"order": pkg.ORDER, "asked": asked[:], "bound": pkg.b is sys.modules["pkg.b"],
              "initializing": [pkg.b.RUNNING, getattr(pkg.b.__spec__, "_initializing", None)]}
    try:
        import pkg.fails
    except RuntimeError as error:
        report["fails"] = str(error)
    report["left"] = sorted(n for n in ("pkg.fails", "pkg.broken") if n in sys.modules)
    try:
        import pkg.lost
    except ImportError as error:
        report["lost"] = str(error)
    report["loaders"] = sorted({type(sys.modules[n].__loader__).__name__
                                for n in ("pkg.a", "pkg.b", "pkg.c")})
    print(json.dumps(report))
    """
)


def test_bundle_loads_first_what_a_module_imports_at_its_top(tmp_path):
    boot = Path(__file__).resolve().parents[2] / "layer/timeout_guard/_bootstrap/sitecustomize.py"
    result = subprocess.run(
        [sys.executable, "-s", "-c", LOAD_FIRST, str(boot), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["order"] == ["b", "c", "a"]  # each module's own imports ran before it
    # importlib was asked for pkg.a only: b and c came from the bundle before a ran.
    assert report["asked"] == ["pkg.a"], report
    assert report["bound"] is True
    # marked as importlib marks a module it runs: initializing while it runs, not after
    assert report["initializing"] == [True, False]
    assert report["fails"] == "broken at its top"  # the failure reaches the import statement
    assert report["left"] == []  # and neither module stays half-loaded in sys.modules
    # the import statement's own error, as without the bundle
    assert report["lost"].startswith("cannot import name 'gone' from 'pkg'"), report["lost"]
    assert report["loaders"] == ["Bundle"]
