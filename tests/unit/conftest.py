"""Fast in-process tests of the layer's own logic: each module driven directly, no runtime.

The layer's ``layer/`` folder goes on ``sys.path`` as the bootstrap puts ``/opt/python`` there.
The end-to-end tests in the local runtime stay the proof; these pin the rules down quickly.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layer"
if str(LAYER) not in sys.path:
    sys.path.insert(0, str(LAYER))


@pytest.fixture(autouse=True)
def clean_signals() -> Any:
    """Each test leaves SIGALRM, the interval timer and the invocation as it found them."""
    from timeout_guard import invocation

    previous = signal.getsignal(signal.SIGALRM)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)
    if invocation.current is not None:
        invocation.end()
