"""attach, detach, status and publish against moto's Lambda API, on the 23-function fleet.

In process (``main(argv)``) to keep time down; the console script itself runs in
test_console.py. Where moto cannot produce a situation (throttling, an update in progress or
failed, a concurrent change), botocore event hooks inject it (see hooks.py).
"""

from __future__ import annotations

import json
import threading

import pytest

from .fleet import (
    ATTACH_RESULTS,
    EU_NAMES,
    GUARD,
    OTHER_REGION,
    PRISTINE,
    REGION,
    US_NAMES,
    code_zip,
    layer_arn,
)
from .hooks import Hooks, error_response, request_function

WRAPPER = "AWS_LAMBDA_EXEC_WRAPPER"
GUARD_PATH = "/opt/timeout-guard"
LATEST = layer_arn(GUARD, 2)


def results(run) -> dict[str, dict]:
    return {item["function"]: item for item in json.loads(run.out)["functions"]}


def one_error_line(run, *words: str) -> None:
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("timeout-guard: error: "), run.err
    for word in words:
        assert word in lines[0], run.err
    assert run.out == ""


# -- attach -------------------------------------------------------------------------------


def test_attach_all_follows_every_rule(fleet, cli):
    before = fleet.snapshot()
    run = cli("attach", "--all", "--output", "json")
    assert run.code == 1, run.err  # full-layers: at Lambda's limit of 5 layers
    got = results(run)
    assert {name: item["result"] for name, item in got.items()} == ATTACH_RESULTS
    assert "5 layers" in got["full-layers"]["detail"]
    assert "not Python" in got["node-api"]["detail"]
    assert "older than python3.10" in got["old-py39"]["detail"]
    assert "container image" in got["image-fn"]["detail"]

    after = fleet.snapshot()
    for name, result in ATTACH_RESULTS.items():
        key = f"{REGION}/{name}"
        if result != "changed":
            assert after[key] == before[key], name  # skipped and failed: untouched
            continue
        env_before = (before[key].get("Environment") or {}).get("Variables", {})
        env_after = after[key]["Environment"]["Variables"]
        assert env_after[WRAPPER] == GUARD_PATH, name
        for var, value in env_before.items():  # never dropped, never changed
            if var != WRAPPER:
                assert env_after[var] == value, (name, var)
        layers_before = [layer["Arn"] for layer in before[key]["Layers"]]
        layers_after = [layer["Arn"] for layer in after[key]["Layers"]]
        others = [arn for arn in layers_before if f":layer:{GUARD}:" not in arn]
        assert [arn for arn in layers_after if arn != LATEST] == others, name
        assert layers_after.count(LATEST) == 1, name
        # every field but the environment and the layers is as it was
        strip = ("Environment", "Layers", "LastUpdateStatus")
        assert {k: v for k, v in after[key].items() if k not in strip} == {
            k: v for k, v in before[key].items() if k not in strip
        }, name
    # the other region is not touched by a us-east-1 run
    assert {k: v for k, v in after.items() if k.startswith(OTHER_REGION)} == {
        k: v for k, v in before.items() if k.startswith(OTHER_REGION)
    }


def test_layer_order_is_kept_and_ours_updated_in_place(fleet, cli):
    assert cli("attach", "--function", "tg-first", "--function", "layers-py312").code == 0
    assert fleet.layers("tg-first") == [LATEST, layer_arn("powertools")]
    assert fleet.layers("layers-py312") == [layer_arn("powertools"), layer_arn("deps"), LATEST]


def test_four_layers_become_five_and_five_is_a_clear_per_function_error(fleet, cli):
    run = cli("attach", "--function", "four-layers", "--function", "full-layers")
    assert run.code == 1
    assert len(fleet.layers("four-layers")) == 5
    assert len(fleet.layers("full-layers")) == 5 and LATEST not in fleet.layers("full-layers")
    line = next(line for line in run.out.splitlines() if "full-layers" in line)
    assert "failed" in line and "already has 5 layers, Lambda's limit is 5" in line


def test_another_exec_wrapper_is_chained(fleet, cli):
    assert cli("attach", "--function", "otel-py311").code == 0
    env = fleet.env("otel-py311")
    assert env[WRAPPER] == GUARD_PATH
    assert env["TIMEOUT_GUARD_NEXT_WRAPPER"] == "/opt/otel-instrument"
    assert env["OTEL_SERVICE_NAME"] == "billing"


def test_set_values_are_merged_and_validated(fleet, cli):
    run = cli(
        "attach",
        "--function",
        "env-py313",
        "--set",
        "TIMEOUT_GUARD_MARGIN_MS=900",
        "--set",
        "TIMEOUT_GUARD_READ_TIMEOUTS=sqs.ReceiveMessage=30,lambda.Invoke=off",
    )
    assert run.code == 0, run.err
    env = fleet.env("env-py313")
    assert env["TIMEOUT_GUARD_MARGIN_MS"] == "900"
    assert env["TIMEOUT_GUARD_READ_TIMEOUTS"] == "sqs.ReceiveMessage=30,lambda.Invoke=off"
    assert env["DB_HOST"] == "db.internal" and env["API_KEY"] == "s3cr3t"


def test_attach_is_idempotent(fleet, cli):
    cli("attach", "--all", "--set", "TIMEOUT_GUARD_ACTION=log")
    snapshot = fleet.snapshot()
    hooks = Hooks()
    run = cli(
        "attach",
        "--all",
        "--set",
        "TIMEOUT_GUARD_ACTION=log",
        "--output",
        "json",
        session=hooks.session,
    )
    got = results(run)
    for name, first in ATTACH_RESULTS.items():
        assert got[name]["result"] == ("unchanged" if first == "changed" else first), name
        if first == "changed":
            assert got[name]["detail"] == f"already attached ({GUARD}:2)"
    assert hooks.writes() == []
    assert fleet.snapshot() == snapshot


def test_without_layer_arn_the_latest_version_of_each_region_is_used(fleet, cli):
    run = cli(
        "attach",
        "--function",
        "plain-py314",
        "--function",
        "eu-api",
        "--region",
        REGION,
        "--region",
        OTHER_REGION,
    )
    assert run.code == 0, run.err
    assert fleet.layers("plain-py314") == [LATEST]
    assert fleet.layers("eu-api", OTHER_REGION) == [layer_arn(GUARD, 1, OTHER_REGION)]


def test_layer_arn_and_the_architecture_rule(fleet, cli):
    x86_only = fleet.publish_guard(REGION, architectures=("x86_64",))  # version 3
    run = cli(
        "attach",
        "--function",
        "arm-py310",
        "--function",
        "plain-py314",
        "--layer-arn",
        x86_only,
        "--output",
        "json",
    )
    assert run.code == 0, run.err
    got = results(run)
    assert got["arm-py310"]["result"] == "skipped"
    assert (
        got["arm-py310"]["detail"] == "architecture arm64 is not listed by timeout-guard:3 (x86_64)"
    )
    assert fleet.layers("plain-py314") == [x86_only]
    assert fleet.layers("arm-py310") == []
    # the same version is the latest now: no --layer-arn gives the same answer
    run = cli("attach", "--function", "four-layers", "--output", "json")
    assert results(run)["four-layers"]["result"] == "skipped"


# -- detach -------------------------------------------------------------------------------


def test_detach_after_attach_restores_every_field(fleet, cli):
    before = fleet.snapshot()
    cli(
        "attach",
        "--all",
        "--set",
        "TIMEOUT_GUARD_MARGIN_MS=900",
        "--set",
        "TIMEOUT_GUARD_ACTION=log",
    )
    assert fleet.env("tuned-py312")["TIMEOUT_GUARD_MARGIN_MS"] == "900"  # overwritten by --set
    run = cli("detach", "--all", "--output", "json")
    assert run.code == 0, run.err
    after = fleet.snapshot()
    for name in PRISTINE:
        key = f"{REGION}/{name}"
        assert set(after[key]) == set(before[key]), name  # e.g. no Environment stays none
        for field, value in before[key].items():
            assert after[key][field] == value, (name, field)
    # Timeout Guard that was there before attach (SAM, half set up): detach removes it all
    assert fleet.env("sam-attached") == {"APP": "sam"}
    assert fleet.layers("sam-attached") == [layer_arn("powertools")]
    assert fleet.env("wrapper-only") == {"APP": "half"} and fleet.layers("layer-only") == []
    assert fleet.layers("tg-first") == [layer_arn("powertools")] and fleet.env("tg-first") is None


def test_detach_keeps_settings_it_did_not_set(fleet, cli):
    run = cli(
        "detach", "--function", "tuned-py312", "--function", "wrapper-only", "--output", "json"
    )
    got = results(run)
    assert got["tuned-py312"]["result"] == "unchanged"
    assert fleet.env("tuned-py312")["TIMEOUT_GUARD_READ_TIMEOUT"] == "3"
    assert got["wrapper-only"]["result"] == "changed"  # the function could not start: fixed
    assert fleet.env("wrapper-only") == {"APP": "half"}


# -- dry run ------------------------------------------------------------------------------


def test_dry_run_prints_the_exact_change_and_calls_no_write_api(unchanged_fleet, cli):
    hooks = Hooks()
    run = cli(
        "attach",
        "--all",
        "--dry-run",
        "--set",
        "TIMEOUT_GUARD_MARGIN_MS=900",
        session=hooks.session,
    )
    assert run.code == 1  # full-layers would fail
    assert hooks.writes() == []
    assert set(hooks.operations()) <= {
        "ListFunctions",
        "GetFunctionConfiguration",
        "ListLayerVersions",
        "GetLayerVersion",
    }  # and unchanged_fleet checks every function is exactly as before
    block = run.out.split("otel-py311 (us-east-1, python3.11): would change\n", 1)[1].split(
        "\n\n", 1
    )[0]
    assert block.splitlines() == [
        "  layers before:",
        f"    {layer_arn('otel')}",
        "  layers after:",
        f"    {layer_arn('otel')}",
        f"    {LATEST}",
        "  env AWS_LAMBDA_EXEC_WRAPPER: '/opt/otel-instrument' -> '/opt/timeout-guard'",
        "  env TIMEOUT_GUARD_MARGIN_MS: (unset) -> '900'",
        "  env TIMEOUT_GUARD_NEXT_WRAPPER: (unset) -> '/opt/otel-instrument'",
        "  env TIMEOUT_GUARD_UNDO: (unset) -> "
        '\'{"AWS_LAMBDA_EXEC_WRAPPER":"/opt/otel-instrument","TIMEOUT_GUARD_MARGIN_MS":null,'
        '"TIMEOUT_GUARD_NEXT_WRAPPER":null}\'',
        "  env kept (1): OTEL_SERVICE_NAME",
    ]
    assert "s3cr3t" not in run.out  # values of variables it does not change are never shown


def test_dry_run_json_and_detach_dry_run(fleet, cli):
    cli("attach", "--function", "env-py313")
    snapshot = fleet.snapshot()
    hooks = Hooks()
    run = cli(
        "detach", "--function", "env-py313", "--dry-run", "--output", "json", session=hooks.session
    )
    assert run.code == 0 and hooks.writes() == [] and fleet.snapshot() == snapshot
    item = results(run)["env-py313"]
    assert item["result"] == "would change"
    assert item["layers_before"] == [LATEST] and item["layers_after"] == []
    assert {c["name"]: (c["before"], c["after"]) for c in item["environment_changes"]} == {
        WRAPPER: (GUARD_PATH, None),
        "TIMEOUT_GUARD_UNDO": ('{"AWS_LAMBDA_EXEC_WRAPPER":null}', None),
    }
    assert item["environment_kept"] == ["API_KEY", "DB_HOST", "LOG_LEVEL"]


# -- waiting, throttling, failures --------------------------------------------------------


def test_update_in_progress_is_waited_for_before_and_after(fleet, cli):
    hooks = Hooks()
    reads = {"n": 0}

    def in_progress(parsed: dict) -> None:
        if parsed["FunctionName"] == "orders-api":
            reads["n"] += 1
            # read 1 is the selection's; then still being created, then another update in
            # progress, then ready (4); after our update (5, 6) in progress, then done (7)
            if reads["n"] == 2:
                parsed["State"] = "Pending"
            if reads["n"] in (3, 5, 6):
                parsed["LastUpdateStatus"] = "InProgress"

    hooks.on_configuration(in_progress)
    run = cli("attach", "--function", "orders-api", session=hooks.session)
    assert run.code == 0, run.out
    calls = hooks.calls_for("orders-api")
    update = calls.index("UpdateFunctionConfiguration")
    assert calls[:update] == ["GetFunctionConfiguration"] * 4
    assert calls[update + 1 :] == ["GetFunctionConfiguration"] * 3


def test_a_failed_update_fails_that_function_and_the_others_go_on(fleet, cli):
    hooks = Hooks()
    updated = set()
    hooks.on_send(
        "UpdateFunctionConfiguration", lambda request: updated.add(request_function(request))
    )

    def failed(parsed: dict) -> None:
        if parsed["FunctionName"] == "orders-api" and "orders-api" in updated:
            parsed["LastUpdateStatus"] = "Failed"
            parsed["LastUpdateStatusReason"] = "EniLimitExceeded: test"

    hooks.on_configuration(failed)
    run = cli("attach", "--regex", "^orders-", "--output", "json", session=hooks.session)
    assert run.code == 1
    got = results(run)
    assert got["orders-api"]["result"] == "failed"
    assert "update failed: EniLimitExceeded: test" in got["orders-api"]["detail"]
    assert got["orders-worker"]["result"] == "changed" and got["orders-cron"]["result"] == "changed"


def test_an_environment_lambda_cannot_decrypt_is_left_alone(fleet, cli):
    hooks = Hooks()

    def undecryptable(parsed: dict) -> None:
        if parsed["FunctionName"] == "env-py313":
            parsed["Environment"] = {
                "Error": {"ErrorCode": "KMSAccessDeniedException", "Message": "no kms:Decrypt"}
            }

    hooks.on_configuration(undecryptable)
    run = cli(
        "attach",
        "--function",
        "env-py313",
        "--function",
        "orders-api",
        "--output",
        "json",
        session=hooks.session,
    )
    assert run.code == 1
    got = results(run)
    assert got["env-py313"]["result"] == "failed"
    assert "KMSAccessDeniedException" in got["env-py313"]["detail"]
    assert ("UpdateFunctionConfiguration", "env-py313") not in hooks.writes()
    assert fleet.env("env-py313") == {
        "DB_HOST": "db.internal",
        "LOG_LEVEL": "INFO",
        "API_KEY": "s3cr3t",
    }
    assert got["orders-api"]["result"] == "changed"


def test_throttling_is_retried_with_backoff(fleet, cli):
    hooks = Hooks()
    sent = []

    def throttle_twice(request):
        sent.append(request_function(request))
        if len(sent) <= 2:
            return error_response(request.url, 429, "TooManyRequestsException", "Rate exceeded")
        return None

    hooks.on_send("UpdateFunctionConfiguration", throttle_twice)
    run = cli("attach", "--function", "plain-py314", "--output", "json", session=hooks.session)
    assert run.code == 0, run.out
    assert sent == ["plain-py314"] * 3  # two throttled attempts, then through
    assert results(run)["plain-py314"]["result"] == "changed"
    assert fleet.layers("plain-py314") == [LATEST]


def test_throttling_that_never_ends_fails_one_function_only(fleet, cli, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # the user's choice wins over the command's 10
    hooks = Hooks()
    sent = []

    def always_throttle(request):
        name = request_function(request)
        sent.append(name)
        if name == "orders-worker":
            return error_response(request.url, 429, "TooManyRequestsException", "Rate exceeded")
        return None

    hooks.on_send("UpdateFunctionConfiguration", always_throttle)
    run = cli("attach", "--regex", "^orders-", "--output", "json", session=hooks.session)
    assert run.code == 1
    got = results(run)
    assert got["orders-worker"]["result"] == "failed"
    assert "TooManyRequestsException" in got["orders-worker"]["detail"]
    assert sent.count("orders-worker") == 2
    assert got["orders-api"]["result"] == "changed" and got["orders-cron"]["result"] == "changed"
    assert fleet.layers("orders-worker") == []


def test_a_change_made_meanwhile_is_not_lost(fleet, cli):
    """Someone adds a variable between our read and our write: Lambda answers 412 (RevisionId);
    the command reads again and plans again, so the new variable survives."""
    hooks = Hooks()
    first = threading.Event()

    def concurrent_change(request):
        if first.is_set():
            return None
        first.set()
        variables = {**fleet.env("env-py313"), "ADDED_MEANWHILE": "yes"}
        fleet.client().update_function_configuration(
            FunctionName="env-py313", Environment={"Variables": variables}
        )
        return error_response(
            request.url, 412, "PreconditionFailedException", "RevisionId mismatch"
        )

    hooks.on_send("UpdateFunctionConfiguration", concurrent_change)
    run = cli("attach", "--function", "env-py313", session=hooks.session)
    assert run.code == 0, run.out
    env = fleet.env("env-py313")
    assert env["ADDED_MEANWHILE"] == "yes" and env[WRAPPER] == GUARD_PATH
    assert hooks.calls_for("env-py313").count("UpdateFunctionConfiguration") == 2


# -- selection ----------------------------------------------------------------------------


def selected(cli, *argv: str) -> list[str]:
    run = cli("status", *argv, "--output", "json")
    assert run.code == 0, run.err
    return [item["function"] for item in json.loads(run.out)["functions"]]


def test_selection(unchanged_fleet, cli):
    assert selected(cli, "--all") == sorted(US_NAMES)
    assert selected(cli, "--all", "--region", REGION, "--region", OTHER_REGION) == sorted(
        US_NAMES
    ) + sorted(EU_NAMES)
    assert selected(cli, "--regex", "^orders-") == ["orders-api", "orders-cron", "orders-worker"]
    assert selected(cli, "--tag", "team=payments") == ["orders-api", "orders-worker"]
    assert selected(cli, "--regex", "orders", "--tag", "team=search") == ["orders-cron"]
    eu_arn = f"arn:aws:lambda:{OTHER_REGION}:123456789012:function:eu-api"
    assert selected(cli, "--function", "otel-py311", "--function", eu_arn) == [
        "otel-py311",
        "eu-api",
    ]
    # named and listed: the union, each once
    assert selected(
        cli, "--function", "plain-py314", "--tag", "team=payments", "--function", "orders-api"
    ) == [
        "plain-py314",
        "orders-api",
        "orders-worker",
    ]


# -- bad input: one line, nothing changed -------------------------------------------------


@pytest.mark.parametrize(
    "argv, code, words",
    [
        (["attach", "--function", "nope"], 2, ["function not found: nope"]),
        (
            ["attach", "--function", "plain-py314", "--set", "TIMEOUT_GUARD_MARGIN=5"],
            2,
            ["unknown variable"],
        ),
        (
            ["attach", "--all", "--set", "TIMEOUT_GUARD_MARGIN_MS=-5"],
            2,
            ["TIMEOUT_GUARD_MARGIN_MS='-5' is not valid"],
        ),
        (["attach", "--all", "--set", "TIMEOUT_GUARD_NEXT_WRAPPER=/opt/x"], 2, ["cannot be set"]),
        (["detach", "--regex", "("], 2, ["--regex"]),
        (["attach", "--tag", "team"], 2, ["expected KEY=VALUE"]),
        (["attach"], 2, ["select functions with"]),
        (
            ["attach", "--all", "--layer-arn", "arn:aws:lambda:us-east-1:1:layer:x"],
            2,
            ["--layer-arn"],
        ),
        (["attach", "--function", "plain-py314:3"], 2, ["not a function name"]),
        (
            [
                "attach",
                "--function",
                "arn:aws:lambda:us-east-1:123456789012:function:plain-py314:prod",
            ],
            2,
            ["qualified ARN"],
        ),
        (
            ["attach", "--all", "--layer-name", "no-such-layer"],
            1,
            ["no layer named 'no-such-layer'", "publish"],
        ),
        (
            ["attach", "--all", "--region", OTHER_REGION, "--layer-arn", LATEST],
            2,
            ["no --layer-arn for eu-west-1"],
        ),
    ],
)
def test_bad_input_is_one_error_line_and_changes_nothing(unchanged_fleet, cli, argv, code, words):
    hooks = Hooks()
    run = cli(*argv, session=hooks.session)
    assert run.code == code
    one_error_line(run, *words)
    assert hooks.writes() == []  # and unchanged_fleet checks the fleet is as it was


def test_a_region_without_the_layer(fleet, cli):
    role = fleet.client("iam").get_role(RoleName="fleet")["Role"]["Arn"]
    fleet.client(region="ca-central-1").create_function(
        FunctionName="ca-fn",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code_zip()},
    )
    run = cli("attach", "--all", "--region", REGION, "--region", "ca-central-1")
    assert run.code == 1
    one_error_line(run, "ca-central-1: no layer named 'timeout-guard'")
    assert fleet.layers("plain-py314") == []  # nothing changed in the region that has it


def test_no_credentials(unchanged_fleet, cli, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    run = cli("attach", "--all")
    assert run.code == 1
    one_error_line(run, "no AWS credentials found")


def test_no_region(unchanged_fleet, cli, monkeypatch):
    monkeypatch.delenv("AWS_REGION")
    run = cli("status", "--all")
    assert run.code == 2
    one_error_line(run, "no region")
    monkeypatch.setenv("AWS_DEFAULT_REGION", OTHER_REGION)
    assert selected(cli, "--all") == sorted(EU_NAMES)


def test_aws_profile_is_honoured(unchanged_fleet, cli, monkeypatch, tmp_path):
    config = tmp_path / "config"
    config.write_text(f"[profile dev]\nregion = {OTHER_REGION}\n")
    credentials = tmp_path / "credentials"
    credentials.write_text("[dev]\naws_access_key_id = dev\naws_secret_access_key = dev\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    for name in ("AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert selected(cli, "--all") == sorted(EU_NAMES)
    monkeypatch.delenv("AWS_PROFILE")
    assert selected(cli, "--all", "--profile", "dev") == sorted(EU_NAMES)


# -- status -------------------------------------------------------------------------------


def test_status_warns_about_half_configured_functions(fleet, cli):
    fleet.client().update_function_configuration(
        FunctionName="orders-cron", Environment={"Variables": {"TIMEOUT_GUARD_MARGIN_MS": "-1"}}
    )
    run = cli("status", "--all", "--output", "json")
    assert run.code == 0
    got = results(run)
    assert got["wrapper-only"]["state"] == "BROKEN"
    assert "cannot start" in got["wrapper-only"]["warnings"][0]
    assert got["layer-only"]["state"] == "layer only"
    assert "does nothing" in got["layer-only"]["warnings"][0]
    assert got["sam-attached"]["state"] == "active" and got["sam-attached"]["layer_version"] == 1
    assert got["tuned-py312"]["settings"] == {
        "TIMEOUT_GUARD_MARGIN_MS": "800",
        "TIMEOUT_GUARD_READ_TIMEOUT": "3",
    }
    assert "uses its default" in got["orders-cron"]["warnings"][0]
    table = cli("status", "--all")
    assert (
        "WARNING wrapper-only (us-east-1): AWS_LAMBDA_EXEC_WRAPPER=/opt/timeout-guard without"
        in table.out
    )
    cli("attach", "--function", "otel-py311")
    chained = results(cli("status", "--function", "otel-py311", "--output", "json"))["otel-py311"]
    assert chained["wrapper_chain"] == "/opt/timeout-guard -> /opt/otel-instrument"
    assert chained["state"] == "active" and chained["layer_version"] == 2


# -- publish ------------------------------------------------------------------------------


def test_publish(fleet, cli, tmp_path):
    from timeout_guard_cli.layerzip import code_sha256, locate

    data = locate().read_bytes()
    run = cli("publish", "--region", REGION, "--region", OTHER_REGION, "--output", "json")
    assert run.code == 0, run.err
    rows = json.loads(run.out)["layers"]
    assert [(r["region"], r["version"], r["result"]) for r in rows] == [
        (REGION, 3, "published"),
        (OTHER_REGION, 2, "published"),
    ]
    info = fleet.client().get_layer_version(LayerName=GUARD, VersionNumber=3)
    assert info["Content"]["CodeSha256"] == code_sha256(data)
    assert info["CompatibleRuntimes"] == [
        "python3.10",
        "python3.11",
        "python3.12",
        "python3.13",
        "python3.14",
    ]
    assert info["CompatibleArchitectures"] == ["x86_64", "arm64"]
    again = json.loads(cli("publish", "--output", "json", "--principal", "111122223333").out)[
        "layers"
    ][0]
    assert (again["version"], again["result"]) == (3, "already published")
    policy = json.loads(
        fleet.client().get_layer_version_policy(LayerName=GUARD, VersionNumber=3)["Policy"]
    )
    assert policy["Statement"][0]["Principal"] in ("111122223333", {"AWS": "111122223333"})
    forced = json.loads(
        cli("publish", "--force", "--output", "json", "--organization-id", "o-abcdefghij").out
    )
    assert forced["layers"][0]["version"] == 4
    other = tmp_path / "other.zip"
    other.write_bytes(code_zip())
    run = cli("publish", "--zip", str(other), "--output", "json")
    assert json.loads(run.out)["layers"][0]["version"] == 5
    bad = cli("publish", "--principal", "everyone")
    assert bad.code == 2
    one_error_line(bad, "--principal")


def test_publish_reports_each_region(fleet, cli):
    hooks = Hooks()

    def deny_in_eu(request):
        signature = request.headers.get("Authorization", b"")
        if f"/{OTHER_REGION}/lambda/".encode() in signature:  # the credential scope's region
            return error_response(request.url, 403, "AccessDeniedException", "not allowed")
        return None

    hooks.on_send("PublishLayerVersion", deny_in_eu)
    run = cli("publish", "--region", REGION, "--region", OTHER_REGION, session=hooks.session)
    assert run.code == 1
    lines = run.out.splitlines()
    assert any(REGION in line and "published" in line for line in lines)
    failed = next(line for line in lines if line.strip().startswith(OTHER_REGION))
    assert "failed: eu-west-1: PublishLayerVersion: AccessDeniedException: not allowed" in failed
