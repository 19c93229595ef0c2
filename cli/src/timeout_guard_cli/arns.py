"""Lambda function and layer-version ARNs: the few parts the command needs from them."""

from __future__ import annotations

import re
from typing import NamedTuple

_FUNCTION_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"function:(?P<name>[A-Za-z0-9_-]{1,64})(?::(?P<qualifier>[A-Za-z0-9$_-]+))?$"
)
_LAYER_VERSION_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"layer:(?P<name>[A-Za-z0-9_-]{1,140}):(?P<version>[0-9]+)$"
)
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class FunctionArn(NamedTuple):
    region: str
    name: str
    qualifier: str | None


class LayerVersionArn(NamedTuple):
    arn: str
    region: str
    name: str
    version: int

    @property
    def layer_arn(self) -> str:
        """The layer's ARN without the version (what ``GetLayerVersion`` takes as LayerName)."""
        return self.arn.rsplit(":", 1)[0]


def parse_function_arn(text: str) -> FunctionArn | None:
    match = _FUNCTION_ARN.match(text)
    if not match:
        return None
    return FunctionArn(match["region"], match["name"], match["qualifier"])


def is_function_name(text: str) -> bool:
    return bool(_FUNCTION_NAME.match(text))


def parse_layer_version_arn(text: str) -> LayerVersionArn | None:
    match = _LAYER_VERSION_ARN.match(text)
    if not match:
        return None
    return LayerVersionArn(text, match["region"], match["name"], int(match["version"]))


def layer_name(layer_version_arn: str) -> str | None:
    """The layer name inside any layer-version ARN (whatever its account or version)."""
    parts = layer_version_arn.split(":")
    if len(parts) == 8 and parts[5] == "layer":
        return parts[6]
    return None


def layer_version(layer_version_arn: str) -> int | None:
    parsed = parse_layer_version_arn(layer_version_arn)
    return parsed.version if parsed else None
