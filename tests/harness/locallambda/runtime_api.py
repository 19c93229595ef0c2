"""A local Lambda Runtime API (``/2018-06-01/runtime/...``) on 127.0.0.1.

It speaks to the real ``awslambdaric`` client exactly as Lambda's RAPID does: ``/next`` blocks
until an event is offered and answers with the event and every header Lambda sends; results,
invocation errors and init errors are accepted with Lambda's status codes.

One server serves one function. Each runtime process started for it gets a new *generation*;
a ``/next`` poll is tagged with the generation current when it arrived, so the poll of a
process that was killed can never take the next event (it is answered with a closed
connection instead).
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

from .processes import cpu_ns

API_PREFIX = "/2018-06-01/runtime"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024  # Lambda's synchronous payload limit
# awslambdaric sends a function error's X-Ray cause (its whole stack) as one header of up to
# 1 MiB, which Lambda takes; http.server's parser stops at 64 KiB lines (http.client._MAXLINE,
# read when each header line is parsed), and a deep stack's error would then never arrive.
MAX_HEADER_LINE = 1024 * 1024 + 1024
http.client._MAXLINE = max(http.client._MAXLINE, MAX_HEADER_LINE)  # type: ignore[attr-defined]

_INVOCATION_PATH = re.compile(rf"^{API_PREFIX}/invocation/([^/]+)/(response|error)$")


@dataclass
class PendingInvocation:
    """One event on its way through the runtime, and what came back."""

    payload: bytes
    timeout: float
    function_arn: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    trace_id: str = field(
        default_factory=lambda: (
            f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};"
            f"Parent={uuid.uuid4().hex[:16]};Sampled=0"
        )
    )
    client_context: Optional[dict[str, Any]] = None
    cognito_identity: Optional[dict[str, Any]] = None
    # Filled in by the server:
    handed_out_at: Optional[float] = None  # time.monotonic() when /next returned it
    deadline_epoch_ms: Optional[int] = None
    deadline_monotonic: Optional[float] = None
    finished_at: Optional[float] = None
    outcome: Optional[str] = None  # "response" or "error"
    body: Optional[bytes] = None
    error_type_header: Optional[str] = None
    too_large: bool = False

    def start_clock(self) -> None:
        """Handed out by ``/next``: its deadline counts from now."""
        now_mono, now_epoch = time.monotonic(), time.time()
        self.handed_out_at = now_mono
        self.deadline_monotonic = now_mono + self.timeout
        self.deadline_epoch_ms = int((now_epoch + self.timeout) * 1000)


class RuntimeAPIServer:
    """The HTTP endpoint plus the state the local runtime reads (all guarded by ``cond``)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.generation = 0
        self.pending: Optional[PendingInvocation] = None  # offered, not yet handed out
        self.active: Optional[PendingInvocation] = None  # handed out, no result yet
        self.init_error: Optional[dict[str, Any]] = None
        self.first_next_at: Optional[float] = None  # of the current generation
        self.runtime_pid: Optional[int] = None  # the current generation's process
        self.first_next_cpu_ns: Optional[int] = None  # its CPU time when its first /next came
        self.polls_waiting = 0  # /next requests inside take_next right now
        # SnapStart: /restore/next answers after this pause (the snapshot is "restored" later;
        # a real restore also resumes the process on another host, which is not reproduced).
        self.restore_pause = 0.5
        self.restores = 0  # /restore/next calls answered
        self.closing = False
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="runtime-api", daemon=True
        )
        self._thread.start()

    @property
    def address(self) -> str:
        """The value for ``AWS_LAMBDA_RUNTIME_API``."""
        host, port = self._httpd.server_address[:2]
        return f"{host}:{port}"

    def new_generation(self) -> None:
        """A new runtime process is starting: forget the old one's polls and init state."""
        with self.cond:
            self.generation += 1
            self.init_error = None
            self.first_next_at = None
            self.runtime_pid = None
            self.first_next_cpu_ns = None
            self.active = None
            self.cond.notify_all()

    def watch(self, pid: int) -> None:
        """The current generation runs as ``pid``: read its CPU time at its first /next."""
        with self.cond:
            self.runtime_pid = pid

    def offer(self, invocation: PendingInvocation) -> None:
        with self.cond:
            self.pending = invocation
            self.cond.notify_all()

    def withdraw(self) -> None:
        """Drop an offered or active event (its runtime died or was killed)."""
        with self.cond:
            self.pending = None
            self.active = None
            self.cond.notify_all()

    def wait_for_polls(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` /next polls are waiting inside the server (for tests)."""
        with self.cond:
            return self.cond.wait_for(lambda: self.polls_waiting >= count, timeout)

    def close(self) -> None:
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- called from request threads -------------------------------------------------------

    def take_next(
        self, generation: int, peer_port: Optional[int] = None
    ) -> Optional[PendingInvocation]:
        """Block until an event is offered; ``peer_port``: the poll's client port."""
        with self.cond:
            if generation == self.generation and self.first_next_at is None:
                self.first_next_at = time.monotonic()
                if self.runtime_pid is not None:
                    self.first_next_cpu_ns = cpu_ns(self.runtime_pid)
                self.cond.notify_all()
            self.polls_waiting += 1
            self.cond.notify_all()
            try:
                while True:
                    if self.closing or generation != self.generation:
                        return None
                    invocation = self._hand_out(peer_port)
                    if invocation is not None:
                        return invocation
                    self.cond.wait()
            finally:
                self.polls_waiting -= 1
                self.cond.notify_all()

    def _hand_out(self, peer_port: Optional[int]) -> Optional[PendingInvocation]:
        """The event a waiting poll takes now, if any (``cond`` held): one at a time here."""
        if self.pending is None or self.active is not None:
            return None
        invocation, self.pending = self.pending, None
        invocation.start_clock()
        self.active = invocation
        return invocation

    def finish(self, request_id: str, outcome: str, body: bytes, error_type: Optional[str]) -> int:
        """Record a response or error; return the HTTP status Lambda would answer with."""
        with self.cond:
            invocation = self.active
            if invocation is None or invocation.request_id != request_id:
                return 400
            invocation.finished_at = time.monotonic()
            invocation.outcome = outcome
            invocation.body = body
            invocation.error_type_header = error_type
            if outcome == "response" and len(body) > MAX_RESPONSE_BYTES:
                invocation.too_large = True
            self.active = None
            self.cond.notify_all()
            return 413 if invocation.too_large else 202

    def record_init_error(self, body: bytes, error_type: Optional[str]) -> int:
        """Record an init error; return the HTTP status Lambda would answer with."""
        with self.cond:
            try:
                parsed = json.loads(body or b"{}")
            except ValueError:
                parsed = {"errorMessage": body.decode("utf-8", "replace")}
            if not isinstance(parsed, dict):
                parsed = {"errorMessage": str(parsed)}
            parsed.setdefault("errorType", error_type or "Runtime.Unknown")
            self.init_error = parsed
            self.cond.notify_all()
            return 202


def _make_handler(api: RuntimeAPIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else ~40-90 ms per round trip (delayed ACKs)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass

        def handle(self) -> None:
            try:
                super().handle()
            except (ConnectionResetError, BrokenPipeError):
                pass  # the runtime was killed mid-request

        def _reply(self, status: int, body: dict[str, Any], headers: Optional[dict] = None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path == f"{API_PREFIX}/restore/next":  # SnapStart: after the before-hooks
                time.sleep(api.restore_pause)
                with api.cond:
                    api.restores += 1
                self._reply(200, {})
                return
            if self.path != f"{API_PREFIX}/invocation/next":
                self._reply(404, {"errorMessage": "not found", "errorType": "NotFound"})
                return
            generation = api.generation
            invocation = api.take_next(generation, self.client_address[1])
            if invocation is None:
                self.close_connection = True  # a stale poll of a dead process
                return
            headers = {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_epoch_ms),
                "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
                "Lambda-Runtime-Trace-Id": invocation.trace_id,
            }
            if invocation.client_context is not None:
                headers["Lambda-Runtime-Client-Context"] = json.dumps(invocation.client_context)
            if invocation.cognito_identity is not None:
                headers["Lambda-Runtime-Cognito-Identity"] = json.dumps(invocation.cognito_identity)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(invocation.payload)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(invocation.payload)

        def do_POST(self) -> None:  # noqa: N802
            body = self._body()
            error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
            if self.path == f"{API_PREFIX}/restore/error":
                api.record_init_error(body, error_type)
                self._reply(202, {"status": "OK"})
                return
            if self.path == f"{API_PREFIX}/init/error":
                if api.record_init_error(body, error_type) == 202:
                    self._reply(202, {"status": "OK"})
                else:
                    self._reply(
                        403,
                        {"errorMessage": "Init error already reported", "errorType": "Forbidden"},
                    )
                return
            match = _INVOCATION_PATH.match(self.path)
            if not match:
                self._reply(404, {"errorMessage": "not found", "errorType": "NotFound"})
                return
            request_id, outcome = match.groups()
            status = api.finish(request_id, outcome, body, error_type)
            if status == 202:
                self._reply(202, {"status": "OK"})
            elif status == 413:
                self._reply(
                    413,
                    {
                        "errorMessage": "Exceeded maximum allowed payload size",
                        "errorType": "RequestEntityTooLarge",
                    },
                )
            elif status == 410:  # Managed Instances: a post after the invocation timed out
                self._reply(410, {"errorMessage": "Invoke timeout", "errorType": "InvokeTimeout"})
            else:
                self._reply(
                    400, {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}
                )

    return Handler
