"""``publish``: the layer zip as a new layer version in each region, and who may use it.

Publishing the same zip again would only add an identical version, so when the latest version
already has this zip's ``CodeSha256`` and the same compatible runtimes and architectures it is
reused (``--force`` publishes anyway). Permissions: ``--principal`` (an account id, or ``*``)
or ``--organization-id`` adds a ``lambda:GetLayerVersion`` grant to the version.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from botocore.exceptions import BotoCoreError, ClientError

from timeout_guard_cli import __version__
from timeout_guard_cli.aws import Clients, command_error, error_code
from timeout_guard_cli.errors import UsageError
from timeout_guard_cli.layers import latest_version
from timeout_guard_cli.layerzip import code_sha256

COMPATIBLE_RUNTIMES = ("python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
COMPATIBLE_ARCHITECTURES = ("x86_64", "arm64")
LICENSE = "Apache-2.0"

_PRINCIPAL = re.compile(r"^(\*|\d{12}|arn:aws[a-z-]*:iam::\d{12}:root)$")
_ORGANIZATION = re.compile(r"^o-[a-z0-9]{10,32}$")


def check_grant(principal: Optional[str], organization: Optional[str]) -> None:
    if principal is not None and not _PRINCIPAL.match(principal):
        raise UsageError(f"--principal {principal!r}: expected an account id, its root ARN, or *")
    if organization is not None and not _ORGANIZATION.match(organization):
        raise UsageError(f"--organization-id {organization!r}: expected o-xxxxxxxxxx")


def publish(
    clients: Clients,
    region: str,
    layer_name: str,
    data: bytes,
    principal: Optional[str] = None,
    organization: Optional[str] = None,
    force: bool = False,
) -> dict[str, Any]:
    """Publish (or reuse) in one region; a row for the output."""
    client = clients.lambda_(region)
    sha = code_sha256(data)
    try:
        existing = None if force else _same_latest(client, layer_name, sha)
        if existing:
            arn, version, result = (
                existing["LayerVersionArn"],
                existing["Version"],
                "already published",
            )
        else:
            answer = client.publish_layer_version(
                LayerName=layer_name,
                Description=f"Timeout Guard (timeout-guard-cli {__version__}, sha256 {sha[:12]})",
                Content={"ZipFile": data},
                CompatibleRuntimes=list(COMPATIBLE_RUNTIMES),
                CompatibleArchitectures=list(COMPATIBLE_ARCHITECTURES),
                LicenseInfo=LICENSE,
            )
            arn, version, result = answer["LayerVersionArn"], answer["Version"], "published"
        permission = _grant(client, layer_name, version, principal, organization)
    except (ClientError, BotoCoreError) as exc:
        raise command_error(exc, region) from None
    return {
        "region": region,
        "arn": arn,
        "version": version,
        "result": result,
        "code_sha256": sha,
        "permission": permission,
    }


def _same_latest(client, layer_name: str, sha: str) -> Optional[dict[str, Any]]:
    version = latest_version(client, layer_name)
    if version is None:
        return None
    info = client.get_layer_version(LayerName=layer_name, VersionNumber=version)
    same = (
        (info.get("Content") or {}).get("CodeSha256") == sha
        and sorted(info.get("CompatibleRuntimes") or ()) == sorted(COMPATIBLE_RUNTIMES)
        and sorted(info.get("CompatibleArchitectures") or ()) == sorted(COMPATIBLE_ARCHITECTURES)
    )
    return info if same else None


def _grant(client, layer_name, version, principal, organization) -> Optional[str]:
    if principal is None and organization is None:
        return None
    if organization is not None:
        args = {"Principal": "*", "OrganizationId": organization}
        statement, label = f"timeout-guard-{organization}", f"organization {organization}"
    else:
        suffix = "public" if principal == "*" else re.sub(r"[^A-Za-z0-9_-]", "-", principal)
        args = {"Principal": principal}
        statement, label = f"timeout-guard-{suffix}", f"principal {principal}"
    try:
        client.add_layer_version_permission(
            LayerName=layer_name,
            VersionNumber=version,
            StatementId=statement,
            Action="lambda:GetLayerVersion",
            **args,
        )
    except ClientError as exc:
        if error_code(exc) != "ResourceConflictException":  # the same grant already there
            raise
    return label
