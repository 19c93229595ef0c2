"""The fleet the rollout command is tested on: 23 functions in moto, mixed like a real account.

Every rule of the command has functions here that exercise it: Python 3.10 to 3.14 on both
architectures, older Pythons and other languages, a container image, existing environments,
other layers (one function already at Lambda's limit of 5), another exec wrapper, variables
already tuned by the user, Timeout Guard already attached (fully, half, layer not last), tags.
"""

from __future__ import annotations

import io
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Optional

import boto3

ACCOUNT = "123456789012"
REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
GUARD = "timeout-guard"
OTHER_LAYERS = ("powertools", "deps", "otel", "sentry", "datadog")
VOLATILE = ("ResponseMetadata", "LastModified", "RevisionId")


def code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def layer_arn(name: str, version: int = 1, region: str = REGION) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:layer:{name}:{version}"


def _layer(spec: str, region: str) -> str:
    """``name`` or ``name:version`` as an ARN in the fleet's account."""
    name, _, version = spec.partition(":")
    return layer_arn(name, int(version or 1), region)


WRAPPER = {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/timeout-guard"}


@dataclass
class Spec:
    name: str
    runtime: Optional[str] = "python3.12"
    env: Optional[dict[str, str]] = None
    layers: tuple[str, ...] = ()  # "name" or "name:version"
    arch: str = "x86_64"
    tags: dict[str, str] = field(default_factory=dict)
    image: bool = False
    region: str = REGION


FLEET = [
    Spec("plain-py314", "python3.14"),
    Spec(
        "env-py313",
        "python3.13",
        {"DB_HOST": "db.internal", "LOG_LEVEL": "INFO", "API_KEY": "s3cr3t"},
    ),
    Spec(
        "layers-py312", "python3.12", {"POWERTOOLS_SERVICE_NAME": "orders"}, ("powertools", "deps")
    ),
    Spec(
        "otel-py311",
        "python3.11",
        {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/otel-instrument", "OTEL_SERVICE_NAME": "billing"},
        ("otel",),
    ),
    Spec("arm-py310", "python3.10", {"STAGE": "prod"}, arch="arm64"),
    Spec("old-py39", "python3.9", {"STAGE": "prod"}),
    Spec("old-py38", "python3.8"),
    Spec("node-api", "nodejs22.x", {"STAGE": "prod"}),
    Spec("java-batch", "java21"),
    Spec("custom-rt", "provided.al2023"),
    Spec("image-fn", None, {"STAGE": "prod"}, image=True),
    Spec("full-layers", "python3.12", {"STAGE": "prod"}, OTHER_LAYERS),
    Spec(
        "tuned-py312",
        "python3.12",
        {"TIMEOUT_GUARD_READ_TIMEOUT": "3", "TIMEOUT_GUARD_MARGIN_MS": "800", "APP": "x"},
    ),
    Spec("sam-attached", "python3.13", {**WRAPPER, "APP": "sam"}, ("powertools", f"{GUARD}:1")),
    Spec("layer-only", "python3.12", {"APP": "half"}, (f"{GUARD}:1",)),
    Spec("wrapper-only", "python3.12", {**WRAPPER, "APP": "half"}),
    Spec("orders-api", "python3.12", {"APP": "orders"}, tags={"team": "payments"}),
    Spec("orders-worker", "python3.13", {"QUEUE_URL": "https://sqs/q"}, tags={"team": "payments"}),
    Spec("orders-cron", "python3.11", tags={"team": "search"}),
    Spec("four-layers", "python3.14", {"APP": "four"}, OTHER_LAYERS[:4], arch="arm64"),
    Spec("tg-first", "python3.12", {**WRAPPER}, (f"{GUARD}:1", "powertools")),
    Spec("eu-api", "python3.12", {"APP": "eu"}, region=OTHER_REGION),
    Spec("eu-node", "nodejs20.x", region=OTHER_REGION),
]
US_NAMES = [s.name for s in FLEET if s.region == REGION]
EU_NAMES = [s.name for s in FLEET if s.region == OTHER_REGION]

# What `attach --all` in us-east-1 does to each function (the latest layer there is version 2).
ATTACH_RESULTS = {
    "plain-py314": "changed",
    "env-py313": "changed",
    "layers-py312": "changed",
    "otel-py311": "changed",
    "arm-py310": "changed",
    "old-py39": "skipped",
    "old-py38": "skipped",
    "node-api": "skipped",
    "java-batch": "skipped",
    "custom-rt": "skipped",
    "image-fn": "skipped",
    "full-layers": "failed",
    "tuned-py312": "changed",
    "sam-attached": "changed",
    "layer-only": "changed",
    "wrapper-only": "changed",
    "orders-api": "changed",
    "orders-worker": "changed",
    "orders-cron": "changed",
    "four-layers": "changed",
    "tg-first": "changed",
}
# Functions without any Timeout Guard before: detach after attach must restore them exactly.
PRISTINE = [
    "plain-py314",
    "env-py313",
    "layers-py312",
    "otel-py311",
    "arm-py310",
    "tuned-py312",
    "orders-api",
    "orders-worker",
    "orders-cron",
    "four-layers",
]


class Fleet:
    """Creates the fleet in moto and reads it back."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str = "lambda", region: str = REGION) -> Any:
        key = f"{service}:{region}"
        with self._lock:
            if key not in self._clients:
                self._clients[key] = boto3.client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                )
            return self._clients[key]

    def publish_guard(self, region: str = REGION, architectures=("x86_64", "arm64")) -> str:
        answer = self.client(region=region).publish_layer_version(
            LayerName=GUARD,
            Content={"ZipFile": code_zip()},
            CompatibleRuntimes=["python3.12"],
            CompatibleArchitectures=list(architectures),
        )
        return answer["LayerVersionArn"]

    def create(self) -> None:
        role = self.client("iam").create_role(RoleName="fleet", AssumeRolePolicyDocument="{}")
        role_arn = role["Role"]["Arn"]
        code = code_zip()
        for region in (REGION, OTHER_REGION):
            self.publish_guard(region)
        self.publish_guard(REGION)  # version 2: the latest in us-east-1
        for name in OTHER_LAYERS:
            self.client().publish_layer_version(LayerName=name, Content={"ZipFile": code})
        with ThreadPoolExecutor(max_workers=4) as pool:  # moto's server is threaded
            list(pool.map(lambda spec: self._create_function(spec, role_arn, code), FLEET))

    def _create_function(self, spec: Spec, role_arn: str, code: bytes) -> None:
        args: dict[str, Any] = {
            "FunctionName": spec.name,
            "Role": role_arn,
            "Architectures": [spec.arch],
        }
        if spec.image:
            args.update(
                PackageType="Image",
                Code={"ImageUri": f"{ACCOUNT}.dkr.ecr.{spec.region}.amazonaws.com/app:1"},
            )
        else:
            args.update(Runtime=spec.runtime, Handler="app.handler", Code={"ZipFile": code})
        if spec.env is not None:
            args["Environment"] = {"Variables": dict(spec.env)}
        if spec.layers:
            args["Layers"] = [_layer(part, spec.region) for part in spec.layers]
        if spec.tags:
            args["Tags"] = dict(spec.tags)
        self.client(region=spec.region).create_function(**args)

    def config(self, name: str, region: str = REGION) -> dict[str, Any]:
        answer = self.client(region=region).get_function_configuration(FunctionName=name)
        return {k: v for k, v in answer.items() if k not in VOLATILE}

    def env(self, name: str, region: str = REGION) -> Optional[dict[str, str]]:
        config = self.config(name, region)
        return config["Environment"]["Variables"] if "Environment" in config else None

    def layers(self, name: str, region: str = REGION) -> list[str]:
        return [layer["Arn"] for layer in self.config(name, region).get("Layers", [])]

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every function's whole configuration (less the fields that change by themselves)."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            configs = pool.map(
                lambda s: (f"{s.region}/{s.name}", self.config(s.name, s.region)), FLEET
            )
            return dict(configs)
