"""Misbehaving and well-behaved servers on 127.0.0.1, for SDK timeout tests, demos and benchmarks.

Every server is a context manager with ``.endpoint_url`` (an ephemeral port) and stops
deterministically on exit: sockets closed, threads joined, a subprocess killed by its own
process group. Nothing here talks to any address but 127.0.0.1.

* :class:`BlackHole` accepts connections and reads requests, never answers (read timeout).
* :class:`NeverAccept` listens with a full backlog and never accepts: SYNs are dropped, so a
  client gets a connect timeout, even on loopback.
* :class:`StallFirst` stalls its first N connections like a black hole (optionally dropping
  them after a while), then forwards to a target (a connection that hung once, then healthy
  ones: the Firehose case); ``stall_next`` makes it stall again.
* :class:`DelayServer` answers each HTTP request after a delay, with a canned response or by
  forwarding it to a target, and counts the requests it received.
* :class:`MotoServer` runs moto in server mode in a subprocess.
"""

from __future__ import annotations

import errno
import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

from locallambda.layers import REPO
from locallambda.processes import kill_group

HOST = "127.0.0.1"

__all__ = ["BlackHole", "DelayServer", "MotoServer", "NeverAccept", "StallFirst", "free_port"]


def free_port() -> int:
    """An ephemeral port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class _Server:
    """A listening socket and a thread; subclasses define ``_serve``."""

    backlog = 64

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((HOST, 0))
        self.port: int = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.connections = 0  # connections accepted so far

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> Any:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._listener.listen(self.backlog)
        self._spawn(self._accept_loop)

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
                self.connections += 1
                number = self.connections
            self._spawn(self._handle, conn, number)

    def _handle(self, conn: socket.socket, number: int) -> None:
        raise NotImplementedError

    def _hold(self, conn: socket.socket, drop_after: Optional[float] = None) -> None:
        """Read whatever comes and never answer, until the peer or ``stop`` closes (or, with
        ``drop_after``, until that many seconds have passed: then close it)."""
        conn.settimeout(0.05)
        until = None if drop_after is None else time.monotonic() + drop_after
        while not self._stopping.is_set() and (until is None or time.monotonic() < until):
            try:
                if not conn.recv(65536):
                    return
            except TimeoutError:
                continue
            except OSError:
                return

    def stop(self) -> None:
        self._stopping.set()
        _close(self._listener)
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            _close(conn)
        for thread in threads:
            thread.join(timeout=5)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class BlackHole(_Server):
    """Accepts every connection, reads the request, never answers: a read timeout."""

    def _handle(self, conn: socket.socket, number: int) -> None:
        self._hold(conn)


class StallFirst(_Server):
    """Stalls the first ``stall`` connections (never answers), forwards the rest to ``target``.

    ``target``: ``"http://127.0.0.1:PORT"`` (for example a :class:`MotoServer`).
    """

    def __init__(self, target: str, stall: int = 1, drop_after: Optional[float] = None) -> None:
        super().__init__()
        host_port = target.split("://", 1)[-1].rstrip("/")
        host, _, port = host_port.partition(":")
        self.target = (host, int(port or 80))
        self.stall = stall
        self.drop_after = drop_after  # close a stalled connection after this long (None: never)

    def stall_next(self, count: int = 1) -> None:
        """Stall the next ``count`` new connections (again), and close every connection open now:
        a client's pooled keep-alive connection cannot dodge the stall, it has to connect anew.
        """
        with self._lock:
            self.stall = self.connections + count
            conns, self._conns = self._conns, []
            self._threads = [thread for thread in self._threads if thread.is_alive()]
        for conn in conns:
            _close(conn)

    def _handle(self, conn: socket.socket, number: int) -> None:
        if number <= self.stall:
            self._hold(conn, self.drop_after)
            _close(conn)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _close(conn)
            return
        with self._lock:
            self._conns.append(upstream)
        self._spawn(self._pump, upstream, conn)
        self._pump(conn, upstream)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        source.settimeout(0.05)
        while not self._stopping.is_set():
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            try:
                sink.sendall(data)
            except OSError:
                break
        _close(sink)
        _close(source)


class NeverAccept:
    """A listening socket that never accepts and whose backlog is full: connects time out.

    Linux queues ``backlog + 1`` completed connections on a ``listen(0)`` socket; once they are
    queued, further SYNs are dropped, so a client's connect hangs until its connect timeout
    (measured here; ``start`` checks it and raises if the kernel behaves otherwise).
    """

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((HOST, 0))
        self.port: int = self._listener.getsockname()[1]
        self._fillers: list[socket.socket] = []

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> NeverAccept:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._listener.listen(0)
        for _ in range(16):  # fill the accept queue until a connect no longer completes
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            self._fillers.append(filler)
            code = filler.connect_ex((HOST, self.port))
            if code not in (0, errno.EINPROGRESS):
                continue
            filler.settimeout(0.2)
            try:
                filler.getpeername()
                continue
            except OSError:
                pass
            if not _connects_within(filler, 0.2):
                return  # this SYN was dropped: the backlog is full
        self.stop()
        raise RuntimeError("NeverAccept: could not fill the listen backlog")

    def stop(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._fillers.clear()
        self._listener.close()


def _connects_within(sock: socket.socket, seconds: float) -> bool:
    import select

    _, writable, _ = select.select([], [sock], [], seconds)
    return bool(writable) and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0


class DelayServer:
    """An HTTP/1.1 server that answers each request after ``delay`` seconds.

    Either a canned response (``status``, ``headers``, ``body``) or, with ``target``, the
    target's answer to the same request. ``requests`` lists ``(method, path)`` of every request
    received (counted on arrival, before the delay).
    """

    def __init__(
        self,
        delay: float,
        *,
        status: int = 200,
        headers: Optional[dict[str, str]] = None,
        body: bytes = b"{}",
        target: Optional[str] = None,
    ) -> None:
        self.delay = delay
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else b""
                with outer._lock:
                    outer.requests.append((self.command, self.path))
                if outer._stopping.wait(outer.delay):
                    return
                if target is not None:
                    code, reply_headers, reply = _forward(target, self, payload)
                else:
                    code = status
                    reply_headers = {"Content-Type": "application/json", **(headers or {})}
                    reply = body
                try:
                    self.send_response(code)
                    for key, value in reply_headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any  # noqa: N815

        self._server = _QuietServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> DelayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _QuietServer(ThreadingHTTPServer):
    """Clients that time out and close are expected here: no tracebacks on stderr."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def _forward(
    target: str, handler: BaseHTTPRequestHandler, payload: bytes
) -> tuple[int, dict[str, str], bytes]:
    host_port = target.split("://", 1)[-1].rstrip("/")
    conn = http.client.HTTPConnection(host_port, timeout=30)
    try:
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP}
        conn.request(handler.command, handler.path, body=payload, headers=headers)
        response = conn.getresponse()
        data = response.read()
        reply = {k: v for k, v in response.getheaders() if k.lower() not in _HOP}
        return response.status, reply, data
    finally:
        conn.close()


def moto_python() -> str:
    """The interpreter that runs moto: ``$LOOPBACK_MOTO_PYTHON``, else the repo's ``.venv``.

    moto needs a recent botocore, so a test run on an old botocore still starts moto from the
    main virtual environment, in its own process.
    """
    configured = os.environ.get("LOOPBACK_MOTO_PYTHON")
    if configured:
        return configured
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


class MotoServer:
    """moto in server mode (``python -m moto.server``) on a free port, in its own process group."""

    def __init__(self, python: Optional[str] = None, ready_timeout: float = 30.0) -> None:
        self.python = python or moto_python()
        self.ready_timeout = ready_timeout
        self.port = 0
        self.process: Optional[subprocess.Popen] = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def client_options(self, region: str = "us-east-1") -> dict[str, str]:
        """Keyword arguments for a boto3 client of this server (moto takes any credentials)."""
        return {
            "endpoint_url": self.endpoint_url,
            "region_name": region,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        for _ in range(3):  # a port taken between free_port() and bind: try another
            self.port = free_port()
            self.process = subprocess.Popen(
                [self.python, "-m", "moto.server", "-H", HOST, "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, "MOTO_CALL_RESET_API": "true"},
            )
            if self._wait_ready():
                return
            self.stop()
        raise RuntimeError("moto server did not start")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=1)
                conn.request("GET", "/moto-api/")
                conn.getresponse().read()
                conn.close()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def reset(self) -> None:
        """Forget all moto state (between tests)."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
        conn.request("POST", "/moto-api/reset")
        conn.getresponse().read()
        conn.close()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            kill_group(process.pid)  # its own group: start_new_session
        process.wait(timeout=10)
