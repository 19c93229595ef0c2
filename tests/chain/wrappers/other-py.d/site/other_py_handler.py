"""other-py's wrapping handler: loads the function's own handler from ORIG_HANDLER at init.

Like OpenTelemetry's ``otel_wrapper``: the runtime loads this module as the handler, and this
module imports the function's. It marks each dict it returns, and each error it sees.
"""

import importlib
import os

_module, _, _name = os.environ["ORIG_HANDLER"].rpartition(".")
_original = getattr(importlib.import_module(_module.replace("/", ".")), _name)


def handler(event, context):
    try:
        result = _original(event, context)
    except BaseException as error:
        print(f"other-py saw {type(error).__name__}", flush=True)
        raise
    if isinstance(result, dict):
        result = {**result, "other_py_wrapped": True}
    return result
