"""The Timeout Guard layer version attach uses in each region, looked up before any change.

Without ``--layer-arn``: the latest version of the layer named ``timeout-guard`` (or
``--layer-name``) in the region, an error if the region has none. With ``--layer-arn``
(repeatable, one per region): that version, which must exist. Either way the version's
compatible architectures come along, for the architecture rule.
"""

from __future__ import annotations

from typing import Iterable, Optional

from botocore.exceptions import BotoCoreError, ClientError

from timeout_guard_cli.arns import LayerVersionArn, parse_layer_version_arn
from timeout_guard_cli.aws import Clients, command_error, error_code
from timeout_guard_cli.errors import CommandError, UsageError
from timeout_guard_cli.plan import LayerTarget

DEFAULT_LAYER_NAME = "timeout-guard"


def parse_layer_arns(texts: Iterable[str]) -> dict[str, LayerVersionArn]:
    """``--layer-arn`` values by region; one per region, each a layer *version* ARN."""
    by_region: dict[str, LayerVersionArn] = {}
    for text in texts:
        parsed = parse_layer_version_arn(text)
        if parsed is None:
            raise UsageError(
                f"--layer-arn {text!r}: expected arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION"
            )
        if parsed.region in by_region and by_region[parsed.region] != parsed:
            raise UsageError(f"--layer-arn: two layer versions for {parsed.region}")
        by_region[parsed.region] = parsed
    names = {parsed.name for parsed in by_region.values()}
    if len(names) > 1:
        raise UsageError(f"--layer-arn: one layer name for all regions, got {sorted(names)}")
    return by_region


def latest_version(client, name: str) -> Optional[int]:
    """The highest version number of layer ``name`` in the client's region, None if none."""
    versions = []
    for page in client.get_paginator("list_layer_versions").paginate(LayerName=name):
        versions.extend(v["Version"] for v in page.get("LayerVersions", []))
    return max(versions) if versions else None


def resolve_targets(
    clients: Clients,
    regions: Iterable[str],
    layer_name: str,
    layer_arns: dict[str, LayerVersionArn],
) -> dict[str, LayerTarget]:
    """The layer version to attach, for every region that has selected functions."""
    targets = {}
    for region in dict.fromkeys(regions):
        client = clients.lambda_(region)
        try:
            if layer_arns:
                if region not in layer_arns:
                    given = ", ".join(sorted(layer_arns))
                    raise UsageError(
                        f"no --layer-arn for {region} (a layer attaches only in its own "
                        f"region; given: {given})"
                    )
                wanted = layer_arns[region]
                info = client.get_layer_version(
                    LayerName=wanted.layer_arn, VersionNumber=wanted.version
                )
            else:
                version = latest_version(client, layer_name)
                if version is None:
                    raise CommandError(
                        f"{region}: no layer named {layer_name!r}: run "
                        f"`timeout-guard publish --region {region}` first, or pass --layer-arn"
                    )
                info = client.get_layer_version(LayerName=layer_name, VersionNumber=version)
        except ClientError as exc:
            if layer_arns and error_code(exc) == "ResourceNotFoundException":
                raise CommandError(f"{region}: layer version {wanted.arn} not found") from None
            raise command_error(exc, region) from None
        except BotoCoreError as exc:
            raise command_error(exc, region) from None
        parsed = parse_layer_version_arn(info["LayerVersionArn"])
        targets[region] = LayerTarget(
            arn=info["LayerVersionArn"],
            name=parsed.name if parsed else layer_name,
            version=int(info["Version"]),
            architectures=tuple(info.get("CompatibleArchitectures") or ()),
        )
    return targets
