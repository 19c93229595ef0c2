"""The ``timeout-guard`` command line: arguments in, one of the commands run, an exit status out.

Exit status: 0 when every selected function ended as intended (changed, already so, or skipped
with a reason), 1 when any failed or the command could not run (no credentials, no layer in a
region: nothing changed then), 2 on bad usage (nothing changed).
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional, Sequence

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from timeout_guard_cli import __version__, layerzip, render
from timeout_guard_cli.apply import Applier, Waiter, apply_all
from timeout_guard_cli.aws import Clients, check_credentials, command_error, make_session
from timeout_guard_cli.errors import EXIT_FAILED, EXIT_OK, CommandError, UsageError
from timeout_guard_cli.layers import DEFAULT_LAYER_NAME, parse_layer_arns, resolve_targets
from timeout_guard_cli.plan import FunctionState, plan_attach, plan_detach
from timeout_guard_cli.publish import check_grant, publish
from timeout_guard_cli.selection import Selection, parse_regex, parse_tag, resolve
from timeout_guard_cli.status import function_status
from timeout_guard_cli.variables import parse_assignment

PROG = "timeout-guard"


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profile", help="AWS profile (default: AWS_PROFILE, else the default)")
    common.add_argument(
        "--output", choices=("table", "json"), default="table", help="table (default) or json"
    )

    select = argparse.ArgumentParser(add_help=False)
    group = select.add_argument_group("selection (the union of --function and the listed matches)")
    group.add_argument(
        "--function",
        action="append",
        default=[],
        metavar="NAME_OR_ARN",
        help="a function name or unqualified ARN (repeatable)",
    )
    group.add_argument("--all", action="store_true", help="every function of the regions")
    group.add_argument(
        "--regex", metavar="RE", help="listed functions whose name matches RE (search)"
    )
    group.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="listed functions with this tag (repeatable: all must match)",
    )
    group.add_argument(
        "--region",
        action="append",
        default=[],
        metavar="R",
        help="a region (repeatable; default: AWS_DEFAULT_REGION or the profile's, else AWS_REGION)",
    )
    select.add_argument(
        "--layer-name",
        metavar="NAME",
        help=f"the layer's name, how it is recognised on functions (default {DEFAULT_LAYER_NAME})",
    )

    change = argparse.ArgumentParser(add_help=False)
    change.add_argument(
        "--dry-run",
        action="store_true",
        help="print each function's change (layers, environment: before, after); change nothing",
    )
    change.add_argument(
        "--parallel", type=int, default=4, metavar="N", help="functions updated at once (default 4)"
    )
    change.add_argument(
        "--wait-timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="longest wait for one function's update to finish (default 300 s)",
    )

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Publish the Timeout Guard Lambda layer and attach it to existing functions.",
    )
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    pub = commands.add_parser(
        "publish", parents=[common], help="publish the layer zip as a layer version"
    )
    pub.add_argument("--region", action="append", default=[], metavar="R", help="repeatable")
    pub.add_argument("--layer-name", default=DEFAULT_LAYER_NAME, metavar="NAME")
    grant = pub.add_mutually_exclusive_group()
    grant.add_argument("--principal", metavar="P", help="grant use to an account id (or *)")
    grant.add_argument("--organization-id", metavar="O", help="grant use to an organization")
    pub.add_argument(
        "--zip", type=Path, metavar="PATH", help="another layer zip than the packaged one"
    )
    pub.add_argument(
        "--force", action="store_true", help="publish even if the latest version is the same zip"
    )

    att = commands.add_parser(
        "attach", parents=[common, select, change], help="attach the layer and set the wrapper"
    )
    att.add_argument(
        "--layer-arn",
        action="append",
        default=[],
        metavar="ARN",
        help="the layer version to attach (one per region; default: the latest version)",
    )
    att.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="TIMEOUT_GUARD_X=VALUE",
        help="also set a Timeout Guard variable (repeatable)",
    )
    commands.add_parser(
        "detach",
        parents=[common, select, change],
        help="remove the layer and put back what attach changed",
    )
    commands.add_parser(
        "status", parents=[common, select], help="which functions have the layer, and how"
    )
    return parser


class _VersionAction(argparse.Action):
    """``--version``: the version and the layer zip it publishes, on one unwrapped line."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(_version())
        parser.exit()


def _version() -> str:
    try:
        path = layerzip.locate()
        sha = layerzip.code_sha256(path.read_bytes())
        return f"{PROG} {__version__} (layer zip {path}, sha256 {sha})"
    except CommandError:
        return f"{PROG} {__version__} (no layer zip)"


def _selection(args: argparse.Namespace) -> Selection:
    return Selection(
        functions=tuple(args.function),
        all=args.all,
        regex=parse_regex(args.regex) if args.regex is not None else None,
        tags=tuple(parse_tag(text) for text in args.tag),
        regions=tuple(args.region),
    )


def _run_change(args: argparse.Namespace, session: boto3.Session, out, err) -> int:
    command = args.command
    settings = {}
    layer_arns = {}
    layer_name = args.layer_name or DEFAULT_LAYER_NAME
    if command == "attach":
        settings = dict(_checked(parse_assignment, text) for text in args.set)
        layer_arns = parse_layer_arns(args.layer_arn)
        if layer_arns:
            arn_name = next(iter(layer_arns.values())).name
            if args.layer_name and args.layer_name != arn_name:
                raise UsageError(f"--layer-name {args.layer_name} but --layer-arn names {arn_name}")
            layer_name = arn_name
    if args.parallel < 1:
        raise UsageError("--parallel must be at least 1")
    selection = _selection(args)
    clients = Clients(session)
    refs = resolve(selection, clients)
    if command == "attach":
        targets = resolve_targets(clients, [ref.region for ref in refs], layer_name, layer_arns)

        def planner(fn: FunctionState):
            return plan_attach(fn, targets[fn.region], settings)
    else:

        def planner(fn: FunctionState):
            return plan_detach(fn, layer_name)

    applier = Applier(clients, planner, args.dry_run, Waiter(timeout=args.wait_timeout))
    with render.progress(err, len(refs), command) as on_done:
        results = apply_all(applier, refs, args.parallel, on_done)
    if args.output == "json":
        print(render.results_json(command, results, args.dry_run), file=out.file)
    else:
        if args.dry_run:
            render.dry_run_changes(out, results)
        render.results_table(out, command, results, args.dry_run)
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def _run_status(args: argparse.Namespace, session: boto3.Session, out) -> int:
    layer_name = args.layer_name or DEFAULT_LAYER_NAME
    clients = Clients(session)
    refs = resolve(_selection(args), clients)

    def read(ref):
        try:
            config = clients.lambda_(ref.region).get_function_configuration(FunctionName=ref.arn)
        except (ClientError, BotoCoreError) as exc:
            raise command_error(exc, f"{ref.region} {ref.name}") from None
        return function_status(FunctionState.from_configuration(config), layer_name)

    with ThreadPoolExecutor(max_workers=4) as pool:
        rows = list(pool.map(read, refs))
    if args.output == "json":
        print(render.status_json(rows, layer_name), file=out.file)
    else:
        render.status_table(out, rows, layer_name)
    return EXIT_OK


def _run_publish(args: argparse.Namespace, session: boto3.Session, out) -> int:
    check_grant(args.principal, args.organization_id)
    data = layerzip.locate(args.zip).read_bytes()
    clients = Clients(session)
    regions = list(dict.fromkeys(args.region)) or [clients.default_region]
    if regions == [None]:
        raise UsageError("no region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)")
    rows = []
    for region in regions:  # one region failing does not hide what the others published
        try:
            rows.append(
                publish(
                    clients,
                    region,
                    args.layer_name,
                    data,
                    args.principal,
                    args.organization_id,
                    args.force,
                )
            )
        except CommandError as exc:
            rows.append({"region": region, "arn": None, "result": f"failed: {exc}"})
    if args.output == "json":
        print(render.publish_json(rows), file=out.file)
    else:
        render.publish_table(out, rows)
    failed = any(row["result"].startswith("failed") for row in rows)
    return EXIT_FAILED if failed else EXIT_OK


def _checked(parse, text: str):
    try:
        return parse(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def main(argv: Optional[Sequence[str]] = None, session: Optional[boto3.Session] = None) -> int:
    """Run the command; ``session`` lets tests hand in a session with botocore event hooks."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: bad usage (2) or --help/--version (0)
        return int(exc.code or 0)
    out, err = render.console(sys.stdout), render.console(sys.stderr)
    try:
        session = session or make_session(args.profile)
        check_credentials(session)
        if args.command == "publish":
            return _run_publish(args, session, out)
        if args.command == "status":
            return _run_status(args, session, out)
        return _run_change(args, session, out, err)
    except CommandError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except (ClientError, BotoCoreError) as exc:
        print(f"{PROG}: error: {command_error(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """The console script's entry point."""
    sys.exit(main())
