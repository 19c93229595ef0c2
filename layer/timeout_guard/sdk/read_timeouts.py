"""Read timeouts of operations that wait by design, so the tight default never breaks them.

A rule maps an operation's API parameters to the read timeout (seconds) its response may take.
Lookup order, first hit wins: the user's ``TIMEOUT_GUARD_READ_TIMEOUTS`` operation entry, the
user's service entry, the built-in operation entry, the built-in service entry, then any
operation whose output is an event stream (botocore's own model says so; the read timeout then
applies between two events). Services are named by the client name
(``boto3.client("stepfunctions")``) or by the event name botocore uses (``sfn``); both work.
"""

from __future__ import annotations

from typing import Any, Optional

TYPE_CHECKING = False  # the aliases below are for annotations only: no typing work at import
if TYPE_CHECKING:
    from typing import Callable, Mapping

    Params = Mapping[str, Any]
    Rule = Callable[[Params], Optional[float]]  # None: the client's read timeout applies
    # A built-in entry: (the client's read timeout, the floor) -> the rule.
    Builtin = Callable[[float, float], Rule]

SQS_MAX_WAIT = 20.0  # the longest long poll, per request or set on the queue
EVENT_STREAM_READ_TIMEOUT = 300.0  # between two events of a stream
LAMBDA_MAX = 900.0


def fixed(seconds: float) -> Builtin:
    """A fixed read timeout, never below a read timeout the function chose itself (the floor)."""

    def make(client_read: float, floor: float) -> Rule:
        value = max(seconds, floor)
        return lambda params: value

    return make


def sqs_long_poll(client_read: float, floor: float) -> Rule:
    """``WaitTimeSeconds`` on the request, else the queue's own wait (at most 20 s), plus the
    client's read timeout for the answer itself."""

    def rule(params: Params) -> Optional[float]:
        wait = params.get("WaitTimeSeconds")
        if not isinstance(wait, (int, float)):
            wait = SQS_MAX_WAIT  # the queue's default wait is invisible to the client
        return max(float(wait) + client_read, floor)

    return rule


def is_sync_invoke(params: Params) -> bool:
    return params.get("InvocationType", "RequestResponse") == "RequestResponse"


def sync_invoke(client_read: float, floor: float) -> Rule:
    """A synchronous Invoke waits for the function (up to 900 s); Event, DryRun answer at once."""
    return lambda params: max(LAMBDA_MAX, floor) if is_sync_invoke(params) else None


# "<service event name>.<Operation>" or "<service event name>" -> built-in rule.
BUILTIN: dict[str, Builtin] = {
    "sqs.ReceiveMessage": sqs_long_poll,
    "sfn.GetActivityTask": fixed(70.0),  # the service holds the poll for up to 60 s
    "sfn.StartSyncExecution": fixed(310.0),  # Express sync executions run up to 5 minutes
    "swf.PollForActivityTask": fixed(70.0),  # SWF asks for a socket timeout of at least 70 s
    "swf.PollForDecisionTask": fixed(70.0),
    "lambda.Invoke": sync_invoke,
    "lambda.InvokeWithResponseStream": fixed(LAMBDA_MAX),
    "bedrock-runtime": fixed(LAMBDA_MAX),  # model invocations: bounded by the Lambda deadline
    "bedrock-agent-runtime": fixed(LAMBDA_MAX),
    "sagemaker-runtime": fixed(LAMBDA_MAX),
    "redshift-data": fixed(35.0),  # Data API calls may wait about 30 s
    "kinesis.SubscribeToShard": fixed(310.0),  # a subscription lasts 5 minutes
}
EVENT_STREAM = fixed(EVENT_STREAM_READ_TIMEOUT)

# Client names whose event name differs (boto3.client(name) -> botocore event name).
ALIASES = {"stepfunctions": "sfn", "logs": "cloudwatch-logs", "lexv2-runtime": "lex-runtime-v2"}


def service_names(event_name: str, client_name: Optional[str]) -> tuple[str, ...]:
    """Every name the service goes by: its event name first, then the client name and aliases."""
    names = [n for n in (event_name, client_name) if n]
    names += [ALIASES.get(n, n) for n in names]
    return tuple(dict.fromkeys(names))


def resolve(
    names: tuple[str, ...],
    operation: Any,
    user: Mapping[str, Optional[float]],
    client_read: float,
    own_read: float,
    user_chose_read: bool,
) -> Optional[Rule]:
    """The rule for one operation (a botocore ``OperationModel``), or None for no change.

    ``client_read``: the client's read timeout (the layer's unless the function chose one);
    ``own_read``: what the operation would get without the layer (the function's own read
    timeout, else botocore's 60 s), used for ``off``; ``user_chose_read``: built-in entries
    never go below the function's own choice.
    """
    name = operation.name
    for key in [f"{n}.{name}" for n in names] + list(names):
        if key in user:
            value = user[key]
            seconds = own_read if value is None else value
            return lambda params: seconds
    event_name = names[0]
    builtin = BUILTIN.get(f"{event_name}.{name}", BUILTIN.get(event_name))
    if builtin is None and getattr(operation, "has_event_stream_output", False):
        builtin = EVENT_STREAM
    if builtin is None:
        return None
    return builtin(client_read, client_read if user_chose_read else 0.0)
