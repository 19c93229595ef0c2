"""awslambdaric's own unit tests, plain and with the layer started by its exec wrapper.

The layer wraps what awslambdaric's ``_get_handler`` returns; awslambdaric's tests call that
function in ways our tests did not (a handler with no parameters, called with no arguments).
They are not published on PyPI (the sdist carries none), so this check needs a git checkout
of github.com/aws/aws-lambda-python-runtime-interface-client and is not part of ``make test``:

    .venv/bin/python conformance/runtime_client.py --checkout PATH
    .venv/bin/python conformance/runtime_client.py --checkout PATH --pair 4.2.2:4.0.1

Each pair ``INSTALLED:TESTS`` runs the tests of git tag TESTS against awslambdaric INSTALLED
from PyPI (a venv under ``.cache/conformance/``, with ``requirements-runtime-client-tests.txt``),
twice: plain, and through ``dist/timeout-guard-layer.zip``'s exec wrapper exactly as Lambda
starts the runtime. The patched run must have the handler loader wrapped (checked first).
Exit 1 when a test that passes plain does not pass with the layer.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from harness.provision import find_python, pinned_venv
from locallambda.layers import LAYER_ZIP, make_writable, unpack_layer

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-runtime-client-tests.txt"
# awslambdaric installed : the tag whose tests run. 4.2.2 is what the layer is developed
# against; its tag is not in the public repository, so the nearest tests run on it.
DEFAULT_PAIRS = ("4.2.2:4.0.1", "4.0.1:4.0.1", "3.1.1:3.1.1", "3.0.2:3.0.2", "2.2.1:2.2.1")
WRAPPED = (
    "import awslambdaric.bootstrap as b; print(getattr(b._get_handler, '__timeout_guard__', 0))"
)


def export_tests(checkout: Path, tag: str, dest: Path) -> None:
    """``tests/`` of ``tag``, file by file (a mirror may lack the large integration blobs)."""
    git = ["git", "-C", str(checkout)]
    names = subprocess.run(
        [*git, "ls-tree", "-r", "--name-only", tag, "tests"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    for name in names:
        if "/integration/" in name:
            continue  # Docker images and the emulator: not unit tests
        blob = subprocess.run([*git, "show", f"{tag}:{name}"], capture_output=True, check=True)
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_bytes(blob.stdout)


def outcomes(junit: Path) -> dict[str, str]:
    """Test id -> passed, failed, error or skipped, from pytest's JUnit XML."""
    result = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        kinds = {child.tag for child in case}
        outcome = next((k for k in ("error", "failure", "skipped") if k in kinds), "passed")
        test = f"{case.get('classname')}::{case.get('name')}"
        result[test] = "failed" if outcome == "failure" else outcome
    return result


def run_pair(pair: str, checkout: Path, opt: Path, python: str) -> list[str]:
    """Run one pair plain and with the layer; the tests that pass only plain."""
    ric, tag = pair.split(":")
    venv = pinned_venv(
        f"venv-runtime-client-{ric}-{Path(python).name}", python, REQUIREMENTS,
        f"awslambdaric=={ric}", label=f"awslambdaric {ric}",
    )
    work = Path(tempfile.mkdtemp(prefix=f"ric-{tag}-"))
    try:
        export_tests(checkout, tag, work)
        wrapper = str(opt / "timeout-guard")
        py = str(venv / "bin/python")
        active = subprocess.run([wrapper, py, "-c", WRAPPED], capture_output=True, text=True)
        if active.stdout.strip() != "True":
            raise SystemExit(f"awslambdaric {ric}: the layer did not wrap _get_handler "
                             f"({active.stdout.strip()!r} {active.stderr.strip()!r})")
        # A fixed hash seed: some parametrized test names come from iterating a set.
        env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
        results = {}
        for arm, prefix in (("plain", []), ("layer", [wrapper])):
            junit = work / f"{arm}.xml"
            subprocess.run(
                [*prefix, py, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                 f"--junitxml={junit}", "tests"],
                cwd=work, capture_output=True, check=False, env=env,
            )
            results[arm] = outcomes(junit)
        plain, layer = results["plain"], results["layer"]
        passed = [t for t, o in plain.items() if o == "passed"]
        lost = sorted(t for t in passed if layer.get(t) != "passed")
        print(f"awslambdaric {ric}, tests of {tag}: {len(plain)} tests; plain {len(passed)} "
              f"passed; with the layer {sum(o == 'passed' for o in layer.values())} passed; "
              f"{len(lost)} pass only plain")
        for test in lost:
            print(f"  NEW with the layer: {test} ({layer.get(test, 'missing')})")
        return lost
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, required=True, help="awslambdaric's git repo")
    parser.add_argument("--pair", action="append", help="INSTALLED:TAG (default: DEFAULT_PAIRS)")
    parser.add_argument("--python", default="3.11", help="Python version of the venvs")
    parser.add_argument("--layer", type=Path, default=LAYER_ZIP, help="the layer zip")
    args = parser.parse_args(argv)
    python = find_python(args.python)
    opt = Path(tempfile.mkdtemp(prefix="ric-opt-"))
    try:
        unpack_layer(args.layer, opt)  # read-only, as Lambda mounts /opt
        lost = [t for pair in args.pair or DEFAULT_PAIRS
                for t in run_pair(pair, args.checkout, opt, python)]
    finally:
        make_writable(opt)
        shutil.rmtree(opt, ignore_errors=True)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
