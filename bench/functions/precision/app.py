"""Runs until the pre-timeout hook stops it: sleeping, or spinning in pure Python."""

import time


def handler(event, context):
    if event.get("kind") == "busy":
        n = 0
        while True:
            n += 1
    time.sleep(3600)
