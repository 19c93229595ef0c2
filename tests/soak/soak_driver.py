"""The soak: one warm sandbox, many invocations of a mix, then an account of everything.

Used by ``test_soak.py`` (about 100 invocations, in ``make test``) and by ``bench/soak.py``
(1,000, in ``make bench``, figures in ``bench/results.md``).

The mix comes in blocks of 20 (each block shuffled with a seeded RNG), so any prefix of whole
blocks holds every kind in the same proportions, the first 50 invocations included:

    ok 8, sdk_ok 3, error 3, threads 3, sdk_stall 2, caught_timeout 1

After each invocation the function's own probe (``functions/app.py``) has checked what the
previous one left; ``report`` invocations bring its findings back. The process's open file
descriptors, threads and RSS are read from ``/proc`` after the first 50 invocations and at
the end; every guard record and SDK accounting record in the logs is matched with the
invocation that must have produced it.
"""

from __future__ import annotations

import contextlib
import random
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from locallambda import LocalLambda
from loopback import MotoServer, StallFirst

FUNCTION = Path(__file__).resolve().parent / "functions"
BLOCK = (
    ["ok"] * 8
    + ["sdk_ok"] * 3
    + ["error"] * 3
    + ["threads"] * 3
    + ["sdk_stall"] * 2
    + ["caught_timeout"]
)
BASELINE_AT = 50  # resources after this many invocations are the reference
TIMEOUT = 2.0  # the function's timeout
MARGIN_MS = 1000  # the guard fires 1 s into an invocation
GUARD_RECORD = re.compile(r"Lambda timeout in \d+ ms: stopping the handler")
SDK_RECORD = re.compile(
    r"AWS SDK: 1 calls, (\d+) retries, (\d+) timeouts; slowest sqs\.SendMessage"
)


def plan(count: int, seed: int, layer: bool = True) -> list[str]:
    """``count`` kinds: whole shuffled blocks, the last one cut short. Without the layer (the
    reference run) a guard timeout would be Lambda's kill: a normal return instead."""
    rng = random.Random(seed)
    kinds: list[str] = []
    while len(kinds) < count:
        block = list(BLOCK)
        rng.shuffle(block)
        kinds += block
    if not layer:
        kinds = ["ok" if kind == "caught_timeout" else kind for kind in kinds]
    return kinds[:count]


@dataclass
class Resources:
    """What the runtime process holds, from /proc (read while it waits for the next event)."""

    fds: int
    threads: int
    rss_kib: int

    @classmethod
    def of(cls, pid: int) -> Resources:
        status = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        )
        return cls(
            fds=len(list(Path(f"/proc/{pid}/fd").iterdir())),
            threads=int(status["Threads"]),
            rss_kib=int(status["VmRSS"].split()[0]),
        )


@dataclass
class SoakResult:
    """Everything the soak saw; ``problems()`` lists whatever is not as it must be."""

    python: str
    invocations: int
    kinds: Counter
    seconds: float
    layer: bool = True  # False: the reference run, the same function without the layer
    outcomes: list[str] = field(default_factory=list)  # "kind: what happened" when unexpected
    pids: set = field(default_factory=set)
    guard_records: int = 0
    sdk_records: int = 0
    sdk_retries: list = field(default_factory=list)
    other_layer_lines: list = field(default_factory=list)
    probe: dict = field(default_factory=dict)
    baseline: Optional[Resources] = None
    end: Optional[Resources] = None
    curve: list = field(default_factory=list)  # (invocations done, Resources)
    durations_ms: dict = field(default_factory=dict)  # kind -> [ms]

    @property
    def rss_growth_kib(self) -> Optional[int]:
        if self.baseline is None or self.end is None:
            return None
        return self.end.rss_kib - self.baseline.rss_kib

    def problems(self, rss_slack_kib: int = 2048) -> list[str]:
        out = list(self.outcomes)
        if len(self.pids) != 1:
            out.append(f"not one warm sandbox: processes {sorted(self.pids)}")
        expected_guard, expected_sdk = self.kinds["caught_timeout"], self.kinds["sdk_stall"]
        if not self.layer:
            expected_guard = expected_sdk = 0
        if self.guard_records != expected_guard:
            out.append(f"{self.guard_records} guard records for {expected_guard} guard timeouts")
        if self.sdk_records != expected_sdk:
            out.append(f"{self.sdk_records} SDK records for {expected_sdk} stalled calls")
        if self.other_layer_lines:
            out.append(f"other lines of the layer: {self.other_layer_lines[:5]}")
        probe = self.probe if self.layer else {"invocations_checked": None, "between_samples": 1}
        for key in ("between_violations", "invocation_violations"):
            if probe.get(key):
                out.append(f"probe {key}: {probe[key]}: {probe.get('violations')}")
        checked = probe.get("invocations_checked")
        if self.layer and checked != self.invocations + self.kinds["report"]:
            out.append(f"probe checked {checked} invocations")
        if not probe.get("between_samples"):
            out.append("the probe never sampled between invocations")
        base, end = self.baseline, self.end
        if base is None or end is None:
            out.append("resources not measured")
        else:
            if end.fds != base.fds:
                out.append(f"open files {base.fds} after {BASELINE_AT}, {end.fds} at the end")
            if end.threads != base.threads:
                out.append(f"threads {base.threads} after {BASELINE_AT}, {end.threads} at the end")
            if abs(end.rss_kib - base.rss_kib) > rss_slack_kib:
                out.append(f"RSS {base.rss_kib} KiB after {BASELINE_AT}, {end.rss_kib} at the end")
        return out


def _expected(kind: str, result: Any) -> Optional[str]:
    """What is wrong with one invocation's result, or None."""
    if kind == "error":
        ok = result.status == "error" and result.error_type == "ValueError"
    elif kind == "caught_timeout":
        ok = result.status == "success" and result.payload == "caught"
    elif kind == "sdk_stall":
        ok = result.status == "success" and isinstance(result.payload, int) and result.payload >= 1
    elif kind == "sdk_ok":
        ok = result.status == "success" and result.payload == 0
    elif kind == "threads":
        ok = result.status == "success" and result.payload == 4
    else:
        ok = result.status == "success"
    if ok:
        return None
    return f"{kind}: {result.status} {result.error_type} {str(result.payload)[:200]}"


class Soak:
    """The sandbox (function, moto, stalling proxy); ``run`` drives the mix through it."""

    def __init__(self, fn: LocalLambda, stall: StallFirst, layer: bool = True) -> None:
        self.fn = fn
        self.stall = stall
        self.layer = layer

    def run(self, count: int, seed: int, every: int = 50, report_every: int = 100) -> SoakResult:
        kinds = plan(count, seed, self.layer)
        result = SoakResult(self.fn.runtime.version, count, Counter(kinds), 0.0, self.layer)
        started = time.monotonic()
        invocations = []  # their logs are read at the end, when every slice is complete
        for done, kind in enumerate(kinds, 1):
            if kind == "sdk_stall":
                self.stall.stall_next()
            t0 = time.monotonic()
            invocation = self.fn.invoke({"kind": kind, "n": done})
            result.durations_ms.setdefault(kind, []).append((time.monotonic() - t0) * 1000)
            result.pids.add(invocation.pid)
            invocations.append(invocation)
            problem = _expected(kind, invocation)
            if problem:
                result.outcomes.append(f"#{done} {problem}")
            if done % report_every == 0 or done == count:
                invocations.append(self._report(result))
            if done in (BASELINE_AT, count) or done % every == 0:
                # Read when the runtime waits for the next event (its /next poll has arrived):
                # from python3.12 that poll runs in a thread of its own, started for each poll.
                if not self.fn.api.wait_for_polls(1, timeout=60):
                    result.outcomes.append(f"#{done}: the runtime never polled for the next event")
                resources = Resources.of(invocation.pid)
                result.curve.append((done, resources))
                if done == BASELINE_AT:
                    result.baseline = resources
        result.end = result.curve[-1][1] if result.curve else None
        result.seconds = time.monotonic() - started
        self._account(result, "".join(each.logs for each in invocations))
        return result

    def _report(self, result: SoakResult) -> Any:
        report = self.fn.invoke({"kind": "report"})
        result.kinds["report"] += 1
        result.pids.add(report.pid)
        if report.status == "success":
            result.probe = report.payload
        else:
            result.outcomes.append(f"report: {report.status} {report.error_type}")
        return report

    @staticmethod
    def _account(result: SoakResult, logs: str) -> None:
        """Match the layer's records in the logs with the invocations that produced them."""
        for line in logs.splitlines():
            if "Lambda timeout in" in line:
                result.guard_records += bool(GUARD_RECORD.search(line))
            elif "AWS SDK:" in line:
                match = SDK_RECORD.search(line)
                result.sdk_records += bool(match)
                if match:
                    result.sdk_retries.append(int(match.group(1)))
            elif "timeout_guard" in line or "Still running" in line:
                result.other_layer_lines.append(line)


@contextlib.contextmanager
def sandbox(
    opt_dir: Path, python: str, layer: bool = True, **lambda_options: Any
) -> Iterator[Soak]:
    """moto, a stalling proxy in front of it, and the soak function, with the layer unless
    ``layer`` is False (the reference run: the same function as without the layer)."""
    with MotoServer() as moto, StallFirst(moto.endpoint_url, stall=0) as stall:
        env = {
            "SOAK_MOTO": moto.endpoint_url,
            "SOAK_STALL": stall.endpoint_url,
            "TIMEOUT_GUARD_MARGIN_MS": str(MARGIN_MS),
            **lambda_options.pop("env", {}),
        }
        with LocalLambda(
            FUNCTION,
            "app.handler",
            python=python,
            opt_dir=opt_dir,
            exec_wrapper=str(opt_dir / "timeout-guard") if layer else None,
            env=env,
            timeout=TIMEOUT,
            **lambda_options,
        ) as fn:
            yield Soak(fn, stall, layer)
