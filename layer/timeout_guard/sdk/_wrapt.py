"""The wrapt the layer uses: its own vendored copy, never the function's.

The layer build vendors wrapt's pure-Python source under ``timeout_guard/_vendor/wrapt`` so the
function keeps importing its own wrapt (if any). In the source tree that copy is absent, and the
test environment's wrapt stands in for it.
"""

from __future__ import annotations

try:
    from timeout_guard._vendor import wrapt  # type: ignore[attr-defined]
except ImportError:  # source tree / tests only: no vendored copy
    import wrapt  # type: ignore[no-redef]

__all__ = ["wrapt"]
