"""What ``status`` says about one function: a pure reading of its configuration.

The warnings are the configurations that hurt: the variable without the layer stops the
function from starting at all (Lambda cannot run the missing wrapper), the layer without the
variable does nothing, and a bad ``TIMEOUT_GUARD_*`` value is silently replaced by its default
at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from timeout_guard_cli import undo
from timeout_guard_cli.plan import FunctionState, guard_layer_version, wrapper_chain
from timeout_guard_cli.variables import (
    NEXT_WRAPPER_VAR,
    SETTABLE,
    UNDO_VAR,
    WRAPPER_PATH,
    WRAPPER_VAR,
    is_guard_variable,
    problem,
)

ACTIVE = "active"
DISABLED = "disabled"
LAYER_ONLY = "layer only"
BROKEN = "BROKEN"
NOT_ATTACHED = "not attached"

_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class FunctionStatus:
    function: FunctionState
    state: str
    layer_version: Optional[int]
    wrapper_chain: str
    settings: dict[str, str]  # the TIMEOUT_GUARD_* tuning variables set on the function
    warnings: list[str] = field(default_factory=list)


def function_status(fn: FunctionState, layer_name: str) -> FunctionStatus:
    env = fn.variables
    version = guard_layer_version(fn.layers, layer_name)
    wrapper_set = env.get(WRAPPER_VAR) == WRAPPER_PATH
    settings = {
        name: value
        for name, value in sorted(env.items())
        if is_guard_variable(name) and name not in (NEXT_WRAPPER_VAR, UNDO_VAR)
    }
    warnings = []
    if wrapper_set and version is None:
        state = BROKEN
        warnings.append(
            f"{WRAPPER_VAR}={WRAPPER_PATH} without the {layer_name} layer: "
            "the function cannot start"
        )
    elif version is not None and not wrapper_set:
        state = LAYER_ONLY
        warnings.append(
            f"{layer_name} layer without {WRAPPER_VAR}={WRAPPER_PATH}: the layer does nothing"
        )
    elif version is not None:
        disabled = env.get("TIMEOUT_GUARD_ENABLED", "").strip().lower() in _FALSE
        state = DISABLED if disabled else ACTIVE
    else:
        state = NOT_ATTACHED
    for name, value in settings.items():
        if name not in SETTABLE:
            warnings.append(f"{name} is not a Timeout Guard setting (a typo?): nothing reads it")
            continue
        error = problem(name, value)
        if error:
            warnings.append(f"{error}; the layer ignores it and uses its default")
    if env.get(NEXT_WRAPPER_VAR) == WRAPPER_PATH:
        warnings.append(f"{NEXT_WRAPPER_VAR} points at {WRAPPER_PATH} itself")
    try:
        undo.read(env)
    except undo.UndoRecordError as exc:
        warnings.append(f"{exc}: detach cannot use it")
    return FunctionStatus(fn, state, version, wrapper_chain(env), settings, warnings)
