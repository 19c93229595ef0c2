"""The README's worked example, run for real against moto.

    .venv/bin/python tests/cli/readme_example.py

Starts moto on 127.0.0.1, creates a small account (five functions, the kind a team has), and
runs the console script the way the README shows, printing each command and its output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from loopback import MotoServer  # noqa: E402

from cli.fleet import ACCOUNT, Fleet, code_zip  # noqa: E402

COMMANDS = [
    ["publish"],
    ["attach", "--function", "orders-api", "--dry-run"],
    ["attach", "--all", "--set", "TIMEOUT_GUARD_MARGIN_MS=1000"],
    ["attach", "--all", "--set", "TIMEOUT_GUARD_MARGIN_MS=1000"],
    ["status", "--all"],
    ["detach", "--all"],
]


def account(fleet: Fleet) -> None:
    lam = fleet.client()
    role = fleet.client("iam").create_role(RoleName="app", AssumeRolePolicyDocument="{}")
    role_arn = role["Role"]["Arn"]
    layers = {}
    for name in ("AWSLambdaPowertoolsPythonV3", "otel-python"):
        layers[name] = lam.publish_layer_version(LayerName=name, Content={"ZipFile": code_zip()})[
            "LayerVersionArn"
        ]
    functions = [
        (
            "orders-api",
            "python3.12",
            {"TABLE": "orders", "POWERTOOLS_SERVICE_NAME": "orders"},
            [layers["AWSLambdaPowertoolsPythonV3"]],
        ),
        (
            "payments-worker",
            "python3.13",
            {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/otel-instrument", "OTEL_SERVICE_NAME": "payments"},
            [layers["otel-python"]],
        ),
        ("nightly-report", "python3.11", None, []),
        ("legacy-import", "python3.9", {"BUCKET": "imports"}, []),
        ("web-frontend", "nodejs22.x", {"API_URL": "https://api.example.com"}, []),
    ]
    for name, runtime, env, function_layers in functions:
        args = dict(
            FunctionName=name,
            Runtime=runtime,
            Role=role_arn,
            Handler="app.handler",
            Code={"ZipFile": code_zip()},
            Layers=function_layers,
        )
        if env:
            args["Environment"] = {"Variables": env}
        lam.create_function(**args)


def main() -> None:
    script = shutil.which("timeout-guard", path=str(Path(sys.executable).parent))
    with MotoServer() as moto, tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty"
        empty.write_text("")
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": moto.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(empty),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        account(Fleet(moto.endpoint_url))
        for argv in COMMANDS:
            run = subprocess.run([script, *argv], env=env, capture_output=True, text=True)
            print(f"$ timeout-guard {' '.join(argv)}")
            print(run.stdout.replace(moto.endpoint_url, "ENDPOINT").rstrip())
            if run.stderr:
                print(run.stderr.rstrip())
            print(f"(exit status {run.returncode}; account {ACCOUNT} in moto)\n")


if __name__ == "__main__":
    main()
