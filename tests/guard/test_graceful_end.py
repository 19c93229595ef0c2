"""The pre-timeout hook, end to end: the layer as built, the replica bootstrap, real awslambdaric.

Every case runs in python3.11 mode and python3.12+ mode.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import mode_params, version_params

FUNCTIONS = Path(__file__).resolve().parent / "functions"
STUCK = FUNCTIONS / "stuck"
TIMEOUT = 2.0
MARGIN_MS = 500
# The guard fires at deadline - margin: never earlier (the clock's millisecond rounding aside),
# and its error reaches the Runtime API before Lambda's hard kill. How close to deadline - margin
# it lands is precision, measured by `make bench` ("Pre-timeout hook precision"), not asserted
# here: a busy machine delays any process.
ROUNDING_MS = 5


def stopped_by_the_guard(result, timeout_s: float = TIMEOUT, margin_ms: int = MARGIN_MS) -> None:
    """The invocation ended as the guard's error, not before deadline - margin, not killed."""
    assert result.status == "error", result.logs  # reported by the function, not killed
    assert result.error_type == "LambdaTimeoutError", result.logs
    assert result.error_message.startswith(f"Function stopped {margin_ms} ms before")
    assert result.duration_ms >= timeout_s * 1000 - margin_ms - ROUNDING_MS, result.duration_ms


class _Silent:
    """A loopback server that accepts connections, reads, and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        for conn in self.conns:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent_server() -> Iterator[_Silent]:
    server = _Silent()
    yield server
    server.close()


def _guarded(make_lambda, wrapper, layer_opt, version, env=None, timeout=TIMEOUT, handler=None):
    settings = {"TIMEOUT_GUARD_MARGIN_MS": str(MARGIN_MS)}
    settings.update(env or {})
    return make_lambda(
        STUCK,
        handler or "app.sleeping",
        python=version,
        opt_dir=layer_opt,
        exec_wrapper=wrapper,
        env=settings,
        timeout=timeout,
    )


BLOCKED = {
    "sleeping": ("app.sleeping", "in sleeping"),
    "wait_for_reply": ("app.wait_for_reply", "wait_for_reply"),
    "spin": ("app.spin", "in spin"),
    "wait_for_lock": ("app.wait_for_lock", "wait_for_lock"),
    "wait_for_queue": ("app.wait_for_queue", "wait_for_queue"),
    "put_to_firehose": ("app.put_to_firehose", "put_to_firehose"),
    # urllib3 takes the guard's error for a socket timeout and retries (3 times by default):
    # each retry hangs again and is raised in again (the stuck checks), until urllib3 gives up.
    "urllib3_get": ("app.urllib3_get", "urllib3_get"),
    # Inside an import: the guard's first step imports its records module, from the signal
    # handler, so it waits a moment (alarm.BUSY_WAIT) and then fires all the same.
    "importing": ("app.importing", "slow_import.py"),
}


@pytest.mark.parametrize("version", mode_params())
@pytest.mark.parametrize("case", list(BLOCKED))
def test_graceful_end_when_blocked(
    tmp_path, make_lambda, wrapper, layer_opt, silent_server, version, case
) -> None:
    handler, stuck_in = BLOCKED[case]
    fn = _guarded(make_lambda, wrapper, layer_opt, version, handler=handler)
    marker = tmp_path / "finally"
    event = {
        "marker": str(marker),
        "port": silent_server.port,
        "endpoint": f"http://127.0.0.1:{silent_server.port}",
    }
    result = fn.invoke(event)
    stopped_by_the_guard(result)
    assert marker.read_text() == case  # the handler's finally ran
    records = [line for line in result.logs.splitlines() if "Lambda timeout in" in line]
    assert len(records) == 1, result.logs
    assert records[0].startswith("[ERROR]") and result.request_id in records[0]
    assert stuck_in in result.logs  # the stack names where it was stuck
    assert fn.invoke({"marker": str(marker)} | {"sleep": 0}).pid == result.pid  # still alive


@pytest.mark.parametrize("version", mode_params())
def test_except_timeout_error_catches_it(make_lambda, wrapper, layer_opt, version) -> None:
    fn = _guarded(make_lambda, wrapper, layer_opt, version, handler="app.catches_timeout")
    result = fn.invoke({})
    assert result.status == "success"
    assert result.payload == {"caught": "LambdaTimeoutError", "is_timeout_error": True}


@pytest.mark.parametrize("version", mode_params())
def test_action_log_only_logs_and_lambda_kills(make_lambda, wrapper, layer_opt, version, tmp_path):
    env = {"TIMEOUT_GUARD_ACTION": "log"}
    fn = _guarded(make_lambda, wrapper, layer_opt, version, env=env)
    result = fn.invoke({"marker": str(tmp_path / "m")})
    assert result.status == "timeout"
    assert result.error_type == "Sandbox.Timedout"
    assert "Lambda timeout in" in result.logs and "not stopping (action log)" in result.logs
    assert "Still running" in result.logs  # the last word before the hard deadline
    assert not (tmp_path / "m").exists()  # nothing was interrupted


@pytest.mark.parametrize("version", mode_params())
def test_swallowed_timeout_raised_again_then_last_word(make_lambda, wrapper, layer_opt, version):
    fn = _guarded(make_lambda, wrapper, layer_opt, version, handler="app.swallows_timeouts")
    result = fn.invoke({})
    assert result.status == "timeout"  # it kept running: Lambda killed it
    caught = [json.loads(x)["caught"] for x in result.stdout.splitlines() if x.startswith("{")]
    assert caught == [1, 2]  # at deadline - margin, then once more at deadline - margin/2
    assert "Still running" in result.logs and "raised and caught" in result.logs


@pytest.mark.parametrize("version", mode_params())
def test_other_error_after_fire_is_reported_as_timeout(make_lambda, wrapper, layer_opt, version):
    fn = _guarded(make_lambda, wrapper, layer_opt, version, handler="app.cleanup_fails")
    result = fn.invoke({})
    assert result.error_type == "LambdaTimeoutError"
    assert result.error_message.endswith("then it raised ValueError: cleanup failed")
    assert any("cleanup_fails" in line for line in result.stack_trace)
    assert not any("timeout_guard" in line for line in result.stack_trace)


@pytest.mark.parametrize("version", mode_params())
def test_timer_never_fires_between_invocations(make_lambda, wrapper, layer_opt, version) -> None:
    fn = _guarded(make_lambda, wrapper, layer_opt, version, handler="app.slow", timeout=1.0)
    first = fn.invoke({"sleep": 0.2})
    time.sleep(2.5)  # far past where an armed timer (0.5 s) would have fired
    second = fn.invoke({"sleep": 0.2})
    assert first.status == second.status == "success"
    assert second.pid == first.pid and not second.cold
    assert "timeout_guard" not in first.logs + second.logs and "Lambda timeout" not in second.logs


@pytest.mark.parametrize("version", mode_params())
def test_function_sigalrm_handler_and_timer_survive(make_lambda, wrapper, layer_opt, version):
    fn = _guarded(make_lambda, wrapper, layer_opt, version, handler="timers.handler")
    result = fn.invoke({"sleep": 0.5})
    assert result.status == "success", result.logs
    assert result.payload["ticks_during"] >= 2  # its 100 ms timer kept ticking meanwhile
    time.sleep(1.0)  # a window for its sampler thread: not synchronisation
    after = fn.invoke({"check": True}).payload
    assert after["samples_between"] >= 3
    assert after["handler_always_ours"] is True  # its handler was back between invocations
    assert after["intervals"] == [pytest.approx(0.1)]  # and its timer
    assert after["ticks_total"] > result.payload["ticks_total"]


@pytest.mark.parametrize("version", mode_params())
def test_a_timer_the_function_sets_in_the_handler_reaches_its_own_handler(
    make_lambda, wrapper, layer_opt, version
):
    """Its handler installed at init, the function arms ``SIGALRM`` around a call of its own
    (here 0.2 s around a 1 s hang, in a 3 s function): its own timeout comes, as without the
    layer, not the guard's 2.5 s later."""
    fn = _guarded(make_lambda, wrapper, layer_opt, version, handler="own_timeout.handler")
    result = fn.invoke({"own_timeout": 0.2, "sleep": 1.0})
    assert result.status == "success", result.logs
    assert result.payload["own_timeout_raised"] is True, result.payload
    assert result.payload["after_s"] < 0.9, result.payload  # at its 0.2 s, not after the hang
    assert "timeout_guard" not in result.logs


@pytest.mark.parametrize("version", mode_params())
def test_on_timeout_callbacks_each_guarded(make_lambda, wrapper, layer_opt, version, tmp_path):
    env = {"TIMEOUT_GUARD_ON_TIMEOUT": "callbacks:broken,callbacks:record"}
    fn = _guarded(make_lambda, wrapper, layer_opt, version, env=env)
    event = {"marker": str(tmp_path / "m"), "callback_marker": str(tmp_path / "cb")}
    result = fn.invoke(event)
    assert result.error_type == "LambdaTimeoutError"
    recorded = json.loads((tmp_path / "cb").read_text())
    assert recorded == {"request_id": result.request_id, "event_marker": event["marker"]}
    assert "callbacks:broken failed" in result.logs


@pytest.mark.parametrize("version", mode_params())
def test_json_log_format(make_lambda, wrapper, layer_opt, version, tmp_path) -> None:
    env = {"AWS_LAMBDA_LOG_FORMAT": "JSON"}
    fn = _guarded(make_lambda, wrapper, layer_opt, version, env=env)
    result = fn.invoke({"marker": str(tmp_path / "m")})
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    ours = [r for r in records if r.get("logger") == "timeout_guard"]
    assert len(ours) == 1, result.stdout
    record = ours[0]
    assert record["level"] == "ERROR"
    assert record["requestId"] == result.request_id
    assert record["margin_ms"] == MARGIN_MS
    assert 0 < record["remaining_ms"] <= MARGIN_MS  # not early; how late is precision
    assert record["elapsed_ms"] + record["remaining_ms"] <= TIMEOUT * 1000
    assert any("time.sleep(60)" in line for line in record["stack"])


def test_margin_that_leaves_no_time_warns_once_and_arms_nothing(
    make_lambda, wrapper, layer_opt
) -> None:
    env = {"TIMEOUT_GUARD_MARGIN_MS": "5000"}
    fn = _guarded(make_lambda, wrapper, layer_opt, "3.11", env=env, handler="app.slow")
    first, second = fn.invoke({"sleep": 0.1}), fn.invoke({"sleep": 0.1})
    assert first.status == second.status == "success"
    warnings = [
        line for line in (first.logs + second.logs).splitlines() if "leaves no time" in line
    ]
    assert len(warnings) == 1 and "TIMEOUT_GUARD_MARGIN_MS" in warnings[0]


def test_default_margin_is_ten_percent_clamped(make_lambda, wrapper, layer_opt, tmp_path) -> None:
    """3 s timeout: 10 % is 300 ms, clamped up to 500 ms."""
    fn = make_lambda(STUCK, "app.sleeping", opt_dir=layer_opt, exec_wrapper=wrapper, timeout=3.0)
    result = fn.invoke({"marker": str(tmp_path / "m")})
    stopped_by_the_guard(result, timeout_s=3.0, margin_ms=500)


@pytest.mark.parametrize("version", version_params())
def test_graceful_end_on_every_runtime_version(
    tmp_path, make_lambda, wrapper, layer_opt, version
) -> None:
    fn = _guarded(make_lambda, wrapper, layer_opt, version)
    result = fn.invoke({"marker": str(tmp_path / "m")})
    assert result.error_type == "LambdaTimeoutError", result.logs
    assert (tmp_path / "m").read_text() == "sleeping"


def test_hook_off_leaves_the_handler_alone(make_lambda, wrapper, layer_opt, tmp_path) -> None:
    env = {"TIMEOUT_GUARD_HOOK": "false"}
    fn = _guarded(make_lambda, wrapper, layer_opt, "3.11", env=env, timeout=1.0)
    result = fn.invoke({"marker": str(tmp_path / "m")})
    assert result.status == "timeout"  # Lambda's hard kill, as without the layer
    assert "Lambda timeout in" not in result.logs
    assert not (tmp_path / "m").exists()
