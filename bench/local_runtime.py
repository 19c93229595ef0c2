"""How faithful and how fast the local Lambda runtime itself is (no layer involved).

- kill latency: from the deadline to the runtime's process group reaped, over timed-out
  invocations (Lambda kills at the deadline; the harness must not be late);
- warm invoke round trip: ``invoke()`` to result for a handler that returns at once;
- cold start: spawn to the first ``/next`` (bash bootstrap, interpreter, awslambdaric).

Run alone: ``.venv/bin/python bench/local_runtime.py [--kills N] [--warm N] [--cold N]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from locallambda import LocalLambda

FUNCTION = """
import time

def handler(event, context):
    if event.get("hang"):
        time.sleep(60)
    return "ok"
"""


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "min": ordered[0],
        "p50": statistics.median(ordered),
        "p90": ordered[int(0.9 * (len(ordered) - 1))],
        "p99": ordered[int(0.99 * (len(ordered) - 1))],
        "max": ordered[-1],
    }


def measure(kills: int = 30, warm: int = 300, cold: int = 30, python: str = "3.11") -> dict:
    with tempfile.TemporaryDirectory() as folder:
        task = Path(folder)
        (task / "app.py").write_text(FUNCTION)
        kill_ms, warm_ms, cold_ms = [], [], []
        with LocalLambda(task, "app.handler", timeout=0.3, python=python) as fn:
            for _ in range(kills):
                result = fn.invoke({"hang": True})
                assert result.status == "timeout"
                kill_ms.append(result.kill_latency_ms)
            fn.timeout = 3.0
            fn.invoke({})
            for _ in range(warm):
                started = time.perf_counter()
                fn.invoke({})
                warm_ms.append((time.perf_counter() - started) * 1000)
        for _ in range(cold):
            with LocalLambda(task, "app.handler", python=python) as fn:
                cold_ms.append(fn.start())
    return {
        "kill_latency_ms": _summary(kill_ms),
        "warm_round_trip_ms": _summary(warm_ms),
        "cold_start_ms": _summary(cold_ms),
    }


KILL_TARGET_MS = 50.0  # issue: the kill lands within 50 ms after the deadline


def table(results: dict) -> list[str]:
    lines = [
        "The harness every other measurement runs in: kill latency (deadline to the process "
        "group reaped, timed-out invocations), warm invoke round trip, cold start (spawn to "
        "first `/next`), python3.11, no layer.",
        "",
        "| figure | n | min | p50 | p90 | p99 | max |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in results.items():
        lines.append(
            f"| {name} | {s['n']} | {s['min']:.2f} | {s['p50']:.2f} | {s['p90']:.2f} "
            f"| {s['p99']:.2f} | {s['max']:.2f} |"
        )
    return lines


def checks(results: dict) -> list:
    from common import Check

    kill = results["kill_latency_ms"]
    return [
        Check(
            "local runtime",
            "hard kill after the deadline (max)",
            f"p50 {kill['p50']:.1f} / max {kill['max']:.1f} ms",
            f"<= {KILL_TARGET_MS:.0f} ms",
            kill["max"] <= KILL_TARGET_MS,
        ),
        Check(
            "local runtime",
            "warm invoke round trip / cold start p50",
            f"{results['warm_round_trip_ms']['p50']:.2f} ms / "
            f"{results['cold_start_ms']['p50']:.1f} ms",
            "context",
            None,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--warm", type=int, default=300)
    parser.add_argument("--cold", type=int, default=30)
    parser.add_argument("--python", default="3.11")
    args = parser.parse_args()
    figures = measure(args.kills, args.warm, args.cold, args.python)
    for name, summary in figures.items():
        cells = "  ".join(f"{k} {v:.2f}" if k != "n" else f"n {v}" for k, v in summary.items())
        print(f"{name:20s} {cells}")


if __name__ == "__main__":
    main()
