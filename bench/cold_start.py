"""Cold start: spawn to the first ``/next`` in the local Lambda runtime, with and without the
layer (without = the layer's opt folder present, no exec wrapper), per runtime mode, for an
empty function and one that imports boto3 at init. Runs are interleaved (with/without
alternate, the order flips every round) so that drift hits both sides alike.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import import_probe
from common import FUNCTIONS, Check, bootstrap_median_diff, kill_runtime, median, pct
from locallambda import LocalLambda

FUNCTIONS_MEASURED = {"empty": "no imports at init", "with_boto3": "imports boto3 at init"}
TARGET_MS = 5.0


def _fresh_start(fn: LocalLambda) -> float:
    """Kill the live runtime process (if any) and time a new one to its first /next."""
    kill_runtime(fn)
    return fn.start()


def wrapper_alone(opt: Path, runs: int = 200) -> float:
    """Median ms the exec wrapper adds to exec'ing a trivial command (interleaved)."""
    import subprocess

    plain: list[float] = []
    wrapped: list[float] = []
    for i in range(runs):
        pair = ((plain, ["/bin/true"]), (wrapped, [str(opt / "timeout-guard"), "/bin/true"]))
        for sink, cmd in pair if i % 2 == 0 else pair[::-1]:
            started = time.perf_counter()
            subprocess.run(cmd, check=True)
            sink.append((time.perf_counter() - started) * 1000)
    return median(wrapped) - median(plain)


def measure(opt: Path, modes: list[str], runs: int, seed: int) -> dict[str, Any]:
    results: dict[str, Any] = {"runs": runs, "cases": []}
    wrapper = str(opt / "timeout-guard")
    for mode in modes:
        for function in FUNCTIONS_MEASURED:
            task = FUNCTIONS / function
            with (
                LocalLambda(task, "app.handler", opt_dir=opt, python=mode) as without,
                LocalLambda(
                    task, "app.handler", opt_dir=opt, exec_wrapper=wrapper, python=mode
                ) as with_layer,
            ):
                for fn in (without, with_layer):  # warm the page cache and .pyc files
                    for _ in range(2):
                        _fresh_start(fn)
                samples: dict[str, list[float]] = {"with": [], "without": []}
                for i in range(runs):
                    order = (("with", with_layer), ("without", without))
                    for name, fn in order if i % 2 == 0 else order[::-1]:
                        samples[name].append(_fresh_start(fn))
            w, wo = samples["with"], samples["without"]
            low, high = bootstrap_median_diff(w, wo, seed)
            results["cases"].append(
                {
                    "mode": mode,
                    "function": function,
                    "with": w,
                    "without": wo,
                    "median_with": median(w),
                    "median_without": median(wo),
                    "p90_with": pct(w, 90),
                    "p90_without": pct(wo, 90),
                    "added_ms": median(w) - median(wo),
                    "paired_ms": median([a - b for a, b in zip(w, wo, strict=True)]),
                    "added_ci": [low, high],
                }
            )
    results["wrapper_ms"] = wrapper_alone(opt)
    results["probes"] = [
        import_probe.probe(opt, mode, function) for mode in modes for function in FUNCTIONS_MEASURED
    ]
    return results


def checks(results: dict[str, Any]) -> list[Check]:
    out = []
    for case in results["cases"]:
        low, high = case["added_ci"]
        out.append(
            Check(
                "cold start",
                f"added ms (median diff), python{case['mode']}, {case['function']}",
                f"{case['added_ms']:+.1f} ms (95% CI {low:+.1f}..{high:+.1f})",
                f"<= {TARGET_MS:.0f} ms",
                case["added_ms"] <= TARGET_MS,
                "CI spans the target: noise-limited" if low <= TARGET_MS <= high else "",
            )
        )
    return out


def miss_reason(results: dict[str, Any]) -> str:
    missed = [c for c in results["cases"] if c["added_ms"] > TARGET_MS]
    where = "; ".join(f"python{c['mode']} {c['function']} {c['added_ms']:+.1f} ms" for c in missed)
    text = f"cold start above +{TARGET_MS:g} ms in: {where}."
    text += (
        f" The exec wrapper script alone costs {results['wrapper_ms']:.1f} ms (one POSIX sh "
        "start, no other process); the rest is the layer's own modules, compiled at every cold "
        "start because Lambda's /opt is read-only (no __pycache__)."
    )
    probes = [p for p in results.get("probes", []) if p["function"] == "with_boto3"]
    if probes:
        p = max(probes, key=lambda p: p["total_ms"])
        parts = ", ".join(f"{n} {ms:.1f} ms" for n, ms in p["packages"] if ms >= 0.5)
        text += (
            f" With boto3 at init the layer's botocore patch loads during init; the imports "
            f"that happen only with the layer ({parts}; under the import profiler) are the cost."
        )
        text += (
            " Deferring timeout_guard.sdk's own modules to the first create_client would "
            "move the rest out of init."
        )
    if any(c["added_ci"][0] <= TARGET_MS for c in missed):
        text += (
            " Some intervals include the target: on this shared 2-core machine the spread is "
            "large; `make bench FULL=1` doubles the runs."
        )
    return text


def table(results: dict[str, Any]) -> list[str]:
    lines = [
        f"{results['runs']} runs per cell, interleaved (with/without alternate, order flips "
        "each round); spawn of the replica bootstrap to the first `/next`.",
        "",
        "| runtime | function | without: median / p90 | with layer: median / p90 "
        "| added (median diff) | 95% bootstrap CI | median of paired diffs |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in results["cases"]:
        lo, hi = c["added_ci"]
        lines.append(
            f"| python{c['mode']} | {c['function']} ({FUNCTIONS_MEASURED[c['function']]}) "
            f"| {c['median_without']:.1f} / {c['p90_without']:.1f} ms "
            f"| {c['median_with']:.1f} / {c['p90_with']:.1f} ms "
            f"| {c['added_ms']:+.1f} ms | {lo:+.1f} .. {hi:+.1f} ms | {c['paired_ms']:+.1f} ms |"
        )
    if results.get("probes"):
        lines += [
            "",
            "Where the added time goes: the exec wrapper script alone (`timeout-guard /bin/true` "
            f"against `/bin/true`, 200 interleaved runs) adds {results['wrapper_ms']:.1f} ms; "
            "the imports that happen only with the layer:",
            "",
        ]
        lines += [f"- {import_probe.describe(p)}" for p in results["probes"]]
    return lines
