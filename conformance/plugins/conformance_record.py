"""pytest plugin: record every test's outcome, and keep botocore's tests off the network.

Loaded with ``-p conformance_record`` in both runs (plain and patched), so the two runs differ
only by the layer. Writes ``$CONFORMANCE_OUT`` (JSON: nodeid -> outcome, and the failure text of
failed tests) at the end of the session. Works with and without pytest-xdist: the controller
receives every worker's reports.

The network guard refuses any connection or name lookup that is not loopback (127.0.0.1, ::1,
localhost, unix sockets) and appends it to ``$CONFORMANCE_NET_LOG``: botocore's unit and
functional tests need no network, so a test that tries is recorded instead of leaking a request
(or a DNS query) to the real AWS or to instance metadata.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any, Iterator

import pytest

OUTCOME_RANK = {"passed": 0, "xfailed": 1, "xpassed": 1, "skipped": 2, "failed": 3, "error": 4}
MAX_TEXT = 6000  # characters of failure text kept per test

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
# Read once: some of botocore's tests clear os.environ and do not restore it.
_OUT = os.environ.get("CONFORMANCE_OUT")
_NET_LOG = os.environ.get("CONFORMANCE_NET_LOG")


def _is_loopback_host(host: Any) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): the local wildcard/loopback address
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").lower()
    if host in _LOOPBACK_NAMES or host in ("", "::1", "0.0.0.0", "::"):
        return True
    return host.startswith("127.") or host.startswith("::ffff:127.")


def _is_loopback_address(address: Any) -> bool:
    if isinstance(address, (str, bytes)):
        return True  # AF_UNIX path
    if isinstance(address, tuple) and address:
        return _is_loopback_host(address[0])
    return True


def _refuse(what: str, target: Any) -> None:
    test = _current or "?"
    if _NET_LOG:
        with open(_NET_LOG, "a", encoding="utf-8") as log:
            log.write(f"{test}\t{what}\t{target!r}\n")
    raise OSError(f"conformance: non-loopback network use refused: {what} {target!r}")


def _install_network_guard() -> None:
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_sendto = socket.socket.sendto
    original_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if not _is_loopback_address(address):
            _refuse("connect", address)
        return original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _is_loopback_address(address):
            _refuse("connect_ex", address)
        return original_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        if args and not _is_loopback_address(args[-1]):
            _refuse("sendto", args[-1])
        return original_sendto(self, data, *args)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback_host(host):
            _refuse("getaddrinfo", host)
        return original_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo


_install_network_guard()

_current = ""  # the running test's node id, for the network log
_root = ""  # the sdist tree's path: some parametrized ids embed it, and each run has its own
_outcomes: dict[str, str] = {}
_texts: dict[str, str] = {}
_file_seconds: dict[str, float] = {}  # where the time goes, to choose the make-test subset


def pytest_configure(config: pytest.Config) -> None:
    global _root
    _root = str(config.rootpath)


@pytest.hookimpl(hookwrapper=True)  # old-style: pluggy 1.0 (pytest 7.1) has no wrapper=True
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    global _current
    _current = _nodeid(item.nodeid)
    yield
    _current = ""


def _nodeid(nodeid: str) -> str:
    """The node id with the sdist tree's path replaced, so both runs' ids match."""
    return nodeid.replace(_root, "<sdist>") if _root else nodeid


def _outcome(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    if report.failed:
        return "failed" if report.when == "call" else "error"
    if report.skipped:
        return "skipped"
    return "passed"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """The worst outcome over setup, call, teardown and subtests is the test's outcome."""
    nodeid = _nodeid(report.nodeid)
    module = nodeid.split("::", 1)[0]
    _file_seconds[module] = _file_seconds.get(module, 0.0) + report.duration
    if report.passed and report.when != "call":
        _outcomes.setdefault(nodeid, "passed")
        return
    outcome = _outcome(report)
    previous = _outcomes.get(nodeid)
    if previous is None or OUTCOME_RANK[outcome] > OUTCOME_RANK[previous]:
        _outcomes[nodeid] = outcome
    if report.failed:
        text = _texts.get(nodeid, "") + f"[{report.when}] {report.longreprtext}\n"
        _texts[nodeid] = text[-MAX_TEXT:]


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A module that fails to import is recorded as one errored 'test' under its own id."""
    if report.failed:
        nodeid = _nodeid(report.nodeid) + "::<collection>"
        _outcomes[nodeid] = "error"
        _texts[nodeid] = report.longreprtext[-MAX_TEXT:]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller writes the file
    if not _OUT:
        return
    import botocore

    data = {
        "exitstatus": int(exitstatus),
        "botocore_version": botocore.__version__,
        "botocore_file": botocore.__file__,
        "outcomes": _outcomes,
        "failures": _texts,
        "file_seconds": {k: round(v, 2) for k, v in _file_seconds.items()},
    }
    with open(_OUT, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=0, sort_keys=True)
