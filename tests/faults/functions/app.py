"""Functions that put the layer in a bad spot; each reports what it saw through its result or
a file named in the event (``marker``), so the test can tell what ran."""

import json
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time

own_alarms = []  # the function's own SIGALRM handler, installed at init, appends here


def _own_alarm(signum, frame):
    own_alarms.append(time.monotonic())


signal.signal(signal.SIGALRM, _own_alarm)


def _mark(event, what):
    with open(event["marker"], "w") as f:
        f.write(what)


def ok(event, context):
    """Imports the SDK (the layer's botocore patch loads) and returns."""
    import boto3

    client = boto3.client("sqs", endpoint_url="http://127.0.0.1:9")
    config = client.meta.config
    return {
        "ok": True,
        "connect_timeout": config.connect_timeout,
        "read_timeout": config.read_timeout,
        # Called by the layer's handler wrapper (the hook is on), or by awslambdaric itself.
        "hooked": "timeout_guard" in sys._getframe(1).f_code.co_filename,
        # Where the layer's modules came from: its bytecode bundle, or its sources.
        "layer_loaders": sorted({
            type(module.__loader__).__name__
            for name, module in sys.modules.items()
            if name.partition(".")[0] == "timeout_guard"
        }),
    }


def sleeping(event, context):
    try:
        time.sleep(60)
    finally:
        _mark(event, "finally ran")


# --- the logging lock ------------------------------------------------------------------------


def _runtime_handler():
    """The runtime's log handler (awslambdaric's, on the root logger): the guard logs through it."""
    return logging.getLogger().handlers[0]


def holds_logging_lock(event, context):
    """The main thread itself holds the runtime's log handler lock while the guard fires."""
    handler = _runtime_handler()
    handler.acquire()
    try:
        time.sleep(60)
    finally:
        handler.release()
        _mark(event, "finally ran")


def other_thread_holds_logging_lock(event, context):
    """Another thread holds the runtime's log handler lock past the guard's time (a thread
    stuck writing a log line, say), then lets go."""
    handler = _runtime_handler()
    taken = threading.Event()

    def hold():
        with handler.lock:
            taken.set()
            time.sleep(event["hold"])

    threading.Thread(target=hold, daemon=True).start()
    taken.wait()
    try:
        time.sleep(60)
    finally:
        _mark(event, "finally ran")


class _SlowStream:
    """A log destination that takes a while per line (a slow pipe or a log shipper)."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.lines = 0

    def write(self, text):
        time.sleep(self.seconds)
        self.lines += 1

    def flush(self):
        pass


def logs_through_a_slow_handler(event, context):
    """Most of its time is spent inside a ``StreamHandler``'s ``emit`` (which holds the handler's
    lock, and swallows any exception raised in it: ``handleError``)."""
    stream = _SlowStream(event["write_seconds"])
    logger = logging.getLogger("busy")
    logger.propagate = False
    logger.handlers[:] = [logging.StreamHandler(stream)]
    try:
        while True:
            logger.warning("working")
            time.sleep(event["between_seconds"])
    finally:
        _mark(event, f"finally ran after {stream.lines} lines")


# --- fork -------------------------------------------------------------------------------------


def _child(result_path, sleep_s):
    """In the forked child: outlive the parent's guard time, then use SIGALRM as the function
    does (its own handler, installed at init, and a timer of its own)."""
    seen = {"raised": None}
    try:
        time.sleep(sleep_s)
        state = sys.modules.get("timeout_guard.invocation")
        seen["invocation_state_left"] = getattr(state, "current", None) is not None
        before = len(own_alarms)
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        time.sleep(0.5)
        seen["own_handler_ran"] = len(own_alarms) > before
    except BaseException as error:
        seen["raised"] = type(error).__name__
    with open(result_path + ".tmp", "w") as f:
        json.dump(seen, f)
    os.rename(result_path + ".tmp", result_path)


def forks_a_child(event, context):
    context_ = multiprocessing.get_context("fork")
    child = context_.Process(target=_child, args=(event["child_result"], event["child_sleep"]))
    child.start()
    try:
        time.sleep(60)
    finally:
        _mark(event, f"child {child.pid}")


# --- stdout and stderr gone -------------------------------------------------------------------


def streams_gone(event, context):
    """stdout and stderr broken (a pipe nobody reads: EPIPE) or closed while the guard writes."""
    if "how" not in event:
        return "ok"
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    saved_streams = sys.stdout, sys.stderr
    if event["how"] == "broken_pipe":
        read_end, write_end = os.pipe()
        os.close(read_end)
        for fd in (1, 2):
            os.dup2(write_end, fd)
        os.close(write_end)
    else:  # closed: the file objects and the file descriptors
        closed = open(os.devnull, "w")  # noqa: SIM115 - closed on purpose
        closed.close()
        sys.stdout = sys.stderr = closed
        for fd in (1, 2):
            os.close(fd)
    try:
        time.sleep(60)
    finally:
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        sys.stdout, sys.stderr = saved_streams
        _mark(event, "finally ran")
