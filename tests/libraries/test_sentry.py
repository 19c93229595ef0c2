"""sentry-sdk's AWS Lambda integration (``timeout_warning=True``), installed in the function's
folder, against a local Sentry that answers and one that never answers.

Sentry flushes its queue before the runtime posts the invocation's error, for up to its
``shutdown_timeout`` (2 s). With a margin that leaves less than that, a Sentry that does not
answer holds the error back until Lambda kills the function, although the guard fired. The
automatic margin makes room for that flush when Sentry's integration is active.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from loopback import BlackHole, DelayServer

from .helpers import needs_runtime

pytestmark = needs_runtime

TIMEOUT = 5.0
RUNS = {  # name: (layer, environment)
    "without the layer": (False, {}),
    "automatic margin": (True, {}),
    "margin 500 ms": (True, {"TIMEOUT_GUARD_MARGIN_MS": "500"}),
}


def _invoke_all(function, dsn: str) -> dict[str, Any]:
    def run(name: str) -> Any:
        layer, env = RUNS[name]
        fn = function("sentry", "app.handler", layer=layer, env={"SENTRY_DSN": dsn, **env},
                      timeout=TIMEOUT)
        return fn.invoke({"sleep": 60})

    with ThreadPoolExecutor(len(RUNS)) as pool:
        return dict(zip(RUNS, pool.map(run, RUNS), strict=True))


def fired(result: Any) -> bool:
    return "Lambda timeout in" in result.logs


def margin_ms(result: Any) -> int:
    """The margin the guard used, from its error message ("Function stopped N ms before...")."""
    return int(result.error_message.split()[2])


def test_sentry_that_answers(function) -> None:
    with DelayServer(0, body=b'{"id": "0"}') as sentry:
        results = _invoke_all(function, f"http://key@127.0.0.1:{sentry.port}/1")
        sent = list(sentry.requests)
    assert results["without the layer"].status == "timeout"
    for name in ("automatic margin", "margin 500 ms"):
        result = results[name]
        assert result.error_type == "LambdaTimeoutError", (name, result.logs)
        assert fired(result)
    # Room for Sentry's 2 s shutdown_timeout: 500 ms + 2 s, within half the remaining time.
    assert 2400 <= margin_ms(results["automatic margin"]) <= 2500
    assert margin_ms(results["margin 500 ms"]) == 500
    assert [path for _, path in sent if "envelope" in path]  # the errors reached Sentry


def test_sentry_that_never_answers(function) -> None:
    with BlackHole() as sentry:
        results = _invoke_all(function, f"http://key@127.0.0.1:{sentry.port}/1")
    assert results["without the layer"].status == "timeout"
    # The previous default: the guard fires, Sentry's flush outlasts the margin, Lambda kills.
    late = results["margin 500 ms"]
    assert fired(late) and late.status == "timeout", late.logs
    # Room for the flush: the error is reported before the kill.
    result = results["automatic margin"]
    assert fired(result)
    assert result.error_type == "LambdaTimeoutError", result.logs
