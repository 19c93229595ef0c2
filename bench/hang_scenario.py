"""One hung-endpoint call in a fresh interpreter, timed (a child of hang_recovery.py).

    .venv/bin/python bench/hang_scenario.py stall_first|black_hole [--layer-python DIR]
        [--target URL]

``stall_first``: the first connection stalls (reads the request, never answers), later ones
are forwarded to ``--target`` (a moto server); the call should succeed after a retry.
``black_hole``: every connection stalls; the call fails once botocore gives up.

With ``--layer-python`` the botocore patch is activated the way the layer does it:
``timeout_guard`` imported from the built layer, then
``timeout_guard.sdk.install(botocore.session, settings)``;
``TIMEOUT_GUARD_*`` (and ``AWS_RETRY_MODE``, ...) come from the environment the parent set.
Prints one JSON line: seconds, outcome, attempts (connections the server saw), error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=("stall_first", "black_hole"))
    parser.add_argument("--layer-python")
    parser.add_argument("--target", help="healthy endpoint (stall_first)")
    args = parser.parse_args()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        os.environ.setdefault(key, value)

    import botocore.session

    patched = False
    if args.layer_python:
        sys.path.insert(0, args.layer_python)
        from timeout_guard import sdk, settings

        patched = sdk.install(botocore.session, settings.settings())
        if not patched:
            raise SystemExit("the layer's botocore patch did not install")

    from common import emit_json
    from loopback import BlackHole, StallFirst

    if args.scenario == "stall_first":
        if not args.target:
            raise SystemExit("stall_first needs --target")
        server = StallFirst(args.target, stall=1)
    else:
        server = BlackHole()
    with server:
        client = botocore.session.get_session().create_client(
            "sqs", region_name="us-east-1", endpoint_url=server.endpoint_url
        )
        config = client.meta.config
        started = time.perf_counter()
        error = None
        try:
            client.list_queues()
            outcome = "success"
        except Exception as exc:
            outcome = "error"
            error = f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - started
        attempts = server.connections
    emit_json(
        {
            "scenario": args.scenario,
            "patched": patched,
            "seconds": seconds,
            "outcome": outcome,
            "attempts": attempts,
            "error": error,
            "connect_timeout": config.connect_timeout,
            "read_timeout": config.read_timeout,
            "retries": config.retries,
        }
    )


if __name__ == "__main__":
    main()
