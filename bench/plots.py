"""The PNGs under bench/plots/, one function per figure; each returns the file it wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from common import PLOTS  # noqa: E402

COLOURS = {"without": "#7f7f7f", "with": "#1f77b4"}


def _save(fig: Any, name: str) -> Path:
    PLOTS.mkdir(parents=True, exist_ok=True)
    path = PLOTS / name
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


def cold_start(results: dict[str, Any]) -> Path:
    """Wall clock (top) and CPU time (bottom) to the first /next, with and without the layer."""
    functions = sorted({c["function"] for c in results["cases"]}, key=["empty", "with_boto3"].index)
    fig, axes = plt.subplots(
        2, len(functions), figsize=(5.5 * len(functions), 7.6), squeeze=False
    )
    rng = np.random.default_rng(0)
    for row, (figure, label) in enumerate((("wall", "wall clock"), ("cpu", "CPU time"))):
        for ax, function in zip(axes[row], functions, strict=True):
            cases = [c for c in results["cases"] if c["function"] == function]
            data, labels, colours = [], [], []
            for c in cases:
                for side, arm in (("without", "without"), ("with", "layer")):
                    data.append(c["samples"][arm][figure])
                    labels.append(f"py{c['mode']}\n{side}")
                    colours.append(COLOURS[side])
            box = ax.boxplot(data, patch_artist=True, showfliers=False, widths=0.55)
            for patch, colour in zip(box["boxes"], colours, strict=True):
                patch.set_facecolor(colour)
                patch.set_alpha(0.35)
            for i, values in enumerate(data, 1):
                ax.scatter(i + rng.uniform(-0.15, 0.15, len(values)), values, s=5, c=colours[i - 1])
            ax.set_xticks(range(1, len(labels) + 1), labels)
            ax.set_ylabel(f"{label} to first /next (ms)")
            added = ", ".join(
                f"py{c['mode']} {c['added']['layer'][figure]['added']:+.2f} ms" for c in cases
            )
            ax.set_title(f"{function}, {label}: added (median paired) {added}", fontsize=8)
    fig.suptitle(f"Cold start with and without the layer ({results['runs']} interleaved runs each)")
    return _save(fig, "cold_start.png")


def invoke_overhead(results: dict[str, Any]) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4))
    everything = [x for v in results["variants"] for x in v["wrapped_us"] + v["bare_us"]]
    high = float(np.percentile(everything, 99.9))
    bins = np.linspace(0, high, 120)
    ax.hist(
        results["variants"][0]["bare_us"],
        bins=bins,
        alpha=0.6,
        label="bare handler",
        color=COLOURS["without"],
    )
    for v, colour in zip(results["variants"], ("#1f77b4", "#ff7f0e"), strict=True):
        ax.hist(v["wrapped_us"], bins=bins, alpha=0.5, label=f"wrapped: {v['label']}", color=colour)
    ax.axvline(20, color="red", linestyle="--", linewidth=1, label="target: +20 µs")
    ax.set_xlabel("µs per invocation (in process, trivial handler; 99.9th pct shown)")
    ax.set_ylabel("calls")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.set_title("Per-invocation cost of the handler wrapper")
    return _save(fig, "invoke_overhead.png")


def hang_recovery(results: dict[str, Any], settings: list, scenarios: dict[str, str]) -> Path:
    fig, ax = plt.subplots(figsize=(9, 4.8))
    labels, values, colours, hatches = [], [], [], []
    for scenario in scenarios:
        for key, label, layer, _env, _quick in settings:
            measured = [
                r["seconds"]
                for r in results["runs"]
                if r["scenario"] == scenario and r["setting"] == key
            ]
            computed = results["computed"].get(f"{scenario}/{key}")
            if measured:
                value, hatch = float(np.median(measured)), ""
            elif computed:
                value, hatch = computed["low"], "//"
            else:
                continue
            labels.append(
                f"{scenario}: {label.split(' (')[0]}" + ("" if measured else " [computed]")
            )
            values.append(value)
            colours.append("#1f77b4" if layer else "#7f7f7f")
            hatches.append(hatch)
    y = np.arange(len(labels))
    bars = ax.barh(y, values, color=colours)
    for bar, hatch, value in zip(bars, hatches, values, strict=True):
        bar.set_hatch(hatch)
        if hatch:
            bar.set_alpha(0.45)
        ax.text(
            value * 1.08,
            bar.get_y() + bar.get_height() / 2,
            f"≥ {value:.0f} s (computed)" if hatch else f"{value:.1f} s",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(0.5, max(values) * 8)
    ax.set_xlabel("seconds until the call returns or gives up (log scale)")
    fig.suptitle(
        "Hung endpoint: grey = botocore, blue = layer; hatched = computed lower bound, not run",
        fontsize=10,
    )
    return _save(fig, "hang_recovery.png")


def hook_precision(mode: str, runs: list[dict], target_ms: float) -> Path:
    late = [r["late_ms"] for r in runs if "late_ms" in r]
    delivery = [r["delivery_ms"] for r in runs if "delivery_ms" in r]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, values, what in (
        (axes[0], late, "fire time − intended (deadline − margin)"),
        (axes[1], delivery, "error at Runtime API − fire time"),
    ):
        if values:
            ax.hist(values, bins=30, color="#1f77b4", alpha=0.75)
            p99 = float(np.percentile(values, 99))
            ax.axvline(p99, color="black", linestyle=":", label=f"p99 {p99:.2f} ms")
        ax.axvline(target_ms, color="red", linestyle="--", label=f"target p99 ≤ {target_ms:g} ms")
        ax.set_xlabel(f"{what} (ms)")
        ax.set_ylabel("invocations")
        ax.legend(fontsize=8)
    fig.suptitle(f"Pre-timeout hook precision, python{mode} ({len(runs)} invocations)")
    return _save(fig, f"hook_precision_python{mode}.png")


def thread_timer(thread: dict[str, Any], hook: dict[str, Any]) -> Path:
    modes = list(thread["modes"])
    fig, axes = plt.subplots(1, len(modes), figsize=(5.5 * len(modes), 3.8), squeeze=False)
    for ax, mode in zip(axes[0], modes, strict=True):
        series = []
        for kind in ("sleep", "busy"):
            series.append(
                (
                    f"thread timer, {kind} handler",
                    [
                        r["late_ms"]
                        for r in thread["modes"][mode]
                        if r["kind"] == kind and "late_ms" in r
                    ],
                )
            )
        hook_runs = hook.get("modes", {}).get(mode, [])
        series.append(
            ("layer SIGALRM hook (all)", [r["late_ms"] for r in hook_runs if "late_ms" in r])
        )
        everything = [x for _, values in series for x in values]
        bins = np.linspace(min(everything + [0]), max(everything + [1]), 40)
        for (label, values), colour in zip(series, ("#2ca02c", "#d62728", "#1f77b4"), strict=True):
            if values:
                ax.hist(values, bins=bins, alpha=0.55, label=label, color=colour, density=True)
        ax.set_xlabel("wake-up / fire lateness (ms)")
        ax.set_ylabel("density")
        ax.set_title(f"python{mode}: the thread only logs; the hard kill follows", fontsize=9)
        ax.legend(fontsize=8)
    fig.suptitle("Watchdog thread (Sentry-style) vs the layer's signal")
    return _save(fig, "thread_timer.png")
