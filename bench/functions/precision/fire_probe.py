"""``TIMEOUT_GUARD_ON_TIMEOUT=fire_probe:record``: when the hook fires, note the time.

The guard calls this right after its ERROR record. One JSON line per firing is appended to
``$BENCH_FIRE_LOG`` (one ``write`` on an ``O_APPEND`` descriptor: no buffering to lose).
"""

import json
import os
import time


def record(event, context):
    now_epoch, now_mono = time.time(), time.monotonic()
    line = json.dumps(
        {
            "request_id": context.aws_request_id,
            "fired_epoch": now_epoch,
            "fired_mono": now_mono,
            "deadline_epoch_ms": context._epoch_deadline_time_in_ms,
            "remaining_ms": context.get_remaining_time_in_millis(),
        }
    )
    fd = os.open(os.environ["BENCH_FIRE_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)
