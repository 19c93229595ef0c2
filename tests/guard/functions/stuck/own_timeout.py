"""A function that times a call of its own out with SIGALRM, a common recipe: its handler
installed at init, the timer armed inside the handler and cancelled after the call."""

import signal
import time


class OwnTimeoutError(Exception):
    pass


def _expired(signum, frame):
    raise OwnTimeoutError()


signal.signal(signal.SIGALRM, _expired)


def handler(event, context):
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, event["own_timeout"])
    try:
        time.sleep(event["sleep"])  # the call that hangs
        raised = False
    except OwnTimeoutError:
        raised = True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return {"own_timeout_raised": raised, "after_s": round(time.monotonic() - started, 3)}
