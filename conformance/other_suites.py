"""Other projects' own tests, plain and with the layer started by its exec wrapper.

botocore's tests (``run.py``) check the layer's patch against botocore itself. These check it
against the projects that meet the layer in a function's process, with their own assertions:

* ``otel-botocore``: opentelemetry-instrumentation-botocore's tests. OpenTelemetry wraps the same
  botocore clients the layer configures; its tests check spans, attributes and propagation
  through real botocore calls against moto. ``make test`` runs it.
* ``sentry-boto3``: sentry-sdk's boto3 integration tests (spans and breadcrumbs of botocore
  calls, the request path stubbed at the HTTP layer).
* ``awslambdaric``: awslambdaric's unit tests, which call the handler its ``_get_handler``
  returns, the function the layer wraps. They are not on PyPI (the sdist carries none), so they
  run by hand from a git checkout of github.com/aws/aws-lambda-python-runtime-interface-client,
  one pair ``INSTALLED:TAG`` at a time: the tests of git tag TAG against awslambdaric INSTALLED.

    .venv/bin/python conformance/other_suites.py                     # otel-botocore
    .venv/bin/python conformance/other_suites.py --suite all         # and sentry-boto3
    .venv/bin/python conformance/other_suites.py --suite all --ric-checkout PATH  # and awslambdaric

The first two come from their sdists on PyPI (sha256 pinned below). Each suite runs twice at
once, in a pinned venv under ``.cache/conformance/``: plain, and through
``dist/timeout-guard-layer.zip``'s exec wrapper (unpacked read-only, as Lambda mounts ``/opt``)
exactly as Lambda starts the runtime, after checking that the wrapper really patches what the
suite exercises. Exit 1 when a test that passes plain does not pass with the layer.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from harness.provision import extract, find_python, pinned_sdist, pinned_venv
from harness.runner import DROP_PREFIXES
from locallambda.layers import LAYER_ZIP, make_writable, unpack_layer

HERE = Path(__file__).resolve().parent
PYTHON = "3.11"


@dataclass(frozen=True)
class Suite:
    name: str
    requirements: Path
    extra: tuple[str, ...]  # requirement specifiers beside the file (the project's version)
    proof: str  # Python that prints True only where the layer patched what the suite tests
    tests: tuple[str, ...] = ("tests",)  # pytest's arguments: paths in the source tree
    sdist: tuple[str, str, str] | None = None  # (project, version, sha256) on PyPI


BOTOCORE_PATCHED = (
    "import botocore.session as s; print(s.Session.__dict__.get('__timeout_guard_patched__'))"
)
HANDLER_WRAPPED = (
    "import awslambdaric.bootstrap as b; print(getattr(b._get_handler, '__timeout_guard__', 0))"
)

FROM_PYPI = {
    suite.name: suite
    for suite in (
        Suite(
            "otel-botocore",
            HERE / "requirements-otel-botocore-tests.txt",
            (),
            BOTOCORE_PATCHED,
            sdist=(
                "opentelemetry-instrumentation-botocore",
                "0.66b2",
                "744959d5f6bae940d3d41e5f2663fad733b50dedf742bc55da9bbbcfb9773903",
            ),
        ),
        Suite(
            "sentry-boto3",
            HERE / "requirements-sentry-boto3-tests.txt",
            (),
            BOTOCORE_PATCHED,
            # its pyproject's addopts need pytest-cov: not what is compared here
            tests=("-o", "addopts=", "tests/integrations/boto3"),
            sdist=(
                "sentry-sdk",
                "2.75.0",
                "c38ac2d4b2435c11da821e173bb9d9088c98f41ae92f559ce0e424170a8e1a29",
            ),
        ),
    )
}
IN_MAKE_TEST = "otel-botocore"
# awslambdaric installed : the tag whose tests run. 4.2.2 is what the layer is developed
# against; its tag is not in the public repository, so the nearest tests run on it.
RIC_PAIRS = ("4.2.2:4.0.1", "4.0.1:4.0.1", "3.1.1:3.1.1", "3.0.2:3.0.2", "2.2.1:2.2.1")


def awslambdaric(installed: str) -> Suite:
    return Suite(
        f"awslambdaric-{installed}",
        HERE / "requirements-awslambdaric-tests.txt",
        (f"awslambdaric=={installed}",),
        HANDLER_WRAPPED,
    )


def export_tests(checkout: Path, tag: str, dest: Path) -> None:
    """``tests/`` of ``tag``, file by file (a mirror may lack the large integration blobs)."""
    git = ["git", "-C", str(checkout)]
    names = subprocess.run(
        [*git, "ls-tree", "-r", "--name-only", tag, "tests"],
        capture_output=True,
        text=True,
        check=True,
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


def compare(suite: Suite, label: str, source: Path, opt: Path, python: str) -> list[str]:
    """Run the suite's tests in ``source`` plain and with the layer, side by side; print the
    counts and return the tests that pass only plain."""
    venv = pinned_venv(
        f"venv-{suite.name}-{Path(python).name}",
        python,
        suite.requirements,
        *suite.extra,
        label=suite.name,
    )
    py = str(venv / "bin/python")
    wrapper = str(opt / "timeout-guard")
    home = source / "home"  # no ~/.aws: the same empty profile in both runs
    home.mkdir()
    # A fixed hash seed: some parametrized test names come from iterating a set.
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROP_PREFIXES)}
    env.update(HOME=str(home), PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
    proof = subprocess.run(
        [wrapper, py, "-c", suite.proof], capture_output=True, text=True, env=env
    )
    if proof.stdout.strip() != "True":
        raise SystemExit(
            f"{label}: the layer did not patch what the suite tests "
            f"({proof.stdout.strip()!r} {proof.stderr.strip()[-300:]!r})"
        )
    runs = {}
    for arm, prefix in (("plain", []), ("layer", [wrapper])):
        command = [*prefix, py, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        command += [f"--junitxml={source / arm}.xml", *suite.tests]
        runs[arm] = subprocess.Popen(
            command, cwd=source, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    for arm, process in runs.items():
        if process.wait() not in (0, 1) or not (source / f"{arm}.xml").exists():
            raise SystemExit(f"{label}: the {arm} run ended with {process.returncode}, no results")
    plain, layer = (outcomes(source / f"{arm}.xml") for arm in ("plain", "layer"))
    passed = [t for t, o in plain.items() if o == "passed"]
    if not passed:
        raise SystemExit(f"{label}: no test passed plain, nothing to compare")
    lost = sorted(t for t in passed if layer.get(t) != "passed")
    print(
        f"{label}: {len(plain)} tests; plain {len(passed)} passed; with the layer "
        f"{sum(o == 'passed' for o in layer.values())} passed; {len(lost)} pass only plain"
    )
    for test in lost:
        print(f"  NEW with the layer: {test} ({layer.get(test, 'missing')})")
    return lost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--suite", action="append", choices=[*FROM_PYPI, "all"], help=f"default: {IN_MAKE_TEST}"
    )
    parser.add_argument("--ric-checkout", type=Path, help="awslambdaric's git repository")
    parser.add_argument("--ric-pair", action="append", help="INSTALLED:TAG (default: RIC_PAIRS)")
    parser.add_argument("--python", default=PYTHON, help="Python version of the venvs")
    parser.add_argument("--layer", type=Path, default=LAYER_ZIP, help="the layer zip")
    args = parser.parse_args(argv)
    names = args.suite or [IN_MAKE_TEST]
    suites = list(FROM_PYPI.values()) if "all" in names else [FROM_PYPI[n] for n in names]
    python = find_python(args.python)
    scratch = Path(tempfile.mkdtemp(prefix="other-suites-"))
    opt = unpack_layer(args.layer, scratch / "opt")  # read-only, as Lambda mounts /opt
    lost = []
    try:
        for suite in suites:
            assert suite.sdist is not None
            project, version, _ = suite.sdist
            source = extract(pinned_sdist(*suite.sdist), scratch / suite.name)
            lost += compare(suite, f"{project} {version}", source, opt, python)
        if args.ric_checkout is not None:
            for pair in args.ric_pair or RIC_PAIRS:
                installed, tag = pair.split(":")
                source = scratch / f"awslambdaric-{installed}-{tag}"
                export_tests(args.ric_checkout, tag, source)
                label = f"awslambdaric {installed}, tests of {tag}"
                lost += compare(awslambdaric(installed), label, source, opt, python)
    finally:
        make_writable(opt)
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
