"""The two ways a command stops before touching any function, and their exit statuses."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """The command cannot run here (no credentials, no layer in a region, access denied).

    Raised before any write: the command changed nothing. Exit status 1.
    """

    exit_status = EXIT_FAILED


class UsageError(CommandError):
    """The command line is wrong (bad ``--set``, unknown function, bad ARN). Exit status 2."""

    exit_status = EXIT_USAGE
