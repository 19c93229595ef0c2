"""Read timeouts of operations that wait by design, so the tight default never breaks them.

A rule maps an operation's API parameters to the read timeout (seconds) its response may take,
or None to leave the client's read timeout. Lookup order, first hit wins: the user's
``TIMEOUT_GUARD_READ_TIMEOUTS`` operation entry, the user's service entry, the built-in
operation entry, the built-in service entry, the event-stream list. Services are named by the
client name (``boto3.client("stepfunctions")``) or by the event name botocore uses (``sfn``);
both are accepted.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Union

Rule = Callable[[Mapping[str, Any]], Optional[float]]

SQS_MAX_WAIT = 20.0  # the longest long poll, per request or set on the queue
EVENT_STREAM_READ_TIMEOUT = 300.0  # read timeout between two events of a stream
LAMBDA_MAX = 900.0

# Operations whose output is an event stream: botocore applies the read timeout between events.
# Made by scanning botocore 1.44.5's service models for operations whose output has an
# ``eventstream`` member (``OperationModel.has_event_stream_output``); tests/sdk/test_optable.py
# re-runs the scan against the installed botocore and fails when this list is out of date.
EVENT_STREAM_OPERATIONS: frozenset[str] = frozenset(
    {
        "bedrock-agent-runtime.AgenticRetrieveStream",
        "bedrock-agent-runtime.InvokeAgent",
        "bedrock-agent-runtime.InvokeFlow",
        "bedrock-agent-runtime.InvokeInlineAgent",
        "bedrock-agent-runtime.OptimizePrompt",
        "bedrock-agent-runtime.RetrieveAndGenerateStream",
        "bedrock-agentcore.InvokeAgentRuntimeCommand",
        "bedrock-agentcore.InvokeCodeInterpreter",
        "bedrock-agentcore.InvokeHarness",
        "bedrock-runtime.ConverseStream",
        "bedrock-runtime.InvokeModelWithBidirectionalStream",
        "bedrock-runtime.InvokeModelWithResponseStream",
        "connecthealth.StartMedicalScribeListeningSession",
        "devops-agent.SendMessage",
        "healthlake.UpdateProfileWithAgent",
        "iotsitewise.InvokeAssistant",
        "kinesis.SubscribeToShard",
        "lambda.InvokeWithResponseStream",
        "lex-runtime-v2.StartConversation",
        "cloudwatch-logs.GetLogObject",
        "cloudwatch-logs.StartLiveTail",
        "polly.StartSpeechSynthesisStream",
        "qbusiness.Chat",
        "s3.SelectObjectContent",
        "sagemaker-runtime.InvokeEndpointWithResponseStream",
    }
)


def _sync_invoke(params: Mapping[str, Any]) -> Optional[float]:
    """A synchronous Invoke waits for the function (up to 900 s); Event/DryRun answer at once."""
    return LAMBDA_MAX if is_sync_invoke(params) else None


def is_sync_invoke(params: Mapping[str, Any]) -> bool:
    return params.get("InvocationType", "RequestResponse") == "RequestResponse"


# Keys: "<service event name>.<Operation>" or "<service event name>"; values: seconds or a rule
# that receives the client's read timeout as well (see ``resolve``).
BUILTIN: dict[str, Union[float, str]] = {
    # Long poll: WaitTimeSeconds on the request, else the queue's default (at most 20 s).
    "sqs.ReceiveMessage": "sqs-wait",
    "sfn.GetActivityTask": 70.0,  # the service holds the poll for up to 60 s
    "sfn.StartSyncExecution": 310.0,  # Express sync executions run up to 5 minutes
    "swf.PollForActivityTask": 70.0,  # SWF asks for a socket timeout of at least 70 s
    "swf.PollForDecisionTask": 70.0,
    "lambda.Invoke": "sync-invoke",
    "lambda.InvokeWithResponseStream": LAMBDA_MAX,
    "bedrock-runtime": LAMBDA_MAX,  # model invocations: bounded by the Lambda deadline instead
    "bedrock-agent-runtime": LAMBDA_MAX,
    "sagemaker-runtime": LAMBDA_MAX,
    "redshift-data": 35.0,  # Data API calls may wait about 30 s
    "kinesis.SubscribeToShard": 310.0,  # a subscription lasts 5 minutes
}

# Client names whose event name differs (boto3.client(name) -> botocore event name).
ALIASES = {"stepfunctions": "sfn", "logs": "cloudwatch-logs", "lexv2-runtime": "lex-runtime-v2"}


def _fixed(seconds: Optional[float]) -> Rule:
    return lambda params: seconds


def resolve(
    names: tuple[str, ...],
    operation: str,
    user: Mapping[str, Optional[float]],
    client_read: float,
    own_read: float,
    user_chose_read: bool,
) -> Optional[Rule]:
    """The rule for one operation, or None when the client's read timeout applies unchanged.

    ``names``: the service's names (event name first). ``client_read``: the client's read
    timeout (the layer's unless the function chose one); ``own_read``: what the operation would
    get without the layer (the function's own read timeout, else botocore's 60 s), used for
    ``off``. ``user_chose_read``: built-in entries never go below the function's own choice.
    """
    for key in [f"{n}.{operation}" for n in names] + list(names):
        if key in user:
            value = user[key]
            return _fixed(own_read if value is None else value)
    event_name = names[0]
    builtin = BUILTIN.get(f"{event_name}.{operation}", BUILTIN.get(event_name))
    if builtin is None and f"{event_name}.{operation}" in EVENT_STREAM_OPERATIONS:
        builtin = EVENT_STREAM_READ_TIMEOUT
    if builtin is None:
        return None
    floor = client_read if user_chose_read else 0.0
    if builtin == "sqs-wait":

        def sqs_wait(params: Mapping[str, Any]) -> Optional[float]:
            wait = params.get("WaitTimeSeconds")
            if not isinstance(wait, (int, float)):
                wait = SQS_MAX_WAIT  # the queue's own default wait, invisible to the client
            return max(float(wait) + client_read, floor)

        return sqs_wait
    if builtin == "sync-invoke":

        def sync_invoke(params: Mapping[str, Any]) -> Optional[float]:
            seconds = _sync_invoke(params)
            return None if seconds is None else max(seconds, floor)

        return sync_invoke
    assert isinstance(builtin, float)
    return _fixed(max(builtin, floor))


def has_entries(names: tuple[str, ...], user: Mapping[str, Optional[float]]) -> bool:
    """Whether any rule can apply to this service (else no handler is registered at all)."""
    prefixes = tuple(f"{n}." for n in names)
    keys = list(user) + list(BUILTIN) + list(EVENT_STREAM_OPERATIONS)
    return any(k in names or k.startswith(prefixes) for k in keys)
