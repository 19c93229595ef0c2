#!/usr/bin/env python3
"""`make demo`: the example function with and without Timeout Guard, in the local Lambda runtime.

    .venv/bin/python examples/demo.py            # about 35 s (the hung connection scaled down)
    .venv/bin/python examples/demo.py --full     # the real 60 s botocore wait (make demo FULL=1)

The function is examples/app/app.py, the one template.yaml deploys, unchanged between runs.
It runs in the local Lambda runtime of tests/harness/locallambda/ (the replica bootstrap, the real
awslambdaric, Lambda's hard kill at the deadline); "with the layer" means the built layer
(dist/timeout-guard-layer.zip, unpacked like /opt) and AWS_LAMBDA_EXEC_WRAPPER set, nothing else.

1. Firehose put_record through a proxy whose first connection hangs (later connections are
   forwarded to moto in server mode). By default the proxy drops the hung connection after
   15 s, a stand-in for botocore's own 60 s read timeout, which --full waits for.
2. An invocation stuck past its 3 s timeout (time.sleep(600) in the handler).
3. Lambda Managed Instances (python3.13+): 4 worker processes, 4 invocations stuck past their
   3 s timeout, then 4 normal ones. Nothing kills a timed-out invocation there: without the
   layer the stuck workers never serve again.

Every process it starts (runtimes, moto) is stopped on the way out, Ctrl-C included.
Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

from locallambda import (
    LAYER_ZIP,
    Invocation,
    LocalLambda,
    Runtime,
    available_versions,
    provision,
    unpack_layer,
)
from loopback import MotoServer, StallFirst

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "examples" / "app"
STREAM = "timeout-guard-demo"
BUCKET = "timeout-guard-demo-bucket"
SCALED_DROP_S = 15.0  # default run: the hung connection is dropped after this long
BOTOCORE_READ_TIMEOUT_S = 60  # botocore's default read timeout
FIREHOSE_TIMEOUT_S = 90.0  # long enough for botocore's 60 s wait plus the retry
STUCK_TIMEOUT_S = 3.0
MI_WORKERS = 4
MI_QUEUE_WAIT_S = 5.0  # how long the normal invocations wait for a free worker


# --- output -----------------------------------------------------------------------------------


def say(text: str = "") -> None:
    print(text, flush=True)


@contextlib.contextmanager
def ticking() -> Iterator[None]:
    """Show the seconds going by while an invocation runs."""
    stop = threading.Event()
    started = time.monotonic()
    tty = sys.stdout.isatty()
    shown = []

    def run() -> None:
        while not stop.wait(1.0 if tty else 10.0):
            elapsed = time.monotonic() - started
            if tty:
                print(f"\r      ... {elapsed:3.0f} s", end="", flush=True)
            else:
                print(f"      ... {elapsed:.0f} s", flush=True)
            shown.append(True)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        if tty and shown:
            print("\r" + " " * 20 + "\r", end="", flush=True)


def seconds(invocation: Invocation) -> float:
    return (invocation.duration_ms or 0.0) / 1000


# --- the pieces -------------------------------------------------------------------------------


def unpack_layer_into(opt: Path) -> Path:
    """dist/timeout-guard-layer.zip unpacked like Lambda does into /opt; returns the wrapper."""
    if not LAYER_ZIP.exists():
        raise SystemExit(f"{LAYER_ZIP} is missing: run `make demo` (it builds the layer first)")
    unpack_layer(LAYER_ZIP, opt)
    return opt / "timeout-guard"


def pick_python(wanted: Optional[str]) -> str:
    found = available_versions()
    if wanted:
        if wanted not in found:
            raise SystemExit(f"no Python {wanted} interpreter here (found: {', '.join(found)})")
        return wanted
    for version in ("3.12", "3.11"):  # template.yaml's runtime first
        if version in found:
            return version
    if not found:
        raise SystemExit("no Python 3.10+ interpreter found for the local Lambda runtime")
    return found[0]


@dataclass
class Run:
    """Starts functions and servers and stops all of them, whatever happens."""

    stack: contextlib.ExitStack
    python: Runtime
    wrapper: Path

    def function(self, layer: bool, timeout: float, env: dict[str, str]) -> LocalLambda:
        return self._example(layer, timeout=timeout, env=env, python=self.python)

    def managed_function(self, layer: bool, python: Runtime) -> LocalLambda:
        """The same function on Lambda Managed Instances (MI_WORKERS worker processes)."""
        return self._example(
            layer,
            timeout=STUCK_TIMEOUT_S,
            python=python,
            max_concurrency=MI_WORKERS,
            queue_timeout=MI_QUEUE_WAIT_S,
        )

    def _example(self, layer: bool, **options: Any) -> LocalLambda:
        """The example function, with or without the layer; released when the demo ends."""
        fn = LocalLambda(
            APP,
            "app.handler",
            opt_dir=self.wrapper.parent if layer else None,
            exec_wrapper=str(self.wrapper) if layer else None,
            function_name="timeout-guard-example",
            **options,
        )
        self.stack.callback(self.release, fn)
        return fn

    @staticmethod
    def release(fn: LocalLambda) -> None:
        """Stop the function's runtime process group and its Runtime API."""
        fn.close()


def log_lines(invocation: Invocation) -> list[str]:
    """The invocation's log lines (awslambdaric writes a multi-line record's lines with \\r)."""
    return [line for line in re.split(r"[\r\n]+", invocation.logs) if line.strip()]


# --- scenario 1: a hung connection ------------------------------------------------------------


def firehose(run: Run, moto: MotoServer, full: bool) -> dict[str, list[str]]:
    say("1. Firehose put_record; the first connection hangs, later ones reach the service")
    say("   (a proxy on 127.0.0.1 in front of moto; Lambda timeout 90 s)")
    drop_after = None if full else SCALED_DROP_S
    if not full:
        say(
            f"   SCALED DOWN: the proxy drops the hung connection after {SCALED_DROP_S:.0f} s."
            f" botocore on its own would wait its\n   full {BOTOCORE_READ_TIMEOUT_S} s read"
            " timeout; `make demo FULL=1` waits for that."
        )
    cells = {}
    for layer in (False, True):
        label = "with the layer   " if layer else "without the layer"
        stall = StallFirst(moto.endpoint_url, stall=1, drop_after=drop_after)
        proxy = run.stack.enter_context(stall)
        fn = run.function(
            layer,
            FIREHOSE_TIMEOUT_S,
            {"AWS_ENDPOINT_URL": proxy.endpoint_url, "DELIVERY_STREAM_NAME": STREAM},
        )
        say(f'   {label}: invoking {{"record": "hello"}} ...')
        with ticking():
            result = fn.invoke({"record": "hello"})
        took = seconds(result)
        connections = proxy.connections
        lines = log_lines(result)
        run.release(fn)
        proxy.stop()
        if result.status == "success":
            retries = result.payload.get("retry_attempts")
            outcome = f"success, RetryAttempts {retries}"
        else:
            outcome = f"{result.error_type}: {result.error_message}"
        say(f"   {label}: {took:5.1f} s  {outcome}  ({connections} connections)")
        if layer:
            for line in lines:
                if "timeout_guard" in line or "AWS SDK:" in line:
                    say(f"      log: {line.strip()}")
        star = "*" if not layer and not full else ""
        cells["with" if layer else "without"] = [f"{took:.1f} s{star}", outcome]
    say()
    return cells


# --- scenario 2: stuck past the timeout -------------------------------------------------------


def stuck(run: Run) -> dict[str, list[str]]:
    say(f"2. The handler is stuck past its {STUCK_TIMEOUT_S:.0f} s timeout (time.sleep(600))")
    cells = {}
    for layer in (False, True):
        label = "with the layer   " if layer else "without the layer"
        fn = run.function(layer, STUCK_TIMEOUT_S, {})
        say(f'   {label}: invoking {{"sleep": 600}} ...')
        result = fn.invoke({"sleep": 600})
        lines = log_lines(result)
        run.release(fn)
        cleanup = [line.strip() for line in lines if "finally ran" in line]
        took = seconds(result)
        say(f"   {label}: {took:5.2f} s  {result.error_type}: {result.error_message}")
        if layer:
            show_guard_record(lines)
        say(f"      cleanup (finally): {cleanup[0] if cleanup else 'never ran'}")
        finally_ran = "finally ran" if cleanup else "finally never ran"
        if layer:
            stuck_in = re.search(r"It was in (\S+) \((?:.*/)?([^/]+:\d+)\)", "\n".join(lines))
            where = f"{stuck_in[1]} ({stuck_in[2]})" if stuck_in else "?"
            cells["with"] = [
                f"{result.error_type} at {took:.2f} s",
                f"stack logged: stuck in {where}",
                finally_ran,
            ]
        else:
            cells["without"] = [
                f"killed at {took:.2f} s: {result.error_type}",
                "no stack in the log",
                finally_ran,
            ]
    say()
    return cells


# --- scenario 3: Lambda Managed Instances ------------------------------------------------------


def managed_instances(run: Run, python: Runtime) -> dict[str, list[str]]:
    say(
        f"3. Lambda Managed Instances ({python.name}, {MI_WORKERS} workers): {MI_WORKERS}"
        f" invocations stuck past the {STUCK_TIMEOUT_S:.0f} s timeout, then {MI_WORKERS} normal"
    )
    say("   (nothing kills a timed-out invocation there: its worker stays busy)")
    cells = {}
    for layer in (False, True):
        label = "with the layer   " if layer else "without the layer"
        fn = run.managed_function(layer, python)
        fn.start()
        fn.api.wait_for_polls(MI_WORKERS, 30)
        say(f'   {label}: {MI_WORKERS} x {{"sleep": 600}}, then {MI_WORKERS} x {{"sleep": 0}} ...')
        with ticking():
            stuck = fn.invoke_many([{"sleep": 600}] * MI_WORKERS)
            normal = fn.invoke_many([{"sleep": 0}] * MI_WORKERS)
        run.release(fn)
        kinds = sorted({r.error_type or r.status for r in stuck})
        slowest = max(seconds(r) for r in stuck)
        served = [r for r in normal if r.status == "success"]
        say(f"   {label}: stuck ones: {', '.join(kinds)} (the last at {slowest:.2f} s)")
        if served:
            took = max(seconds(r) for r in served) * 1000
            say(f"   {label}: normal ones: {len(served)} of {MI_WORKERS} answered ({took:.0f} ms)")
        else:
            why = normal[0].error_type
            say(f"   {label}: normal ones: none served in {MI_QUEUE_WAIT_S:.0f} s ({why})")
        if layer:
            cells["with"] = [
                f"{MI_WORKERS} stuck: {', '.join(kinds)}",
                f"at {slowest:.2f} s, workers freed",
                f"{len(served)} of {MI_WORKERS} normal ones answered",
            ]
        else:
            cells["without"] = [
                f"{MI_WORKERS} stuck: {', '.join(kinds)} at {slowest:.2f} s,",
                "workers still running them",
                f"{len(served)} of {MI_WORKERS} normal ones served",
                f"(waited {MI_QUEUE_WAIT_S:.0f} s for a worker)",
            ]
    say()
    return cells


def show_guard_record(lines: list[str]) -> None:
    """The key lines of the guard's ERROR record: where it was stuck."""
    for index, line in enumerate(lines):
        if "Lambda timeout in" in line:
            say(f"      log: {line.strip()}")
            stack = [ln for ln in lines[index + 1 :] if ln.startswith("  ")][-2:]
            for frame in stack:
                say(f"      log: {frame.rstrip()}")
            return
    say("      log: (no record from timeout_guard found)")


# --- main -------------------------------------------------------------------------------------


def table(rows: list[tuple[list[str], list[str], list[str]]]) -> str:
    """A plain-text table; a cell is a list of lines."""
    widths = [max(len(line) for row in rows for line in row[i]) for i in range(3)]
    out = []
    for row in rows:
        for k in range(max(len(cell) for cell in row)):
            parts = [
                (cell[k] if k < len(cell) else "").ljust(widths[i]) for i, cell in enumerate(row)
            ]
            out.append(" | ".join(parts).rstrip())
        out.append("-+-".join("-" * w for w in widths))
    return "\n".join(out[:-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="let botocore wait its full 60 s")
    parser.add_argument("--python", help="runtime version, e.g. 3.12 (default: 3.12 or 3.11)")
    args = parser.parse_args()

    def interrupt(signum: int, frame: object) -> None:
        # Once: a second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)  # also when started with SIGINT ignored
    signal.signal(signal.SIGTERM, interrupt)
    started = time.monotonic()
    version = pick_python(args.python)
    say(f"preparing the local Lambda runtime python{version} (the first run installs it) ...")
    python = provision(version)
    with contextlib.ExitStack() as stack:
        opt = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tg-demo-opt-")))
        wrapper = unpack_layer_into(opt)
        say(f"Timeout Guard demo: examples/app/app.py in the local Lambda runtime ({python.name})")
        say(
            f"with the layer = {LAYER_ZIP.relative_to(REPO)} unpacked into a temporary /opt and"
            " AWS_LAMBDA_EXEC_WRAPPER=<that opt>/timeout-guard; nothing else differs"
        )
        say("starting moto (Firehose, S3) on 127.0.0.1 ...")
        moto = stack.enter_context(MotoServer())
        create_stream(moto)
        say()
        run = Run(stack, python, wrapper)
        hang = firehose(run, moto, args.full)
        kill = stuck(run)
        managed = None
        mi_version = next((v for v in available_versions() if v >= "3.13"), None)
        if mi_version is None:
            say("3. Lambda Managed Instances: skipped (no python3.13+ interpreter here)")
        else:
            managed = managed_instances(run, provision(mi_version))
    rows = [
        (["scenario"], ["without the layer"], ["with the layer"]),
        (["Firehose put_record,", "first connection hangs"], hang["without"], hang["with"]),
        (
            ["handler stuck past its", f"{STUCK_TIMEOUT_S:.0f} s timeout"],
            kill["without"],
            kill["with"],
        ),
    ]
    if managed is not None:
        rows.append(
            (
                [
                    "Managed Instances:",
                    f"{MI_WORKERS} workers, {MI_WORKERS} stuck,",
                    f"then {MI_WORKERS} normal",
                ],
                managed["without"],
                managed["with"],
            )
        )
    say(table(rows))
    if not args.full:
        say(
            f"* scaled down: the proxy ended the hung connection after {SCALED_DROP_S:.0f} s;"
            f" botocore alone waits\n  its {BOTOCORE_READ_TIMEOUT_S} s read timeout"
            " (`make demo FULL=1` shows it)."
        )
    say(f"demo finished in {time.monotonic() - started:.0f} s")
    return 0


def create_stream(moto: MotoServer) -> None:
    import boto3

    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    session.client("s3", endpoint_url=moto.endpoint_url).create_bucket(Bucket=BUCKET)
    session.client("firehose", endpoint_url=moto.endpoint_url).create_delivery_stream(
        DeliveryStreamName=STREAM,
        DeliveryStreamType="DirectPut",
        S3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": f"arn:aws:s3:::{BUCKET}",
        },
    )


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: every process the demo started has been stopped", file=sys.stderr)
        sys.exit(130)
