"""boto3 plumbing: one session, one Lambda client per region, throttling retried, errors in words.

The standard AWS environment is boto3's own: ``AWS_PROFILE`` (or ``--profile``), credentials
from the usual chain, ``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_LAMBDA``.

Throttling: botocore's ``standard`` retry mode retries throttling errors
(``TooManyRequestsException``, ``ThrottlingException``...) with exponential backoff and full
jitter (a random delay up to 1, 2, 4... seconds, capped at 20 s), here for up to 10 attempts
per call. A user's ``AWS_MAX_ATTEMPTS`` / ``AWS_RETRY_MODE`` (environment or profile) win,
key by key. A call still throttled after that fails its function only; the others go on.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Optional

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from timeout_guard_cli.errors import CommandError, UsageError

MAX_ATTEMPTS = 10
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 60
USER_AGENT = "timeout-guard-cli"


def make_session(profile: Optional[str] = None) -> boto3.Session:
    try:
        return boto3.Session(profile_name=profile)
    except ProfileNotFound as exc:
        raise UsageError(str(exc)) from None


def check_credentials(session: boto3.Session) -> None:
    """Fail before any call, in one line, when the credential chain finds nothing."""
    try:
        found = session.get_credentials()
    except BotoCoreError as exc:
        raise command_error(exc) from None
    if found is None:
        raise command_error(NoCredentialsError())


def client_config(session: boto3.Session) -> Config:
    """Short timeouts (the product's own advice) and throttling retries under the user's choice."""
    retries: dict[str, Any] = {}
    if not _user_setting(session, "AWS_RETRY_MODE", "retry_mode"):
        retries["mode"] = "standard"
    if not _user_setting(session, "AWS_MAX_ATTEMPTS", "max_attempts"):
        retries["total_max_attempts"] = MAX_ATTEMPTS
    return Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries=retries,
        user_agent_extra=USER_AGENT,
    )


def _user_setting(session: boto3.Session, env_name: str, profile_key: str) -> bool:
    """Whether the user chose this retry setting (botocore reports its default otherwise)."""
    if os.environ.get(env_name):
        return True
    try:
        return bool(session._session.get_scoped_config().get(profile_key))
    except BotoCoreError:
        return False


class Clients:
    """Lambda clients by region, created once from one session (creation is not thread-safe)."""

    def __init__(self, session: boto3.Session) -> None:
        self.session = session
        self._config = client_config(session)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def default_region(self) -> Optional[str]:
        """boto3's (``AWS_DEFAULT_REGION``, the profile), else ``AWS_REGION`` as other SDKs read."""
        return self.session.region_name or os.environ.get("AWS_REGION") or None

    def lambda_(self, region: str) -> Any:
        with self._lock:
            if region not in self._clients:
                self._clients[region] = self.session.client(
                    "lambda", region_name=region, config=self._config
                )
            return self._clients[region]


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "")
    return ""


def describe(exc: BaseException) -> str:
    """One line for any error an AWS call can raise."""
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return (
            "no AWS credentials found: set AWS_PROFILE (or --profile), or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(exc, NoRegionError):
        return "no region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "")
        message = str(error.get("Message", "")).strip() or str(exc)
        return f"{operation}: {error.get('Code', 'Error')}: {message}"
    if isinstance(exc, EndpointConnectionError):
        return str(exc)
    if isinstance(exc, BotoCoreError):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"


def command_error(exc: BaseException, where: str = "") -> CommandError:
    """An AWS failure before any change, as the command's one error line."""
    prefix = f"{where}: " if where else ""
    return CommandError(prefix + describe(exc))
