"""Cold start in instructions: what the layer adds to the runtime's start-up, counted by
callgrind (valgrind). Wall clock and CPU time (``cold_start.py``) are what the target is stated
in, but they move with the machine's load and speed: the floor arm alone moved by 0.3 ms between
two machines of this kind, and the boto3 cells by more than the layer's whole cost from run to
run. Counted instructions do not move: for a fixed hash seed (Python's hash randomisation alone
moves a count by 0.2-0.3 M) the same code gives the same count on a busy machine as on an idle
one, so a change to the layer's start-up shows to the thousand instructions.

Counted per runtime mode and function, for three arms (without the layer, the floor of
``cold_start.build_floor_layer``, the layer):

- Python: the runtime's Python process, started through the exec wrapper as Lambda starts it,
  up to the handler loaded, in the order of the runtime's ``bootstrap.py`` (the replica's own
  code runs: ``site`` and the layer's bootstrap; ``bootstrap.py`` compiled from source, as a
  script is, with its folder first on ``sys.path``; its top imports awslambdaric; then its
  ``sys.path`` set-up puts the function's folder and the layers' folders first; then
  ``_get_handler``: the function's own init, ``import boto3``), then ``os._exit`` (no
  finalisation). Not counted: the bash bootstrap (the same in every arm) and awslambdaric's
  main loop up to the first ``/next`` (the same with or without the layer).

  The order matters: the layer's start-up imports ``logging`` and the standard modules it
  needs before anything is put in front of the standard library, and the runtime imports them
  after its folder is first. A driver that put the function's folder first before importing
  awslambdaric (as this one did before 2026-12-04) made every standard module the runtime
  imports search two more folders without the layer, and so counted the layer's start-up
  about 1.6 M instructions cheaper than it is (python3.11: +1.49 M for an empty function,
  +3.17 M in the runtime's order);
- the wrapper: dash running the exec wrapper up to its ``exec`` (callgrind cannot follow a
  process across an ``exec``, so the wrapper runs with its ``exec`` lines turned into ``exit``).

    .venv/bin/python bench/instructions.py [--zip dist/timeout-guard-layer.zip] [--compare NAME=ZIP]

Needs valgrind (Debian's package); without it the step says so and measures nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from common import FUNCTIONS, LAYER_ZIP, Check, remove_layer, runtime_modes, unpack_layer
from locallambda import provision

FUNCTIONS_COUNTED = {"empty": "no imports at init", "with_boto3": "imports boto3 at init"}
HASH_SEED = "0"
WITHOUT, FLOOR, LAYER = "without", "floor", "layer"
DRIVER = """
import os, sys
sys.path[0] = {runtime!r}
replica = {{"__name__": "bootstrap_replica"}}
with open({script!r}) as source:
    exec(compile(source.read(), {script!r}, "exec"), replica)
replica["set_default_sys_path"]()
replica["add_default_site_directories"]()
replica["set_default_pythonpath"]()
import awslambdaric.bootstrap
awslambdaric.bootstrap._get_handler("app.handler")
os._exit(0)
"""
_COLLECTED = re.compile(r"Collected : (\d+)")
# The cyclic garbage collector's passes, inclusive (callgrind_annotate --inclusive=yes).
_COLLECTOR = re.compile(r"^\s*([\d,]+) \([^)]*\)\s+\S*:gc_collect_main \[", re.MULTILINE)


class Count(NamedTuple):
    """A process's instructions, and those of them the garbage collector's passes ran.

    Where the collector runs depends on how many objects were allocated before: a change of a
    few hundred allocations can move a pass in or out of the count (0.2-0.3 M either way, seen
    when a change to the layer's start-up saved 0.1 M and counted 0.18 M more). The count
    without the collector shows what a change does to the code that runs; the total is what
    it costs."""

    total: int
    collector: int | None  # None: not found in the profile


def _collector(profile: Path) -> int | None:
    """Inclusive instructions of ``gc_collect_main`` in a callgrind profile."""
    annotated = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(profile)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    found = _COLLECTOR.search(annotated.stdout)
    return int(found.group(1).replace(",", "")) if found else None


def _callgrind(
    command: list[str], env: dict[str, str], cwd: Path, collector: bool = False
) -> Count:
    """Instructions the (last image of the) command's process ran, counted by callgrind;
    with ``collector``, also those of the garbage collector's passes."""
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as out:
        result = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--trace-children=yes",
                f"--callgrind-out-file={out}/callgrind.%p",
                *command,
            ],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=600,
        )
        counts = _COLLECTED.findall(result.stderr)
        if result.returncode != 0 or not counts:
            raise RuntimeError(f"callgrind of {command[:2]} failed: {result.stderr[-800:]}")
        # One profile: an exec'd image writes over its shell's (the same pid).
        profiles = sorted(Path(out).glob("callgrind.*"))
        gc = _collector(profiles[-1]) if collector and len(profiles) == 1 else None
    return Count(int(counts[-1]), gc)


def _environment(version: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}",
        "PYTHONHASHSEED": HASH_SEED,
        "LANG": "C.UTF-8",
    }


def python_count(version: str, function: str, opt: Path | None) -> Count:
    """The Python process's instructions up to the handler loaded (``opt``: through that
    layer's exec wrapper; None: without a layer)."""
    runtime = provision(version)
    task = FUNCTIONS / function
    script = runtime.runtime_dir / "bootstrap.py"
    driver = DRIVER.format(runtime=str(runtime.runtime_dir), script=str(script))
    command = [str(runtime.python), "-c", driver]
    if opt is not None:
        command = [str(opt / "timeout-guard"), *command]
    with tempfile.TemporaryDirectory(prefix="bench-opt-") as no_layer:
        env = {
            **_environment(version),
            "LAMBDA_TASK_ROOT": str(task),
            "LAMBDA_RUNTIME_DIR": str(runtime.runtime_dir),
            "LOCAL_LAMBDA_OPT_DIR": str(opt or no_layer),  # an empty /opt without the layer
        }
        return _callgrind(command, env, task, collector=True)


def wrapper_count(version: str, opt: Path) -> int:
    """dash's instructions for the exec wrapper up to its ``exec``, with Lambda's arguments."""
    runtime = provision(version)
    text = (opt / "timeout-guard").read_text()
    if 'exec "$@"' not in text:
        raise RuntimeError("the exec wrapper has no `exec \"$@\"` line: update this step")
    with tempfile.TemporaryDirectory(prefix="bench-wrapper-") as folder:
        stage = Path(folder)
        (stage / "python").symlink_to(opt / "python")
        script = stage / "timeout-guard"
        script.write_text(text.replace('exec "$@"', "exit 0"))
        script.chmod(0o755)
        args = [str(runtime.python), str(runtime.runtime_dir / "bootstrap.py")]
        return _callgrind(["/bin/sh", str(script), *args], _environment(version), stage).total


def measure(opt: Path, modes: list[str], others: dict[str, Path]) -> dict[str, Any]:
    """{"cells": [...], "wrapper": {mode: count}}; ``others``: more arms (floor included)."""
    if shutil.which("valgrind") is None:
        return {"skipped": "valgrind is not installed (apt-get install valgrind)"}
    arms: dict[str, Path | None] = {WITHOUT: None, **others, LAYER: opt}
    cells = []
    for mode in modes:
        for function in FUNCTIONS_COUNTED:
            found = {name: python_count(mode, function, folder) for name, folder in arms.items()}
            counts = {name: count.total for name, count in found.items()}
            collector = {name: count.collector for name, count in found.items()}
            cells.append(
                {"mode": mode, "function": function, "counts": counts, "collector": collector}
            )
            print(f"  python{mode} {function}: " + ", ".join(
                f"{name} {count / 1e6:.2f} M" for name, count in counts.items()
            ), flush=True)
    return {"cells": cells, "wrapper": {mode: wrapper_count(mode, opt) for mode in modes}}


def _above(cell: dict[str, Any], arm: str, base: str) -> float:
    return (cell["counts"][arm] - cell["counts"][base]) / 1e6


def _added(cell: dict[str, Any], arm: str, base: str) -> str:
    """``arm`` above ``base``, and in brackets the same without the collector's passes."""
    text = f"{_above(cell, arm, base):+.2f} M"
    gc = cell.get("collector", {})
    if gc.get(arm) is not None and gc.get(base) is not None:
        text += f" ({_above(cell, arm, base) - (gc[arm] - gc[base]) / 1e6:+.2f} M)"
    return text


def table(results: dict[str, Any]) -> list[str]:
    if "skipped" in results:
        return [f"Not measured: {results['skipped']}."]
    arms = [a for a in results["cells"][0]["counts"] if a != WITHOUT]
    lines = [
        "Instructions counted by callgrind (the same on a busy machine as on an idle one; "
        f"`PYTHONHASHSEED={HASH_SEED}`): the runtime's Python process, through the exec wrapper, "
        "from its start to the handler loaded (the function's init included), in the order "
        "of the runtime's `bootstrap.py` (awslambdaric imported before the function's and the "
        "layers' folders are put first on `sys.path`), then `os._exit`. "
        "Added: above the arm without the layer; the layer's own: above the floor (the same "
        "wrapper and a bootstrap that starts nothing). In brackets: the same without the "
        "garbage collector's passes (where they fall moves with the number of allocations "
        "before them, by 0.2-0.3 M either way: what a change does to the code that runs shows "
        "there; what it costs, in the total).",
        "",
        "| runtime | function | without | "
        + " | ".join(f"{a}: added" for a in arms)
        + " | the layer's own (above the floor) |",
        "|---|---|---|" + "---|" * len(arms) + "---|",
    ]
    for cell in results["cells"]:
        added = " | ".join(_added(cell, a, WITHOUT) for a in arms)
        own = _added(cell, LAYER, FLOOR) if FLOOR in cell["counts"] else "n/a"
        lines.append(
            f"| python{cell['mode']} | {cell['function']} "
            f"({FUNCTIONS_COUNTED[cell['function']]}) | "
            f"{cell['counts'][WITHOUT] / 1e6:.2f} M | {added} | {own} |"
        )
    wrapper = ", ".join(f"python{m} {n / 1e3:.0f} k" for m, n in results["wrapper"].items())
    lines += [
        "",
        f"The exec wrapper itself (dash, up to its `exec`, not in the counts above): {wrapper}.",
    ]
    return lines


def checks(results: dict[str, Any]) -> list[Check]:
    if "skipped" in results:
        return []
    return [
        Check(
            "cold start (instructions)",
            f"added by the layer, python{c['mode']}, {c['function']} (its own above the floor)",
            f"+{_above(c, LAYER, WITHOUT):.2f} M ({_above(c, LAYER, FLOOR):.2f} M)",
            "(context: judged in ms, section 1)",
            None,
        )
        for c in results["cells"]
        if FLOOR in c["counts"]
    ]


def main() -> int:
    import cold_start

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zip", type=Path, default=LAYER_ZIP, help="the layer counted")
    parser.add_argument("--compare", action="append", default=[], metavar="NAME=ZIP")
    args = parser.parse_args()
    floor_zip = cold_start.build_floor_layer()
    folders = {FLOOR: unpack_layer(floor_zip)}
    for spec in args.compare:
        name, _, path = spec.partition("=")
        folders[name] = unpack_layer(Path(path))
    opt = unpack_layer(args.zip)
    try:
        results = measure(opt, runtime_modes(), folders)
    finally:
        for folder in [opt, *folders.values()]:
            remove_layer(folder)
        cold_start.remove_built_layer(floor_zip)
    print("\n".join(table(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
