"""Cold start: what the layer adds from the spawn of the runtime process to its first ``/next``
in the local Lambda runtime, per runtime mode, for an empty function and one that imports boto3
at init. Two figures per start:

- wall clock, spawn to the first ``/next``;
- CPU time of the runtime process up to its first ``/next`` (bash bootstrap, exec wrapper and
  Python are one process that execs; the Runtime API reads ``/proc/<pid>/task/*/schedstat``
  when that ``/next`` arrives). Another process on the other core moves the wall clock by
  milliseconds; it moves the CPU time far less, so the target is judged on CPU time when the
  machine is busy.

"without" is the layer's opt folder present with no exec wrapper. Arms are interleaved (the
order rotates every round) so that drift hits every arm alike. The layer is unpacked sealed
(``common.seal``): Python can only use the bytecode the zip ships, as in Lambda's read-only
/opt.

    .venv/bin/python bench/cold_start.py [--runs N] [--compare before=/path/old.zip]

runs this step alone and prints its table (``--compare`` adds arms: another build of the
layer, measured in the same interleaved run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any, Optional

import import_probe
from common import (
    FUNCTIONS,
    LAYER_ZIP,
    Check,
    bootstrap_paired_median,
    kill_runtime,
    median,
    pct,
)
from locallambda import LocalLambda

FUNCTIONS_MEASURED = {"empty": "no imports at init", "with_boto3": "imports boto3 at init"}
# Rounds per function, as a multiple of the step's ``runs``. A start that imports boto3 takes
# five times as long, and its CPU time is heavy-tailed on some of these VMs: on 2026-12-05 (an
# Intel Xeon VM, idle) 57 of 100 paired differences were beyond +-5 ms for with_boto3, 11 of 100
# for empty, so 200 pairs left its median's 95 % interval 3.6 ms wide. Twice the pairs narrow
# it by about 1.4.
RUNS_FACTOR = {"empty": 1, "with_boto3": 2}
TARGET_MS = 1.5  # median added, CPU time (and wall clock when the machine is idle)
TARGET_CI_MS = 3.0  # the 95 % interval's upper end stays below this
BUSY_LOAD = 1.0  # 1-minute load average at the start above which wall clock is not judged
BASELINE = "without"
MAIN = "layer"
FLOOR = "floor"
BARE = "bare"
REPO = Path(__file__).resolve().parent.parent


def build_floor_layer() -> Path:
    """The floor of this design, built like the layer: the same exec wrapper and a bootstrap
    ``sitecustomize`` that restores the environment and chains, but starts nothing of the
    layer. Measured as one more arm, it splits the added time into what any exec wrapper with a
    bootstrap ``sitecustomize`` costs and what the layer's own code costs above it."""
    root = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    for part in ("layer", "wrapper", "tools"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    bootstrap = root / "layer/timeout_guard/_bootstrap/sitecustomize.py"
    text = bootstrap.read_text()
    call = "    _start_layer(_boot_dir)\n"
    if call not in text:
        raise RuntimeError(f"{bootstrap.name} changed: cannot build the floor layer")
    bootstrap.write_text(text.replace(call, "    pass  # the floor: the layer is not started\n"))
    zip_path = root / "floor.zip"
    subprocess.run(
        [sys.executable, str(root / "tools/build_layer.py"), "--zip", str(zip_path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    for part in ("layer", "wrapper", "tools"):
        shutil.rmtree(root / part)
    return zip_path  # its folder goes with remove_built_layer


def build_bare_wrapper_layer(zip_path: Path = LAYER_ZIP) -> Path:
    """The layer with its exec wrapper replaced by the least an exec wrapper can be
    (``#!/bin/sh``, ``exec "$@"``): nothing of the layer runs, but its files are in opt. Measured
    as one more arm, it is what the one more exec costs in the same run (the shell's start-up:
    dash here, bash on Amazon Linux 2023), and the layer's folder on ``sys.path`` (the runtime
    puts opt/python there, ahead of its packages and the standard library, so every module the
    function imports after the runtime's start-up is looked for there first: most of this
    arm's cost in the boto3 cells, section 1b), before any wrapper logic, bootstrap or layer
    code."""
    root = Path(tempfile.mkdtemp(prefix="bench-bare-"))
    bare = root / "bare.zip"
    with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(bare, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "timeout-guard":
                data = b'#!/bin/sh\nexec "$@"\n'
            target.writestr(info, data)  # the same entry: its file mode kept
    return bare  # its folder goes with remove_built_layer


def remove_built_layer(zip_path: Path) -> None:
    """Remove a layer built by :func:`build_floor_layer` or :func:`build_bare_wrapper_layer`."""
    shutil.rmtree(zip_path.parent, ignore_errors=True)


def _fresh_start(fn: LocalLambda) -> tuple[float, float]:
    """Kill the live runtime process (if any), start a new one: (wall ms, CPU ms) to /next."""
    kill_runtime(fn)
    wall = fn.start()
    cpu = fn.init_cpu_ms
    if cpu is None:
        raise RuntimeError("no CPU time for the runtime process at its first /next")
    return wall, cpu


# The shell Amazon Linux runs a `#!/bin/sh` script with (its /bin/sh is bash, in POSIX mode when
# called as sh), where this machine's /bin/sh may be a lighter one (dash).
LAMBDA_SH = shutil.which("bash")


def wrapper_alone(opt: Path, runs: int = 200) -> dict[str, Optional[float]]:
    """Median wall and CPU ms the exec wrapper adds to exec'ing a trivial command
    (``timeout-guard /bin/true`` against ``/bin/true``, interleaved; CPU from ``wait4``): run by
    this machine's ``/bin/sh`` (``wall``, ``cpu``) and by bash as ``sh``, as on Lambda
    (``bash_wall``, ``bash_cpu``; None without bash)."""
    wrapper = str(opt / "timeout-guard")
    commands = {  # name: (executable, argv)
        "plain": ("/bin/true", ["/bin/true"]),
        "wrapped": (wrapper, [wrapper, "/bin/true"]),
    }
    if LAMBDA_SH:  # as the kernel runs the shebang on Amazon Linux: argv[0] /bin/sh
        commands["bash"] = (LAMBDA_SH, ["/bin/sh", wrapper, "/bin/true"])
    samples = {name: {"wall": [], "cpu": []} for name in commands}
    env = {"PATH": "/usr/bin:/bin"}
    names = list(commands)
    for i in range(runs):
        for name in _order(names, i):
            executable, argv = commands[name]
            started = time.perf_counter()
            pid = os.posix_spawn(executable, argv, env)
            _, status, usage = os.wait4(pid, 0)
            samples[name]["wall"].append((time.perf_counter() - started) * 1000)
            samples[name]["cpu"].append((usage.ru_utime + usage.ru_stime) * 1000)
            if os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError(f"{argv} failed")
    plain = {figure: median(samples["plain"][figure]) for figure in ("wall", "cpu")}
    bash = samples.get("bash")
    added: dict[str, Optional[float]] = {}
    for figure in ("wall", "cpu"):
        added[figure] = median(samples["wrapped"][figure]) - plain[figure]
        added[f"bash_{figure}"] = median(bash[figure]) - plain[figure] if bash else None
    return added


def _wrapper_text(wrapper: dict[str, Optional[float]]) -> str:
    """The exec wrapper's own cost, by this machine's sh and by Lambda's."""
    text = f"{wrapper['wall']:.2f} ms wall, {wrapper['cpu']:.2f} ms CPU"
    if wrapper.get("bash_cpu") is not None:
        text += (
            f" (this machine's /bin/sh, {os.path.basename(os.path.realpath('/bin/sh'))}); "
            f"run by bash as sh, as Amazon Linux's /bin/sh runs it in Lambda, "
            f"{wrapper['bash_wall']:.2f} ms wall, {wrapper['bash_cpu']:.2f} ms CPU: Lambda's "
            f"starts pay about {wrapper['bash_cpu'] - wrapper['cpu']:.2f} ms more CPU for the "
            "wrapper than the starts measured here"
        )
    return text


def bytecode_tags(zip_path: Path) -> list[str]:
    """The interpreters a layer zip ships bytecode for (``cpython-312``, ...)."""
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
    return sorted({n.rsplit(".", 2)[-2] for n in names if n.endswith((".pyc", ".bundle"))})


def _order(arms: list[str], round_: int) -> list[str]:
    """Rotate every round, and reverse every other lap, so no arm always follows another."""
    k = round_ % len(arms)
    order = arms[k:] + arms[:k]
    return order[::-1] if (round_ // len(arms)) % 2 else order


def _compare(arm: dict[str, list[float]], base: dict[str, list[float]], seed: int) -> dict:
    """What ``arm`` adds to ``base``, per figure: the median of the paired differences (the
    figure judged), its 95 % interval, and the difference of the medians (for reference)."""
    out = {}
    for figure in ("wall", "cpu"):
        a, b = arm[figure], base[figure]
        added, low, high = bootstrap_paired_median(a, b, seed)
        out[figure] = {"added": added, "ci": [low, high], "medians": median(a) - median(b)}
    return out


def measure(
    opt: Path,
    modes: list[str],
    runs: int,
    seed: int,
    others: Optional[dict[str, tuple[Path, Path]]] = None,
    zip_path: Path = LAYER_ZIP,
) -> dict[str, Any]:
    """``opt``: ``zip_path`` unpacked. ``others``: more layers (name -> (unpacked opt, zip))
    measured as arms of the same run."""
    from common import written_into

    zips = {MAIN: (opt, zip_path), **(others or {})}
    layers = {name: unpacked for name, (unpacked, _) in zips.items()}
    arms = [BASELINE, *layers]
    results: dict[str, Any] = {
        "runs": runs,
        "arms": arms,
        "cases": [],
        "load_at_start": os.getloadavg()[0],
        "bytecode": bytecode_tags(zip_path),
    }
    for mode in modes:
        for function in FUNCTIONS_MEASURED:
            task = FUNCTIONS / function
            fns = {BASELINE: LocalLambda(task, "app.handler", opt_dir=opt, python=mode)}
            for name, layer_opt in layers.items():
                fns[name] = LocalLambda(
                    task,
                    "app.handler",
                    opt_dir=layer_opt,
                    exec_wrapper=str(layer_opt / "timeout-guard"),
                    python=mode,
                )
            try:
                for fn in fns.values():  # warm the page cache and the function's own .pyc
                    for _ in range(2):
                        _fresh_start(fn)
                samples = {name: {"wall": [], "cpu": []} for name in arms}
                for i in range(runs * RUNS_FACTOR[function]):
                    for name in _order(arms, i):
                        wall, cpu = _fresh_start(fns[name])
                        samples[name]["wall"].append(wall)
                        samples[name]["cpu"].append(cpu)
            finally:
                for fn in fns.values():
                    fn.close()
            base = samples[BASELINE]
            results["cases"].append(
                {
                    "mode": mode,
                    "function": function,
                    "samples": samples,
                    "median": {n: {f: median(s[f]) for f in s} for n, s in samples.items()},
                    "p90": {n: {f: pct(s[f], 90) for f in s} for n, s in samples.items()},
                    "added": {n: _compare(samples[n], base, seed) for n in layers},
                    # the layer's own cost: above an exec wrapper that only execs, same rounds
                    "above_bare": _compare(samples[MAIN], samples[BARE], seed)
                    if BARE in layers
                    else None,
                    # the plot's view: wall clock of the main arm against the baseline
                    "with": samples[MAIN]["wall"],
                    "without": base["wall"],
                    "added_ms": _compare(samples[MAIN], base, seed)["wall"]["added"],
                }
            )
    results["load_at_end"] = os.getloadavg()[0]
    results["written"] = {name: written_into(o, z) for name, (o, z) in zips.items()}
    results["wrapper"] = wrapper_alone(opt)
    results["probes"] = [
        import_probe.probe(opt, mode, function) for mode in modes for function in FUNCTIONS_MEASURED
    ]
    return results


def _above_bare(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The cases measured with the bare arm: they have the layer's cost above it."""
    return [case for case in results["cases"] if case["above_bare"] is not None]


def _busy(results: dict[str, Any]) -> bool:
    return results["load_at_start"] >= BUSY_LOAD


def _passes(figure: dict[str, Any]) -> bool:
    return figure["added"] <= TARGET_MS and figure["ci"][1] < TARGET_CI_MS


def _value(figure: dict[str, Any]) -> str:
    low, high = figure["ci"]
    return f"{figure['added']:+.2f} ms (95% CI {low:+.2f}..{high:+.2f})"


def checks(results: dict[str, Any]) -> list[Check]:
    target = f"<= +{TARGET_MS:g} ms, CI < +{TARGET_CI_MS:g} ms"
    busy = _busy(results)
    out = []
    for case in results["cases"]:
        cell = f"python{case['mode']}, {case['function']}"
        added = case["added"][MAIN]
        out.append(
            Check(
                "cold start",
                f"added CPU time to first /next (median of paired diffs), {cell}",
                _value(added["cpu"]),
                target,
                _passes(added["cpu"]),
            )
        )
        out.append(
            Check(
                "cold start",
                f"added wall clock to first /next (median of paired diffs), {cell}",
                _value(added["wall"]),
                target,
                None if busy else _passes(added["wall"]),
                f"not judged: machine busy, load {results['load_at_start']:.1f} at the start; "
                "judged on CPU time"
                if busy
                else "",
            )
        )
    for case in _above_bare(results):
        out.append(
            Check(
                "cold start",
                "the layer above the bare exec wrapper (its own cost: wrapper logic, "
                "bootstrap, modules, less what its finder takes back of its folder's cost), "
                f"CPU, python{case['mode']}, {case['function']}",
                _value(case["above_bare"]["cpu"]),
                "(context: one more exec is the price of any exec wrapper)",
                None,
            )
        )
    if any(results["written"].values()):
        out.append(
            Check(
                "cold start",
                "layer folder unchanged by the runs (as Lambda's read-only /opt)",
                "files written: " + ", ".join(sorted({f for w in results["written"].values()
                                                      for f in w})[:5]),
                "none",
                False,
            )
        )
    return out


def miss_reason(results: dict[str, Any]) -> str:
    missed = [
        (c, figure)
        for c in results["cases"]
        for figure in ("cpu", "wall")
        if not _passes(c["added"][MAIN][figure]) and (figure == "cpu" or not _busy(results))
    ]
    where = "; ".join(
        f"python{c['mode']} {c['function']} {figure} {c['added'][MAIN][figure]['added']:+.2f} ms"
        for c, figure in missed
    )
    wrapper = results["wrapper"]
    text = f"cold start above +{TARGET_MS:g} ms (or its interval above +{TARGET_CI_MS:g} ms) in: "
    text += f"{where}." if where else "none."
    text += (
        f" Of the added time, the exec wrapper alone is {_wrapper_text(wrapper)} (one more "
        "exec: a POSIX sh that execs Python)."
    )
    if BARE in results["arms"]:
        bare = "; ".join(
            f"python{c['mode']} {c['function']} {c['added'][BARE]['cpu']['added']:+.2f} ms"
            for c in results["cases"]
        )
        text += (
            " The bare arm, an exec wrapper that only execs (`#!/bin/sh`, `exec \"$@\"`) with "
            "the layer's files in opt, shows what one more exec and the layer's folder on "
            "sys.path cost in the same run, before anything of the layer runs (every module "
            f"imported after the runtime's start-up is looked for in that folder first): {bare}."
        )
    above = _above_bare(results)
    if above:
        text += (
            " Above that bare exec wrapper, in the same rounds, the layer adds (CPU): "
            + "; ".join(
                f"python{c['mode']} {c['function']} {c['above_bare']['cpu']['added']:+.2f} ms"
                for c in above
            )
            + "."
        )
    if FLOOR in results["arms"]:
        floors = "; ".join(
            f"python{c['mode']} {c['function']} floor {c['added'][FLOOR]['cpu']['added']:+.2f} "
            f"ms, layer {c['added'][MAIN]['cpu']['added']:+.2f} ms"
            for c in results["cases"]
        )
        text += (
            " The floor arm (the same wrapper and a bootstrap sitecustomize that restores the "
            "environment and chains but starts nothing) shows what any exec wrapper of this "
            f"design costs before the layer's own code runs (CPU time): {floors}."
        )
    text += (
        " The rest is loading the layer's modules from its bytecode bundle and running them "
        "(10 modules by the time the handler is loaded, 7 more when botocore is imported). "
        "Bytecode shipped for: "
        f"{', '.join(results['bytecode']) or 'none'}; an interpreter without it compiles the "
        "layer's modules at every cold start (compile() alone: about 7 ms for the start-up "
        "modules and 6 more for the botocore patch on this machine). What is left is "
        "unmarshalling the modules' code and running their bodies for the first time in a "
        "cold process: less code on the start-up path; the wrapper's exec is the floor of an "
        "exec wrapper. Intervals are wide on these 2-core VMs: a quarter to a half of the starts "
        "that import boto3 take 5-80 ms more CPU time, each on its own, even on an idle "
        "machine, so even with twice the pairs the boto3 cells' medians in ms move by tenths of "
        "a millisecond from one run to the next. Section 1b counts "
        "what the layer adds there in instructions: that, not these medians, is the boto3 "
        "cells' cost."
    )
    if any(results["written"].values()):
        text += " The layer folder was written to during the runs: the figures are not Lambda's."
    return text


def table(results: dict[str, Any]) -> list[str]:
    layers = [a for a in results["arms"] if a != BASELINE]
    lines = [
        "Runs per cell and arm: "
        + ", ".join(f"{RUNS_FACTOR[f] * results['runs']} for {f}" for f in FUNCTIONS_MEASURED)
        + " (the boto3 starts' CPU time is heavy-tailed on some of these VMs: `RUNS_FACTOR`), "
        "interleaved (the order rotates each round; "
        "added = median of the paired differences, with or without the layer in the same "
        "round, and its 95% bootstrap interval over the pairs); "
        "spawn of the replica bootstrap to the first `/next`: wall clock, and CPU time of the "
        "runtime process (bash bootstrap, exec wrapper and Python: one process that execs; "
        "`/proc/<pid>/task/*/schedstat` read when its first `/next` arrives). The layer folder "
        "is sealed read-only as Lambda's /opt (`chattr +i` when run as root): Python uses only "
        f"the bytecode the zip ships ({', '.join(results['bytecode']) or 'none'}). Target: "
        f"median added <= +{TARGET_MS:g} ms with the 95% bootstrap interval below "
        f"+{TARGET_CI_MS:g} ms; judged on CPU time when the machine is busy (1-minute load "
        f"average {results['load_at_start']:.2f} at the start, {results['load_at_end']:.2f} at "
        "the end, on 2 cores).",
        "",
        "| runtime | function | figure | without: median / p90 | "
        + " | ".join(f"{n}: median / p90 | {n}: added [95% CI] | {n}: diff of medians"
                     for n in layers)
        + " | verdict |",
        "|---|---|---|---|" + "---|---|---|" * len(layers) + "---|",
    ]
    busy = _busy(results)
    for c in results["cases"]:
        for figure, label in (("cpu", "CPU"), ("wall", "wall")):
            row = (
                f"| python{c['mode']} | {c['function']} ({FUNCTIONS_MEASURED[c['function']]}) "
                f"| {label} | {c['median'][BASELINE][figure]:.1f} / "
                f"{c['p90'][BASELINE][figure]:.1f} ms "
            )
            for n in layers:
                a = c["added"][n][figure]
                lo, hi = a["ci"]
                row += (
                    f"| {c['median'][n][figure]:.1f} / {c['p90'][n][figure]:.1f} ms "
                    f"| {a['added']:+.2f} ms [{lo:+.2f} .. {hi:+.2f}] | {a['medians']:+.2f} ms "
                )
            main = c["added"][MAIN][figure]
            verdict = "n/a (busy)" if figure == "wall" and busy else (
                "PASS" if _passes(main) else "**MISS**")
            lines.append(row + f"| {verdict} |")
    above = _above_bare(results)
    if above:
        lines += [
            "",
            'The layer above the bare exec wrapper (`#!/bin/sh`, `exec "$@"`): the median of '
            "the paired differences layer - bare in the same rounds, [95% CI]; what the layer's "
            "own wrapper logic, bootstrap and modules cost once one more exec is paid, which any "
            "exec wrapper pays. In brackets after it, the same as a share of the start without "
            "the layer (the machine's speed moves both alike).",
            "",
            "| runtime | function | CPU | wall |",
            "|---|---|---|---|",
        ]
        for c in above:
            cells = []
            for figure in ("cpu", "wall"):
                a = c["above_bare"][figure]
                lo, hi = a["ci"]
                share = 100 * a["added"] / c["median"][BASELINE][figure]
                cells.append(f"{a['added']:+.2f} ms [{lo:+.2f} .. {hi:+.2f}] ({share:+.1f} %)")
            lines.append(f"| python{c['mode']} | {c['function']} | {cells[0]} | {cells[1]} |")
    wrapper = results["wrapper"]
    lines += [
        "",
        "Where the added time goes: the exec wrapper script alone (`timeout-guard /bin/true` "
        f"against `/bin/true`, 200 interleaved runs) adds {_wrapper_text(wrapper)}; the imports "
        "that happen only with the layer:",
        "",
    ]
    lines += [f"- {import_probe.describe(p)}" for p in results["probes"]]
    for name, written in results["written"].items():
        if written:
            lines.append(f"- **{name}: files written into the layer folder**: {written[:5]}")
    return lines


def main() -> int:
    import argparse

    from common import remove_layer, runtime_modes, unpack_layer

    parser = argparse.ArgumentParser(description="cold-start step alone, printed")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--zip", type=Path, default=LAYER_ZIP, help="the layer measured")
    parser.add_argument(
        "--compare", action="append", default=[], metavar="NAME=ZIP",
        help="another layer zip measured as an arm of the same run",
    )
    args = parser.parse_args()
    modes = runtime_modes()
    opt = unpack_layer(args.zip)
    floor_zip, bare_zip = build_floor_layer(), build_bare_wrapper_layer(args.zip)
    others = {
        FLOOR: (unpack_layer(floor_zip), floor_zip),
        BARE: (unpack_layer(bare_zip), bare_zip),
    }
    try:
        for spec in args.compare:
            name, _, path = spec.partition("=")
            others[name] = (unpack_layer(Path(path)), Path(path))
        results = measure(opt, modes, args.runs, args.seed, others, zip_path=args.zip)
    finally:
        for o in [opt, *(unpacked for unpacked, _ in others.values())]:
            remove_layer(o)
        remove_built_layer(floor_zip)
        remove_built_layer(bare_zip)
    print("\n".join(table(results)))
    print()
    for c in checks(results):
        print(f"{c.verdict:5s} {c.figure}: {c.value}  [{c.target}] {c.note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
