"""botocore errors for attempts cut short by the Lambda deadline.

Subclasses of botocore's own timeout errors, so code that catches ``ReadTimeoutError`` or
``ConnectTimeoutError`` (or ``botocore.exceptions.BotoCoreError``) handles them unchanged; the
message says why the attempt was short, so nobody goes looking for a network problem.
"""

from __future__ import annotations

from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError


class DeadlineNotSentError(ConnectTimeoutError):
    """Not sent: too little time is left before the Lambda deadline for an attempt."""

    fmt = (
        'Not sent to endpoint URL "{endpoint_url}": the Lambda deadline is near '
        "({left_ms} ms left before Timeout Guard fires); not retried"
    )


class DeadlineReadTimeoutError(ReadTimeoutError):
    """An attempt shortened to fit before the Lambda deadline timed out: not retried."""

    fmt = (
        'Read timeout on endpoint URL "{endpoint_url}" after {timeout_s} s: the attempt was '
        "shortened because the Lambda deadline is near; not retried"
    )


class DeadlineConnectTimeoutError(ConnectTimeoutError):
    """A connect shortened to fit before the Lambda deadline timed out: not retried."""

    fmt = (
        'Connect timeout on endpoint URL "{endpoint_url}" after {timeout_s} s: the attempt was '
        "shortened because the Lambda deadline is near; not retried"
    )
