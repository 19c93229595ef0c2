"""Timeout Guard's bootstrap: the first code to run in the Lambda runtime's Python process.

The exec wrapper put this folder first on ``PYTHONPATH`` so that ``site`` imports this module.
It then leaves no trace the function could see:

1. restores ``PYTHONPATH`` exactly as it was (unset stays unset, so the runtime's
   ``bootstrap.py`` still adds the layers' ``/opt/python`` folders and processes their ``.pth``
   files) and removes this folder from ``sys.path``;
2. imports the ``timeout_guard`` package from the layer and lets it install its post-import
   hooks (the handler wrapper when ``awslambdaric.bootstrap`` loads, the SDK settings when
   ``botocore.session`` loads); nothing heavy is imported here;
3. runs the ``sitecustomize`` this module shadows, if there is one, as ``site`` would have.

Steps 1 and 2 never raise: whatever fails, the function starts as without the layer.
"""

import os
import sys


def _restore_environment():
    """Undo what the wrapper did to PYTHONPATH and sys.path; return the bootstrap folder."""
    boot_dir = os.environ.pop("TIMEOUT_GUARD_BOOTSTRAP_DIR", None) or os.path.dirname(
        os.path.abspath(__file__)
    )
    os.environ.pop("TIMEOUT_GUARD_LAST_STAGE", None)  # the wrapper's mark of a chain
    original = os.environ.pop("TIMEOUT_GUARD_ORIGINAL_PYTHONPATH", None)
    if original is not None:
        state, _, value = original.partition(":")
        if state == "set":
            os.environ["PYTHONPATH"] = value
        else:
            os.environ.pop("PYTHONPATH", None)
    target = os.path.abspath(boot_dir)
    for index, entry in enumerate(sys.path):
        if os.path.abspath(entry or ".") == target:
            del sys.path[index]
            sys.path_importer_cache.pop(entry, None)
            break
    return target


def _start_layer(boot_dir):
    """Import timeout_guard from the layer (its folder is on sys.path only for this import)."""
    python_dir = os.path.dirname(os.path.dirname(boot_dir))
    sys.path.insert(0, python_dir)
    try:
        from timeout_guard import _startup
    finally:
        sys.path.remove(python_dir)
        sys.path_importer_cache.pop(python_dir, None)
    _startup.start()


def _run_shadowed_sitecustomize():
    """Run the next ``sitecustomize`` on sys.path, as ``site`` would have without the layer.

    Its exceptions propagate to ``site``, which reports them exactly as it would have.
    """
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("sitecustomize", sys.path)
    if spec is None or spec.loader is None:
        return
    from importlib.util import module_from_spec

    module = module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


try:
    _boot_dir = _restore_environment()
    _start_layer(_boot_dir)
except Exception as _error:  # fail open: the function starts as without the layer
    try:
        sys.stderr.write(
            f"[WARNING] timeout_guard: not active, start-up failed: "
            f"{type(_error).__name__}: {_error}\n"
        )
    except Exception:
        pass

_run_shadowed_sitecustomize()
