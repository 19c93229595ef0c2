"""The ``timeout-guard`` console script as users run it: a subprocess, the standard AWS
environment pointing at moto, exit statuses and output read from outside."""

from __future__ import annotations

import io
import json
import sys

from loopback import DelayServer
from rich.console import Console
from timeout_guard_cli import render
from timeout_guard_cli.apply import Result
from timeout_guard_cli.layerzip import code_sha256, locate
from timeout_guard_cli.selection import FunctionRef

from .conftest import REPO
from .fleet import ATTACH_RESULTS, PRISTINE, REGION, layer_arn


def test_publish_attach_status_detach(fleet, console):
    before = fleet.snapshot()
    run = console("publish", "--output", "json")
    assert run.code == 0, run.err
    published = json.loads(run.out)["layers"][0]
    assert published["version"] == 3
    assert published["code_sha256"] == code_sha256(
        (REPO / "dist/timeout-guard-layer.zip").read_bytes()
    )

    run = console("attach", "--all", "--set", "TIMEOUT_GUARD_MARGIN_MS=800")
    assert run.code == 1, run.err  # full-layers is at the 5-layer limit
    assert "21 functions: 14 changed, 1 failed, 6 skipped" in run.out
    assert run.err == ""  # no progress bar off a terminal
    for name, result in ATTACH_RESULTS.items():
        if result == "changed":
            assert layer_arn("timeout-guard", 3) in fleet.layers(name), name

    run = console("status", "--all")
    assert run.code == 0
    assert "14 active, 7 not attached" in run.out

    run = console("detach", "--all", "--output", "json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["ok"] is True
    after = fleet.snapshot()
    for name in PRISTINE:
        assert after[f"{REGION}/{name}"] == before[f"{REGION}/{name}"], name


def test_dry_run_sends_nothing_but_reads(unchanged_fleet, console, moto_server):
    """Seen from the wire: a recording proxy in front of moto gets only GET requests."""
    with DelayServer(0.0, target=moto_server.endpoint_url) as proxy:
        run = console(
            "attach",
            "--all",
            "--dry-run",
            "--output",
            "json",
            env={"AWS_ENDPOINT_URL": proxy.endpoint_url},
        )
        requests = list(proxy.requests)
    assert run.code == 1, run.err  # full-layers would fail
    assert len(requests) > 21
    assert {method for method, _ in requests} == {"GET"}, requests
    assert json.loads(run.out)["dry_run"] is True


def test_exit_statuses_and_error_lines(unchanged_fleet, console):
    run = console("attach", "--all", "--set", "TIMEOUT_GUARD_ACTION=explode")
    assert (run.code, run.out) == (2, "")
    assert run.err.strip() == (
        "timeout-guard: error: --set TIMEOUT_GUARD_ACTION='explode' is not valid: "
        "expected raise or log"
    )
    run = console("attach", "--function", "no-such-function")
    assert run.code == 2
    assert run.err.strip() == (
        "timeout-guard: error: function not found: no-such-function (searched us-east-1)"
    )
    run = console("status", "--all", env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None})
    assert run.code == 1
    assert run.err.strip().startswith("timeout-guard: error: no AWS credentials found")
    run = console("frobnicate")
    assert run.code == 2 and "invalid choice" in run.err
    run = console("attach", "--all", "--profile", "nobody")
    assert run.code == 2 and "nobody" in run.err
    assert console("--help").code == 0


def test_module_entry_point_and_version(console):
    sha = code_sha256(locate().read_bytes())
    for run in (
        console("--version"),
        console("-m", "timeout_guard_cli", "--version", script=sys.executable),
    ):
        assert run.code == 0
        assert run.out.startswith("timeout-guard 0.1.0") and sha in run.out.replace("\n", "")


def test_progress_bar_on_a_terminal():
    stream = io.StringIO()
    err = Console(file=stream, force_terminal=True, width=100)
    ref = FunctionRef(REGION, "f", "arn:aws:lambda:us-east-1:123456789012:function:f")
    with render.progress(err, 6, "attach") as advance:
        for result in ("changed",) * 5 + ("failed",):
            advance(Result(ref, result, ""))
    shown = stream.getvalue()
    assert "attach" in shown and "6/6" in shown and "1 failed" in shown
    quiet = Console(file=io.StringIO(), force_terminal=True)
    with render.progress(quiet, render.PROGRESS_MIN - 1, "attach") as advance:
        advance(Result(ref, "changed", ""))
    assert quiet.file.getvalue() == ""
