"""Where the layer's start-up time goes: cold starts under ``PYTHONPROFILEIMPORTTIME=1`` in the
local Lambda runtime with and without the layer. The modules imported only with the layer are
its import cost (self times summed per module of the layer, ``timeout_guard.sdk`` as one, and
per top-level package for anything else the layer alone imports)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from common import FUNCTIONS, median
from locallambda import LocalLambda

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)\s*$")


def self_times(stderr: str) -> dict[str, int]:
    """Module name -> self import time (µs)."""
    out = {}
    for line in stderr.splitlines():
        m = _LINE.match(line)
        if m:
            out[m.group(3)] = int(m.group(1))
    return out


def _group(name: str) -> str:
    """timeout_guard.guard, timeout_guard.sdk (with its modules), ...; others by top level."""
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "timeout_guard" else parts[0]


def _start(opt: Path, mode: str, function: str, layer: bool) -> dict[str, int]:
    with LocalLambda(
        FUNCTIONS / function,
        "app.handler",
        opt_dir=opt,
        exec_wrapper=str(opt / "timeout-guard") if layer else None,
        env={"PYTHONPROFILEIMPORTTIME": "1"},
        python=mode,
    ) as fn:
        return self_times(fn.invoke({}).stderr)


def probe(opt: Path, mode: str, function: str, repeats: int = 3) -> dict[str, Any]:
    totals, packages_runs = [], []
    for _ in range(repeats):
        without = _start(opt, mode, function, layer=False)
        with_layer = _start(opt, mode, function, layer=True)
        extra = {n: us for n, us in with_layer.items() if n not in without}
        packages: dict[str, int] = {}
        for name, us in extra.items():
            top = _group(name)
            packages[top] = packages.get(top, 0) + us
        totals.append(sum(extra.values()) / 1000)
        packages_runs.append(packages)
    names = {n for p in packages_runs for n in p}
    per_package = {n: median([p.get(n, 0) / 1000 for p in packages_runs]) for n in names}
    top = sorted(per_package.items(), key=lambda kv: -kv[1])[:5]
    return {"mode": mode, "function": function, "total_ms": median(totals), "packages": top}


def describe(p: dict[str, Any]) -> str:
    parts = ", ".join(f"`{n}` {ms:.1f} ms" for n, ms in p["packages"] if ms >= 0.1)
    return (
        f"python{p['mode']}, {p['function']}: modules imported only with the layer take "
        f"{p['total_ms']:.1f} ms (self times under `PYTHONPROFILEIMPORTTIME`, which inflates "
        f"them; median of runs): {parts or 'none'}"
    )
