"""With and without the layer, the function observes the same world and reports the same errors.

"Without the layer" means the layer attached (its files in opt) but no AWS_LAMBDA_EXEC_WRAPPER,
which is exactly what Lambda does when the variable is unset.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import mode_params, write_function
from error_cases import INIT_ERRORS
from locallambda import provision
from locallambda.layers import make_read_only, make_writable

PROBE = Path(__file__).resolve().parent / "functions" / "probe"


@pytest.fixture
def opt_with_other_layer(layer_opt: Path, tmp_path: Path) -> Path:
    """Our layer plus another layer that ships a module and a package beside ours in python/
    (where the layer's finder answers misses from the folder's listing), and a .pth file in
    python/ and in site-packages."""
    opt = tmp_path / "opt"
    shutil.copytree(layer_opt, opt, symlinks=True)
    make_writable(opt)
    (opt / "python" / "other_layer_module.py").write_text("")
    (opt / "python" / "other_layer_package").mkdir()
    (opt / "python" / "other_layer_package" / "__init__.py").write_text("")
    lib = tmp_path / "other-lib"
    lib.mkdir()
    (lib / "from_other_layer_pth.py").write_text("VALUE = 'other layer .pth processed'\n")
    (opt / "python" / "other.pth").write_text(f"{lib}\n")
    for version in ("3.10", "3.11", "3.12", "3.13", "3.14"):
        site = opt / "python" / "lib" / f"python{version}" / "site-packages"
        site.mkdir(parents=True, exist_ok=True)
        (site / "other-site.pth").write_text("# a .pth with only a comment\n")
    make_read_only(opt)
    return opt


def _pair(make_lambda, task, handler, opt, version, env=None, timeout=3.0):
    wrapper = str(opt / "timeout-guard")
    plain = make_lambda(task, handler, python=version, opt_dir=opt, env=env, timeout=timeout)
    guarded = make_lambda(
        task, handler, python=version, opt_dir=opt, env=env, timeout=timeout, exec_wrapper=wrapper
    )
    return plain, guarded


def _comparable(body: dict) -> dict:
    body = dict(body)
    body["environ"] = [k for k in body["environ"] if k != "AWS_LAMBDA_EXEC_WRAPPER"]
    body.pop("guard_loaded")
    body.pop("finders_with_own_find_spec")
    return body


@pytest.mark.parametrize("version", mode_params())
def test_start_up_parity(make_lambda, opt_with_other_layer, version, tmp_path) -> None:
    # The function ships its own copy of a package the runtime also bundles (jmespath, a
    # boto3 dependency): that copy is the one it imports, with and without the layer.
    task = tmp_path / "task"
    shutil.copytree(PROBE, task, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(provision(version).runtime_dir / "jmespath", task / "jmespath")
    plain, guarded = _pair(make_lambda, task, "app.handler", opt_with_other_layer, version)
    event = {"import_boto3": True}
    without, with_layer = plain.invoke(event), guarded.invoke(event)
    assert without.status == with_layer.status == "success", with_layer.logs
    a, b = without.payload, with_layer.payload
    assert b["guard_loaded"] and not a["guard_loaded"]  # the layer really was active
    assert _comparable(a) == _comparable(b)
    # And what that world is:
    assert b["pth"] == "other layer .pth processed"
    python = opt_with_other_layer / "python"
    assert b["other_layer"] == [
        str(python / "other_layer_module.py"),
        str(python / "other_layer_package" / "__init__.py"),
    ]
    assert str(python) in b["finders_with_own_find_spec"]  # answering misses from its listing
    assert a["finders_with_own_find_spec"] == []
    assert b["jmespath_file"] == str(task / "jmespath" / "__init__.py")
    assert b["handler"] == "app.handler"
    assert b["pythonpath"] == b["child_pythonpath"] == str(guarded.runtime.runtime_dir)
    assert with_layer.logs.count("WARNING") == 0


@pytest.mark.parametrize("version", mode_params())
def test_user_pythonpath_and_sitecustomize_parity(make_lambda, layer_opt, tmp_path, version):
    vendor = tmp_path / "vendor"
    write_function(
        vendor,
        {"sitecustomize.py": "import os\nos.environ['USER_SITECUSTOMIZE_RAN'] = 'yes'\n"},
    )
    env = {"PYTHONPATH": str(vendor)}
    plain, guarded = _pair(make_lambda, PROBE, "app.handler", layer_opt, version, env=env)
    a, b = plain.invoke({}).payload, guarded.invoke({}).payload
    assert _comparable(a) == _comparable(b)
    assert b["sitecustomize_ran"] == "yes"
    assert b["pythonpath"] == str(vendor)
    assert b["guard_loaded"]


def test_empty_pythonpath_parity(make_lambda, layer_opt) -> None:
    plain, guarded = _pair(
        make_lambda, PROBE, "app.handler", layer_opt, "3.11", env={"PYTHONPATH": ""}
    )
    a, b = plain.invoke({}).payload, guarded.invoke({}).payload
    assert _comparable(a) == _comparable(b)
    assert b["pythonpath"] == ""


def test_disabled_layer_runs_untouched(make_lambda, layer_opt) -> None:
    env = {"TIMEOUT_GUARD_ENABLED": "false"}
    plain, guarded = _pair(make_lambda, PROBE, "app.handler", layer_opt, "3.11", env=env)
    a, b = plain.invoke({}).payload, guarded.invoke({}).payload
    assert _comparable(a) == _comparable(b)
    assert not b["guard_loaded"]


@pytest.mark.parametrize("version", mode_params())
def test_botocore_not_imported_at_start(make_lambda, layer_opt, version) -> None:
    _, guarded = _pair(make_lambda, PROBE, "first.handler", layer_opt, version)
    assert guarded.invoke({}).payload == {"botocore": False, "boto3": False}


@pytest.mark.parametrize("version", mode_params())
@pytest.mark.parametrize("case", sorted(INIT_ERRORS))
def test_init_error_parity(make_lambda, layer_opt, tmp_path, version, case) -> None:
    files, handler, error_type, _ = INIT_ERRORS[case]
    task = write_function(tmp_path / "task", files)
    plain, guarded = _pair(make_lambda, task, handler, layer_opt, version)
    without, with_layer = plain.invoke({}), guarded.invoke({})
    assert with_layer.init_error and without.init_error
    assert with_layer.error_type == without.error_type == error_type
    assert with_layer.error_message == without.error_message
    assert with_layer.stack_trace == without.stack_trace


@pytest.mark.parametrize("version", mode_params())
def test_function_error_and_return_value_parity(make_lambda, layer_opt, tmp_path, version):
    task = write_function(
        tmp_path / "task",
        {
            "app.py": """
            class OrderError(Exception):
                pass

            def handler(event, context):
                if event.get("fail"):
                    raise OrderError("order 42 rejected")
                return {"value": [1, 2.5, "x", None]}
            """
        },
    )
    plain, guarded = _pair(make_lambda, task, "app.handler", layer_opt, version)
    assert plain.invoke({}).payload == guarded.invoke({}).payload == {"value": [1, 2.5, "x", None]}
    without, with_layer = plain.invoke({"fail": 1}), guarded.invoke({"fail": 1})
    assert with_layer.error_type == without.error_type == "OrderError"
    assert with_layer.error_message == without.error_message
    assert with_layer.stack_trace == without.stack_trace  # no frames of the layer


BAD_VALUES = {
    "garbage": {
        "TIMEOUT_GUARD_ENABLED": "maybe",
        "TIMEOUT_GUARD_MARGIN_MS": "soon",
        "TIMEOUT_GUARD_ACTION": "explode",
        "TIMEOUT_GUARD_ON_TIMEOUT": "not a callback",
        "TIMEOUT_GUARD_CONNECT_TIMEOUT": "fast",
        "TIMEOUT_GUARD_READ_TIMEOUT": "1s",
        "TIMEOUT_GUARD_MAX_ATTEMPTS": "three",
        "TIMEOUT_GUARD_RETRY_MODE": "aggressive",
        "TIMEOUT_GUARD_READ_TIMEOUTS": "sqs.ReceiveMessage:thirty",
        "TIMEOUT_GUARD_BOTOCORE": "perhaps",
        "TIMEOUT_GUARD_HOOK": "sure",
        "TIMEOUT_GUARD_LOG_LEVEL": "LOUD",
    },
    "negative": {
        "TIMEOUT_GUARD_MARGIN_MS": "-100",
        "TIMEOUT_GUARD_ON_TIMEOUT": "-1",
        "TIMEOUT_GUARD_CONNECT_TIMEOUT": "-1",
        "TIMEOUT_GUARD_READ_TIMEOUT": "-5",
        "TIMEOUT_GUARD_MAX_ATTEMPTS": "-3",
        "TIMEOUT_GUARD_READ_TIMEOUTS": "sqs=-1",
        "TIMEOUT_GUARD_LOG_LEVEL": "-10",
    },
    "zero": {
        "TIMEOUT_GUARD_MARGIN_MS": "0",
        "TIMEOUT_GUARD_ON_TIMEOUT": "0",
        "TIMEOUT_GUARD_CONNECT_TIMEOUT": "0",
        "TIMEOUT_GUARD_READ_TIMEOUT": "0",
        "TIMEOUT_GUARD_MAX_ATTEMPTS": "0",
        "TIMEOUT_GUARD_READ_TIMEOUTS": "sqs=0",
        "TIMEOUT_GUARD_ACTION": "0",
        "TIMEOUT_GUARD_RETRY_MODE": "0",
    },
    "huge": {
        "TIMEOUT_GUARD_MARGIN_MS": "1e12",
        "TIMEOUT_GUARD_CONNECT_TIMEOUT": "1e308",
        "TIMEOUT_GUARD_READ_TIMEOUT": "inf",
        "TIMEOUT_GUARD_MAX_ATTEMPTS": "99999999999999999999",
        "TIMEOUT_GUARD_READ_TIMEOUTS": "lambda.Invoke=100000",
        "TIMEOUT_GUARD_ON_TIMEOUT": "x" * 5000,
        "TIMEOUT_GUARD_LOG_LEVEL": "9" * 100,
    },
}
# Empty means unset for every variable: the default, and no warning.
EMPTY = {name: "" for name in BAD_VALUES["garbage"]}


@pytest.mark.parametrize("kind", [*BAD_VALUES, "empty"])
def test_bad_configuration_warns_once_per_variable_and_runs(make_lambda, layer_opt, kind) -> None:
    env = EMPTY if kind == "empty" else BAD_VALUES[kind]
    _, guarded = _pair(make_lambda, PROBE, "app.handler", layer_opt, "3.11", env=env)
    result = guarded.invoke({"import_boto3": True})
    assert result.status == "success", result.logs
    assert result.payload["guard_loaded"]
    warnings = [line for line in result.logs.splitlines() if "WARNING" in line]
    for name, value in env.items():
        named = [w for w in warnings if name + "=" in w or name + " entry" in w]
        expected = 0 if kind == "empty" else 1
        assert len(named) == expected, (name, value, warnings)
    assert len(warnings) == (0 if kind == "empty" else len(env))
