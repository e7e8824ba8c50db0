"""Lambda's Invoke API for the sandbox's S3-triggered functions, on loopback HTTP.

moto's Lambda runs code in docker, which the sandbox does without; this endpoint serves the
one operation ``facegate dlq replay`` calls, as botocore's ``lambda`` model shapes it:
``POST /2015-03-31/functions/{FunctionName}/invocations`` (a name, an ARN or a partial ARN,
optionally ``:$LATEST``; ``?Qualifier=``), ``X-Amz-Invocation-Type`` ``RequestResponse`` (the
default) or ``DryRun``, the event as the body. It runs the stack's real handler
(``app.on_camera_upload`` / ``app.on_enrollment_upload``) in this process, with the stack's
environment, and answers 200 with the handler's JSON result, or 200 with
``X-Amz-Function-Error: Unhandled`` and ``{"errorType", "errorMessage", "stackTrace"}`` when it
raised, as Lambda does. Service errors are rest-json: ``x-amzn-ErrorType`` and
``{"Type", "message"}``. Signatures are not checked (local credentials only).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from infra.invocations import ASYNC_FUNCTIONS

PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
# Lambda's FunctionName pattern: [arn:aws:lambda:region:]account:function:]name[:qualifier]
FUNCTION_NAME = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:)?(?:\d{12}:)?(?:function:)?"
    r"(?P<name>[A-Za-z0-9_-]{1,64})(?::(?P<qualifier>[A-Za-z0-9$_-]+))?$"
)
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's limit for a synchronous invocation's request
log = logging.getLogger(__name__)


class _ServiceError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class LambdaEndpoint:
    """``facegate-<stage>-on_camera_upload`` and ``…-on_enrollment_upload`` on 127.0.0.1."""

    def __init__(self, stage: str, port: int = 0) -> None:
        self.functions = {f"facegate-{stage}-{handler}": handler for handler in ASYNC_FUNCTIONS}
        self.invocations: list[str] = []  # the functions invoked (not dry runs), in order
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="lambda", daemon=True)
        self._thread.start()

    def handler(self, raw_name: str, qualifier: str | None) -> str:
        """The app's handler for a FunctionName as the URI carries it; 404 for any other."""
        match = FUNCTION_NAME.match(unquote(raw_name))
        name = match["name"] if match else None
        qualifier = qualifier or (match["qualifier"] if match else None)
        if name not in self.functions or qualifier not in (None, "$LATEST"):
            shown = unquote(raw_name)[:140]
            raise _ServiceError(404, "ResourceNotFoundException", f"Function not found: {shown}")
        return self.functions[str(name)]

    def invoke(self, handler: str, event: Any) -> tuple[bytes, str | None]:
        """Run the real handler as Lambda does: its JSON result, or its error and ``Unhandled``."""
        import app

        with self._lock:
            self.invocations.append(handler)
        try:
            result = getattr(app, handler)(event, None)
        except Exception as error:  # what Lambda's Python runtime reports for an unhandled error
            log.exception("%s failed", handler)
            failure = {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "requestId": str(uuid.uuid4()),
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
            return json.dumps(failure).encode(), "Unhandled"
        return json.dumps(result, default=str).encode(), None

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _answer(
    endpoint: LambdaEndpoint, target: str, kind: str, raw: bytes
) -> tuple[int, bytes, dict[str, str]]:
    """Status, body and headers for one Invoke request (its path and query, its body)."""
    url = urlsplit(target)
    path = PATH.match(url.path)
    if path is None:
        raise _ServiceError(404, "UnknownOperationException", f"Unknown operation {url.path[:100]}")
    handler = endpoint.handler(path["name"], parse_qs(url.query).get("Qualifier", [None])[0])
    if kind == "DryRun":
        return 204, b"", {}
    if kind != "RequestResponse":
        message = f"the sandbox runs RequestResponse and DryRun only, not {kind[:40]}"
        raise _ServiceError(400, "InvalidParameterValueException", message)
    try:
        event = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise _ServiceError(
            400, "InvalidRequestContentException", "Could not parse request body into json"
        ) from None
    payload, function_error = endpoint.invoke(handler, event)
    headers = {"X-Amz-Executed-Version": "$LATEST"}
    if function_error:
        headers["X-Amz-Function-Error"] = function_error
    return 200, payload, headers


def _content_length(header: str | None) -> int:
    if header is None or not header.strip().isdigit():
        raise _ServiceError(400, "InvalidRequestContentException", "Content-Length must be a whole number")
    return int(header)


def _discard(stream: Any, length: int) -> None:
    """Read and drop ``length`` bytes of a request body, a chunk at a time."""
    while length > 0:
        chunk = stream.read(min(length, 65536))
        if not chunk:
            return
        length -= len(chunk)


def _handler_for(endpoint: LambdaEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects

        def do_POST(self) -> None:
            try:
                length = _content_length(self.headers.get("Content-Length"))
                if length > MAX_PAYLOAD_BYTES:
                    _discard(self.rfile, min(length, 4 * MAX_PAYLOAD_BYTES))  # else the sender sees a reset
                    raise _ServiceError(
                        413, "RequestTooLargeException", "Request must be smaller than 6291456 bytes"
                    )
                kind = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
                self._send(*_answer(endpoint, self.path, kind, self.rfile.read(length)))
            except _ServiceError as error:
                self.close_connection = True  # the body may be unread: the next request cannot start here
                body = json.dumps({"Type": "User", "message": error.message}).encode()
                # Said, so the client's pool opens a new connection for its next request.
                self._send(error.status, body, {"x-amzn-ErrorType": error.code, "Connection": "close"})

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the sandbox prints its own lines

    return Handler
