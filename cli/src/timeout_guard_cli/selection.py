"""SELECTION: which functions a command works on, resolved completely before any change.

``--function NAME_OR_ARN`` (repeatable) names functions; ``--all``, ``--regex RE`` and
``--tag KEY=VALUE`` (repeatable) select from the functions listed in each region: ``--regex``
(a search, anchor it with ``^...$`` for a whole name) and every ``--tag`` must all match;
``--all`` alone takes every function. The result is the union of the named and the listed
functions, each once, in the order given. Regions: ``--region`` (repeatable), else the
session's region; a function ARN brings its own region.

A named function that exists in none of the regions is an error, and the command stops
before changing anything.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable, Optional

from botocore.exceptions import BotoCoreError, ClientError

from timeout_guard_cli.arns import is_function_name, parse_function_arn
from timeout_guard_cli.aws import Clients, command_error, error_code
from timeout_guard_cli.errors import UsageError


@dataclass(frozen=True)
class Selection:
    functions: tuple[str, ...] = ()
    all: bool = False
    regex: Optional[re.Pattern] = None
    tags: tuple[tuple[str, str], ...] = ()
    regions: tuple[str, ...] = ()

    @property
    def lists(self) -> bool:
        """Whether functions are listed (and filtered) besides the named ones."""
        return self.all or self.regex is not None or bool(self.tags)


@dataclass(frozen=True)
class FunctionRef:
    region: str
    name: str
    arn: str


def parse_tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"--tag {text!r}: expected KEY=VALUE")
    return key, value


def parse_regex(text: str) -> re.Pattern:
    try:
        return re.compile(text)
    except re.error as exc:
        raise UsageError(f"--regex {text!r}: {exc}") from None


def check_names(names: Iterable[str]) -> None:
    """Reject what Lambda would not take as an unqualified function, before any call."""
    for name in names:
        arn = parse_function_arn(name)
        if arn and arn.qualifier:
            raise UsageError(
                f"--function {name}: a qualified ARN (version or alias) cannot be changed; "
                "configuration changes apply to $LATEST, give the unqualified ARN"
            )
        if not arn and not is_function_name(name):
            raise UsageError(f"--function {name!r}: not a function name or function ARN")


def regions_of(selection: Selection, default: Optional[str]) -> tuple[str, ...]:
    """The regions searched for names and listings."""
    if selection.regions:
        return tuple(dict.fromkeys(selection.regions))
    if default:
        return (default,)
    only_arns = selection.functions and all(parse_function_arn(f) for f in selection.functions)
    if only_arns and not selection.lists:
        return ()
    raise UsageError("no region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)")


def resolve(selection: Selection, clients: Clients) -> list[FunctionRef]:
    """Every selected function, each once; UsageError if a named one does not exist."""
    if not selection.functions and not selection.lists:
        raise UsageError("select functions with --function, --all, --regex or --tag")
    check_names(selection.functions)
    regions = regions_of(selection, clients.default_region)
    found: dict[str, FunctionRef] = {}
    missing = []
    for name in selection.functions:
        refs = _named(clients, name, regions)
        if not refs:
            where = ", ".join(regions) if not parse_function_arn(name) else "its region"
            missing.append(f"{name} (searched {where})")
        for ref in refs:
            found.setdefault(ref.arn, ref)
    if missing:
        raise UsageError(f"function not found: {'; '.join(missing)}")
    if selection.lists:
        for region in regions:
            for ref in _listed(clients, region, selection):
                found.setdefault(ref.arn, ref)
    return list(found.values())


def _named(clients: Clients, name: str, regions: tuple[str, ...]) -> list[FunctionRef]:
    arn = parse_function_arn(name)
    search = (arn.region,) if arn else regions
    refs = []
    for region in search:
        try:
            config = clients.lambda_(region).get_function_configuration(FunctionName=name)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                continue
            raise command_error(exc, region) from None
        except BotoCoreError as exc:
            raise command_error(exc, region) from None
        refs.append(FunctionRef(region, config["FunctionName"], config["FunctionArn"]))
    return refs


def _listed(clients: Clients, region: str, selection: Selection) -> list[FunctionRef]:
    client = clients.lambda_(region)
    refs = []
    try:
        for page in client.get_paginator("list_functions").paginate():
            for config in page.get("Functions", []):
                name = config["FunctionName"]
                if selection.regex is not None and not selection.regex.search(name):
                    continue
                refs.append(FunctionRef(region, name, config["FunctionArn"]))
        if selection.tags:  # ListFunctions has no tags: one ListTags per candidate
            wanted = dict(selection.tags)
            with ThreadPoolExecutor(max_workers=4) as pool:
                keep = list(pool.map(lambda ref: _has_tags(client, ref.arn, wanted), refs))
            refs = [ref for ref, kept in zip(refs, keep, strict=True) if kept]
    except (ClientError, BotoCoreError) as exc:
        raise command_error(exc, region) from None
    return sorted(refs, key=lambda ref: ref.name)


def _has_tags(client, arn: str, wanted: dict[str, str]) -> bool:
    tags = client.list_tags(Resource=arn).get("Tags") or {}
    return all(tags.get(key) == value for key, value in wanted.items())
