"""Apply plans: read fresh, plan, update, wait, check; one function's failure stays its own.

For each function: wait until no update is in progress (``LastUpdateStatus``), read its
configuration, plan, and (unless ``--dry-run``) call ``UpdateFunctionConfiguration`` with the
complete environment and layer list of the plan and the ``RevisionId`` read. If the function
changed in between (``PreconditionFailedException``) or another update started
(``ResourceConflictException``), it is read and planned again, up to three times. Then wait
for ``LastUpdateStatus`` to leave ``InProgress``: ``Failed`` fails the function with Lambda's
reason; otherwise the configuration read back must be exactly the plan's (what is reported
is what is there). Throttling is retried by botocore (see aws.py).

A dry run reads and plans only: no write API is called.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Optional

from timeout_guard_cli.aws import Clients, describe, error_code
from timeout_guard_cli.plan import CHANGE, ERROR, SKIP, UNCHANGED, FunctionState, Plan
from timeout_guard_cli.selection import FunctionRef

CHANGED = "changed"
WOULD_CHANGE = "would change"
SKIPPED = "skipped"
FAILED = "failed"
# Results that mean "ended as intended" (exit status 0).
OK_RESULTS = (CHANGED, WOULD_CHANGE, UNCHANGED, SKIPPED)

REPLANS = 3
_CONFLICTS = ("PreconditionFailedException", "ResourceConflictException")

Planner = Callable[[FunctionState], Plan]


@dataclass(frozen=True)
class Result:
    ref: FunctionRef
    result: str
    detail: str
    plan: Optional[Plan] = None

    @property
    def ok(self) -> bool:
        return self.result in OK_RESULTS


class UpdateFailedError(Exception):
    pass


@dataclass
class Waiter:
    """Polls ``GetFunctionConfiguration`` until no update is in progress and the function is
    no longer being created (``State`` Pending): Lambda refuses updates until then."""

    timeout: float = 300.0
    first_delay: float = 0.5
    max_delay: float = 5.0
    sleep: Callable[[float], None] = time.sleep

    def settled(self, client: Any, arn: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        delay = self.first_delay
        while True:
            config = client.get_function_configuration(FunctionName=arn)
            busy = (
                config.get("LastUpdateStatus") == "InProgress" or config.get("State") == "Pending"
            )
            if not busy:
                return config
            if time.monotonic() + delay > deadline:
                raise UpdateFailedError(f"update still in progress after {self.timeout:.0f} s")
            self.sleep(delay)
            delay = min(delay * 1.5, self.max_delay)


class Applier:
    def __init__(self, clients: Clients, planner: Planner, dry_run: bool, waiter: Waiter) -> None:
        self.clients = clients
        self.planner = planner
        self.dry_run = dry_run
        self.waiter = waiter

    def run(self, ref: FunctionRef) -> Result:
        """Never raises: any failure becomes this function's failed result."""
        try:
            return self._run(ref)
        except UpdateFailedError as exc:
            return Result(ref, FAILED, str(exc))
        except Exception as exc:  # carry on with the other functions, whatever happened here
            return Result(ref, FAILED, describe(exc))

    def _run(self, ref: FunctionRef) -> Result:
        client = self.clients.lambda_(ref.region)
        for _ in range(REPLANS):
            if self.dry_run:
                config = client.get_function_configuration(FunctionName=ref.arn)
            else:
                config = self.waiter.settled(client, ref.arn)
            plan = self.planner(FunctionState.from_configuration(config))
            if plan.outcome != CHANGE:
                return _not_changed(ref, plan)
            if self.dry_run:
                return Result(ref, WOULD_CHANGE, plan.reason, plan)
            try:
                client.update_function_configuration(**plan.update_arguments())
            except Exception as exc:
                if error_code(exc) in _CONFLICTS:
                    # changed or busy since we read it: a moment, then read and plan again
                    self.waiter.sleep(self.waiter.first_delay)
                    continue
                raise
            return self._settle(client, ref, plan)
        return Result(ref, FAILED, f"kept changing while we updated it ({REPLANS} tries)")

    def _settle(self, client: Any, ref: FunctionRef, plan: Plan) -> Result:
        config = self.waiter.settled(client, ref.arn)
        if config.get("LastUpdateStatus") == "Failed":
            reason = config.get("LastUpdateStatusReason") or "no reason given"
            return Result(ref, FAILED, f"Lambda reports the update failed: {reason}", plan)
        final = FunctionState.from_configuration(config)
        if final.variables != dict(plan.env_after) or final.layers != plan.layers_after:
            return Result(ref, FAILED, "configuration read back differs from the plan", plan)
        return Result(ref, CHANGED, plan.reason, plan)


def _not_changed(ref: FunctionRef, plan: Plan) -> Result:
    result = {UNCHANGED: UNCHANGED, SKIP: SKIPPED, ERROR: FAILED}[plan.outcome]
    return Result(ref, result, plan.reason, plan)


def apply_all(
    applier: Applier,
    refs: list[FunctionRef],
    parallel: int,
    on_done: Callable[[Result], None] = lambda result: None,
) -> list[Result]:
    """Run every function (``parallel`` at a time); results in the order of ``refs``."""
    results: dict[int, Result] = {}

    def one(index: int) -> None:
        results[index] = applier.run(refs[index])
        on_done(results[index])

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        list(pool.map(one, range(len(refs))))
    return [results[i] for i in range(len(refs))]
