"""What attach and detach change on one function: pure functions of its configuration.

No AWS call happens here, so the rules (merge, never drop; layer order kept; 5-layer limit;
wrapper chaining; skips; the undo record) are tested directly, and ``--dry-run`` shows exactly
the plan the real run would apply.

``UpdateFunctionConfiguration`` replaces the whole environment and the whole list of layers
it is given: a plan therefore always carries the complete lists after the change, built from
the complete lists before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from timeout_guard_cli import undo
from timeout_guard_cli.arns import layer_name, layer_version, parse_function_arn
from timeout_guard_cli.variables import (
    NEXT_WRAPPER_VAR,
    UNDO_VAR,
    WRAPPER_PATH,
    WRAPPER_VAR,
    is_guard_variable,
)

MAX_LAYERS = 5  # Lambda's limit of layers per function
OLDEST_PYTHON = (3, 10)
_PYTHON_RUNTIME = re.compile(r"^python(\d+)\.(\d+)$")

# Plan outcomes.
CHANGE = "change"
UNCHANGED = "unchanged"
SKIP = "skip"
ERROR = "error"


@dataclass(frozen=True)
class FunctionState:
    """The parts of a function's configuration the rules look at."""

    name: str
    arn: str
    region: str
    runtime: Optional[str]
    package_type: str
    architecture: str
    environment: Optional[Mapping[str, str]]  # None: no Environment at all
    layers: tuple[str, ...]
    revision_id: Optional[str] = None
    last_update_status: Optional[str] = None
    last_update_reason: Optional[str] = None
    # Lambda could not decrypt the variables for us (a KMS key we may not use): they are
    # there but unreadable, so any environment we send would replace them.
    environment_error: Optional[str] = None

    @classmethod
    def from_configuration(cls, config: Mapping[str, Any]) -> FunctionState:
        """From a ``GetFunctionConfiguration`` (or ``ListFunctions`` item) answer."""
        arn = config["FunctionArn"]
        parsed = parse_function_arn(arn)
        environment = None
        error = None
        if "Environment" in config:
            environment = dict((config["Environment"] or {}).get("Variables") or {})
            error = (config["Environment"] or {}).get("Error")
        return cls(
            name=config["FunctionName"],
            arn=arn,
            region=parsed.region if parsed else "",
            runtime=config.get("Runtime"),
            package_type=config.get("PackageType") or "Zip",
            architecture=(config.get("Architectures") or ["x86_64"])[0],
            environment=environment,
            layers=tuple(layer["Arn"] for layer in config.get("Layers") or ()),
            revision_id=config.get("RevisionId"),
            last_update_status=config.get("LastUpdateStatus"),
            last_update_reason=config.get("LastUpdateStatusReason"),
            environment_error=_error_text(error) if error else None,
        )

    @property
    def variables(self) -> dict[str, str]:
        return dict(self.environment or {})


def _error_text(error: Mapping[str, Any]) -> str:
    return f"{error.get('ErrorCode', 'Error')}: {error.get('Message', '')}".strip()


def unreadable(fn: FunctionState) -> Optional[str]:
    """Why the function's environment cannot be merged safely, or None."""
    if fn.environment_error:
        return f"cannot read its environment variables ({fn.environment_error}); not changed"
    return None


@dataclass(frozen=True)
class LayerTarget:
    """The Timeout Guard layer version attach puts on the functions of one region."""

    arn: str
    name: str
    version: int
    architectures: tuple[str, ...] = ()  # empty: the version lists none (any architecture)


@dataclass(frozen=True)
class Plan:
    """One function's configuration before and after, and why (or why not)."""

    function: FunctionState
    outcome: str
    reason: str
    env_after: Mapping[str, str]
    layers_after: tuple[str, ...]
    layer_name: str

    @property
    def env_before(self) -> dict[str, str]:
        return self.function.variables

    @property
    def layers_before(self) -> tuple[str, ...]:
        return self.function.layers

    @property
    def env_changed(self) -> bool:
        return dict(self.env_after) != self.env_before

    @property
    def layers_changed(self) -> bool:
        return self.layers_after != self.layers_before

    def env_changes(self) -> list[tuple[str, Optional[str], Optional[str]]]:
        """(name, before, after) for every variable that changes; None: absent."""
        before, after = self.env_before, dict(self.env_after)
        return [
            (name, before.get(name), after.get(name))
            for name in sorted(set(before) | set(after))
            if before.get(name) != after.get(name)
        ]

    def kept_variables(self) -> list[str]:
        """Names of the variables left as they were (their values are never printed)."""
        after = dict(self.env_after)
        return sorted(n for n, v in self.env_before.items() if after.get(n) == v)

    def update_arguments(self) -> dict[str, Any]:
        """``UpdateFunctionConfiguration`` arguments: only what changes, complete lists."""
        args: dict[str, Any] = {"FunctionName": self.function.arn}
        if self.env_changed:
            args["Environment"] = {"Variables": dict(self.env_after)}
        if self.layers_changed:
            args["Layers"] = list(self.layers_after)
        if self.function.revision_id:
            # Optimistic locking: a function changed by someone else since we read it is not
            # overwritten (PreconditionFailedException); it is read and planned again.
            args["RevisionId"] = self.function.revision_id
        return args

    @property
    def layer_version(self) -> Optional[int]:
        """The version of the Timeout Guard layer after the change (None: not attached)."""
        return guard_layer_version(self.layers_after, self.layer_name)

    @property
    def wrapper_chain(self) -> str:
        return wrapper_chain(self.env_after)


def guard_layer_version(layers: tuple[str, ...], name: str) -> Optional[int]:
    for arn in layers:
        if layer_name(arn) == name:
            return layer_version(arn)
    return None


def wrapper_chain(environment: Mapping[str, str]) -> str:
    """The exec wrappers the function runs, in order: ``/opt/timeout-guard -> /opt/other``."""
    wrapper = environment.get(WRAPPER_VAR, "")
    if wrapper == WRAPPER_PATH and environment.get(NEXT_WRAPPER_VAR):
        return f"{WRAPPER_PATH} -> {environment[NEXT_WRAPPER_VAR]}"
    return wrapper


def skip_reason(fn: FunctionState, layer: LayerTarget) -> Optional[str]:
    """Why this function cannot take the layer, or None when it can."""
    if fn.package_type == "Image":
        return "container image: Lambda adds no layers to image functions"
    match = _PYTHON_RUNTIME.match(fn.runtime or "")
    if not match:
        return f"runtime {fn.runtime or 'unknown'} is not Python"
    if (int(match[1]), int(match[2])) < OLDEST_PYTHON:
        return f"{fn.runtime} is older than python3.10, the oldest the layer supports"
    if layer.architectures and fn.architecture not in layer.architectures:
        listed = ", ".join(layer.architectures)
        version = f"{layer.name}:{layer.version}"
        return f"architecture {fn.architecture} is not listed by {version} ({listed})"
    return None


def _layers_with(layers: tuple[str, ...], target: LayerTarget) -> tuple[tuple[str, ...], str]:
    """Add or update the Timeout Guard layer, every other layer kept in place; or an error."""
    positions = [i for i, arn in enumerate(layers) if layer_name(arn) == target.name]
    if not positions:
        if len(layers) >= MAX_LAYERS:
            return layers, (
                f"already has {len(layers)} layers, Lambda's limit is {MAX_LAYERS}: "
                f"remove one to make room for {target.name}"
            )
        return (*layers, target.arn), ""
    first = positions[0]
    kept = [arn for i, arn in enumerate(layers) if i not in positions[1:]]
    kept[first] = target.arn
    return tuple(kept), ""


def _attached_environment(before: dict[str, str], settings: Mapping[str, str]) -> dict[str, str]:
    """The wrapper set (an existing one chained), the ``--set`` values, the undo record."""
    after = dict(before)
    current = before.get(WRAPPER_VAR)
    if current != WRAPPER_PATH:
        after[WRAPPER_VAR] = WRAPPER_PATH
        if current:
            after[NEXT_WRAPPER_VAR] = current
        else:
            # No wrapper ran before: a stray next-wrapper must not start running now.
            after.pop(NEXT_WRAPPER_VAR, None)
    after.update(settings)
    original = undo.read(before)
    record = dict(original)
    for name in sorted(set(before) | set(after)):
        if name != UNDO_VAR and name not in record and before.get(name) != after.get(name):
            record[name] = before.get(name)
    if record != original:
        after[UNDO_VAR] = undo.encode(record)
    return after


def _detached_environment(before: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The record's values put back, the wrapper chain unwound; and notes for the user."""
    after = dict(before)
    notes = []
    for name, value in undo.read(before).items():
        if name == WRAPPER_VAR and after.get(WRAPPER_VAR) != WRAPPER_PATH:
            notes.append(f"{WRAPPER_VAR} was changed after attach: left as it is")
            continue
        if value is None:
            after.pop(name, None)
        else:
            after[name] = value
    after.pop(UNDO_VAR, None)
    if after.get(WRAPPER_VAR) == WRAPPER_PATH:  # set without the command (SAM, Terraform...)
        chained = after.pop(NEXT_WRAPPER_VAR, None)
        if chained:
            after[WRAPPER_VAR] = chained
        else:
            del after[WRAPPER_VAR]
    kept = sorted(n for n in after if is_guard_variable(n) and before.get(n) == after[n])
    if kept:
        notes.append(f"kept {', '.join(kept)} (not set by attach)")
    return after, notes


def _describe(
    before: dict[str, str],
    after: dict[str, str],
    layers_before: tuple[str, ...],
    layers_after: tuple[str, ...],
    name: str,
) -> str:
    """A short account of a change: layer, wrapper, settings."""
    parts = []
    old, new = guard_layer_version(layers_before, name), guard_layer_version(layers_after, name)
    if old is None and new is not None:
        parts.append(f"layer {name}:{new} added")
    elif old is not None and new is None:
        parts.append(f"layer {name}:{old} removed")
    elif old != new:
        parts.append(f"layer {name}:{old} -> {new}")
    if before.get(WRAPPER_VAR) != after.get(WRAPPER_VAR):
        if after.get(WRAPPER_VAR) == WRAPPER_PATH:
            chained = after.get(NEXT_WRAPPER_VAR)
            parts.append(f"wrapper chained to {chained}" if chained else "wrapper set")
        elif after.get(WRAPPER_VAR):
            parts.append(f"wrapper {after[WRAPPER_VAR]} restored")
        else:
            parts.append("wrapper removed")
    for var in sorted(set(before) | set(after)):
        if var in (WRAPPER_VAR, NEXT_WRAPPER_VAR, UNDO_VAR) or before.get(var) == after.get(var):
            continue
        if var in after:
            parts.append(f"{var}={after[var]}")
        else:
            parts.append(f"{var} removed")
    return ", ".join(parts)


def plan_attach(fn: FunctionState, layer: LayerTarget, settings: Mapping[str, str]) -> Plan:
    """Attach ``layer`` and set the wrapper (and ``settings``) on ``fn``, keeping the rest."""

    def plan(outcome: str, reason: str, env=None, layers=None) -> Plan:
        env = fn.variables if env is None else env
        layers = fn.layers if layers is None else layers
        return Plan(fn, outcome, reason, env, layers, layer.name)

    reason = skip_reason(fn, layer)
    if reason:
        return plan(SKIP, reason)
    if unreadable(fn):
        return plan(ERROR, unreadable(fn))
    layers, error = _layers_with(fn.layers, layer)
    if error:
        return plan(ERROR, error)
    try:
        env = _attached_environment(fn.variables, settings)
    except undo.UndoRecordError as exc:
        return plan(ERROR, str(exc))
    if env == fn.variables and layers == fn.layers:
        return plan(UNCHANGED, f"already attached ({layer.name}:{layer.version})", env, layers)
    return plan(CHANGE, _describe(fn.variables, env, fn.layers, layers, layer.name), env, layers)


def plan_detach(fn: FunctionState, name: str) -> Plan:
    """Remove the layer named ``name`` and put back what attach changed; keep the rest."""
    if unreadable(fn):
        return Plan(fn, ERROR, unreadable(fn), fn.variables, fn.layers, name)
    try:
        env, notes = _detached_environment(fn.variables)
    except undo.UndoRecordError as exc:
        return Plan(fn, ERROR, str(exc), fn.variables, fn.layers, name)
    layers = tuple(arn for arn in fn.layers if layer_name(arn) != name)
    if env == fn.variables and layers == fn.layers:
        return Plan(fn, UNCHANGED, "; ".join(["not attached", *notes]), env, layers, name)
    reason = "; ".join([_describe(fn.variables, env, fn.layers, layers, name), *notes])
    return Plan(fn, CHANGE, reason, env, layers, name)
