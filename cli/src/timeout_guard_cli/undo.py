"""The record attach leaves on a function so that detach can put back exactly what was there.

Detach cannot guess the past: a ``TIMEOUT_GUARD_READ_TIMEOUT=3`` may have been set by attach's
``--set`` (detach must remove it) or by the user long before (detach must keep it, or put the
user's value back if ``--set`` overwrote it). So attach writes, in the function's own
environment, one variable ``TIMEOUT_GUARD_UNDO`` holding the value every variable it changed
had *before the first attach* (``null``: the variable did not exist), as compact JSON::

    TIMEOUT_GUARD_UNDO={"AWS_LAMBDA_EXEC_WRAPPER":"/opt/otel-instrument","TIMEOUT_GUARD_NEXT_WRAPPER":null}

Why the environment and not a tag: it travels with the configuration it describes (no
``lambda:TagResource`` permission needed, no 256-character tag limit, no second API call that
could fail half-way), and the layer ignores it. A later attach only adds the variables it
changes for the first time, so the record always describes the state before Timeout Guard.
Only ``AWS_LAMBDA_EXEC_WRAPPER`` and ``TIMEOUT_GUARD_*`` names are ever recorded or restored:
whatever the record says, detach never touches another variable.
"""

from __future__ import annotations

import json
from typing import Mapping, Optional

from timeout_guard_cli.variables import UNDO_VAR, WRAPPER_VAR, is_guard_variable

Record = dict[str, Optional[str]]


class UndoRecordError(ValueError):
    """The function's ``TIMEOUT_GUARD_UNDO`` is not a record this command wrote."""


def owned(name: str) -> bool:
    """The variables attach may change, so the only ones a record may restore."""
    return name == WRAPPER_VAR or (is_guard_variable(name) and name != UNDO_VAR)


def read(environment: Mapping[str, str]) -> Record:
    """The record in ``environment`` ({} when there is none)."""
    raw = environment.get(UNDO_VAR)
    if raw is None or not raw.strip():
        return {}
    try:
        record = json.loads(raw)
    except ValueError:
        record = None
    valid = isinstance(record, dict) and all(
        isinstance(key, str) and owned(key) and (value is None or isinstance(value, str))
        for key, value in record.items()
    )
    if not valid:
        raise UndoRecordError(
            f"{UNDO_VAR} is not a record written by timeout-guard attach; "
            f"fix or remove it by hand ({raw[:80]!r})"
        )
    return dict(record)


def encode(record: Mapping[str, Optional[str]]) -> str:
    """Compact and stable (sorted keys): the same record always gives the same value."""
    return json.dumps(dict(record), sort_keys=True, separators=(",", ":"))
