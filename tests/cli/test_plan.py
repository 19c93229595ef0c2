"""The attach/detach rules as pure functions (no AWS): each rule has a test that fails without it.

The round trip is also checked over 400 generated configurations (seeded): for a function
without Timeout Guard, detach(attach(f)) is f, variable by variable and layer by layer, and a
second attach changes nothing.
"""

from __future__ import annotations

import dataclasses
import json
import random
from typing import Optional

import pytest
from timeout_guard_cli.plan import (
    CHANGE,
    ERROR,
    SKIP,
    UNCHANGED,
    FunctionState,
    LayerTarget,
    Plan,
    plan_attach,
    plan_detach,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
WRAPPER = "AWS_LAMBDA_EXEC_WRAPPER"
GUARD_PATH = "/opt/timeout-guard"
NEXT = "TIMEOUT_GUARD_NEXT_WRAPPER"
UNDO = "TIMEOUT_GUARD_UNDO"


def layer(name: str, version: int = 1, account: str = ACCOUNT) -> str:
    return f"arn:aws:lambda:{REGION}:{account}:layer:{name}:{version}"


TARGET = LayerTarget(layer("timeout-guard", 7), "timeout-guard", 7, ("x86_64", "arm64"))


def fn(
    env: Optional[dict[str, str]] = None,
    layers: tuple[str, ...] = (),
    runtime: Optional[str] = "python3.12",
    arch: str = "x86_64",
    package_type: str = "Zip",
    revision: Optional[str] = None,
) -> FunctionState:
    return FunctionState(
        name="f",
        arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f",
        region=REGION,
        runtime=runtime,
        package_type=package_type,
        architecture=arch,
        environment=env,
        layers=layers,
        revision_id=revision,
    )


def applied(plan: Plan) -> FunctionState:
    """The function as Lambda leaves it after the plan's update (an empty set reads as none)."""
    env = dict(plan.env_after)
    return dataclasses.replace(plan.function, environment=env or None, layers=plan.layers_after)


def attach(state: FunctionState, **settings: str) -> Plan:
    return plan_attach(state, TARGET, settings)


def detach(state: FunctionState) -> Plan:
    return plan_detach(state, "timeout-guard")


# -- environment merge --------------------------------------------------------------------


def test_attach_adds_the_wrapper_and_keeps_every_variable():
    before = {"DB_HOST": "db", "API_KEY": "secret", "TIMEOUT_GUARD_READ_TIMEOUT": "3"}
    plan = attach(fn(before))
    assert plan.outcome == CHANGE
    after = dict(plan.env_after)
    assert after[WRAPPER] == GUARD_PATH
    for name, value in before.items():
        assert after[name] == value
    assert set(after) == set(before) | {WRAPPER, UNDO}


def test_attach_to_a_function_without_environment():
    plan = attach(fn(None))
    assert dict(plan.env_after) == {WRAPPER: GUARD_PATH, UNDO: '{"AWS_LAMBDA_EXEC_WRAPPER":null}'}
    assert plan.update_arguments()["Environment"] == {"Variables": dict(plan.env_after)}


def test_set_values_are_added_and_overwrite_only_their_own_name():
    plan = attach(fn({"A": "1", "TIMEOUT_GUARD_MARGIN_MS": "800"}), TIMEOUT_GUARD_MARGIN_MS="900")
    after = dict(plan.env_after)
    assert after["TIMEOUT_GUARD_MARGIN_MS"] == "900"
    assert after["A"] == "1"
    assert json.loads(after[UNDO]) == {WRAPPER: None, "TIMEOUT_GUARD_MARGIN_MS": "800"}


# -- layers -------------------------------------------------------------------------------


def test_layer_appended_after_the_others_in_their_order():
    others = (layer("powertools", 3), layer("deps", 1), layer("otel", 9, "901920570463"))
    plan = attach(fn({}, others))
    assert plan.layers_after == (*others, TARGET.arn)


@pytest.mark.parametrize("position", [0, 1, 2])
def test_existing_guard_layer_updated_in_place_whatever_its_version(position):
    others = [layer("powertools", 3), layer("deps", 1)]
    others.insert(position, layer("timeout-guard", 2))
    plan = attach(fn({WRAPPER: GUARD_PATH}, tuple(others)))
    expected = list(others)
    expected[position] = TARGET.arn
    assert plan.layers_after == tuple(expected)
    assert plan.reason == "layer timeout-guard:2 -> 7"


def test_guard_layer_recognised_by_name_from_another_account():
    shared = layer("timeout-guard", 40, "999999999999")
    plan = attach(fn({WRAPPER: GUARD_PATH}, (layer("a"), shared, layer("b"))))
    assert plan.layers_after == (layer("a"), TARGET.arn, layer("b"))


def test_a_layer_merely_containing_the_name_is_not_ours():
    other = layer("timeout-guard-extras", 1)
    plan = attach(fn({}, (other,)))
    assert plan.layers_after == (other, TARGET.arn)


def test_duplicate_guard_layers_collapse_to_one_at_the_first_place():
    layers = (layer("timeout-guard", 1), layer("a"), layer("timeout-guard", 2))
    plan = attach(fn({WRAPPER: GUARD_PATH}, layers))
    assert plan.layers_after == (TARGET.arn, layer("a"))


def test_five_layers_is_a_clear_per_function_error():
    five = tuple(layer(f"l{i}") for i in range(5))
    plan = attach(fn({"A": "1"}, five))
    assert plan.outcome == ERROR
    assert "5 layers" in plan.reason and "limit" in plan.reason
    assert plan.layers_after == five and dict(plan.env_after) == {"A": "1"}


def test_five_layers_including_ours_can_still_be_updated():
    five = (*(layer(f"l{i}") for i in range(4)), layer("timeout-guard", 1))
    plan = attach(fn({WRAPPER: GUARD_PATH}, five))
    assert plan.outcome == CHANGE
    assert len(plan.layers_after) == 5 and plan.layers_after[-1] == TARGET.arn


def test_four_layers_leave_room_for_ours():
    four = tuple(layer(f"l{i}") for i in range(4))
    assert attach(fn({}, four)).layers_after == (*four, TARGET.arn)


# -- exec wrapper chaining ----------------------------------------------------------------


def test_an_existing_wrapper_is_chained_and_detach_puts_it_back():
    state = fn({WRAPPER: "/opt/otel-instrument", "OTEL_SERVICE_NAME": "x"}, (layer("otel"),))
    plan = attach(state)
    after = dict(plan.env_after)
    assert after[WRAPPER] == GUARD_PATH
    assert after[NEXT] == "/opt/otel-instrument"
    assert plan.wrapper_chain == "/opt/timeout-guard -> /opt/otel-instrument"
    back = detach(applied(plan))
    assert dict(back.env_after) == state.environment
    assert back.layers_after == state.layers


def test_a_stray_next_wrapper_does_not_start_running():
    state = fn({NEXT: "/opt/leftover", "A": "1"})
    plan = attach(state)
    assert NEXT not in plan.env_after
    assert dict(detach(applied(plan)).env_after) == state.environment


def test_our_wrapper_with_a_configured_chain_is_left_alone():
    state = fn({WRAPPER: GUARD_PATH, NEXT: "/opt/otel-instrument"}, (layer("timeout-guard", 7),))
    assert attach(state).outcome == UNCHANGED


def test_empty_wrapper_value_is_restored_exactly():
    state = fn({WRAPPER: "", "A": "1"})
    plan = attach(state)
    assert NEXT not in plan.env_after
    assert dict(detach(applied(plan)).env_after) == {WRAPPER: "", "A": "1"}


# -- skips --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state, words",
    [
        (fn(runtime=None, package_type="Image"), "container image"),
        (fn(runtime="nodejs22.x"), "not Python"),
        (fn(runtime="java21"), "not Python"),
        (fn(runtime="provided.al2023"), "not Python"),
        (fn(runtime="python3.9"), "older than python3.10"),
        (fn(runtime="python2.7"), "older than python3.10"),
    ],
)
def test_functions_that_cannot_take_the_layer_are_skipped_with_the_reason(state, words):
    plan = attach(state)
    assert plan.outcome == SKIP and words in plan.reason
    assert plan.layers_after == state.layers and dict(plan.env_after) == state.variables


@pytest.mark.parametrize(
    "runtime", ["python3.10", "python3.11", "python3.12", "python3.13", "python3.14"]
)
def test_supported_pythons_are_attached(runtime):
    assert attach(fn(runtime=runtime)).outcome == CHANGE


def test_architecture_not_listed_by_the_layer_version_is_skipped():
    x86_only = dataclasses.replace(TARGET, architectures=("x86_64",))
    plan = plan_attach(fn(arch="arm64"), x86_only, {})
    assert plan.outcome == SKIP and "arm64" in plan.reason and "x86_64" in plan.reason
    assert plan_attach(fn(arch="x86_64"), x86_only, {}).outcome == CHANGE


def test_a_layer_version_listing_no_architecture_fits_all():
    any_arch = dataclasses.replace(TARGET, architectures=())
    assert plan_attach(fn(arch="arm64"), any_arch, {}).outcome == CHANGE


# -- idempotence, update arguments --------------------------------------------------------


def test_attaching_twice_changes_nothing_the_second_time():
    first = attach(fn({"A": "1", WRAPPER: "/opt/x"}, (layer("a"),)), TIMEOUT_GUARD_ACTION="log")
    second = attach(applied(first), TIMEOUT_GUARD_ACTION="log")
    assert second.outcome == UNCHANGED
    assert "already attached" in second.reason
    assert second.env_after == first.env_after and second.layers_after == first.layers_after


def test_a_later_attach_keeps_the_first_record():
    state = fn({"TIMEOUT_GUARD_MARGIN_MS": "800"})
    first = applied(attach(state, TIMEOUT_GUARD_MARGIN_MS="900"))
    second = applied(attach(first, TIMEOUT_GUARD_MARGIN_MS="1000", TIMEOUT_GUARD_ACTION="log"))
    record = json.loads(second.variables[UNDO])
    assert record == {WRAPPER: None, "TIMEOUT_GUARD_MARGIN_MS": "800", "TIMEOUT_GUARD_ACTION": None}
    assert detach(second).env_after == state.environment


def test_update_arguments_carry_complete_lists_only_for_what_changes():
    state = fn(
        {WRAPPER: GUARD_PATH, "A": "1"}, (layer("a"), layer("timeout-guard", 1)), revision="r1"
    )
    args = attach(state).update_arguments()
    assert args == {
        "FunctionName": state.arn,
        "Layers": [layer("a"), TARGET.arn],
        "RevisionId": "r1",
    }


def test_detach_to_no_variables_sends_an_empty_set():
    plan = detach(applied(attach(fn(None))))
    assert plan.update_arguments()["Environment"] == {"Variables": {}}


# -- detach -------------------------------------------------------------------------------


def test_detach_without_a_record_removes_layer_and_wrapper_and_keeps_settings():
    """Timeout Guard set up by SAM or Terraform: nothing recorded."""
    state = fn(
        {WRAPPER: GUARD_PATH, NEXT: "/opt/otel-instrument", "TIMEOUT_GUARD_MARGIN_MS": "700"},
        (layer("otel"), layer("timeout-guard", 3)),
    )
    plan = detach(state)
    assert plan.outcome == CHANGE
    assert dict(plan.env_after) == {
        WRAPPER: "/opt/otel-instrument",
        "TIMEOUT_GUARD_MARGIN_MS": "700",
    }
    assert plan.layers_after == (layer("otel"),)
    assert "kept TIMEOUT_GUARD_MARGIN_MS" in plan.reason


def test_detach_of_a_function_without_timeout_guard_changes_nothing():
    state = fn({"A": "1"}, (layer("a"),))
    plan = detach(state)
    assert plan.outcome == UNCHANGED and plan.reason.startswith("not attached")


def test_detach_fixes_the_wrapper_without_layer():
    plan = detach(fn({WRAPPER: GUARD_PATH, "A": "1"}))
    assert dict(plan.env_after) == {"A": "1"}


def test_detach_leaves_a_wrapper_changed_after_attach():
    attached = applied(attach(fn({WRAPPER: "/opt/otel-instrument"})))
    changed = dataclasses.replace(attached, environment={**attached.variables, WRAPPER: "/opt/new"})
    plan = detach(changed)
    assert dict(plan.env_after) == {WRAPPER: "/opt/new"}
    assert "changed after attach" in plan.reason


@pytest.mark.parametrize(
    "record", ["not json", "[1]", '{"DB_PASSWORD": null}', '{"TIMEOUT_GUARD_X": 3}']
)
def test_a_record_not_written_by_attach_is_an_error_and_nothing_changes(record):
    state = fn({UNDO: record, WRAPPER: GUARD_PATH, "DB_PASSWORD": "x"}, (layer("timeout-guard"),))
    for plan in (detach(state), attach(state)):
        assert plan.outcome == ERROR and UNDO in plan.reason
        assert dict(plan.env_after) == state.environment and plan.layers_after == state.layers


def test_variables_lambda_cannot_decrypt_for_us_are_never_overwritten():
    state = dataclasses.replace(
        fn({}, (layer("timeout-guard"),)), environment_error="KMSAccessDeniedException: denied"
    )
    for plan in (attach(state), detach(state)):
        assert plan.outcome == ERROR and "KMSAccessDeniedException" in plan.reason
        assert not plan.env_changed and not plan.layers_changed


# -- generated round trips ----------------------------------------------------------------

_VALUES = ("1", "x", "", "a=b,c", "  spaced  ", "ünï")


def _generated(rng: random.Random) -> tuple[FunctionState, dict[str, str]]:
    env: dict[str, str] = {}
    for i in range(rng.randrange(0, 5)):
        env[f"VAR_{i}"] = rng.choice(_VALUES)
    wrapper = rng.choice([None, None, "", "/opt/otel-instrument", "/opt/lumigo_wrapper"])
    if wrapper is not None:
        env[WRAPPER] = wrapper
    if rng.random() < 0.2:
        env[NEXT] = "/opt/stray"
    user = ["TIMEOUT_GUARD_MARGIN_MS", "TIMEOUT_GUARD_ACTION", "TIMEOUT_GUARD_READ_TIMEOUT"]
    for name in rng.sample(user, rng.randrange(0, 3)):
        env[name] = rng.choice(["800", "log", "3"])
    others = tuple(layer(f"other{i}", rng.randrange(1, 9)) for i in range(rng.randrange(0, 5)))
    settings = {
        name: rng.choice(["900", "raise", "4"]) for name in rng.sample(user, rng.randrange(0, 3))
    }
    environment = env if env or rng.random() < 0.5 else None
    return fn(environment, others, runtime=rng.choice(["python3.10", "python3.14"])), settings


@pytest.mark.parametrize("seed", range(4))
def test_generated_round_trips_are_exact(seed):
    rng = random.Random(seed)
    for _ in range(100):
        state, settings = _generated(rng)
        plan = attach(state, **settings)
        assert plan.outcome == CHANGE, state
        for name, value in state.variables.items():  # never dropped, only ours changed
            if name not in (WRAPPER, NEXT, *settings):
                assert plan.env_after[name] == value
        assert attach(applied(plan), **settings).outcome == UNCHANGED
        back = detach(applied(plan))
        assert dict(back.env_after) == state.variables, (state, settings)
        assert back.layers_after == state.layers
