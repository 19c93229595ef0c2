"""Runs a plan of invocations that end at a timer's firing, and joins what the function
recorded when the timer fired (``$BENCH_FIRE_LOG`` lines) with when the harness saw the result.

Used by hook_precision.py (the layer's SIGALRM hook) and thread_timer.py (a watchdog thread).
The function's process and the harness share one machine, so ``time.monotonic()`` readings
compare across them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from common import kill_runtime
from locallambda import LocalLambda


@dataclass
class Planned:
    margin_ms: int
    timeout_s: float
    kind: str  # "sleep" or "busy"
    fresh: bool  # start a new process first (the margin is read at process start)


def run(
    fn: LocalLambda, plan: list[Planned], fire_log: Path, margin_var: str, expected: str
) -> list[dict]:
    """Invoke each planned item; ``expected`` is the status each should end with (an
    invocation that ends otherwise keeps the tail of its logs, for the report)."""
    delivered: dict[str, float] = {}
    original_finish = fn.api.finish

    def finish(request_id: str, outcome: str, body: bytes, error_type: Optional[str]) -> int:
        delivered.setdefault(request_id, time.monotonic())
        return original_finish(request_id, outcome, body, error_type)

    fn.api.finish = finish  # type: ignore[method-assign]
    results = []
    for item in plan:
        if item.fresh or fn.env.get(margin_var) != str(item.margin_ms):
            kill_runtime(fn)
            fn.env[margin_var] = str(item.margin_ms)
        fn.timeout = item.timeout_s
        inv = fn.invoke({"kind": item.kind})
        results.append(
            {
                "request_id": inv.request_id,
                "margin_ms": item.margin_ms,
                "timeout_s": item.timeout_s,
                "kind": item.kind,
                "status": inv.status,
                "error_type": inv.error_type,
                "cold": inv.cold,
                "duration_ms": inv.duration_ms,
                "delivered_mono": delivered.get(inv.request_id),
            }
        )
        if inv.status != expected:
            results[-1]["logs_tail"] = inv.logs[-1500:]
    fired = _read(fire_log)
    for r in results:
        rec = fired.get(r["request_id"])
        r["fired"] = rec is not None
        if rec is None:
            continue
        intended = rec.get("intended_epoch")
        if intended is None:
            intended = rec["deadline_epoch_ms"] / 1000 - r["margin_ms"] / 1000
        r["late_ms"] = (rec["fired_epoch"] - intended) * 1000
        if r["delivered_mono"] is not None and r["status"] == "error":
            r["delivery_ms"] = (r["delivered_mono"] - rec["fired_mono"]) * 1000
    return results


def _read(path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            out.setdefault(rec["request_id"], rec)
    return out
