"""Helpers shared by the SDK tests (the layer is on sys.path: conftest put it there)."""

from __future__ import annotations

import contextlib
import time
from typing import Any, Iterator

import botocore.session
from timeout_guard import guard, invocation, settings
from unit.helpers import Context

REGION = "us-east-1"


def client(service: str, endpoint_url: str, **kwargs: Any) -> Any:
    """A botocore client from a fresh session (so the session's settings are the test's)."""
    session = botocore.session.get_session()
    kwargs.setdefault("aws_access_key_id", "testing")
    kwargs.setdefault("aws_secret_access_key", "testing")
    return session.create_client(
        service, region_name=REGION, endpoint_url=endpoint_url, **kwargs
    )


@contextlib.contextmanager
def in_invocation(seconds: float) -> Iterator[guard.Deadline]:
    """Inside an invocation whose guard fires in ``seconds`` (margin 1 s): the guard's real
    deadline made current, as the handler wrapper makes it, but with no alarm taken (the
    in-process tests must not be interrupted)."""
    margin_ms = 1000
    context = Context(seconds * 1000 + margin_ms)
    owner = guard.Guard(settings.settings(), set())
    deadline = guard.Deadline(owner, {}, context, time.monotonic(), seconds * 1000 + margin_ms,
                              margin_ms)
    owner.current = deadline
    invocation.begin(deadline)
    try:
        yield deadline
    finally:
        invocation.end()


def effective(client_: Any) -> tuple[Any, Any, str, int]:
    """(connect_timeout, read_timeout, retry mode, total attempts) the client really uses."""
    cfg = client_.meta.config
    retries = cfg.retries or {}
    mode = retries.get("mode", "legacy")
    total = retries.get("total_max_attempts", 5 if mode == "legacy" else 3)
    return cfg.connect_timeout, cfg.read_timeout, mode, total
