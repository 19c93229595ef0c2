"""A loopback stand-in for Lambda's durable execution API (what the durable SDK calls).

``CheckpointDurableExecution`` accepts every checkpoint and hands out the next token;
``GetDurableExecutionState`` has no more pages. The checkpoints are kept for the test.
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class DurableService:
    def __init__(self) -> None:
        self.checkpoints: list[dict[str, Any]] = []
        tokens = itertools.count(1)
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, document: dict[str, Any]) -> None:
                data = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                service.checkpoints.append(json.loads(body or b"{}"))
                state = {"Operations": [], "NextMarker": ""}
                self._send({"CheckpointToken": f"token-{next(tokens)}", "NewExecutionState": state})

            def do_GET(self) -> None:  # noqa: N802
                self._send({"Operations": [], "NextMarker": ""})

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self.endpoint_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def durable_event(execution: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The input Lambda gives a durable function's invocation (first invocation, no replay)."""
    invocation_id = "invocation-1"
    function = "arn:aws:lambda:us-east-1:123456789012:function:local-function"
    arn = f"{function}/durable-execution/{execution}/{invocation_id}"
    operation = {
        "Id": invocation_id,
        "Type": "EXECUTION",
        "Status": "STARTED",
        "StartTimestamp": 1767225600,
        "ExecutionDetails": {"InputPayload": json.dumps(payload)},
    }
    return {
        "DurableExecutionArn": arn,
        "CheckpointToken": "token-0",
        "InitialExecutionState": {"Operations": [operation], "NextMarker": ""},
    }
