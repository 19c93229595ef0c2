"""Handlers that get stuck in different ways; each writes a marker from its ``finally``."""

import json
import queue
import socket
import threading
import time


def _finish(event, what):
    with open(event["marker"], "w") as f:
        f.write(what)


def sleeping(event, context):
    try:
        time.sleep(60)
    finally:
        _finish(event, "sleeping")


def importing(event, context):
    try:
        import slow_import  # noqa: F401 - its top level never finishes
    finally:
        _finish(event, "importing")


def wait_for_reply(event, context):
    try:
        conn = socket.create_connection(("127.0.0.1", event["port"]))
        conn.sendall(b"hello\n")
        conn.recv(1024)  # the server never answers
    finally:
        _finish(event, "wait_for_reply")


def spin(event, context):
    try:
        n = 0
        while True:
            n += 1
    finally:
        _finish(event, "spin")


def wait_for_lock(event, context):
    lock = threading.Lock()
    lock.acquire()
    try:
        lock.acquire()  # never released
    finally:
        _finish(event, "wait_for_lock")


def wait_for_queue(event, context):
    try:
        queue.Queue().get()
    finally:
        _finish(event, "wait_for_queue")


def put_to_firehose(event, context):
    import boto3

    client = boto3.client("firehose", endpoint_url=event["endpoint"])
    try:
        client.put_record(DeliveryStreamName="s", Record={"Data": b"x"})
    finally:
        _finish(event, "put_to_firehose")


def urllib3_get(event, context):
    """A plain urllib3 request with its default retries (3): the guard's error, a TimeoutError,
    is taken by urllib3 for a socket timeout and retried."""
    import urllib3

    try:
        urllib3.PoolManager().request("GET", event["endpoint"])
    finally:
        _finish(event, "urllib3_get")


def catches_timeout(event, context):
    try:
        time.sleep(60)
    except TimeoutError as error:
        return {"caught": type(error).__name__, "is_timeout_error": isinstance(error, TimeoutError)}


def swallows_timeouts(event, context):
    caught = 0
    while True:
        try:
            time.sleep(60)
        except TimeoutError:
            caught += 1
            print(json.dumps({"caught": caught}), flush=True)


def cleanup_fails(event, context):
    try:
        time.sleep(60)
    except TimeoutError:
        raise ValueError("cleanup failed") from None


def quick(event, context):
    return {"ok": True, "remaining_ms": context.get_remaining_time_in_millis()}


def slow(event, context):
    time.sleep(event.get("sleep", 0.1))
    return "slow done"
