"""The local Lambda runtime behaves like Lambda (no layer involved).

Each test runs a function through the replica bootstrap and the real awslambdaric, and checks
what Lambda itself would report or do.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
from conftest import mode_params, version_params, write_function
from error_cases import INIT_ERRORS
from locallambda.function import live_processes_in_group
from locallambda.runtime_api import API_PREFIX, PendingInvocation, RuntimeAPIServer

BASIC = """
import json, os, sys, subprocess

def handler(event, context):
    if event.get("fail"):
        raise KeyError("missing thing")
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "client_context": context.client_context.custom if context.client_context else None,
        "identity": context.identity.cognito_identity_id if context.identity else None,
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "execution_env": os.environ.get("AWS_EXECUTION_ENV"),
        "version": "%d.%d" % sys.version_info[:2],
        "sys_path": sys.path,
        "pythonpath": os.environ.get("PYTHONPATH"),
        "child_pythonpath": subprocess.run(
            [sys.executable, "-c", "import os; print(os.environ.get('PYTHONPATH'))"],
            capture_output=True, text=True).stdout.strip(),
        "handler_env": os.environ.get("_HANDLER"),
        "opt_var_visible": "LOCAL_LAMBDA_OPT_DIR" in os.environ,
        "pid": os.getpid(),
    }
"""


@pytest.mark.parametrize("version", version_params())
def test_success_context_and_headers(tmp_path: Path, make_lambda, version: str) -> None:
    task = write_function(tmp_path / "task", {"app.py": BASIC})
    fn = make_lambda(task, "app.handler", python=version, timeout=3.0)
    result = fn.invoke(
        {"k": 1},
        client_context={"custom": {"tenant": "t1"}},
        cognito_identity={"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool"},
    )
    assert result.status == "success", result.logs
    body = result.payload
    assert body["event"] == {"k": 1}
    assert body["request_id"] == result.request_id
    assert body["arn"] == fn.function_arn
    assert 0 < body["remaining_ms"] <= 3000
    assert body["client_context"] == {"tenant": "t1"}
    assert body["identity"] == "id-1"
    assert body["trace"].startswith("Root=1-")
    assert body["execution_env"] == f"AWS_Lambda_python{version}"
    assert body["version"] == version
    assert body["handler_env"] == "app.handler"
    assert body["opt_var_visible"] is False
    assert result.cold and result.init_duration_ms and result.init_duration_ms > 0
    warm = fn.invoke({"k": 2})
    assert warm.status == "success" and not warm.cold and warm.pid == result.pid


@pytest.mark.parametrize("version", mode_params())
def test_handler_error_payload(tmp_path: Path, make_lambda, version: str) -> None:
    task = write_function(tmp_path / "task", {"app.py": BASIC})
    result = make_lambda(task, "app.handler", python=version).invoke({"fail": True})
    assert result.status == "error"
    assert result.error_type == "KeyError"
    assert result.error_message == "'missing thing'"
    assert result.payload["requestId"] == result.request_id
    assert any('app.py", line 6, in handler' in line for line in result.stack_trace)
    assert not any("awslambdaric" in line for line in result.stack_trace)
    assert "[ERROR] KeyError" in result.stdout  # the runtime logs the error too


def test_sys_path_order_and_child_pythonpath(tmp_path: Path, make_lambda) -> None:
    task = write_function(tmp_path / "task", {"app.py": BASIC})
    fn = make_lambda(task, "app.handler")
    body = fn.invoke({}).payload
    opt = str(fn.opt_dir)
    assert body["sys_path"][:3] == [
        str(task),
        f"{opt}/python/lib/python3.11/site-packages",
        f"{opt}/python",
    ]
    assert str(fn.runtime.runtime_dir) in body["sys_path"]
    assert body["pythonpath"] == str(fn.runtime.runtime_dir)
    assert body["child_pythonpath"] == str(fn.runtime.runtime_dir)


def test_user_pythonpath_disables_opt_handling(tmp_path: Path, make_lambda) -> None:
    task = write_function(tmp_path / "task", {"app.py": BASIC})
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    fn = make_lambda(task, "app.handler", env={"PYTHONPATH": str(vendor)})
    body = fn.invoke({}).payload
    assert body["sys_path"][0] == str(task)
    assert str(vendor) in body["sys_path"]
    assert not any(p.startswith(str(fn.opt_dir)) for p in body["sys_path"])
    assert body["pythonpath"] == str(vendor)


def test_pth_file_in_opt_python_is_processed(tmp_path: Path, make_lambda) -> None:
    opt = tmp_path / "opt"
    extra = tmp_path / "extra-lib"
    (opt / "python").mkdir(parents=True)
    extra.mkdir()
    (extra / "from_pth.py").write_text("VALUE = 'pth works'\n")
    (opt / "python" / "extra.pth").write_text(str(extra) + "\n")
    task = write_function(
        tmp_path / "task",
        {"app.py": "def handler(e, c):\n    import from_pth\n    return from_pth.VALUE\n"},
    )
    result = make_lambda(task, "app.handler", opt_dir=opt).invoke({})
    assert result.payload == "pth works", result.logs


@pytest.mark.parametrize("case", sorted(INIT_ERRORS))
def test_init_errors_as_the_runtime_reports_them(tmp_path: Path, make_lambda, case: str) -> None:
    files, handler, error_type, message = INIT_ERRORS[case]
    task = write_function(tmp_path / "task", files)
    fn = make_lambda(task, handler)
    result = fn.invoke({})
    assert result.init_error, result.logs
    assert result.status == "error"
    assert result.error_type == error_type
    assert result.error_message == message
    # The runtime exited after its init error; the next invoke initialises again.
    again = fn.invoke({})
    assert again.init_error and again.cold and again.pid != result.pid


@pytest.mark.parametrize("version", mode_params())
def test_hard_kill_at_deadline_then_fresh_process(tmp_path: Path, make_lambda, version) -> None:
    task = write_function(
        tmp_path / "task",
        {
            "app.py": """
            import subprocess, time
            def handler(event, context):
                if event.get("hang"):
                    child = subprocess.Popen(["sleep", "60"])
                    open(event["pidfile"], "w").write(str(child.pid))
                    time.sleep(60)
                return "ok"
            """
        },
    )
    fn = make_lambda(task, "app.handler", python=version, timeout=1.0)
    first = fn.invoke({})
    assert first.status == "success"
    pidfile = tmp_path / "child.pid"
    started = time.monotonic()
    hung = fn.invoke({"hang": True, "pidfile": str(pidfile)})
    assert time.monotonic() - started < 30  # killed at the deadline, not after the 60 s sleep
    assert hung.status == "timeout"
    assert hung.error_type == "Sandbox.Timedout"
    assert (
        hung.error_message
        == f"RequestId: {hung.request_id} Error: Task timed out after 1.00 seconds"
    )
    # Killed at the deadline, never before; how soon after is `make bench`'s "kill latency".
    assert hung.kill_latency_ms is not None and 0 <= hung.kill_latency_ms < 10_000
    assert live_processes_in_group(hung.pid) == []  # the function's child died with it
    child = int(pidfile.read_text())
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text()
    after = fn.invoke({})
    assert after.status == "success" and after.cold and after.pid != hung.pid


def test_deadline_counts_from_handing_out_the_event(tmp_path: Path, make_lambda) -> None:
    """A slow init does not eat into the invocation's time."""
    task = write_function(
        tmp_path / "task",
        {
            "app.py": """
            import time
            time.sleep(1.2)
            def handler(e, c):
                return c.get_remaining_time_in_millis()
            """
        },
    )
    result = make_lambda(task, "app.handler", timeout=2.0).invoke({})
    assert result.status == "success", result.logs
    # Counted from the init's end: about 2000 ms left (less on a busy machine), where counting
    # from the spawn would leave at most 800.
    assert result.payload > 1000
    assert result.init_duration_ms > 1100


def test_init_is_limited(tmp_path: Path, make_lambda) -> None:
    task = write_function(
        tmp_path / "task", {"app.py": "import time\ntime.sleep(30)\ndef handler(e, c): pass\n"}
    )
    started = time.monotonic()
    result = make_lambda(task, "app.handler", init_timeout=1.0).invoke({})
    assert time.monotonic() - started < 20  # the init limit, not the 30 s sleep
    assert result.status == "timeout"
    assert result.error_message.endswith("Init timed out after 1.00 seconds")
    assert live_processes_in_group(result.pid) == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("os._exit(3)", "exit status 3"),
        ("os.kill(os.getpid(), signal.SIGSEGV)", "signal: segmentation fault"),
    ],
)
def test_crash_is_runtime_exit_error(tmp_path: Path, make_lambda, code: str, expected: str) -> None:
    task = write_function(
        tmp_path / "task",
        {"app.py": f"import os, signal\ndef handler(e, c):\n    {code}\n"},
    )
    fn = make_lambda(task, "app.handler")
    result = fn.invoke({})
    assert result.error_type == "Runtime.ExitError"
    assert (
        result.error_message
        == f"RequestId: {result.request_id} Error: Runtime exited with error: {expected}"
    )
    assert fn.invoke({}).cold


def test_exec_wrapper_missing_and_not_executable(tmp_path: Path, make_lambda) -> None:
    task = write_function(tmp_path / "task", {"app.py": "def handler(e, c):\n    return 1\n"})
    missing = make_lambda(task, "app.handler", exec_wrapper=str(tmp_path / "nope")).invoke({})
    assert missing.error_type == "Runtime.ExitError"
    assert missing.error_message.endswith("exit status 127")
    assert "does not exist" in missing.stdout
    not_exec = tmp_path / "wrapper"
    not_exec.write_text('#!/bin/sh\nexec "$@"\n')
    not_exec.chmod(0o644)
    denied = make_lambda(task, "app.handler", exec_wrapper=str(not_exec)).invoke({})
    assert denied.error_message.endswith("exit status 126")
    not_exec.chmod(0o755)
    assert make_lambda(task, "app.handler", exec_wrapper=str(not_exec)).invoke({}).payload == 1


def test_stdout_and_stderr_per_invocation(tmp_path: Path, make_lambda) -> None:
    task = write_function(
        tmp_path / "task",
        {
            "app.py": """
            import sys
            def handler(e, c):
                print('out', e)
                print('err', e, file=sys.stderr)
            """
        },
    )
    fn = make_lambda(task, "app.handler")
    one, two = fn.invoke(1), fn.invoke(2)
    assert one.stdout == "out 1\n" and one.stderr == "err 1\n"
    assert two.stdout == "out 2\n" and two.stderr == "err 2\n"


def test_oversized_response(tmp_path: Path, make_lambda) -> None:
    task = write_function(
        tmp_path / "task", {"app.py": "def handler(e, c):\n    return 'x' * 7_000_000\n"}
    )
    result = make_lambda(task, "app.handler").invoke({})
    assert result.error_type == "Function.ResponseSizeTooLarge"


@pytest.mark.parametrize("version", mode_params())
def test_signals_between_invocations_differ_by_mode(tmp_path: Path, make_lambda, version) -> None:
    """python3.11: the main thread sits in native next(), a timer's handler waits for the next
    event; python3.12+: next() runs in a worker thread and the handler runs on time."""
    fired = tmp_path / "fired"
    task = write_function(
        tmp_path / "task",
        {
            "app.py": f"""
            import os, signal
            def mark(signum, frame):
                os.close(os.open({str(fired)!r}, os.O_CREAT | os.O_WRONLY))
            def handler(event, context):
                if event == "arm":
                    signal.signal(signal.SIGALRM, mark)
                    signal.setitimer(signal.ITIMER_REAL, 0.2)
                return os.path.exists({str(fired)!r})
            """
        },
    )
    fn = make_lambda(task, "app.handler", python=version)
    assert fn.invoke("arm").payload is False
    if version >= "3.12":  # the handler runs between invocations: wait for it, however late
        deadline = time.monotonic() + 30
        while not fired.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fired.exists()
    else:  # it cannot run before the next event, however long we wait
        time.sleep(1.0)
        assert not fired.exists()
    assert fn.invoke("report").payload is True


def test_stale_next_poll_never_takes_the_next_event() -> None:
    """A /next poll from a killed process's generation gets no event."""
    import http.client

    api = RuntimeAPIServer()
    try:
        host, port = api.address.split(":")
        api.new_generation()
        stale = socket.create_connection((host, int(port)))
        stale.sendall(f"GET {API_PREFIX}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert api.wait_for_polls(1, timeout=30)  # the poll is now waiting inside the server
        api.new_generation()  # its process "died"; a new one starts
        invocation = PendingInvocation(payload=b'{"n": 1}', timeout=3.0, function_arn="arn:x")
        api.offer(invocation)
        stale.settimeout(30)
        assert stale.recv(100) == b""  # closed, no event
        stale.close()
        fresh = http.client.HTTPConnection(host, int(port), timeout=30)
        fresh.request("GET", f"{API_PREFIX}/invocation/next")
        reply = fresh.getresponse()
        body = reply.read()
        fresh.close()
        assert reply.status == 200
        assert reply.getheader("Lambda-Runtime-Aws-Request-Id") == invocation.request_id
        assert body == b'{"n": 1}'
    finally:
        api.close()


def test_runtime_api_status_codes() -> None:
    api = RuntimeAPIServer()
    try:
        import http.client

        host, port = api.address.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=2)
        conn.request("POST", f"{API_PREFIX}/invocation/unknown-id/response", body=b"{}")
        response = conn.getresponse()
        assert response.status == 400
        assert json.loads(response.read())["errorType"] == "InvalidRequestID"
        conn.request(
            "POST",
            f"{API_PREFIX}/init/error",
            body=b'{"errorMessage": "x"}',
            headers={"Lambda-Runtime-Function-Error-Type": "Runtime.Bad"},
        )
        response = conn.getresponse()
        response.read()
        assert response.status == 202
        assert api.init_error == {"errorMessage": "x", "errorType": "Runtime.Bad"}
        conn.close()
    finally:
        api.close()


def test_no_process_left_behind(tmp_path: Path) -> None:
    from locallambda import LocalLambda

    task = write_function(
        tmp_path / "task",
        {
            "app.py": """
            import subprocess
            subprocess.Popen(['sleep', '60'])
            def handler(e, c):
                return 1
            """
        },
    )
    with LocalLambda(task, "app.handler") as fn:
        assert fn.invoke({}).payload == 1
        pid = fn.pid
        assert len(live_processes_in_group(pid)) == 2
    assert live_processes_in_group(pid) == []
    assert os.path.exists(f"/proc/{pid}") is False or "Z" in Path(f"/proc/{pid}/stat").read_text()
