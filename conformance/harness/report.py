"""What a conformance run prints, the details file it leaves, and ``results.md``."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

from .compare import Comparison, Expected
from .runner import RunResult

TAIL_LINES = 12  # lines of a failure shown on the console per new difference


@dataclass
class Summary:
    """One botocore version's run, as reported."""

    botocore: str
    python: str
    selection: str
    comparison: Comparison
    plain: RunResult
    patched: RunResult
    seconds: float
    problems: list[str]

    @property
    def ok(self) -> bool:
        return self.comparison.ok and not self.problems


def _tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join("      " + line for line in text.rstrip().splitlines()[-lines:])


def print_summary(s: Summary, expected: dict[str, Expected]) -> None:
    c = s.comparison
    print(f"\n== botocore {s.botocore} (Python {s.python}, {s.selection} selection)")
    print(
        f"   tests run {c.tests_run}, passed plain {c.passed_plain}, passed patched "
        f"{c.passed_patched}, expected differences {len(c.expected)}, new differences "
        f"{len(c.new)}, stale entries {len(c.stale)}"
    )
    print(
        f"   plain {s.plain.seconds:.0f} s, patched {s.patched.seconds:.0f} s, "
        f"wall clock {s.seconds:.0f} s"
    )
    for cause, nodeids in _by_cause(c.new, s.patched.failures).items():
        # The traceback of the first test of each cause; the others by name only.
        print(f"   NEW DIFFERENCES, {len(nodeids)} x {cause}")
        print(_tail(s.patched.failures.get(nodeids[0], "(no failure text)")))
        for nodeid in nodeids:
            outcome = s.patched.outcomes.get(nodeid, "missing")
            print(f"   NEW DIFFERENCE: {nodeid} ({outcome} patched)")
    for nodeid in c.stale:
        entry = expected[nodeid]
        print(f"   STALE ENTRY (line {entry.line}): {nodeid} no longer differs: remove it")
    for nodeid in c.not_comparable:
        print(f"   note: listed {nodeid} did not pass plain ({s.plain.outcomes[nodeid]})")
    if c.gained:
        print(f"   note: {len(c.gained)} tests pass only patched: {', '.join(c.gained[:5])}")
    for run in (s.plain, s.patched):
        if run.network:
            print(f"   note: {run.name}: {len(run.network)} non-loopback network uses refused")
    for problem in s.problems:
        print(f"   PROBLEM: {problem}")
    print(f"   logs: {s.plain.log.parent.parent}")


def _first_error(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.startswith("E ")]
    return lines[0][1:].strip()[:160] if lines else "(no failure text)"


def _by_cause(nodeids: list[str], failures: dict[str, str]) -> dict[str, list[str]]:
    """Node ids grouped by the first ``E`` line of their failure, largest group first."""
    groups: dict[str, list[str]] = {}
    for nodeid in nodeids:
        groups.setdefault(_first_error(failures.get(nodeid, "")), []).append(nodeid)
    return dict(sorted(groups.items(), key=lambda item: -len(item[1])))


def write_details(s: Summary, path: Path, expected: dict[str, Expected]) -> None:
    """Every difference with its failure text, for investigating (kept under .cache)."""
    parts = []
    for nodeid in s.comparison.new + s.comparison.expected:
        status = "EXPECTED: " + expected[nodeid].reason if nodeid in expected else "NEW"
        text = s.patched.failures.get(nodeid, "(no failure text)")
        parts.append(f"### {nodeid}\n{status}\n{text.rstrip()}\n")
    path.write_text("\n".join(parts), encoding="utf-8")


def write_results(summaries: list[Summary], path: Path) -> None:
    """``conformance/results.md``: the counts of the last full run, committed."""
    lines = [
        "# Conformance results",
        "",
        "botocore's own `tests/unit` and `tests/functional`, run plain and with Timeout Guard",
        "started in the test process (`make conformance`; see README.md in this folder).",
        f"Machine: {platform.machine()}, {_cores()} cores; load average over the last 15 min "
        f"when written: {os.getloadavg()[2]:.1f} (wall clocks grow with other work on it).",
        "",
        "| botocore | Python | tests run | passed plain | passed patched | expected differences "
        "| new differences | stale entries | pass only patched | wall clock |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        c = s.comparison
        lines.append(
            f"| {s.botocore} | {s.python} | {c.tests_run} | {c.passed_plain} | {c.passed_patched} "
            f"| {len(c.expected)} | {len(c.new)} | {len(c.stale)} | {len(c.gained)} "
            f"| {s.seconds / 60:.1f} min |"
        )
    for s in summaries:
        lines += ["", f"## botocore {s.botocore}", ""]
        if s.comparison.new:
            lines.append("New differences (not in the expected list), by cause:")
            for cause, nodeids in _by_cause(s.comparison.new, s.patched.failures).items():
                lines += [
                    "",
                    f"- {len(nodeids)} x `{cause}`",
                    "",
                    "  <details><summary>tests</summary>",
                    "",
                ]
                lines += [f"  - `{n}`" for n in nodeids]
                lines += ["", "  </details>"]
        else:
            lines.append("No new differences.")
        if s.comparison.gained:
            lines.append("")
            lines.append("Tests passing only with the layer:")
            lines += [f"- `{n}` (plain: {s.plain.outcomes.get(n)})" for n in s.comparison.gained]
        refused = len(s.plain.network) + len(s.patched.network)
        lines.append("")
        lines.append(f"Non-loopback network uses refused (both runs): {refused}.")
        for problem in s.problems:
            lines.append(f"- Problem: {problem}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0
