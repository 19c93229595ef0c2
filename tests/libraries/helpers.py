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
