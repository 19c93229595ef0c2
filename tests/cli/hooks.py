"""botocore event hooks for the in-process tests: record calls, inject what moto cannot do.

moto answers every call at once and never throttles: ``LastUpdateStatus`` is ``Successful``
straight after an update, there is no ``ThrottlingException``, no ``RevisionId``. These hooks
are registered on the boto3 session handed to ``main(argv, session=...)``, so the command's
own clients (created from that session) see them:

* ``before-parameter-build``: records every operation and function, in order;
* ``before-send``: answers a request with a canned AWS error (throttling, precondition failed)
  instead of sending it, the way botocore's own stubbing does;
* ``after-call``: edits ``GetFunctionConfiguration`` answers (an update still in progress, or
  failed).
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Optional
from urllib.parse import unquote

import boto3
from botocore.awsrequest import AWSResponse

READS = ("Get", "List")


def function_name(value: Optional[str]) -> Optional[str]:
    if value is None:
        return None
    return unquote(value).rsplit(":function:", 1)[-1].split(":")[0]


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **kwargs: Any):
        yield self._data


def error_response(url: str, status: int, code: str, message: str) -> AWSResponse:
    body = json.dumps({"Type": "User", "message": message}).encode()
    headers = {"x-amzn-ErrorType": code, "Content-Type": "application/json"}
    return AWSResponse(url, status, headers, _Body(body))


def request_function(request: Any) -> Optional[str]:
    """The function a Lambda REST request is about (``/functions/NAME/...``)."""
    parts = request.url.split("?")[0].split("/")
    if "functions" in parts:
        return function_name(parts[parts.index("functions") + 1])
    return None


class Hooks:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Optional[str]]] = []
        self._lock = threading.Lock()
        self.session = boto3.Session()
        self.session.events.register("before-parameter-build.lambda", self._record)

    def _record(self, params: dict, model: Any, **kwargs: Any) -> None:
        with self._lock:
            self.calls.append((model.name, function_name(params.get("FunctionName"))))

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]

    def writes(self) -> list[tuple[str, Optional[str]]]:
        return [call for call in self.calls if not call[0].startswith(READS)]

    def calls_for(self, name: str) -> list[str]:
        return [operation for operation, function in self.calls if function == name]

    def on_send(self, operation: str, answer: Callable[[Any], Optional[AWSResponse]]) -> None:
        """``answer(request)`` may return a response (the request is then not sent)."""
        self.session.events.register(
            f"before-send.lambda.{operation}", lambda request, **kw: answer(request)
        )

    def on_configuration(self, edit: Callable[[dict], None]) -> None:
        """``edit(parsed)`` on every ``GetFunctionConfiguration`` answer."""

        def handler(parsed: dict, **kwargs: Any) -> None:
            if "FunctionName" in parsed:
                edit(parsed)

        self.session.events.register("after-call.lambda.GetFunctionConfiguration", handler)
