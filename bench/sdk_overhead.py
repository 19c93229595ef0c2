"""What the layer's botocore patch costs: create_client and per-API-call, against moto.

    .venv/bin/python bench/sdk_overhead.py [--calls N] [--clients N]

``measure()`` returns the numbers (for bench/run.py). Both variants run in this process: the
patched ``create_client`` and its original (``__wrapped__``); the per-call cost compares the
same client with the layer's per-attempt wrappers on and off. Inside an invocation (the
deadline path) the wrappers do the most work, so that is what is measured.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
for extra in (REPO / "layer", REPO / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))


def _interleaved(a: Callable[[], None], b: Callable[[], None], repeat: int) -> tuple[float, float]:
    """Fastest of ``repeat`` timings of each, run alternately (a shared machine is noisy)."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for run, out in ((a, samples[0]), (b, samples[1])):
            started = time.perf_counter()
            run()
            out.append(time.perf_counter() - started)
    return min(samples[0]), min(samples[1])


def measure(calls: int = 300, clients: int = 30, rounds: int = 7) -> dict[str, float]:
    """create_client (ms, with and without the patch) and the added µs per API call."""
    import os

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    import botocore.endpoint
    import botocore.session
    from loopback import MotoServer
    from timeout_guard import invocation, sdk

    sdk.install(botocore.session)
    patched = botocore.session.Session.create_client
    original = botocore.session.Session.__dict__["create_client"].__wrapped__
    endpoint = botocore.endpoint.Endpoint
    wrapped_attempt = endpoint.__dict__["_do_get_response"]
    wrapped_retry = endpoint.__dict__["_needs_retry"]

    with MotoServer() as moto:
        session = botocore.session.get_session()
        kwargs = {"region_name": "us-east-1", "endpoint_url": moto.endpoint_url}
        patched(session, "sqs", **kwargs)  # warm the loaders' caches

        def make(create: Any) -> Callable[[], None]:
            return lambda: [create(session, "sqs", **kwargs) for _ in range(clients)] and None

        with_s, without_s = _interleaved(make(patched), make(original), rounds)
        with_ms, without_ms = with_s / clients * 1000, without_s / clients * 1000

        sqs = patched(session, "sqs", **kwargs)
        url = sqs.create_queue(QueueName="bench")["QueueUrl"]

        def api_calls() -> None:
            for _ in range(calls):
                sqs.get_queue_url(QueueName="bench")

        now = time.monotonic()
        invocation.begin("bench", now + 3600, now + 3500)

        def unpatched_calls() -> None:
            endpoint._do_get_response = wrapped_attempt.__wrapped__
            endpoint._needs_retry = wrapped_retry.__wrapped__
            try:
                api_calls()
            finally:
                endpoint._do_get_response = wrapped_attempt
                endpoint._needs_retry = wrapped_retry

        try:
            on, off = _interleaved(api_calls, unpatched_calls, rounds)
            on, off = on / calls, off / calls
        finally:
            endpoint._do_get_response = wrapped_attempt
            endpoint._needs_retry = wrapped_retry
            invocation.end()
        assert url
    return {
        "create_client_ms_with": round(with_ms, 3),
        "create_client_ms_without": round(without_ms, 3),
        "create_client_added_pct": round((with_ms / without_ms - 1) * 100, 2),
        "api_call_ms": round(off * 1000, 3),
        "api_call_added_us": round((on - off) * 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--clients", type=int, default=30)
    args = parser.parse_args()
    for key, value in measure(args.calls, args.clients).items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
