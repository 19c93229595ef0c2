"""Measurement 6: the Sentry-style alternative, for comparison. No layer: a tiny wrapper in
the function (functions/threadtimer) starts a ``threading.Timer`` at handler entry that wakes
``margin`` before the deadline and only records. It cannot interrupt the handler, so each
invocation still ends in Lambda's hard kill (status timeout, a fresh process next time).
Measured: its wake-up lateness with a handler spinning in pure Python and with one sleeping.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

import fire_runs
from common import FUNCTIONS, Check, pct
from locallambda import LocalLambda

TIMEOUTS_S = (0.3, 0.6)
MARGINS_MS = (50, 200)


def plan(rng: random.Random, per_kind: int) -> list[fire_runs.Planned]:
    kinds = ["sleep", "busy"] * per_kind
    items = []
    for kind in kinds:
        margin = rng.randint(*MARGINS_MS)
        timeout = max(round(rng.uniform(*TIMEOUTS_S), 3), (margin + 100) / 1000)
        items.append(fire_runs.Planned(margin, timeout, kind, True))
    return items


def measure(modes: list[str], per_kind: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    results: dict[str, Any] = {"seed": seed, "per_kind": per_kind, "modes": {}}
    for mode in modes:
        with tempfile.TemporaryDirectory(prefix="bench-thread-") as scratch:
            fire_log = Path(scratch) / "fired.jsonl"
            with LocalLambda(
                FUNCTIONS / "threadtimer",
                "app.handler",
                env={"BENCH_FIRE_LOG": str(fire_log)},
                python=mode,
            ) as fn:
                results["modes"][mode] = fire_runs.run(
                    fn, plan(rng, per_kind), fire_log, "BENCH_MARGIN_MS", "timeout"
                )
    return results


def stats(runs: list[dict]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("sleep", "busy"):
        mine = [r for r in runs if r["kind"] == kind]
        late = [r["late_ms"] for r in mine if "late_ms" in r]
        statuses: dict[str, int] = {}
        for r in mine:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        out[kind] = {"n": len(mine), "woke": len(late), "statuses": statuses}
        if late:
            out[kind].update({q: pct(late, q) for q in (50, 90, 99)})
            out[kind]["max"] = max(late)
    return out


def checks(results: dict[str, Any]) -> list[Check]:
    out = []
    for mode, runs in results["modes"].items():
        s = stats(runs)
        for kind in ("sleep", "busy"):
            k = s[kind]
            timeouts = k["statuses"].get("timeout", 0)
            value = (
                f"lateness p50 {k[50]:.2f} / p99 {k[99]:.2f} ms; {timeouts}/{k['n']} ended "
                "in the hard kill"
                if 50 in k
                else "did not wake"
            )
            out.append(
                Check(
                    "thread timer (comparison)",
                    f"python{mode}, {kind} handler",
                    value,
                    "(comparison, no target)",
                    None,
                )
            )
    return out


def table(results: dict[str, Any]) -> list[str]:
    lines = [
        f"{results['per_kind']} invocations per handler kind and mode; RNG seed "
        f"{results['seed']}; timeouts {TIMEOUTS_S[0]}-{TIMEOUTS_S[1]} s, margins "
        f"{MARGINS_MS[0]}-{MARGINS_MS[1]} ms. Lateness = the timer thread's `time.time()` "
        "− (context deadline − margin).",
        "",
        "What the interrupting signal buys: the thread wakes about as early as the hook fires "
        "(it needs the GIL, so a handler spinning in Python delays it by up to the 5 ms switch "
        "interval or more), but it cannot stop the handler: every one of these invocations ran "
        "into Lambda's hard kill (`Sandbox.Timedout`, `finally` blocks never ran, the next "
        "invocation is a cold start), where the layer's invocations in section 5 ended as a "
        "`LambdaTimeoutError` function error delivered through the Runtime API before the "
        "deadline.",
        "",
        "| runtime | handler | outcomes | wake-up lateness p50 / p90 / p99 / max |",
        "|---|---|---|---|",
    ]
    for mode, runs in results["modes"].items():
        s = stats(runs)
        for kind in ("sleep", "busy"):
            k = s[kind]
            outcomes = ", ".join(f"{a}: {b}" for a, b in sorted(k["statuses"].items()))
            late = (
                f"{k[50]:.2f} / {k[90]:.2f} / {k[99]:.2f} / {k['max']:.2f} ms"
                if 50 in k
                else "did not wake"
            )
            lines.append(f"| python{mode} | {kind} | {outcomes} | {late} |")
    return lines
