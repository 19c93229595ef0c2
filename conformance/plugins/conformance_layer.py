"""pytest plugin: start Timeout Guard in this test process the way the layer's bootstrap does.

Loaded with ``-p conformance_layer`` in the patched run only, before any test module (and so
before botocore) is imported. It mirrors ``timeout_guard/_bootstrap/sitecustomize.py``: the
layer's folder (``$CONFORMANCE_LAYER_DIR``, the repository's ``layer/``) is on ``sys.path`` only
while ``timeout_guard._startup`` is imported, then ``_startup.start()`` installs the post-import
hooks, and the hook patches ``botocore.session`` when botocore's own code imports it.

The patched run must never be silently plain: ``pytest_configure`` imports ``botocore.session``
(as a function's init code would), checks that ``Session.create_client`` is the layer's wrapper,
and stops the run otherwise. Each process (xdist workers too) appends one proof line to
``$CONFORMANCE_PROOF``, which the harness checks.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

if "botocore" in sys.modules:
    raise RuntimeError("conformance_layer: botocore was imported before the layer started")

_layer_dir = os.path.abspath(os.environ["CONFORMANCE_LAYER_DIR"])
sys.path.insert(0, _layer_dir)
try:
    from timeout_guard import _startup
finally:
    sys.path.remove(_layer_dir)
    sys.path_importer_cache.pop(_layer_dir, None)
_startup.start()


def pytest_configure(config: pytest.Config) -> None:
    import botocore
    import botocore.endpoint
    import botocore.session
    from timeout_guard.sdk.wrapping import is_wrapped

    wrapped = all(
        (
            is_wrapped(botocore.session.Session, "create_client"),
            is_wrapped(botocore.endpoint.Endpoint, "_do_get_response"),
        )
    )
    proof = {
        "pid": os.getpid(),
        "worker": getattr(config, "workerinput", {}).get("workerid", "main"),
        "botocore": botocore.__version__,
        "botocore_file": botocore.__file__,
        "layer_file": sys.modules["timeout_guard"].__file__,
        "create_client_wrapped": wrapped,
    }
    path = os.environ.get("CONFORMANCE_PROOF")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(proof) + "\n")
    if not wrapped:
        raise pytest.UsageError(f"conformance_layer: the layer did not patch botocore: {proof}")
