"""Lambda Managed Instances in the local runtime: N workers, one invocation each, no kill.

With ``AWS_LAMBDA_MAX_CONCURRENCY=N`` awslambdaric 4.x forks N worker processes, each polling
``/next`` and running one invocation at a time. What Lambda does differently from the classic
runtime, reproduced here after the Managed Instances mode of AWS's Runtime Interface Emulator
(``internal/lambda-managed-instances``: ``invoke_router.go``, ``running_invoke.go``,
``rapi/handler/invocationresponse.go``):

- an invocation is handed to whichever worker's ``/next`` poll is waiting; the deadline counts
  from that moment, per invocation;
- at the deadline the caller gets ``Sandbox.Timedout`` (``Task timed out after N.NN seconds``)
  and **nothing is killed**: the worker keeps running the handler;
- a response or error posted after that is answered ``410 InvokeTimeout`` (once; a later one,
  or an unknown request id, ``400 InvalidRequestID``). awslambdaric's multi-concurrent client
  logs a non-2xx answer to a post as a warning and polls ``/next`` again
  (``LambdaMultiConcurrentRuntimeClient.handle_exception``), so the worker serves again;
- a second ``/init/error`` (each worker loads the handler and reports its own failure) is
  answered 403, which that client ignores.

Output: each worker connects its stdout and stderr to the unix socket named by
``_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET`` (awslambdaric's ``_redirect_output``), stdout
first. The socket's peer credentials say which worker a stream belongs to, and the TCP
connection of a ``/next`` poll says which worker takes an invocation, so an invocation's output
is its worker's output from the moment it was handed out to the moment the worker takes its
next one (late output of a timed-out invocation included).
"""

from __future__ import annotations

import collections
import os
import selectors
import socket
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .runtime_api import PendingInvocation, RuntimeAPIServer

MAX_STREAM_BYTES = 16 * 1024 * 1024  # per worker stream: a runaway function cannot eat memory


class ManagedRuntimeAPIServer(RuntimeAPIServer):
    """The Runtime API of one execution environment with several workers.

    ``queue``: offered invocations no worker has taken yet; ``running``: handed out, no result
    yet; ``timed_out``: request ids whose deadline passed (a late post is answered 410 once).
    ``on_hand_out(invocation, peer_port)`` runs (under ``cond``) when a worker takes one.
    """

    def __init__(self) -> None:
        super().__init__()
        self.queue: collections.deque[PendingInvocation] = collections.deque()
        self.running: dict[str, PendingInvocation] = {}
        self.timed_out: set[str] = set()
        self.late_answers: list[tuple[str, str, int]] = []  # (request id, outcome, status)
        self.on_hand_out: Optional[Callable[[PendingInvocation, Optional[int]], None]] = None

    def new_generation(self) -> None:
        with self.cond:
            super().new_generation()
            self.running.clear()

    def offer(self, invocation: PendingInvocation) -> None:
        with self.cond:
            self.queue.append(invocation)
            self.cond.notify_all()

    def unqueue(self, invocation: PendingInvocation) -> bool:
        """Take back an invocation no worker took; False if one did meanwhile."""
        with self.cond:
            try:
                self.queue.remove(invocation)
            except ValueError:
                return False
            return True

    def time_out(self, invocation: PendingInvocation) -> None:
        """The invocation's deadline passed: a late post of it is answered 410 from now on."""
        with self.cond:
            if self.running.pop(invocation.request_id, None) is not None:
                self.timed_out.add(invocation.request_id)

    def withdraw(self) -> None:
        with self.cond:
            self.queue.clear()
            self.running.clear()
            self.cond.notify_all()

    def _hand_out(self, peer_port: Optional[int]) -> Optional[PendingInvocation]:
        """Any waiting poll takes the next queued event: N run at once."""
        if not self.queue:
            return None
        invocation = self.queue.popleft()
        invocation.start_clock()
        self.running[invocation.request_id] = invocation
        if self.on_hand_out is not None:
            self.on_hand_out(invocation, peer_port)
        return invocation

    def finish(self, request_id: str, outcome: str, body: bytes, error_type: Optional[str]) -> int:
        with self.cond:
            if request_id in self.running:
                self.active = self.running.pop(request_id)
                return super().finish(request_id, outcome, body, error_type)
            status = 410 if request_id in self.timed_out else 400
            self.timed_out.discard(request_id)
            self.late_answers.append((request_id, outcome, status))
            self.cond.notify_all()
            return status

    def record_init_error(self, body: bytes, error_type: Optional[str]) -> int:
        with self.cond:
            if self.init_error is not None:
                return 403  # another worker reported it first
        return super().record_init_error(body, error_type)


# --- worker output ----------------------------------------------------------------------------


@dataclass
class WorkerStreams:
    """One worker's stdout and stderr as they came through the log socket."""

    pid: int
    out: bytearray = field(default_factory=bytearray)
    err: bytearray = field(default_factory=bytearray)
    sockets: list[socket.socket] = field(default_factory=list)  # stdout first, then stderr
    invocations: int = 0  # handed out to this worker so far
    current: Optional[StreamOutput] = None


class StreamOutput:
    """An invocation's slice of its worker's streams (``_Output``'s interface)."""

    def __init__(self, logs: WorkerLogs, worker: WorkerStreams, first: bool) -> None:
        self._logs = logs
        self.worker = worker
        # The worker's first invocation includes its init output (as in the classic runtime).
        self.out_start, self.err_start = (0, 0) if first else (len(worker.out), len(worker.err))
        self.out_end: Optional[int] = None
        self.err_end: Optional[int] = None
        self.frozen: Optional[tuple[str, str]] = None

    def end_here(self) -> None:
        self.out_end, self.err_end = len(self.worker.out), len(self.worker.err)

    def text(self) -> tuple[str, str]:
        if self.frozen is not None:
            return self.frozen
        with self._logs.lock:
            self._logs.drain(self.worker)
            out = bytes(self.worker.out[self.out_start : self.out_end])
            err = bytes(self.worker.err[self.err_start : self.err_end])
        return out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    def freeze(self) -> None:
        self.frozen = self.text()


class WorkerLogs:
    """The unix socket awslambdaric's workers connect their stdout and stderr to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Condition()
        self.workers: dict[int, WorkerStreams] = {}
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(path))
        self._listener.listen(64)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="worker-logs", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._closing:
            try:
                events = self._selector.select(0.2)
            except (OSError, ValueError):
                return
            with self.lock:
                for key, _ in events:
                    if key.fileobj is self._listener:
                        self._accept()
                    else:
                        self._read(key.fileobj, key.data)  # type: ignore[arg-type]

    def _accept(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid = struct.unpack("3i", creds)[0]
        worker = self.workers.setdefault(pid, WorkerStreams(pid))
        stream = worker.out if not worker.sockets else worker.err
        worker.sockets.append(conn)
        conn.setblocking(False)
        self._selector.register(conn, selectors.EVENT_READ, stream)
        self.lock.notify_all()

    def _read(self, conn: socket.socket, stream: bytearray) -> bool:
        """Read what is there now; False once the worker closed it."""
        while True:
            try:
                data = conn.recv(65536)
            except BlockingIOError:
                return True
            except OSError:
                data = b""
            if not data:
                try:
                    self._selector.unregister(conn)
                except (KeyError, ValueError):
                    pass
                conn.close()
                return False
            if len(stream) < MAX_STREAM_BYTES:
                stream.extend(data[: MAX_STREAM_BYTES - len(stream)])

    def drain(self, worker: WorkerStreams) -> None:
        """Read everything the worker has written so far (call with ``lock`` held)."""
        for conn, stream in zip(worker.sockets, (worker.out, worker.err), strict=False):
            if conn.fileno() >= 0:
                self._read(conn, stream)

    def worker(self, pid: int, timeout: float = 2.0) -> Optional[WorkerStreams]:
        """The streams of worker ``pid`` once both are connected (call with ``lock`` held)."""
        self.lock.wait_for(
            lambda: len(self.workers.get(pid, WorkerStreams(pid)).sockets) >= 2, timeout
        )
        return self.workers.get(pid)

    def hand_out(self, pid: Optional[int]) -> Optional[StreamOutput]:
        """Worker ``pid`` takes an invocation: end its previous slice, start a new one."""
        if pid is None:
            return None
        with self.lock:
            worker = self.worker(pid)
            if worker is None:
                return None
            self.drain(worker)
            if worker.current is not None:
                worker.current.end_here()
            worker.current = StreamOutput(self, worker, first=worker.current is None)
            worker.invocations += 1
            return worker.current

    def close(self) -> None:
        self._closing = True
        self._thread.join(2)
        with self.lock:
            for worker in self.workers.values():
                for conn in worker.sockets:
                    conn.close()
            self._listener.close()
            self._selector.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def tcp_peer_pid(client_port: int, server_port: int, pids: list[int]) -> Optional[int]:
    """Which of ``pids`` owns the loopback TCP connection ``client_port -> server_port``.

    Linux only: the socket's inode from ``/proc/net/tcp``, then the process holding it.
    """
    inode = None
    try:
        with open("/proc/net/tcp") as table:
            next(table)
            for line in table:
                fields = line.split()
                local, remote = fields[1], fields[2]
                if (
                    int(local.rsplit(":", 1)[1], 16) == client_port
                    and int(remote.rsplit(":", 1)[1], 16) == server_port
                ):
                    inode = fields[9]
                    break
    except OSError:
        return None
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                continue
    return None
