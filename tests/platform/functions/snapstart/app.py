"""A SnapStart function: runtime hooks around the snapshot, and a handler that may get stuck."""

import time

from snapshot_restore_py import register_after_restore, register_before_snapshot

HOOKS = []


@register_before_snapshot
def close_connections():
    HOOKS.append("before_snapshot")
    print("before snapshot", flush=True)


@register_after_restore
def reconnect():
    HOOKS.append("after_restore")
    print("after restore", flush=True)


def handler(event, context):
    if event.get("stuck"):
        try:
            time.sleep(60)
        finally:
            HOOKS.append("finally")
    return {"hooks": HOOKS, "left_ms": context.get_remaining_time_in_millis()}
