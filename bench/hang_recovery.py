"""Measurement 4: how long a call takes to come back from a hung endpoint, botocore's defaults
against the layer's defaults and a tuned setting, side by side.

Each case is one call in a fresh interpreter (``hang_scenario.py``); cases run concurrently
(they only wait on sockets). botocore's own defaults take minutes: they are measured with
``--full`` only; the quick run shows them computed from botocore's retry policy, labelled so.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional

import retry_math
from common import Check, median, run_json
from loopback import MotoServer

TARGET_RATIO = 10.0
TUNED = {"TIMEOUT_GUARD_CONNECT_TIMEOUT": "1", "TIMEOUT_GUARD_READ_TIMEOUT": "1"}
LEGACY = {"AWS_RETRY_MODE": "legacy"}

# (key, label, uses the layer, environment, runs in quick mode)
SETTINGS = [
    ("default", "botocore defaults (60/60 s, standard, 3 attempts)", False, {}, False),
    ("layer", "layer defaults (connect 2 / read 5 s, standard, 3 attempts)", True, {}, True),
    ("tuned", "layer tuned (connect 1 / read 1 s)", True, TUNED, True),
    ("legacy_default", "botocore defaults, AWS_RETRY_MODE=legacy", False, LEGACY, False),
    ("legacy_layer", "layer defaults, AWS_RETRY_MODE=legacy (user's mode)", True, LEGACY, True),
]
SCENARIOS = {
    "stall_first": "first connection stalls, then healthy (moto)",
    "black_hole": "black hole (every connection accepted, never answered)",
}
BASE = {"layer": "default", "tuned": "default", "legacy_layer": "legacy_default"}
SKIP = {("stall_first", "legacy_default"), ("stall_first", "legacy_layer")}


def measure(opt: Path, full: bool, repeats: int) -> dict[str, Any]:
    jobs: list[tuple[str, str, list[str], dict[str, str]]] = []
    with MotoServer() as moto:
        for scenario in SCENARIOS:
            for key, _label, layer, env, quick in SETTINGS:
                if (scenario, key) in SKIP or not (quick or full):
                    continue
                args = [scenario, "--target", moto.endpoint_url]
                if layer:
                    args += ["--layer-python", str(opt / "python")]
                for _ in range(repeats if layer else 1):
                    jobs.append((scenario, key, args, env))
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [
                (scenario, key, pool.submit(run_json, "hang_scenario.py", *args, env=env))
                for scenario, key, args, env in jobs
            ]
            runs = [
                {"scenario": scenario, "setting": key, **future.result()}
                for scenario, key, future in futures
            ]
    return {"full": full, "runs": runs, "computed": _computed()}


def _computed() -> dict[str, dict[str, Any]]:
    t = retry_math.default_timeout()
    bounds = {
        ("stall_first", "default"): retry_math.stall_first(t),
        ("black_hole", "default"): retry_math.standard(t),
        ("black_hole", "legacy_default"): retry_math.legacy(t),
    }
    return {f"{s}/{k}": vars(b) for (s, k), b in bounds.items()}


def _seconds(results: dict[str, Any], scenario: str, key: str) -> list[float]:
    return [
        r["seconds"] for r in results["runs"] if r["scenario"] == scenario and r["setting"] == key
    ]


def _cell(results: dict[str, Any], scenario: str, key: str) -> tuple[Optional[float], str]:
    """(seconds used for ratios, text): measured median, else the computed lower bound."""
    measured = _seconds(results, scenario, key)
    if measured:
        runs = [r for r in results["runs"] if r["scenario"] == scenario and r["setting"] == key]
        outcomes = sorted({f"{r['outcome']}, {r['attempts']} attempts" for r in runs})
        spread = (
            f" (n={len(measured)}, {min(measured):.2f}-{max(measured):.2f})"
            if len(measured) > 1
            else ""
        )
        return median(measured), f"{median(measured):.2f} s measured{spread}; {'; '.join(outcomes)}"
    bound = results["computed"].get(f"{scenario}/{key}")
    if bound:
        return bound["low"], (
            f"**not run (quick mode; run FULL=1)**: computed {bound['low']:.0f}-"
            f"{bound['high']:.1f} s = {bound['how']}"
        )
    return None, "not run"


def checks(results: dict[str, Any]) -> list[Check]:
    out = []
    for scenario in SCENARIOS:
        base, _ = _cell(results, scenario, "default")
        measured_base = bool(_seconds(results, scenario, "default"))
        for key in ("layer", "tuned"):
            secs, _ = _cell(results, scenario, key)
            if base is None or secs is None:
                continue
            ratio = base / secs
            how = "measured" if measured_base else "vs computed lower bound of the default"
            judged = scenario == "stall_first"
            out.append(
                Check(
                    "hang recovery",
                    f"{SCENARIOS[scenario].split(' (')[0]}: {key} vs botocore defaults",
                    f"{secs:.2f} s vs {base:.0f} s = {'>=' if not measured_base else ''}"
                    f"{ratio:.0f}x faster ({how})",
                    f">= {TARGET_RATIO:.0f}x" if judged else "(no target)",
                    ratio >= TARGET_RATIO if judged else None,
                )
            )
    legacy = results["computed"]["black_hole/legacy_default"]
    measured = _seconds(results, "black_hole", "legacy_default")
    out.append(
        Check(
            "hang recovery",
            "black hole, legacy retries, botocore defaults (worst case)",
            (f"{median(measured):.1f} s measured; " if measured else "")
            + f"computed {legacy['low']:.0f}-{legacy['high']:.0f} s",
            "(context)",
            None,
        )
    )
    return out


def table(results: dict[str, Any]) -> list[str]:
    lines = []
    for scenario, title in SCENARIOS.items():
        lines += [
            f"**{title}** (SQS `ListQueues`):",
            "",
            "| setting | time to recover / give up | vs botocore defaults (same retry mode) |",
            "|---|---|---|",
        ]
        for key, label, _layer, _env, _quick in SETTINGS:
            if (scenario, key) in SKIP:
                continue
            secs, text = _cell(results, scenario, key)
            ratio = ""
            if key in BASE:
                base, _ = _cell(results, scenario, BASE[key])
                if base and secs:
                    ratio = f"{base / secs:.1f}x faster"
                    if not _seconds(results, scenario, BASE[key]):
                        ratio = "≥ " + ratio + " (vs computed lower bound)"
            lines.append(f"| {label} | {text} | {ratio} |")
        lines.append("")
    return lines


def miss_reason(results: dict[str, Any]) -> str:
    return (
        "hang recovery: less than 10x faster than botocore's defaults on a stalled first "
        "connection; check the attempts column (a retry that did not happen, or a read timeout "
        "that did not apply) in the table above."
    )
