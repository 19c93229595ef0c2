"""What the unit tests of the guard share: a Lambda context stand-in and the layer's own files."""

from __future__ import annotations

import time

from timeout_guard import bootstrap

OWN_FILES = {f for f in bootstrap.OWN_FILES if f}


class Context:
    """The two things the guard reads of awslambdaric's ``LambdaContext``."""

    aws_request_id = "req-1"

    def __init__(self, remaining_ms: float) -> None:
        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)
