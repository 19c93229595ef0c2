"""Run botocore's own tests plain and with Timeout Guard's start-up active, and compare.

    python conformance/run.py                       # full suites, every botocore in targets.py
    python conformance/run.py --selection subset --botocore 1.44.5    # what `make test` runs

Exit status 0 when every test that passes plain passes patched, except the entries of
``expected-differences-<botocore>.txt``, and every entry still differs; 1 otherwise (new
differences, stale entries, or a run that could not be trusted: crashed, or not patched).
"""

from __future__ import annotations

import argparse
import fcntl
import sys
import time
from pathlib import Path

from harness import compare, provision, report, runner
from harness.targets import CACHE, FULL, LAYER_DIR, PINNED, TARGETS, Target, subset_paths

RUNS = ("plain", "patched")  # the same tests, without and with the layer


def selected_paths(selection: str, src: Path, only: list[str] | None) -> list[str]:
    """The selection's test paths that exist in this sdist (older ones lack some files)."""
    paths = only or (list(FULL) if selection == "full" else subset_paths())
    return [p for p in paths if (src / p.split("::", 1)[0]).exists()]


def trust_problems(
    plain: runner.RunResult, patched: runner.RunResult, trees: dict[str, Path]
) -> list[str]:
    """Reasons not to trust the comparison: a crashed run, a plain patched run, a wrong copy."""
    problems = []
    for run in (plain, patched):
        if run.exitstatus not in (0, 1) or not run.outcomes:
            problems.append(f"{run.name} run ended with status {run.exitstatus}: see {run.log}")
        tree = str(trees[run.name])
        if run.outcomes and not run.botocore_file.startswith(tree):
            problems.append(f"{run.name} run imported botocore from {run.botocore_file}")
    if not patched.proofs:
        problems.append("patched run: no process reported the layer started")
    for proof in patched.proofs:
        if not proof.get("create_client_wrapped"):
            problems.append(f"patched run: botocore not patched in {proof}")
        if not str(proof.get("botocore_file", "")).startswith(str(trees["patched"])):
            problems.append(f"patched run: the layer patched another botocore: {proof}")
    return problems


def run_target(target: Target, args: argparse.Namespace) -> report.Summary:
    """One botocore version: run (or reuse) both runs, compare, report."""
    selection, only = args.selection, args.paths
    started = time.monotonic()
    base = CACHE / f"run-{target.botocore}-{'paths' if only else selection}"
    base.mkdir(parents=True, exist_ok=True)
    lock = open(base / ".lock", "w")  # noqa: SIM115 - held until this function returns
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"another conformance run is using {base}") from None
    if args.reuse:
        trees = {name: _tree(base / f"src-{name}") for name in RUNS}
        results = {name: runner.load(name, base / name) for name in RUNS}
    else:
        trees, results = run_both(target, selection, args.sequential, only, base, args.layer)
    expected = compare.read_expected(target.expected)
    comparison = compare.compare(
        results["plain"].outcomes,
        results["patched"].outcomes,
        expected,
        selection == "full" and not only,
    )
    summary = report.Summary(
        target.botocore,
        target.python,
        "given paths" if only else selection,
        comparison,
        results["plain"],
        results["patched"],
        time.monotonic() - started,
        trust_problems(results["plain"], results["patched"], trees),
    )
    report.print_summary(summary, expected)
    report.write_details(summary, base / "differences.txt", expected)
    return summary


def _tree(folder: Path) -> Path:
    """The sdist root extracted in ``folder`` (``botocore-X.Y.Z/``)."""
    return next(p for p in folder.iterdir() if p.is_dir())


def run_both(
    target: Target,
    selection: str,
    sequential: bool,
    only: list[str] | None,
    base: Path,
    layer: Path,
) -> tuple[dict[str, Path], dict[str, runner.RunResult]]:
    """Set up, then run plain and patched (side by side unless ``sequential``)."""
    venv = provision.ensure_venv(target)
    sdist = provision.ensure_sdist(target)
    trees = {name: provision.extract(sdist, base / f"src-{name}") for name in RUNS}
    paths = selected_paths(selection, trees["plain"], only)
    print(f"== botocore {target.botocore}: {' '.join(paths)}", flush=True)
    results: dict[str, runner.RunResult] = {}
    runs = {}
    for name in RUNS:
        out = base / name
        run_started = time.monotonic()
        process = runner.start(
            venv, trees[name], paths, out, layer.resolve() if name == "patched" else None
        )
        runs[name] = (process, out, run_started)
        if sequential:
            results[name] = runner.finish(name, *runs[name])
    for name, run in runs.items():
        if name not in results:
            results[name] = runner.finish(name, *run)
    return trees, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--botocore", action="append", choices=sorted(TARGETS), default=None)
    parser.add_argument("--selection", choices=("full", "subset"), default="full")
    parser.add_argument("--sequential", action="store_true", help="one run at a time")
    parser.add_argument("--results", type=Path, help="write the counts here (results.md)")
    parser.add_argument("--paths", nargs="+", help="run these test paths only (development)")
    parser.add_argument(
        "--layer",
        type=Path,
        default=LAYER_DIR,
        help="folder holding timeout_guard/ (default: the repository's layer/)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="compare the last runs' outcomes again, run nothing"
    )
    args = parser.parse_args(argv)
    versions = args.botocore or [PINNED] + sorted(set(TARGETS) - {PINNED})
    summaries = [run_target(TARGETS[version], args) for version in versions]
    if args.results:
        report.write_results(summaries, args.results)
        print(f"\nwrote {args.results}")
    failed = [s.botocore for s in summaries if not s.ok]
    print("\nconformance: " + (f"FAILED for botocore {', '.join(failed)}" if failed else "OK"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
