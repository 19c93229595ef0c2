"""`make bench`: every benchmark in one run, side by side, into bench/results.md and
bench/plots/*.png, with the figures printed as they come.

    .venv/bin/python bench/run.py [--full] [--seed N] [--only STEP,...] [--cold-compare NAME=ZIP]

Steps: runtime, cold, instr, invoke, sdk, hang, hook, thread, soak.

Quick by default (a few minutes); ``--full`` (``make bench FULL=1``) adds the long cases:
botocore's own 60 s defaults on hung endpoints (several minutes) and larger samples. With
``--only``, the sections of the steps run replace theirs in the existing results.md (and their
summary rows); the others keep the figures of the run that made them, and the file says which
run each comes from.
Expects ``make layer`` and ``make runtimes`` to have run (the Makefile target does both).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cold_start
import hang_recovery
import hook_precision
import instructions
import invoke_cost
import local_runtime
import machine
import plots
import report
import sdk_calls
import soak
import thread_timer
from common import Check, remove_layer, runtime_modes, unpack_layer


@dataclass
class Sizes:
    cold_runs: int  # the bare runtime's own cold starts (section 0)
    cold_start_runs: int  # per cell and arm, with and without the layer (section 1)
    invoke_calls: int
    sdk_repeats: int
    hang_repeats: int
    hook_count: int
    thread_per_kind: int
    kills: int
    soak_invocations: int


QUICK = Sizes(
    cold_runs=30,
    cold_start_runs=100,
    invoke_calls=2000,
    sdk_repeats=2,
    hang_repeats=3,
    hook_count=100,
    thread_per_kind=15,
    kills=30,
    soak_invocations=1000,
)
FULL = Sizes(
    cold_runs=60,
    cold_start_runs=200,
    invoke_calls=5000,
    sdk_repeats=3,
    hang_repeats=5,
    hook_count=300,
    thread_per_kind=50,
    kills=100,
    soak_invocations=1000,
)
STEPS = ("runtime", "cold", "instr", "invoke", "sdk", "hang", "hook", "thread", "soak")


def _misses(checks: list[Check], done: list[tuple[Any, Any]]) -> list[str]:
    """For each measurement with a missed target: why, and what would close it (each module's
    ``miss_reason``, from its own results)."""
    missed = {c.measurement for c in checks if c.passed is False}
    out = []
    for module, results in done:
        names = {c.measurement for c in module.checks(results)}
        if names & missed and hasattr(module, "miss_reason"):
            out.append(module.miss_reason(results))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description="Timeout Guard benchmarks")
    parser.add_argument("--full", action="store_true", help="long cases, larger samples")
    parser.add_argument("--seed", type=int, default=20261123, help="RNG seed (recorded)")
    parser.add_argument("--only", default=",".join(STEPS), help="comma-separated steps")
    parser.add_argument(
        "--cold-compare",
        action="append",
        default=[],
        metavar="NAME=ZIP",
        help="another build of the layer, measured as one more arm of the cold start step",
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    sizes = FULL if args.full else QUICK
    started = time.monotonic()
    modes = runtime_modes()
    if len(modes) < 2:
        print(f"WARNING: runtime modes available: {modes} (want python3.11 and python3.12+)")
    opt = unpack_layer()
    compared = {}
    if "cold" in only or "instr" in only:
        floor_zip, bare_zip = cold_start.build_floor_layer(), cold_start.build_bare_wrapper_layer()
        compared[cold_start.FLOOR] = (unpack_layer(floor_zip), floor_zip)
        compared[cold_start.BARE] = (unpack_layer(bare_zip), bare_zip)
    for spec in args.cold_compare:
        name, _, path = spec.partition("=")
        compared[name] = (unpack_layer(Path(path)), Path(path))
    info = machine.describe(modes)
    print("\n".join(machine.lines(info)), flush=True)
    checks: list[Check] = []
    sections: list[report.Section] = []
    failed = []
    done: list[tuple[Any, Any]] = []
    hook_results: dict[str, Any] = {}

    def step(
        key: str, title: str, run: Callable[[], Any], module: Any, draw: Callable[[Any], list]
    ) -> Any:
        if key not in only:
            return None
        print(f"\n== {title} ==", flush=True)
        t0 = time.monotonic()
        try:
            results = run()
            section = report.Section(title, module.table(results), draw(results), key=key)
            checks.extend(module.checks(results))
            done.append((module, results))
        except Exception as error:
            traceback.print_exc()
            failed.append(key)
            section = report.Section(
                title, [], error=f"{type(error).__name__}: {error}", key=key
            )
            results = None
        section.lines.append(f"_({time.monotonic() - t0:.0f} s)_")
        sections.append(section)
        print("\n".join(section.lines) if not section.error else section.error, flush=True)
        return results

    try:
        step(
            "runtime",
            "0. The local Lambda runtime itself (no layer)",
            lambda: local_runtime.measure(kills=sizes.kills, warm=300, cold=sizes.cold_runs),
            local_runtime,
            lambda r: [],
        )
        step(
            "cold",
            "1. Cold start (spawn to first /next)",
            lambda: cold_start.measure(opt, modes, sizes.cold_start_runs, args.seed, compared),
            cold_start,
            lambda r: [plots.cold_start(r)],
        )
        step(
            "instr",
            "1b. Cold start in instructions (callgrind: the same on a busy machine)",
            lambda: instructions.measure(
                opt, modes, {name: folder for name, (folder, _) in compared.items()}
            ),
            instructions,
            lambda r: [],
        )
        step(
            "invoke",
            "2. Per-invocation overhead of the handler wrapper",
            lambda: invoke_cost.measure(opt, sizes.invoke_calls),
            invoke_cost,
            lambda r: [plots.invoke_overhead(r)],
        )
        step(
            "sdk",
            "3. botocore patch: create_client and per API call",
            lambda: sdk_calls.measure(sizes.sdk_repeats),
            sdk_calls,
            lambda r: [],
        )
        step(
            "hang",
            "4. Hang recovery",
            lambda: hang_recovery.measure(opt, args.full, sizes.hang_repeats),
            hang_recovery,
            lambda r: [plots.hang_recovery(r, hang_recovery.SETTINGS, hang_recovery.SCENARIOS)],
        )
        hook_results = (
            step(
                "hook",
                "5. Pre-timeout hook precision",
                lambda: hook_precision.measure(opt, modes, sizes.hook_count, args.seed),
                hook_precision,
                lambda r: [
                    plots.hook_precision(m, runs, hook_precision.TARGET_MS)
                    for m, runs in r["modes"].items()
                ],
            )
            or {}
        )
        step(
            "thread",
            "6. Comparison: a watchdog thread (Sentry-style), no layer",
            lambda: thread_timer.measure(modes, sizes.thread_per_kind, args.seed),
            thread_timer,
            lambda r: [plots.thread_timer(r, hook_results)],
        )
        step(
            "soak",
            "7. Soak: 1,000 invocations in one warm sandbox",
            lambda: soak.measure(opt, modes, sizes.soak_invocations, args.seed),
            soak,
            lambda r: [],
        )
    finally:
        for folder in [opt, *(unpacked for unpacked, _ in compared.values())]:
            remove_layer(folder)
        for built in (cold_start.FLOOR, cold_start.BARE):
            if built in compared:
                cold_start.remove_built_layer(compared[built][1])

    seconds = time.monotonic() - started
    misses = _misses(checks, done)
    text = report.render(info, checks, sections, misses, args.full, seconds, args.seed)
    if only != set(STEPS) and report.BENCH.joinpath("results.md").exists():
        # Some steps only: the other sections keep the figures of the run that made them.
        old = report.BENCH.joinpath("results.md").read_text()
        text = report.splice(old, info, checks, sections, misses, args.full, seconds, args.seed)
    path = report.write(text)
    print("\n== Summary ==")
    print("\n".join(report.summary_table(checks)))
    for m in misses:
        print(f"MISS: {m}")
    print(f"\nwrote {path} and bench/plots/*.png in {seconds / 60:.1f} min")
    if failed:
        print(f"FAILED steps: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
