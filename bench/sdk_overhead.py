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
for extra in (REPO / "layer",):  # the layer's package, as the bootstrap finds it
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
    from timeout_guard import invocation, sdk, settings

    sdk.install(botocore.session, settings.settings())
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

        invocation.begin(_deadline(3500))

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
    direct = _direct_costs(session, kwargs)
    return {
        **direct,
        "create_client_direct_pct": round(direct["create_client_layer_us"] / without_ms / 10, 2),
        "create_client_ms_with": round(with_ms, 3),
        "create_client_ms_without": round(without_ms, 3),
        "create_client_added_pct": round((with_ms / without_ms - 1) * 100, 2),
        "api_call_ms": round(off * 1000, 3),
        "api_call_added_us": round((on - off) * 1e6, 2),
    }


def _deadline(seconds: float) -> Any:
    """An invocation whose guard fires in ``seconds``: the guard's real Deadline, no alarm."""
    from timeout_guard import guard, settings

    class Context:
        aws_request_id = "bench"
        due = time.monotonic() + seconds + 100

        def get_remaining_time_in_millis(self) -> int:
            return int((self.due - time.monotonic()) * 1000)

    owner = guard.Guard(settings.settings(), set())
    return guard.Deadline(owner, {}, Context(), time.monotonic(), (seconds + 100) * 1000, 100_000)


def _best_us(run: Callable[[], None], number: int, repeat: int = 7) -> float:
    """Fastest per-call time of ``run`` in µs (timeit's method: the minimum is the cost)."""
    import timeit

    return min(timeit.repeat(run, number=number, repeat=repeat)) / number * 1e6


def _direct_costs(session: Any, kwargs: dict) -> dict[str, float]:
    """What the layer's own code adds, timed directly (no network in the measurement).

    Per API call: the three wrapped methods every attempt goes through (``_do_get_response``,
    ``_needs_retry``, the pool's ``urlopen``), each with the wrapper's dispatch, inside an
    invocation (the deadline path, the most work). Per ``create_client``: ``prepare`` (the
    merged Config) and ``register`` (the per-operation handlers).
    """
    import botocore.session
    from timeout_guard import invocation, settings
    from timeout_guard.sdk import accounting, attempts, clients
    from timeout_guard.sdk.wrapping import wrap_method

    client = botocore.session.Session.create_client(session, "sqs", **kwargs)
    model = client.meta.service_model.operation_model("GetQueueUrl")

    class Request:
        url = kwargs["endpoint_url"]

    class Target:
        def _do_get_response(self, request: Any, operation_model: Any, context: Any) -> Any:
            return ("response", None)

        def _needs_retry(self, *args: Any, **kwargs: Any) -> bool:
            return False

        def urlopen(self, *args: Any, **kwargs: Any) -> Any:
            return "raw"

    class Wrapped(Target):
        pass

    for name, wrapper in (
        ("_do_get_response", attempts.do_get_response_wrapper(True)),
        ("_needs_retry", attempts.needs_retry),
        ("urlopen", attempts.urlopen),
    ):
        wrap_method(Wrapped, name, wrapper)
    plain, wrapped = Target(), Wrapped()
    assert type(plain)._do_get_response is Target.__dict__["_do_get_response"]
    context = {"client_config": client.meta.config}
    retry_kwargs = {
        "response": None,
        "attempts": 1,
        "operation_model": model,
        "request_dict": {"context": context},
        "caught_exception": None,
    }

    def one_attempt(target: Any) -> Callable[[], None]:
        def run() -> None:
            context = {"client_config": client.meta.config}  # one API call's context
            retry_kwargs["request_dict"] = {"context": context}
            target._do_get_response(Request, model, context)
            target.urlopen("POST", "/")
            target._needs_retry(**retry_kwargs)

        return run

    invocation.begin(_deadline(3500))
    try:
        layered = _best_us(one_attempt(wrapped), 20000)
        bare = _best_us(one_attempt(plain), 20000)
    finally:
        accounting.counts = accounting.Counts()  # the bench's fake calls: no record
        invocation.end()

    args, kw = ("sqs",), dict(kwargs)
    layer_settings = settings.settings()
    _, _, merged = clients._layered_arguments(session, args, kw, layer_settings)
    prepare_us = _best_us(
        lambda: clients._layered_arguments(session, args, kw, layer_settings), 300
    )

    def register() -> None:
        rules = clients.client_rules(client, "sqs", merged, layer_settings, True)
        clients._track(session, client, rules)

    register_us = _best_us(register, 300)
    return {
        "api_call_layer_code_us": round(layered - bare, 2),
        "create_client_layer_us": round(prepare_us + register_us, 1),
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
