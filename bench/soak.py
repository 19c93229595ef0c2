"""Soak: 1,000 invocations of a mix in one warm sandbox, per runtime mode (the long version of
``tests/soak/test_soak.py``; the sandbox, the function and the mix are in ``tests/soak/``).

The mix, in shuffled blocks of 20: normal returns, function errors, guard timeouts the handler
catches, SDK calls that stall and recover (a stalling proxy in front of moto), threads and a
subprocess; the function keeps its own ``SIGALRM`` handler and interval timer from init on.
Checked after every invocation (by the function's own probe): its handler and timer are back
and nothing of the layer's invocation state is left. At the end: open files, threads and RSS
against the figures after the first 50 invocations; every guard and SDK record matched with
the invocation that produced it. A reference run of the same function without the layer (the
first mode, guard timeouts replaced by normal returns) shows how much of any RSS growth is the
runtime's and the function's own.

Run alone: ``.venv/bin/python bench/soak.py [--invocations N] [--python 3.11]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from common import REPO, remove_layer, runtime_modes, unpack_layer

sys.path.insert(0, str(REPO / "tests" / "soak"))
from soak_driver import BASELINE_AT, BLOCK, SoakResult, sandbox  # noqa: E402

RSS_SLACK_KIB = 2048


REFERENCE = "without the layer"


def measure(opt: Path, modes: list[str], invocations: int, seed: int) -> dict[str, SoakResult]:
    """One soak per mode with the layer, then the reference run (keyed ``REFERENCE``)."""
    results = {}
    runs = [(mode, mode, True) for mode in modes] + [(REFERENCE, modes[0], False)]
    for key, mode, layer in runs:
        with sandbox(opt, mode, layer=layer) as soak:
            results[key] = soak.run(invocations, seed)
        took = results[key].seconds
        print(f"{_name(key, results[key])}: {invocations} invocations in {took:.0f} s", flush=True)
    return results


def _name(key: str, result: SoakResult) -> str:
    return f"python{result.python}" + ("" if result.layer else f", {REFERENCE}")


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values):.1f}" if values else "-"


def table(results: dict[str, SoakResult]) -> list[str]:
    mix = ", ".join(f"{kind} {BLOCK.count(kind)}" for kind in dict.fromkeys(BLOCK))
    lines = [
        f"One warm sandbox per runtime mode; the mix in shuffled blocks of 20 ({mix}); the "
        "function's own SIGALRM handler and 250 ms interval timer run throughout. Resources "
        f"of the runtime process from /proc after {BASELINE_AT} invocations and at the end; "
        "records counted in the logs against the invocations that must produce them.",
        "",
        "| mode | invocations | time | processes | guard records / caught timeouts | SDK "
        "records / stalled calls | other layer lines | probe: checks, violations | open "
        f"files {BASELINE_AT} -> end | threads | RSS KiB {BASELINE_AT} -> end | problems |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, r in results.items():
        base, end, probe = r.baseline, r.end, r.probe if r.layer else {}
        violations = probe.get("between_violations", 0) + probe.get("invocation_violations", 0)
        lines.append(
            f"| {_name(key, r)} | {r.invocations} (+{r.kinds['report']} reports) "
            f"| {r.seconds:.0f} s "
            f"| {len(r.pids)} | {r.guard_records} / {r.kinds['caught_timeout']} "
            f"| {r.sdk_records} / {r.kinds['sdk_stall']} | {len(r.other_layer_lines)} "
            f"| {probe.get('invocations_checked', 0)} + {probe.get('between_samples', 0)} "
            f"between, {violations} "
            f"| {base.fds if base else '?'} -> {end.fds if end else '?'} "
            f"| {base.threads if base else '?'} -> {end.threads if end else '?'} "
            f"| {base.rss_kib if base else '?'} -> {end.rss_kib if end else '?'} "
            f"| {len(r.problems(RSS_SLACK_KIB))} |"
        )
    lines += ["", "Median invocation round trip by kind (ms):", ""]
    kinds = list(dict.fromkeys(BLOCK))
    lines += [
        "| mode | " + " | ".join(kinds) + " |",
        "|---|" + "---|" * len(kinds),
    ]
    for key, r in results.items():
        cells = " | ".join(_ms(r.durations_ms.get(kind, [])) for kind in kinds)
        lines.append(f"| {_name(key, r)} | {cells} |")
    lines += ["", "RSS (KiB) along the run:", ""]
    for key, r in results.items():
        curve = ", ".join(f"{done}: {res.rss_kib}" for done, res in r.curve)
        lines.append(f"- {_name(key, r)}: {curve}")
    for key, r in results.items():
        for problem in r.problems(RSS_SLACK_KIB):
            lines.append(f"- **{_name(key, r)}: {problem}**")
    return lines


def checks(results: dict[str, SoakResult]) -> list:
    from common import Check

    out = []
    reference = results.get(REFERENCE)
    for key, r in results.items():
        if not r.layer:
            continue
        growth = r.rss_growth_kib
        value = f"{len(r.problems(RSS_SLACK_KIB))} problems; RSS {growth:+d} KiB"
        if reference is not None and reference.rss_growth_kib is not None:
            value += f" (without the layer {reference.rss_growth_kib:+d} KiB)"
        out.append(
            Check(
                "soak",
                f"{_name(key, r)}: {r.invocations} invocations, every record and resource "
                "accounted for",
                value if growth is not None else "not measured",
                f"0 problems, RSS within {RSS_SLACK_KIB} KiB",
                not r.problems(RSS_SLACK_KIB),
            )
        )
    return out


def miss_reason(results: dict[str, SoakResult]) -> str:
    found = {_name(k, r): r.problems(RSS_SLACK_KIB) for k, r in results.items()}
    return "soak: " + "; ".join(f"{name}: {p}" for name, p in found.items() if p)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=1000)
    parser.add_argument("--python", action="append", help="a runtime version (default: modes)")
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    opt = unpack_layer()
    try:
        results = measure(opt, args.python or runtime_modes(), args.invocations, args.seed)
    finally:
        remove_layer(opt)
    print("\n".join(table(results)))


if __name__ == "__main__":
    main()

