"""Measurement 3: what the botocore patch costs per ``create_client`` and per API call against
moto. The measuring is ``bench/sdk_overhead.py``'s (``measure()``); this runs it in a fresh
interpreter and judges the figures.

    .venv/bin/python bench/sdk_calls.py      # one JSON line
"""

from __future__ import annotations

from typing import Any

from common import Check, emit_json, run_json

TARGET_CREATE_PCT = 2.0
TARGET_CALL_US = 20.0


def measure(repeats: int = 1) -> dict[str, Any]:
    runs = [run_json("sdk_calls.py", timeout=600) for _ in range(repeats)]
    return {"runs": runs}


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def summary(results: dict[str, Any]) -> dict[str, float]:
    keys = results["runs"][0].keys()
    return {k: _median([run[k] for run in results["runs"]]) for k in keys}


def checks(results: dict[str, Any]) -> list[Check]:
    """Judged on the direct timings of the layer's own code (precise); the end-to-end A/B
    against moto is shown beside them, but its noise is larger than the effect."""
    s = summary(results)
    create_pct = s["create_client_direct_pct"]
    call_us = s["api_call_layer_code_us"]
    return [
        Check(
            "per-call overhead (botocore patch)",
            "create_client added (layer code timed directly)",
            f"+{s['create_client_layer_us']:.0f} µs = {create_pct:+.2f} % of "
            f"{s['create_client_ms_without']:.2f} ms (A/B against moto: "
            f"{s['create_client_added_pct']:+.1f} %)",
            f"<= +{TARGET_CREATE_PCT:.0f} %",
            create_pct <= TARGET_CREATE_PCT,
        ),
        Check(
            "per-call overhead (botocore patch)",
            "added per API call (layer code timed directly, in an invocation)",
            f"{call_us:.1f} µs (A/B against moto: {s['api_call_added_us']:+.0f} µs on a "
            f"{s['api_call_ms']:.2f} ms call, noise)",
            f"<= {TARGET_CALL_US:.0f} µs",
            call_us <= TARGET_CALL_US,
        ),
    ]


def table(results: dict[str, Any]) -> list[str]:
    lines = [
        "From `bench/sdk_overhead.py` (medians of its rounds; SQS `GetQueueUrl` against "
        "moto server on 127.0.0.1, inside a simulated invocation).",
        "",
        "| run | create_client without / with | A/B added | layer code per create_client "
        "| API call | A/B added per call | layer code per call |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(results["runs"], 1):
        lines.append(
            f"| {i} | {r['create_client_ms_without']:.3f} / {r['create_client_ms_with']:.3f} ms "
            f"| {r['create_client_added_pct']:+.2f} % | {r['create_client_layer_us']:.1f} µs "
            f"| {r['api_call_ms']:.3f} ms | {r['api_call_added_us']:+.1f} µs "
            f"| {r['api_call_layer_code_us']:.2f} µs |"
        )
    return lines


if __name__ == "__main__":
    import sdk_overhead

    emit_json(sdk_overhead.measure())


def miss_reason(results: dict[str, Any]) -> str:
    s = summary(results)
    return (
        f"botocore patch: create_client +{s['create_client_layer_us']:.0f} µs "
        f"({s['create_client_direct_pct']:+.2f} %), {s['api_call_layer_code_us']:.1f} µs of layer "
        "code per API call (the wrappers of Endpoint._do_get_response, Endpoint._needs_retry "
        "and the pools' urlopen, inside an invocation). See bench/sdk_overhead.py."
    )
