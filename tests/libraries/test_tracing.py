"""aws-xray-sdk (``patch_all()``) and opentelemetry-instrumentation-botocore, installed in the
function's folder: clients get the layer's timeouts, subsegments and spans are the same as
without the layer, and a stalled first connection recovers in about 5 s (the read timeout).

Segments go to a UDP listener on 127.0.0.1 (the X-Ray daemon's address); spans to the
OpenTelemetry SDK's in-memory exporter, returned by the function.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from loopback import StallFirst

from .helpers import XRayDaemon, both, needs_runtime

pytestmark = needs_runtime

SAMPLED = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
LAYER_CLIENT = {
    "connect_timeout": 2.0,
    "read_timeout": 5.0,
    "retries": {"mode": "standard", "total_max_attempts": 3},
}
BOTOCORE_CLIENT = {"connect_timeout": 60, "read_timeout": 60, "retries": {"mode": "standard"}}


def _xray(function, layer: bool, endpoint: str) -> tuple[Any, list[dict[str, Any]]]:
    daemon = XRayDaemon()
    try:
        fn = function(
            "tracing", "xray_app.handler", layer=layer,
            env={"AWS_XRAY_DAEMON_ADDRESS": daemon.address}, timeout=10.0,
        )
        result = fn.invoke({"endpoint": endpoint}, trace_id=SAMPLED)
        time.sleep(0.2)  # the last datagram on its way
    finally:
        daemon.close()
    return result, daemon.documents


def _otel(function, layer: bool, endpoint: str) -> Any:
    fn = function("tracing", "otel_app.handler", layer=layer, timeout=10.0)
    return fn.invoke({"endpoint": endpoint})


def _comparable_subsegment(document: dict[str, Any]) -> dict[str, Any]:
    seen = {k: v for k, v in document.items() if k not in ("id", "start_time", "end_time")}
    seen["aws"] = {k: v for k, v in document["aws"].items() if k != "request_id"}
    return seen


def test_xray_subsegments_unchanged_and_clients_get_the_layer_timeouts(function, moto) -> None:
    (without, docs_without), (with_layer, docs_with) = both(
        lambda layer: _xray(function, layer, moto.endpoint_url)
    )
    assert without.status == with_layer.status == "success", with_layer.logs
    assert without.payload["client"] == BOTOCORE_CLIENT
    assert with_layer.payload["client"] == LAYER_CLIENT
    assert len(docs_with) == 1 and docs_with[0]["aws"]["operation"] == "ListTables"
    assert [_comparable_subsegment(d) for d in docs_with] == [
        _comparable_subsegment(d) for d in docs_without
    ]


def _comparable_spans(payload: dict[str, Any]) -> list[dict[str, Any]]:
    spans = []
    for span in payload["spans"]:
        attributes = {k: v for k, v in span["attributes"].items() if k != "aws.request_id"}
        spans.append({**span, "attributes": attributes})
    return spans


def test_otel_spans_unchanged_and_clients_get_the_layer_timeouts(function, moto) -> None:
    without, with_layer = both(lambda layer: _otel(function, layer, moto.endpoint_url))
    assert without.status == with_layer.status == "success", with_layer.logs
    assert without.payload["client"] == BOTOCORE_CLIENT
    assert with_layer.payload["client"] == LAYER_CLIENT
    spans = _comparable_spans(with_layer.payload)
    assert [s["name"] for s in spans] == ["DynamoDB.ListTables"]
    assert spans[0]["attributes"]["retry_attempts"] == 0
    assert spans == _comparable_spans(without.payload)


def test_stalled_first_connection_recovers_in_about_the_read_timeout(function, moto) -> None:
    """With the layer only: without it botocore waits its 60 s read timeout (make bench)."""
    with (
        StallFirst(moto.endpoint_url) as xray_stall,
        StallFirst(moto.endpoint_url) as otel_stall,
        ThreadPoolExecutor(2) as pool,
    ):
        xray_run = pool.submit(_xray, function, True, xray_stall.endpoint_url)
        otel_run = pool.submit(_otel, function, True, otel_stall.endpoint_url)
        (xray, documents), otel = xray_run.result(), otel_run.result()
    for result in (xray, otel):
        assert result.status == "success", result.logs
        assert result.payload["retry_attempts"] == 1
        assert 4.9 <= result.payload["seconds"] < 9.0  # the 5 s read timeout, then a retry
        assert "1 retries, 1 timeouts" in result.logs  # the layer's own record of it
    # The span counts the retry; X-Ray's subsegment has no retry count: it spans both attempts.
    (span,) = otel.payload["spans"]
    assert span["attributes"]["retry_attempts"] == 1 and span["status"] == "UNSET"
    (subsegment,) = documents
    assert subsegment["http"]["response"]["status"] == 200 and "fault" not in subsegment
    assert subsegment["end_time"] - subsegment["start_time"] >= 4.9
