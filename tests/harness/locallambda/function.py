"""``LocalLambda``: one function, run by the real awslambdaric as Lambda runs it.

    with LocalLambda(task_dir, "app.handler", opt_dir=layer, timeout=2.0) as fn:
        result = fn.invoke({"k": 1})

The runtime process is started through the replica ``bootstrap`` (so ``AWS_LAMBDA_EXEC_WRAPPER``
is honoured) in its own session, with a clean Lambda-like environment. Lambda's reactions are
reproduced: the deadline counts from the moment ``/next`` hands out the event; at the deadline
the whole process group gets SIGKILL and the result is ``Sandbox.Timedout``; the next invoke
starts a fresh process; init errors, crashes (``Runtime.ExitError``) and the 10 s init limit.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Union

from .managed import ManagedRuntimeAPIServer, WorkerLogs, tcp_peer_pid
from .processes import kill_group
from .provision import Runtime, provision
from .runtime_api import PendingInvocation, RuntimeAPIServer

INIT_TIMEOUT = 10.0
REGION = "us-east-1"
ACCOUNT = "123456789012"
_spawned: list[int] = []  # every runtime process (= process group) started in this interpreter
_runtimes_used: set[tuple[str, str]] = set()  # (python3.X, awslambdaric version) run here


def runtimes_used() -> list[tuple[str, str]]:
    """Every (runtime, awslambdaric version) a ``LocalLambda`` ran in this interpreter."""
    return sorted(_runtimes_used)


def ric_version(runtime: Runtime) -> str:
    """The awslambdaric version installed in a runtime replica's folder."""
    found = sorted(runtime.runtime_dir.glob("awslambdaric-*.dist-info"))
    return found[0].name[len("awslambdaric-") : -len(".dist-info")] if found else "?"


def all_spawned_pids() -> list[int]:
    """Every runtime process group leader started so far (for leak checks)."""
    return list(_spawned)


def live_processes_in_group(pgid: int) -> list[int]:
    """Processes of process group ``pgid`` that still run (zombies excluded), from /proc."""
    live = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(") ", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            live.append(int(entry))
    return live


_SIGNAL_WORDS = {
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated",
    signal.SIGBUS: "bus error",
}


@dataclass
class _Output:
    """A slice of one runtime process's stdout and stderr files."""

    out_path: Path
    err_path: Path
    out_start: int
    err_start: int
    out_end: Optional[int] = None  # None: up to the end of the file as it is now
    err_end: Optional[int] = None
    frozen: Optional[tuple[str, str]] = None  # read into memory before the files are removed

    @staticmethod
    def _read(path: Path, start: int, end: Optional[int]) -> str:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read() if end is None else f.read(max(0, end - start))
        return data.decode("utf-8", "replace")

    def text(self) -> tuple[str, str]:
        if self.frozen is not None:
            return self.frozen
        return (
            self._read(self.out_path, self.out_start, self.out_end),
            self._read(self.err_path, self.err_start, self.err_end),
        )

    def freeze(self) -> None:
        self.frozen = self.text()


@dataclass
class Invocation:
    """What one invoke produced, as Lambda would report it."""

    request_id: str
    status: str  # "success", "error" or "timeout"
    payload: Any  # the decoded response or error document
    error_type: Optional[str] = None
    error_message: Optional[str] = None
    stack_trace: Optional[list] = None
    duration_ms: Optional[float] = None  # from /next handing out the event to the result
    init_duration_ms: Optional[float] = None  # spawn to first /next, on a cold start
    init_error: bool = False
    pid: Optional[int] = None
    cold: bool = False
    kill_latency_ms: Optional[float] = None  # deadline to the process group reaped (timeouts)
    _output: Optional[_Output] = field(default=None, repr=False)

    @property
    def stdout(self) -> str:
        return "" if self._output is None else self._output.text()[0]

    @property
    def stderr(self) -> str:
        return "" if self._output is None else self._output.text()[1]

    @property
    def logs(self) -> str:
        """stdout then stderr (Lambda merges both into the log stream)."""
        return self.stdout + self.stderr


class _Process:
    """One runtime process (a generation) and its output files."""

    def __init__(self, popen: subprocess.Popen, out: Path, err: Path, spawned_at: float) -> None:
        self.popen = popen
        self.out_path = out
        self.err_path = err
        self.spawned_at = spawned_at
        self.exited = threading.Event()
        self.init_reported = False
        self.current_output: Optional[_Output] = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output_from_here(self) -> _Output:
        """Output of the invocation starting now (the first one includes the init output)."""
        if self.current_output is None:
            self.current_output = _Output(self.out_path, self.err_path, 0, 0)
            return self.current_output
        self.current_output.out_end = self.out_path.stat().st_size
        self.current_output.err_end = self.err_path.stat().st_size
        self.current_output = _Output(
            self.out_path, self.err_path, self.out_path.stat().st_size, self.err_path.stat().st_size
        )
        return self.current_output


class LocalLambda:
    """A function in the local Lambda runtime. Use as a context manager, or call ``close()``."""

    def __init__(
        self,
        task_dir: Union[str, Path],
        handler: str,
        *,
        opt_dir: Union[str, Path, None] = None,
        env: Optional[Mapping[str, str]] = None,
        timeout: float = 3.0,
        memory_mb: int = 128,
        python: Union[str, Runtime] = "3.11",
        exec_wrapper: Optional[str] = None,
        init_timeout: float = INIT_TIMEOUT,
        function_name: str = "local-function",
        max_concurrency: Optional[int] = None,
        queue_timeout: float = 10.0,
    ) -> None:
        self.task_dir = Path(task_dir).resolve()
        self.handler = handler
        self.runtime = python if isinstance(python, Runtime) else provision(python)
        _runtimes_used.add((self.runtime.name, ric_version(self.runtime)))
        self.timeout = timeout
        self.init_timeout = init_timeout
        self.function_name = function_name
        self.function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self._workdir = Path(tempfile.mkdtemp(prefix="locallambda-"))
        self.opt_dir = Path(opt_dir).resolve() if opt_dir else self._workdir / "opt"
        self.opt_dir.mkdir(exist_ok=True)
        self.max_concurrency = max_concurrency
        self.queue_timeout = queue_timeout  # Managed Instances: longest wait for a free worker
        self.worker_logs: Optional[WorkerLogs] = None
        self.env = self._environment(memory_mb, env or {}, exec_wrapper)
        if max_concurrency is not None:
            self.api: RuntimeAPIServer = self._managed_api(max_concurrency)
        else:
            self.api = RuntimeAPIServer()
        self.env["AWS_LAMBDA_RUNTIME_API"] = self.api.address
        self._process: Optional[_Process] = None
        self._spawn_count = 0
        self._outputs: list[_Output] = []
        self._closed = False
        self.pids: list[int] = []  # every runtime process started, for leak checks

    # --- environment -----------------------------------------------------------------------

    def _environment(
        self, memory_mb: int, user_env: Mapping[str, str], exec_wrapper: Optional[str]
    ) -> dict[str, str]:
        """What Lambda sets (the function's own variables are merged over it, like Lambda)."""
        lang_bin = str(self.runtime.python.parent)
        env = {
            "PATH": f"{lang_bin}:/usr/local/bin:/usr/bin:/bin:{self.opt_dir}/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(self.task_dir),
            "LAMBDA_RUNTIME_DIR": str(self.runtime.runtime_dir),
            "_HANDLER": self.handler,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        }
        if exec_wrapper:
            env["AWS_LAMBDA_EXEC_WRAPPER"] = exec_wrapper
        env.update(user_env)
        env["LOCAL_LAMBDA_OPT_DIR"] = str(self.opt_dir)
        return env

    # --- process lifecycle -----------------------------------------------------------------

    def _spawn(self) -> _Process:
        self.api.new_generation()
        self._spawn_count += 1
        out = self._workdir / f"runtime-{self._spawn_count}.stdout"
        err = self._workdir / f"runtime-{self._spawn_count}.stderr"
        with open(out, "wb") as out_f, open(err, "wb") as err_f:
            spawned_at = time.monotonic()
            popen = subprocess.Popen(
                ["/bin/bash", str(self.runtime.bootstrap)],
                cwd=self.task_dir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out_f,
                stderr=err_f,
                start_new_session=True,  # its own process group, killed as a whole
            )
        process = _Process(popen, out, err, spawned_at)
        self.api.watch(popen.pid)
        self.pids.append(popen.pid)
        _spawned.append(popen.pid)

        def reap() -> None:
            popen.wait()
            process.exited.set()
            with self.api.cond:
                self.api.cond.notify_all()

        threading.Thread(target=reap, name=f"reap-{popen.pid}", daemon=True).start()
        return process

    def _kill(self, process: _Process) -> None:
        """SIGKILL the runtime's whole process group, as Lambda does, and reap it."""
        kill_group(process.pid)
        process.exited.wait(5)

    def kill(self) -> None:
        """SIGKILL the live runtime's process group and reap it; the next invoke re-inits."""
        process = self._process
        if process is not None and not process.exited.is_set():
            self._kill(process)

    @property
    def init_cpu_ms(self) -> Optional[float]:
        """CPU time of the latest runtime process from its spawn to its first ``/next`` (bash
        bootstrap, exec wrapper and Python, all one process; see ``processes.cpu_ns``); None
        until that ``/next`` came."""
        ns = self.api.first_next_cpu_ns
        return None if ns is None else ns / 1e6

    @property
    def pid(self) -> Optional[int]:
        """The live runtime process, if any."""
        p = self._process
        return p.pid if p is not None and not p.exited.is_set() else None

    def start(self) -> float:
        """Start a runtime process now and wait for its first ``/next``; return init ms.

        A measured cold start without an invocation (benchmarks call this).
        """
        self._ensure_process()
        process = self._process
        assert process is not None
        deadline = process.spawned_at + self.init_timeout
        with self.api.cond:
            while self.api.first_next_at is None and not process.exited.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.api.cond.wait(left)
            first = self.api.first_next_at
        if first is None:
            raise RuntimeError("the runtime did not reach /next")
        return (first - process.spawned_at) * 1000

    def _ensure_process(self) -> bool:
        """Start a process unless one is alive; return True for a cold start."""
        if self._process is not None and not self._process.exited.is_set():
            return False
        self._process = self._spawn()
        return True

    # --- invoking --------------------------------------------------------------------------

    def _pending(
        self,
        event: Any,
        raw_payload: Optional[bytes],
        client_context: Optional[dict],
        cognito_identity: Optional[dict],
        trace_id: Optional[str],
    ) -> PendingInvocation:
        """The event as the Runtime API will hand it out."""
        pending = PendingInvocation(
            payload=raw_payload if raw_payload is not None else json.dumps(event).encode(),
            timeout=self.timeout,
            function_arn=self.function_arn,
            client_context=client_context,
            cognito_identity=cognito_identity,
        )
        if trace_id is not None:
            pending.trace_id = trace_id
        return pending

    def invoke(
        self,
        event: Any = None,
        *,
        client_context: Optional[dict] = None,
        cognito_identity: Optional[dict] = None,
        raw_payload: Optional[bytes] = None,
        trace_id: Optional[str] = None,
    ) -> Invocation:
        """Invoke synchronously (RequestResponse) and return what Lambda would report.

        ``trace_id``: the ``Lambda-Runtime-Trace-Id`` header (by default a new, unsampled one;
        ``Sampled=1`` is what active tracing passes for a sampled request).
        """
        if self.max_concurrency is not None:
            return self.start_invoke(
                event,
                client_context=client_context,
                cognito_identity=cognito_identity,
                raw_payload=raw_payload,
                trace_id=trace_id,
            ).result()
        pending = self._pending(event, raw_payload, client_context, cognito_identity, trace_id)
        cold = self._ensure_process()
        process = self._process
        assert process is not None
        output = process.output_from_here()
        self._outputs.append(output)
        self.api.offer(pending)
        result = self._await(process, pending)
        result.cold = cold
        result.pid = process.pid
        result._output = output
        if cold and self.api.first_next_at is not None:
            result.init_duration_ms = (self.api.first_next_at - process.spawned_at) * 1000
        return result

    def _await(self, process: _Process, pending: PendingInvocation) -> Invocation:
        api = self.api
        init_deadline = process.spawned_at + self.init_timeout
        with api.cond:
            while True:
                if pending.outcome is not None:
                    break
                if process.exited.is_set():
                    api.pending = None
                    api.active = None
                    return self._died(process, pending)
                now = time.monotonic()
                if pending.deadline_monotonic is None:  # not handed out yet: init
                    if now >= init_deadline and api.first_next_at is None:
                        api.cond.release()
                        try:
                            self._kill(process)
                        finally:
                            api.cond.acquire()
                        api.pending = None
                        return self._timed_out(pending, self.init_timeout, "Init timed out")
                    api.cond.wait(
                        max(0.0, init_deadline - now) if api.first_next_at is None else None
                    )
                    continue
                if now >= pending.deadline_monotonic:
                    break
                api.cond.wait(pending.deadline_monotonic - now)
        if pending.outcome is None:  # the deadline passed with no result: hard kill
            deadline = pending.deadline_monotonic
            assert deadline is not None
            self._kill(process)
            api.withdraw()
            result = self._timed_out(pending, self.timeout, "Task timed out")
            result.kill_latency_ms = (time.monotonic() - deadline) * 1000
            result.duration_ms = self.timeout * 1000
            return result
        return self._completed(pending)

    def _completed(self, pending: PendingInvocation) -> Invocation:
        assert pending.handed_out_at is not None and pending.finished_at is not None
        duration = (pending.finished_at - pending.handed_out_at) * 1000
        body = pending.body or b""
        if pending.too_large:
            message = (
                f"Response payload size ({len(body)} bytes) exceeded maximum allowed "
                "payload size (6291556 bytes)."
            )
            return Invocation(
                pending.request_id,
                "error",
                {"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"},
                "Function.ResponseSizeTooLarge",
                message,
                duration_ms=duration,
            )
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = body.decode("utf-8", "replace")
        if pending.outcome == "response":
            return Invocation(pending.request_id, "success", payload, duration_ms=duration)
        doc = payload if isinstance(payload, dict) else {}
        return Invocation(
            pending.request_id,
            "error",
            payload,
            doc.get("errorType") or pending.error_type_header,
            doc.get("errorMessage"),
            doc.get("stackTrace"),
            duration_ms=duration,
        )

    def _died(self, process: _Process, pending: PendingInvocation) -> Invocation:
        """The runtime exited before it answered: an init error, or Runtime.ExitError."""
        init_error = self.api.init_error
        if init_error is not None and pending.handed_out_at is None:
            return Invocation(
                pending.request_id,
                "error",
                init_error,
                init_error.get("errorType"),
                init_error.get("errorMessage"),
                init_error.get("stackTrace"),
                init_error=True,
            )
        code = process.popen.returncode
        if code is not None and code < 0:
            word = _SIGNAL_WORDS.get(signal.Signals(-code), signal.Signals(-code).name.lower())
            how = f"signal: {word}"
        else:
            how = f"exit status {code}"
        message = f"RequestId: {pending.request_id} Error: Runtime exited with error: {how}"
        return Invocation(
            pending.request_id,
            "error",
            {"errorMessage": message, "errorType": "Runtime.ExitError"},
            "Runtime.ExitError",
            message,
        )

    @staticmethod
    def _timed_out(pending: PendingInvocation, seconds: float, what: str) -> Invocation:
        message = f"RequestId: {pending.request_id} Error: {what} after {seconds:.2f} seconds"
        return Invocation(
            pending.request_id,
            "timeout",
            {"errorMessage": message, "errorType": "Sandbox.Timedout"},
            "Sandbox.Timedout",
            message,
        )

    # --- Lambda Managed Instances (max_concurrency) ------------------------------------------

    def _managed_api(self, max_concurrency: int) -> ManagedRuntimeAPIServer:
        """The multi-worker Runtime API, the workers' log socket and their variables."""
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if tuple(int(p) for p in self.runtime.version.split(".")) < (3, 13):
            raise ValueError("Lambda Managed Instances run python3.13 and later only")
        api = ManagedRuntimeAPIServer()
        api.on_hand_out = self._hand_out
        self.worker_logs = WorkerLogs(self._workdir / "logs.sock")
        # request id -> (worker pid, its output slice, the worker's first invocation)
        self._handed: dict[str, tuple[Optional[int], Any, bool]] = {}
        self._spawn_lock = threading.Lock()
        self.env["AWS_LAMBDA_MAX_CONCURRENCY"] = str(max_concurrency)
        self.env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "lambda-managed-instances"
        self.env["_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET"] = str(self.worker_logs.path)
        return api

    def _hand_out(self, pending: PendingInvocation, peer_port: Optional[int]) -> None:
        """A worker took ``pending`` (called by the API under its lock): which one, its output."""
        process, logs = self._process, self.worker_logs
        if process is None or logs is None or peer_port is None:
            return
        server_port = int(self.api.address.rsplit(":", 1)[1])
        pid = tcp_peer_pid(peer_port, server_port, live_processes_in_group(process.pid))
        output = logs.hand_out(pid)
        if output is not None:
            self._outputs.append(output)
        first = output is not None and output.worker.invocations == 1
        self._handed[pending.request_id] = (pid, output, first)

    def start_invoke(
        self,
        event: Any = None,
        *,
        client_context: Optional[dict] = None,
        cognito_identity: Optional[dict] = None,
        raw_payload: Optional[bytes] = None,
        trace_id: Optional[str] = None,
    ) -> concurrent.futures.Future[Invocation]:
        """Managed Instances: offer an invocation now; the future gives what Lambda reports.

        It waits for a free worker at most ``queue_timeout`` seconds (then ``Runtime.Unavailable``,
        never handed out); once handed out, ``timeout`` applies and nothing is killed at it.
        """
        if self.max_concurrency is None:
            raise RuntimeError("start_invoke needs max_concurrency (Lambda Managed Instances)")
        pending = self._pending(event, raw_payload, client_context, cognito_identity, trace_id)
        with self._spawn_lock:
            self._ensure_process()
        process = self._process
        assert process is not None
        future: concurrent.futures.Future[Invocation] = concurrent.futures.Future()
        offered_at = time.monotonic()
        self.api.offer(pending)

        def resolve() -> None:
            try:
                future.set_result(self._await_managed(process, pending, offered_at))
            except BaseException as error:  # the caller sees it from future.result()
                future.set_exception(error)

        name = f"invoke-{pending.request_id[:8]}"
        threading.Thread(target=resolve, name=name, daemon=True).start()
        return future

    def invoke_many(self, events: Iterable[Any]) -> list[Invocation]:
        """Managed Instances: offer every event at once; their results in the same order."""
        futures = [self.start_invoke(event) for event in events]
        return [future.result() for future in futures]

    def _await_managed(
        self, process: _Process, pending: PendingInvocation, offered_at: float
    ) -> Invocation:
        api = self.api
        assert isinstance(api, ManagedRuntimeAPIServer)
        init_deadline = process.spawned_at + self.init_timeout
        queued_until = offered_at + self.queue_timeout
        with api.cond:
            while pending.outcome is None:
                if process.exited.is_set():
                    api.unqueue(pending)
                    return self._died(process, pending)
                now = time.monotonic()
                deadline = pending.deadline_monotonic
                if deadline is None:  # no worker took it yet
                    if api.first_next_at is None and now >= init_deadline:
                        api.cond.release()
                        try:
                            self._kill(process)
                        finally:
                            api.cond.acquire()
                        api.unqueue(pending)
                        return self._timed_out(pending, self.init_timeout, "Init timed out")
                    if api.first_next_at is not None and now >= queued_until:
                        if api.unqueue(pending):
                            return self._unavailable(pending)
                        continue
                    until = init_deadline if api.first_next_at is None else queued_until
                    api.cond.wait(max(0.0, until - now))
                    continue
                if now >= deadline:
                    api.time_out(pending)  # the worker keeps running: nothing is killed
                    if pending.outcome is not None:
                        break
                    result = self._timed_out(pending, self.timeout, "Task timed out")
                    result.duration_ms = self.timeout * 1000
                    return self._managed_result(result)
                api.cond.wait(deadline - now)
        return self._managed_result(self._completed(pending))

    def _managed_result(self, result: Invocation) -> Invocation:
        result.pid, result._output, result.cold = self._handed.get(
            result.request_id, (None, None, False)
        )
        return result

    def _unavailable(self, pending: PendingInvocation) -> Invocation:
        message = (
            f"RequestId: {pending.request_id} Error: no runtime worker free within "
            f"{self.queue_timeout:.2f} seconds (all {self.max_concurrency} busy)"
        )
        return Invocation(
            pending.request_id,
            "error",
            {"errorMessage": message, "errorType": "Runtime.Unavailable"},
            "Runtime.Unavailable",
            message,
        )

    def main_output(self) -> tuple[str, str]:
        """Managed Instances: the runtime's main process output (before it forked its workers)."""
        process = self._process
        if process is None:
            return "", ""
        return _Output(process.out_path, process.err_path, 0, 0).text()

    # --- teardown --------------------------------------------------------------------------

    def close(self) -> None:
        """Kill the runtime, stop the Runtime API, remove the temporary folder.

        Invocations keep their output (read into memory first). Safe to call twice.
        """
        if self._closed:
            return
        self._closed = True
        if self._process is not None:
            self._kill(self._process)
            self._process = None
        self.api.close()
        for output in self._outputs:
            output.freeze()
        if self.worker_logs is not None:
            self.worker_logs.close()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> LocalLambda:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
