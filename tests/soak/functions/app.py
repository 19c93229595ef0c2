"""The soak's function: one warm sandbox, each invocation one kind of work (``event["kind"]``).

It keeps a ``SIGALRM`` handler and an interval timer of its own from init on, and checks, as a
probe, what every invocation leaves behind:

* between invocations (a sampler thread, whenever no invocation of the layer is current): its
  own handler is installed and its own timer runs (no timer of the guard left armed);
* at the start of each invocation: the layer's invocation state is this invocation's and
  fresh (not fired, no SDK counts carried over).

``kind == "report"`` returns what the probe saw. Nothing here ever waits on the probe.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import boto3
from botocore.config import Config

OWN_INTERVAL = 0.25  # seconds: the function's own timer
MAX_KEPT = 20  # violations kept in full (all are counted)

ticks = [0]
probe = {
    "between_samples": 0,  # samples taken while no invocation was current
    "between_violations": 0,
    "invocations_checked": 0,
    "invocation_violations": 0,
    "violations": [],
}
started = [0]  # invocations begun: a sample spanning one is not "between"


def _tick(signum, frame):
    ticks[0] += 1


signal.signal(signal.SIGALRM, _tick)
signal.setitimer(signal.ITIMER_REAL, OWN_INTERVAL, OWN_INTERVAL)


def _violation(kind, what):
    probe[kind] += 1
    if len(probe["violations"]) < MAX_KEPT:
        probe["violations"].append(what)


def _layer(name):
    return sys.modules.get(f"timeout_guard.{name}")


def _sample_between():
    """Every 10 ms: if no invocation is current (read before and after, with no invocation
    begun in between), the function's own handler and timer must be in place."""
    while True:
        time.sleep(0.01)
        invocation = _layer("invocation")
        if invocation is None:
            continue
        begun, before = started[0], invocation.current
        handler = signal.getsignal(signal.SIGALRM)
        remaining, interval = signal.getitimer(signal.ITIMER_REAL)
        if before is not None or invocation.current is not None or started[0] != begun:
            continue
        probe["between_samples"] += 1
        # 0 left on an interval timer: it just expired, the kernel re-arms it once the signal
        # is delivered. A timer of the guard's would have no interval.
        ours = handler is _tick and abs(interval - OWN_INTERVAL) < 1e-3
        if not (ours and 0 <= remaining <= OWN_INTERVAL + 1e-3):
            what = f"between: handler {handler!r}, timer {remaining:.3f}/{interval:.3f}"
            _violation("between_violations", what)


threading.Thread(target=_sample_between, name="probe", daemon=True).start()

# Clients made at init, as functions do: one straight to moto, one through a stalling proxy
# with its own short read timeout (its first attempt after a stall is cut, the retry succeeds).
direct = boto3.client("sqs", endpoint_url=os.environ["SOAK_MOTO"])
stalled = boto3.client(
    "sqs",
    endpoint_url=os.environ["SOAK_STALL"],
    config=Config(read_timeout=0.3, connect_timeout=1, retries={"total_max_attempts": 4}),
)
QUEUE = direct.create_queue(QueueName="soak")["QueueUrl"]


def _check_fresh(context):
    """Nothing of the previous invocation is left in the layer's state."""
    probe["invocations_checked"] += 1
    if _layer("invocation") is None:
        return  # run without the layer (the soak's reference run)
    current = getattr(_layer("invocation"), "current", None)
    problems = []
    if current is None or getattr(current, "request_id", None) != context.aws_request_id:
        problems.append("the current invocation is not this one")
    elif getattr(current, "fired", False):
        problems.append("the invocation starts fired")
    # What the guard found when it took SIGALRM for this invocation: the function's own handler
    # and interval timer, so the previous invocation had given both back (no timer of its own).
    alarm = getattr(getattr(current, "guard", None), "alarm", None)
    if alarm is not None and getattr(alarm, "_saved_handler", _tick) is not _tick:
        problems.append("the guard did not find the function's own handler")
    found_interval = getattr(alarm, "_user_interval", OWN_INTERVAL)
    if abs(found_interval - OWN_INTERVAL) > 1e-3:
        problems.append(f"the guard found a timer of interval {found_interval}, not the function's")
    counts = getattr(_layer("sdk.accounting"), "counts", None)
    if counts is not None and (counts.calls or counts.retries or counts.timeouts):
        problems.append("SDK counts carried over")
    for problem in problems:
        _violation("invocation_violations", f"{context.aws_request_id}: {problem}")


def _threads_and_subprocess():
    results = []
    workers = [
        threading.Thread(target=lambda n=n: results.append(sum(range(n * 1000))))
        for n in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    subprocess.run(["true"], check=True)
    return len(results)


def handler(event, context):
    started[0] += 1
    _check_fresh(context)
    kind = event["kind"]
    if kind == "ok":
        return {"n": event["n"]}
    if kind == "error":
        raise ValueError("soak: an ordinary function error")
    if kind == "caught_timeout":
        try:
            time.sleep(60)
        except TimeoutError:
            return "caught"
        return "not stopped"
    if kind == "sdk_ok":
        sent = direct.send_message(QueueUrl=QUEUE, MessageBody="ok")
        return sent["ResponseMetadata"]["RetryAttempts"]
    if kind == "sdk_stall":
        sent = stalled.send_message(QueueUrl=QUEUE, MessageBody="stalled")
        return sent["ResponseMetadata"]["RetryAttempts"]
    if kind == "threads":
        return _threads_and_subprocess()
    if kind == "report":
        return {**probe, "ticks": ticks[0], "threads": threading.active_count()}
    raise KeyError(kind)
