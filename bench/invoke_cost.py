"""Measurement 2 as the report sees it: runs invoke_overhead.py (hook only, and hook with the
botocore patch installed) and summarises p50/p99 per call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common import Check, pct, run_json

TARGET_US = 20.0


def measure(opt: Path, calls: int) -> dict[str, Any]:
    results: dict[str, Any] = {"calls": calls, "variants": []}
    for label, extra in (("hook", []), ("hook + botocore patch", ["--sdk"])):
        raw = run_json(
            "invoke_overhead.py",
            "--layer-python",
            str(opt / "python"),
            "--calls",
            str(calls),
            *extra,
        )
        bare, wrapped = raw["bare_us"], raw["wrapped_us"]
        results["variants"].append(
            {
                "label": label,
                "samples": len(bare),
                "bare_us": bare,
                "wrapped_us": wrapped,
                "p50_bare": pct(bare, 50),
                "p99_bare": pct(bare, 99),
                "p50_wrapped": pct(wrapped, 50),
                "p99_wrapped": pct(wrapped, 99),
                "added_p50": pct(wrapped, 50) - pct(bare, 50),
                "added_p99": pct(wrapped, 99) - pct(bare, 99),
            }
        )
    return results


def checks(results: dict[str, Any]) -> list[Check]:
    out = []
    for v in results["variants"]:
        out.append(
            Check(
                "per-invocation overhead",
                f"added per invocation, {v['label']} (p50 / p99)",
                f"{v['added_p50']:.1f} / {v['added_p99']:.1f} µs",
                f"<= {TARGET_US:.0f} µs",
                v["added_p99"] <= TARGET_US,
                "judged on p99",
            )
        )
    return out


def table(results: dict[str, Any]) -> list[str]:
    lines = [
        f"Trivial handler called in process, {results['variants'][0]['samples']} calls per "
        "variant in interleaved blocks; the layer imported from the built zip's `python/`.",
        "",
        "| variant | bare p50 / p99 | wrapped p50 / p99 | added p50 / p99 |",
        "|---|---|---|---|",
    ]
    for v in results["variants"]:
        lines.append(
            f"| {v['label']} | {v['p50_bare']:.2f} / {v['p99_bare']:.2f} µs "
            f"| {v['p50_wrapped']:.2f} / {v['p99_wrapped']:.2f} µs "
            f"| {v['added_p50']:.2f} / {v['added_p99']:.2f} µs |"
        )
    return lines


def miss_reason(results: dict[str, Any]) -> str:
    worst = max(results["variants"], key=lambda v: v["added_p99"])
    return (
        f"per-invocation overhead: {worst['label']} adds {worst['added_p99']:.1f} µs at p99 "
        f"(p50 {worst['added_p50']:.1f} µs). Profile `Guard.enter`/`Guard.exit` (cProfile on "
        "bench/invoke_overhead.py): the stdlib `signal.signal`/`getsignal` wrappers convert to "
        "enums (≈ 5 µs a call here, against < 0.5 µs for `_signal`), and the end-of-invocation "
        "callbacks run on every call."
    )
