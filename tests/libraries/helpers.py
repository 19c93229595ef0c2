"""Helpers of the library tests."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

import pytest
from conftest import MODE_312, MODES

T = TypeVar("T")
# One runtime version for the library tests (the libraries do not depend on awslambdaric's modes).
VERSION = MODE_312 or (MODES[0] if MODES else None)
needs_runtime = pytest.mark.skipif(VERSION is None, reason="no interpreter for the local runtime")


def both(run: Callable[[bool], T]) -> tuple[T, T]:
    """``run(False)`` and ``run(True)``: without and with the layer, side by side."""
    with ThreadPoolExecutor(2) as pool:
        without, with_layer = pool.map(run, (False, True))
    return without, with_layer


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects among the lines of a log."""
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                pass
    return found


class XRayDaemon:
    """A stand-in for the X-Ray daemon: a UDP socket on 127.0.0.1 that keeps what it gets.

    The SDK sends ``{"format": "json", "version": 1}`` and one segment document per datagram
    to ``AWS_XRAY_DAEMON_ADDRESS`` (:attr:`address`).
    """

    def __init__(self) -> None:
        import socket
        import threading

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.address = f"127.0.0.1:{self._sock.getsockname()[1]}"
        self.documents: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except OSError:
                continue
            header, _, body = data.decode("utf-8", "replace").partition("\n")
            try:
                self.documents.append(json.loads(body))
            except ValueError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()
