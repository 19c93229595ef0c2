"""Everything the command prints: tables and dry-run diffs for people, JSON for scripts.

Values of variables the command does not change are never printed (environments often hold
secrets): a dry run lists every changed variable with its value before and after, and the
names of those it keeps.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections import Counter
from typing import Any, Callable, Iterator, Optional

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from timeout_guard_cli.apply import FAILED, Result
from timeout_guard_cli.status import BROKEN, FunctionStatus

PROGRESS_MIN = 5  # functions; fewer finish before a bar would tell anything
NONE = "-"


def console(file: Any = None) -> Console:
    """A console on ``file``; not a terminal: no colours and wide enough for ARNs in tables."""
    file = file or sys.stdout
    terminal = hasattr(file, "isatty") and file.isatty()
    return Console(file=file, width=None if terminal else 250, soft_wrap=True)


@contextlib.contextmanager
def progress(err: Console, total: int, label: str) -> Iterator[Callable[[Result], None]]:
    """A progress bar on a terminal for many functions; yields the per-result callback."""
    if not err.is_terminal or total < PROGRESS_MIN:
        yield lambda result: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=total, failed=0)
        failed = 0

        def advance(result: Result) -> None:
            nonlocal failed
            failed += result.result == FAILED
            bar.update(task, advance=1, failed=failed)

        yield advance


def _emit(out: Console, renderable: Any) -> None:
    """Print; off a terminal without the padding rich adds to table lines."""
    if out.is_terminal:
        out.print(renderable)
        return
    with out.capture() as captured:
        out.print(renderable)
    out.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _runtime(result: Result) -> str:
    if result.plan is None:
        return NONE
    fn = result.plan.function
    return fn.runtime or f"({fn.package_type.lower()})"


def results_table(out: Console, command: str, results: list[Result], dry_run: bool) -> None:
    title = f"timeout-guard {command}{' --dry-run' if dry_run else ''}"
    table = _table(
        title, "function", "region", "runtime", "result", "layer version", "wrappers", "detail"
    )
    for r in results:
        plan = r.plan
        version = plan.layer_version if plan else None
        table.add_row(
            escape(r.ref.name),
            r.ref.region,
            _runtime(r),
            r.result,
            NONE if version is None else str(version),
            escape(plan.wrapper_chain) if plan and plan.wrapper_chain else NONE,
            escape(r.detail),
        )
    _emit(out, table)
    out.print(summary_line(results))


def summary_line(results: list[Result]) -> str:
    counts = Counter(r.result for r in results)
    parts = [f"{n} {name}" for name, n in sorted(counts.items())]
    return f"{_functions(len(results))}: {', '.join(parts) or 'none selected'}"


def _functions(count: int) -> str:
    return f"{count} function{'' if count == 1 else 's'}"


def dry_run_changes(out: Console, results: list[Result]) -> None:
    """Per function that would change: its layers and environment, before and after."""
    for r in results:
        plan = r.plan
        if plan is None or not (plan.env_changed or plan.layers_changed):
            continue
        fn = plan.function
        out.print(f"{escape(fn.name)} ({fn.region}, {fn.runtime or fn.package_type}): {r.result}")
        for label, arns in (("before", plan.layers_before), ("after", plan.layers_after)):
            out.print(f"  layers {label}:{'' if arns else ' (none)'}")
            for arn in arns:
                out.print(f"    {escape(arn)}")
        for name, before, after in plan.env_changes():
            out.print(f"  env {escape(name)}: {_value(before)} -> {_value(after)}")
        kept = plan.kept_variables()
        if kept:
            out.print(f"  env kept ({len(kept)}): {escape(', '.join(kept))}")
        if fn.environment is None and plan.env_changed:
            out.print("  (the function has no Environment before)")
        out.print()


def _value(value: Optional[str]) -> str:
    return "(unset)" if value is None else escape(repr(value))


def results_json(command: str, results: list[Result], dry_run: bool) -> str:
    return _dump(
        {
            "command": command,
            "dry_run": dry_run,
            "ok": all(r.ok for r in results),
            "counts": dict(Counter(r.result for r in results)),
            "functions": [_result_json(r) for r in results],
        }
    )


def _result_json(r: Result) -> dict[str, Any]:
    item: dict[str, Any] = {
        "function": r.ref.name,
        "arn": r.ref.arn,
        "region": r.ref.region,
        "result": r.result,
        "detail": r.detail,
    }
    plan = r.plan
    if plan is None:
        return item
    item.update(
        runtime=plan.function.runtime,
        package_type=plan.function.package_type,
        architecture=plan.function.architecture,
        layer_version=plan.layer_version,
        wrapper_chain=plan.wrapper_chain or None,
        layers_before=list(plan.layers_before),
        layers_after=list(plan.layers_after),
        environment_changes=[
            {"name": name, "before": before, "after": after}
            for name, before, after in plan.env_changes()
        ],
        environment_kept=plan.kept_variables(),
        had_environment=plan.function.environment is not None,
    )
    return item


def status_table(out: Console, rows: list[FunctionStatus], layer_name: str) -> None:
    table = _table(
        f"timeout-guard status (layer {layer_name})",
        "function",
        "region",
        "runtime",
        "state",
        "layer version",
        "wrappers",
        "settings",
    )
    for row in rows:
        fn = row.function
        state = f"[bold red]{row.state}[/]" if row.state == BROKEN else row.state
        table.add_row(
            escape(fn.name),
            fn.region,
            fn.runtime or f"({fn.package_type.lower()})",
            state,
            NONE if row.layer_version is None else str(row.layer_version),
            escape(row.wrapper_chain) or NONE,
            escape(
                " ".join(f"{k.removeprefix('TIMEOUT_GUARD_')}={v}" for k, v in row.settings.items())
            )
            or NONE,
        )
    _emit(out, table)
    counts = Counter(row.state for row in rows)
    states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    out.print(f"{_functions(len(rows))}: {states or 'none selected'}")
    for row in rows:
        for warning in row.warnings:
            out.print(
                f"WARNING {escape(row.function.name)} ({row.function.region}): {escape(warning)}"
            )


def status_json(rows: list[FunctionStatus], layer_name: str) -> str:
    return _dump(
        {
            "command": "status",
            "layer_name": layer_name,
            "functions": [
                {
                    "function": row.function.name,
                    "arn": row.function.arn,
                    "region": row.function.region,
                    "runtime": row.function.runtime,
                    "state": row.state,
                    "layer_version": row.layer_version,
                    "wrapper_chain": row.wrapper_chain or None,
                    "settings": row.settings,
                    "warnings": row.warnings,
                }
                for row in rows
            ],
        }
    )


def publish_table(out: Console, rows: list[dict[str, Any]]) -> None:
    table = _table("timeout-guard publish", "region", "layer version ARN", "result", "permission")
    for row in rows:
        permission = row.get("permission") or NONE
        table.add_row(row["region"], row["arn"] or NONE, escape(row["result"]), permission)
    _emit(out, table)


def publish_json(rows: list[dict[str, Any]]) -> str:
    return _dump({"command": "publish", "layers": rows})


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False)
