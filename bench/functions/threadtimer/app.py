"""The Sentry-style alternative, no layer: a ``threading.Timer`` started at handler entry that
wakes ``margin`` before the deadline and only records (it cannot interrupt the handler).

``BENCH_MARGIN_MS`` is the margin, ``BENCH_FIRE_LOG`` the file the wake-ups go to.
"""

import functools
import json
import os
import threading
import time


def _record(context, intended_epoch):
    now_epoch, now_mono = time.time(), time.monotonic()
    line = json.dumps(
        {
            "request_id": context.aws_request_id,
            "fired_epoch": now_epoch,
            "fired_mono": now_mono,
            "intended_epoch": intended_epoch,
            "deadline_epoch_ms": context._epoch_deadline_time_in_ms,
        }
    )
    fd = os.open(os.environ["BENCH_FIRE_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)
    print(f"WARNING: function is about to time out (request {context.aws_request_id})")


def timeout_warning(handler):
    margin_s = float(os.environ.get("BENCH_MARGIN_MS", "100")) / 1000

    @functools.wraps(handler)
    def wrapped(event, context):
        remaining_s = context.get_remaining_time_in_millis() / 1000
        intended = context._epoch_deadline_time_in_ms / 1000 - margin_s
        timer = threading.Timer(remaining_s - margin_s, _record, (context, intended))
        timer.daemon = True
        timer.start()
        try:
            return handler(event, context)
        finally:
            timer.cancel()

    return wrapped


@timeout_warning
def handler(event, context):
    if event.get("kind") == "busy":
        n = 0
        while True:
            n += 1
    time.sleep(3600)
