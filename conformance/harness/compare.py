"""Test-by-test comparison of the plain and the patched run against the expected differences.

The expected-differences file lists, one per line, a test that passes plain and does not pass
patched because of a DOCUMENTED behaviour of the layer, followed by ``  # `` and that reason::

    tests/unit/test_args.py::TestCreateClientArgs::test_x  # retries: layer default standard/3

Anything else that passes plain and not patched is a new difference and fails the run. An
entry whose test now passes patched (or is no longer collected, in a full run) is stale and
fails the run too: the list must stay exact, so that it documents what users can notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SEPARATOR = "  # "


@dataclass(frozen=True)
class Expected:
    nodeid: str
    reason: str
    line: int


def read_expected(path: Path) -> dict[str, Expected]:
    """Parse an expected-differences file; a malformed or repeated entry is an error."""
    entries: dict[str, Expected] = {}
    if not path.exists():
        return entries
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        nodeid, sep, reason = line.partition(SEPARATOR)
        if not sep or not reason.strip() or " " in nodeid.strip():
            raise SystemExit(f"{path}:{number}: expected 'NODEID{SEPARATOR}REASON', got {line!r}")
        if nodeid in entries:
            raise SystemExit(f"{path}:{number}: {nodeid} listed twice")
        entries[nodeid] = Expected(nodeid, reason.strip(), number)
    return entries


@dataclass
class Comparison:
    """The counts and lists a conformance run reports."""

    tests_run: int
    passed_plain: int
    passed_patched: int
    expected: list[str] = field(default_factory=list)  # listed, and differ as listed
    new: list[str] = field(default_factory=list)  # differ, not listed: a failure
    stale: list[str] = field(default_factory=list)  # listed, no longer differ: a failure
    not_comparable: list[str] = field(default_factory=list)  # listed, did not pass plain
    gained: list[str] = field(default_factory=list)  # pass only patched: reported

    @property
    def ok(self) -> bool:
        return not self.new and not self.stale


def compare(
    plain: dict[str, str],
    patched: dict[str, str],
    expected: dict[str, Expected],
    full_selection: bool,
) -> Comparison:
    """Compare outcomes (nodeid -> outcome) test by test.

    In a partial selection, entries whose test was not collected are simply out of scope; in
    the full selection they are stale (the test was renamed or removed).
    """
    passed = {t for t, o in plain.items() if o == "passed"}
    differ = {t for t in passed if patched.get(t, "missing") != "passed"}
    result = Comparison(
        tests_run=len(plain),
        passed_plain=len(passed),
        passed_patched=sum(1 for o in patched.values() if o == "passed"),
    )
    result.expected = sorted(differ & expected.keys())
    result.new = sorted(differ - expected.keys())
    for nodeid in sorted(expected.keys() - differ):
        if nodeid in passed:
            result.stale.append(nodeid)
        elif nodeid in plain:
            result.not_comparable.append(nodeid)
        elif full_selection:
            result.stale.append(nodeid)
    result.gained = sorted(t for t, o in patched.items() if o == "passed" and t not in passed)
    return result
