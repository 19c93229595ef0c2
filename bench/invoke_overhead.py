"""Per-invocation cost of the handler wrapper, in process: the same trivial handler called
bare and through ``timeout_guard.bootstrap.guarded_handler`` (the real Guard: SIGALRM handler swap,
setitimer armed and disarmed on every call), imported from the built layer's ``python/``.

    .venv/bin/python bench/invoke_overhead.py --layer-python OPT/python [--calls N]

Run in its own interpreter (``run.py`` does): the layer's settings are read once per process.
Prints one JSON line; ``--sdk`` also installs the botocore patch first (its end-of-invocation
accounting then runs too, as in a function that imported boto3).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from typing import Any

ROUNDS = 20


class FakeContext:
    """What the guard reads from awslambdaric's LambdaContext."""

    def __init__(self, timeout_s: float = 30.0) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline_ms = int((time.time() + timeout_s) * 1000)

    def get_remaining_time_in_millis(self) -> int:
        return self._deadline_ms - int(time.time() * 1000)


def handler(event: Any, context: Any) -> Any:
    return event


def _time_calls(fn: Any, context: FakeContext, calls: int) -> list[float]:
    clock = time.perf_counter_ns
    out = []
    event = {"k": 1}
    for _ in range(calls):
        started = clock()
        fn(event, context)
        out.append((clock() - started) / 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layer-python", required=True)
    parser.add_argument("--calls", type=int, default=2000, help="per round and variant")
    parser.add_argument("--sdk", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, args.layer_python)
    import timeout_guard
    from timeout_guard import bootstrap

    if not timeout_guard.__file__.startswith(args.layer_python):
        raise SystemExit(f"timeout_guard came from {timeout_guard.__file__}, not the layer")
    if args.sdk:
        import botocore.session
        from timeout_guard import sdk, settings

        if not sdk.install(botocore.session, settings.settings()):
            raise SystemExit("the botocore patch did not install")
    wrapped = bootstrap.guarded_handler(handler)
    if wrapped is handler:
        raise SystemExit("the hook is off: guarded_handler() returned the handler itself")
    context = FakeContext()
    _time_calls(wrapped, context, 500)  # warm up
    _time_calls(handler, context, 500)
    bare: list[float] = []
    guarded: list[float] = []
    for i in range(ROUNDS):  # interleaved blocks, order flipping
        pair = ((bare, handler), (guarded, wrapped))
        for sink, fn in pair if i % 2 == 0 else pair[::-1]:
            sink.extend(_time_calls(fn, context, args.calls))
    import json

    print(json.dumps({"bare_us": bare, "wrapped_us": guarded, "sdk": args.sdk}))


if __name__ == "__main__":
    main()
