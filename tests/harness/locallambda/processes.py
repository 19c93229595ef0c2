"""Stopping what the harness started: always by process group, never by name."""

from __future__ import annotations

import os
import signal
from typing import Optional


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid`` (a process started with ``start_new_session``).

    Lambda ends a runtime this way, and it is the only way to be sure a test leaves nothing
    behind: children the process started are in its group.
    """
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def cpu_ns(pid: int) -> Optional[int]:
    """Nanoseconds process ``pid`` has run on a CPU so far: the sum over its live threads of
    ``/proc/<pid>/task/<tid>/schedstat``'s first field (threads that already ended are not
    counted). It carries over ``exec``, so a process started through shell scripts that exec
    the interpreter counts the scripts too. None if the process is gone.
    """
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # the thread ended meanwhile
    return total
