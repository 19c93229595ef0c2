"""A function with its own SIGALRM handler and interval timer, set up at init.

A sampler thread watches, between invocations, which SIGALRM handler is installed and the
interval timer (the handler itself cannot: during an invocation the guard's handler is in).
"""

import signal
import threading
import time

ticks = []
samples = []  # (monotonic, our handler installed, timer interval)
last_end = [0.0]


def _tick(signum, frame):
    ticks.append(time.monotonic())


def _sample():
    while True:
        samples.append(
            (
                time.monotonic(),
                signal.getsignal(signal.SIGALRM) is _tick,
                signal.getitimer(signal.ITIMER_REAL)[1],
            )
        )
        time.sleep(0.05)


signal.signal(signal.SIGALRM, _tick)
signal.setitimer(signal.ITIMER_REAL, 0.1, 0.1)
threading.Thread(target=_sample, daemon=True).start()


def handler(event, context):
    started = time.monotonic()
    if event.get("check"):
        between = [s for s in samples if last_end[0] + 0.1 < s[0] < started]
        return {
            "samples_between": len(between),
            "handler_always_ours": all(s[1] for s in between),
            "intervals": sorted({s[2] for s in between}),
            "ticks_total": len(ticks),
        }
    before = len(ticks)
    time.sleep(event.get("sleep", 0.5))
    last_end[0] = time.monotonic()
    return {"ticks_during": len(ticks) - before, "ticks_total": len(ticks)}
