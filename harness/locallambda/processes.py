"""Stopping what the harness started: always by process group, never by name."""

from __future__ import annotations

import os
import signal


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid`` (a process started with ``start_new_session``).

    Lambda ends a runtime this way, and it is the only way to be sure a test leaves nothing
    behind: children the process started are in its group.
    """
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
