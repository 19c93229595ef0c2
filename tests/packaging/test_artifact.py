"""The layer artifact: reproducible, small, laid out as Lambda mounts it, the same from `sam build`.

Each build here runs tools/build_layer.py on the current sources into a temporary path (never
dist/). The layer has no third-party dependency: the build needs the standard library only.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "tools" / "build_layer.py"
TOOLS_PYTHON = REPO / ".venv-tools" / "bin" / "python"
BUDGET = 150 * 1024
WRAPPER = "timeout-guard"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def build(*args: str, root: Path = REPO, umask: int | None = None, check: bool = True):
    """Run build_layer.py (the copy under `root`)."""

    def set_umask():
        if umask is not None:
            os.umask(umask)

    result = subprocess.run(
        [sys.executable, str(root / "tools" / "build_layer.py"), *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=set_umask,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def make(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the repository's Makefile (``make -s``: its recipes' output only) and check it
    succeeded."""
    result = subprocess.run(
        ["make", "-s", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_sources(dest: Path, mtime: float, file_mode: int, dir_mode: int) -> Path:
    """What a fresh checkout holds for the build, with other file times and permissions."""
    (dest / "tools").mkdir(parents=True)
    shutil.copyfile(BUILD, dest / "tools" / "build_layer.py")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "layer", dest / "layer", ignore=ignore)
    shutil.copytree(REPO / "wrapper", dest / "wrapper", ignore=ignore)
    for path in sorted(dest.rglob("*"), reverse=True):
        os.chmod(path, dir_mode if path.is_dir() else file_mode)
        os.utime(path, (mtime, mtime))
    return dest


@pytest.fixture(scope="module")
def layer_zip(tmp_path_factory) -> Path:
    """The zip of the current sources, built once for the module."""
    out = tmp_path_factory.mktemp("layer") / "timeout-guard-layer.zip"
    build("--zip", str(out))
    return out


@pytest.fixture(scope="module")
def opt(layer_zip, tmp_path_factory) -> Path:
    """The zip unpacked as Lambda unpacks a layer into /opt."""
    target = tmp_path_factory.mktemp("opt")
    with zipfile.ZipFile(layer_zip) as archive:
        archive.extractall(target)
    return target


def zip_entries(path: Path) -> dict[str, tuple[bytes, int]]:
    with zipfile.ZipFile(path) as archive:
        return {
            info.filename: (archive.read(info), (info.external_attr >> 16) & 0o7777)
            for info in archive.infolist()
            if not info.is_dir()
        }


def test_reproducible_whatever_file_times_permissions_and_umask(layer_zip, tmp_path):
    first = copy_sources(tmp_path / "a", mtime=1_000_000_000, file_mode=0o644, dir_mode=0o755)
    second = copy_sources(tmp_path / "b", mtime=1_900_000_000, file_mode=0o600, dir_mode=0o700)
    os.chmod(second / "wrapper" / WRAPPER, 0o700)
    os.chmod(first / "wrapper" / WRAPPER, 0o644)  # the zip's mode does not follow the checkout
    build("--zip", str(tmp_path / "a.zip"), root=first, umask=0o022)
    build("--zip", str(tmp_path / "b.zip"), root=second, umask=0o077)
    digests = {sha256(p) for p in (layer_zip, tmp_path / "a.zip", tmp_path / "b.zip")}
    assert len(digests) == 1, digests


def test_build_prints_sha256_and_size(tmp_path):
    out = tmp_path / "layer.zip"
    result = build("--zip", str(out))
    assert f"sha256 {sha256(out)}" in result.stdout
    assert f"{out.stat().st_size} bytes" in result.stdout


def test_layout_root_and_python_top_level(layer_zip):
    with zipfile.ZipFile(layer_zip) as archive:
        names = archive.namelist()
    assert names == sorted(names)
    assert {n.split("/", 1)[0] + ("/" if "/" in n else "") for n in names} == {
        WRAPPER,
        "python/",
    }
    under_python = {n.split("/")[1] for n in names if n.startswith("python/") and n != "python/"}
    assert under_python == {"timeout_guard"}
    assert "python/timeout_guard/__init__.py" in names
    assert not [n for n in names if "_vendor" in n]  # nothing vendored any more


BUNDLE = re.compile(r"^python/timeout_guard/__pycache__/bytecode\.cpython-3\d+\.bundle$")
BOOTSTRAP_PYC = re.compile(
    r"^python/timeout_guard/_bootstrap/__pycache__/sitecustomize\.cpython-3\d+\.pyc$"
)


def test_no_native_code_caches_or_stray_bytecode(layer_zip):
    # Bytecode only where the layer looks for it: the bootstrap's pyc where `site` finds it, the
    # package's bundles where the bootstrap does (tests/packaging/test_bytecode.py checks each
    # against the sources); nothing native, no tool caches.
    with zipfile.ZipFile(layer_zip) as archive:
        names = set(archive.namelist())
    native_or_hidden = [n for n in names if n.endswith((".pyo", ".so", ".c", ".pyi")) or "/." in n]
    cached = [n for n in names if "__pycache__" in n and not n.endswith("/__pycache__/")]
    bad = native_or_hidden + [n for n in cached if not (BUNDLE.match(n) or BOOTSTRAP_PYC.match(n))]
    assert bad == []


def test_modes_dates_and_no_varying_attributes(layer_zip):
    with zipfile.ZipFile(layer_zip) as archive:
        assert archive.comment == b""
        for info in archive.infolist():
            mode = info.external_attr >> 16
            assert info.date_time == FIXED_DATE, info.filename
            assert info.create_system == 3, info.filename
            assert info.extra == b"", info.filename
            if info.is_dir():
                assert mode == stat.S_IFDIR | 0o755, info.filename
                assert info.compress_type == zipfile.ZIP_STORED
            else:
                expected = 0o755 if info.filename == WRAPPER else 0o644
                assert mode == stat.S_IFREG | expected, (info.filename, oct(mode))
                assert info.compress_type == zipfile.ZIP_DEFLATED


def test_size_within_budget(layer_zip):
    assert layer_zip.stat().st_size <= BUDGET


def test_package_sources_shipped_as_they_are(layer_zip):
    entries = zip_entries(layer_zip)
    assert entries[WRAPPER][0] == (REPO / "wrapper" / WRAPPER).read_bytes()
    source = REPO / "layer" / "timeout_guard"
    for path in source.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        rel = "python/timeout_guard/" + path.relative_to(source).as_posix()
        assert entries[rel][0] == path.read_bytes(), rel


IMPORT_CHECK = textwrap.dedent(
    """
    import sys

    before = set(sys.modules)  # the interpreter's own start-up (site, encodings, ...)
    sys.path.insert(0, sys.argv[1])
    import timeout_guard
    import timeout_guard._startup
    import timeout_guard.bootstrap
    import timeout_guard.guard

    assert timeout_guard.__file__.startswith(sys.argv[1]), timeout_guard.__file__
    allowed = set(sys.stdlib_module_names) | {"timeout_guard", "__main__"}
    added = sorted({m.split(".")[0] for m in set(sys.modules) - before} - allowed)
    assert not added, f"the layer imported non-stdlib modules: {added}"
    present = sorted({"wrapt", "botocore", "boto3", "aiobotocore"} & set(sys.modules))
    assert not present, present
    # The SDK patch loads once the function has imported botocore.session (its post-import
    # hook), and then imports nothing botocore did not.
    try:
        import botocore.session
    except ImportError:
        print("ok", sys.version_info[:2], "(no botocore: the SDK patch not imported)")
    else:
        with_botocore = set(sys.modules)
        import timeout_guard.sdk

        added = sorted({m.split(".")[0] for m in set(sys.modules) - with_botocore} - allowed)
        assert not added, f"the SDK patch imported non-stdlib modules: {added}"
        print("ok", sys.version_info[:2])
    """
)


def _interpreters() -> list:
    found = [pytest.param(sys.executable, id="test-python")]
    try:
        from locallambda import find_interpreter
    except ImportError:
        return found
    for version in ("3.10", "3.11", "3.12", "3.13", "3.14"):
        interpreter = find_interpreter(version)
        if interpreter:
            found.append(pytest.param(str(interpreter), id=f"python{version}"))
    return found


@pytest.mark.parametrize("python", _interpreters())
def test_unzipped_layer_imports_only_the_standard_library(opt, python):
    # Dependency-light: importing the package, its start-up and its guard loads nothing but the
    # standard library (no wrapt, no botocore); its SDK patching, nothing botocore does not.
    # -I: no PYTHON* variables, no user site, no script folder. The test venv has botocore
    # installed (and wrapt, through moto's aws-xray-sdk): wrapt must stay unimported.
    result = subprocess.run(
        [python, "-I", "-c", IMPORT_CHECK, str(opt / "python")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=opt,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok")


def test_sam_makefile_target_builds_the_same_tree(layer_zip, tmp_path):
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    make("build-TimeoutGuardLayer", f"ARTIFACTS_DIR={artifacts}")
    tree = {
        path.relative_to(artifacts).as_posix(): (
            path.read_bytes(),
            stat.S_IMODE(path.stat().st_mode),
        )
        for path in artifacts.rglob("*")
        if path.is_file()
    }
    assert tree == zip_entries(layer_zip)
    for path in artifacts.rglob("*"):
        if path.is_dir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o755, path


def test_missing_wrapper_fails_clearly(tmp_path):
    root = copy_sources(tmp_path / "src", mtime=1_000_000_000, file_mode=0o644, dir_mode=0o755)
    (root / "wrapper" / WRAPPER).unlink()
    result = build("--zip", str(tmp_path / "x.zip"), root=root, check=False)
    assert result.returncode == 1
    assert "wrapper/timeout-guard is missing" in result.stderr
    assert not (tmp_path / "x.zip").exists()


def test_over_budget_fails_and_writes_nothing(tmp_path):
    root = copy_sources(tmp_path / "src", mtime=1_000_000_000, file_mode=0o644, dir_mode=0o755)
    (root / "layer" / "timeout_guard" / "ballast.bin").write_bytes(os.urandom(BUDGET))
    result = build("--zip", str(tmp_path / "x.zip"), root=root, check=False)
    assert result.returncode == 1
    assert "budget" in result.stderr
    assert not (tmp_path / "x.zip").exists()


needs_tools = pytest.mark.skipif(
    not TOOLS_PYTHON.exists(),
    reason="template checks need .venv-tools (aws-sam-cli, cfn-lint): run `make lint` once",
)


@pytest.mark.slow
@needs_tools
def test_template_checks_pass(layer_zip):
    result = subprocess.run(
        [str(TOOLS_PYTHON), str(REPO / "tools" / "check_template.py"), "--zip", str(layer_zip)],
        cwd=REPO,
        env=dict(os.environ, SAM_CLI_TELEMETRY="0"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sam build tree ==" in result.stdout


@pytest.mark.slow
@needs_tools
def test_template_checks_catch_a_bad_runtime_name(tmp_path):
    bad = tmp_path / "template.yaml"
    bad.write_text((REPO / "template.yaml").read_text().replace("- python3.14", "- python3.99"))
    result = subprocess.run(
        [str(TOOLS_PYTHON), str(REPO / "tools" / "check_template.py"), "--template", str(bad),
         "--skip-build"],
        cwd=REPO,
        env=dict(os.environ, SAM_CLI_TELEMETRY="0"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "python3.99" in result.stderr
