"""The service on loopback HTTP, as boto3 reaches Rekognition: JSON 1.1, ``POST /``.

``X-Amz-Target: RekognitionService.<Operation>`` names the operation; answers carry
``Content-Type: application/x-amz-json-1.1`` and ``x-amzn-RequestId``; errors are
``{"__type", "Code", "Message"}`` with the HTTP status the service uses, which botocore
parses into ``ClientError``. Signatures are not checked. Faults can be injected per call
(``fail_next``) so the SDK's own retry loop runs against them.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sandbox.rekognition.errors import ServiceError
from sandbox.rekognition.service import RekognitionService
from sandbox.rekognition.wire import encode_response

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "RekognitionService."
MAX_BODY_BYTES = 16 * 1024 * 1024  # base64 of a 5 MB image, and room for the rest


@dataclass
class _Fault:
    remaining: int
    code: str
    status: int
    operation: str | None


class RekognitionEndpoint:
    """A Rekognition-compatible endpoint on 127.0.0.1, for ``AWS_ENDPOINT_URL_REKOGNITION``."""

    def __init__(self, port: int = 0, service: RekognitionService | None = None) -> None:
        self.service = service or RekognitionService()
        self.calls: list[str] = []  # operation names, in order, injected faults included
        self._lock = threading.Lock()  # one request at a time: dlib's DNN is not thread-safe
        self._faults: list[_Fault] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="rekognition", daemon=True)
        self._thread.start()

    def count(self, operation: str) -> int:
        """How many requests named ``operation`` arrived (failed ones included)."""
        return Counter(self.calls)[operation]

    def fail_next(
        self,
        count: int = 1,
        code: str = "ThrottlingException",
        status: int = 400,
        operation: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests (of ``operation``, or any) with this error.

        ``("ThrottlingException", 400)`` and ``("InternalServerError", 500)`` are what the
        SDK retries; ``("AccessDeniedException", 400)`` it does not.
        """
        with self._lock:
            self._faults.append(_Fault(count, code, status, operation))

    @property
    def pending(self) -> int:
        """How many injected faults are still to be answered."""
        with self._lock:
            return sum(fault.remaining for fault in self._faults)

    def answer(self, operation: str, body: Any) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON body for one request."""
        with self._lock:
            self.calls.append(operation)
            fault = next((f for f in self._faults if f.operation in (None, operation)), None)
            if fault is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault.status, _error(fault.code, "Injected by the sandbox endpoint")
            try:
                return 200, encode_response(self.service.handle(operation, body))
            except ServiceError as error:
                return error.status, _error(error.code, error.message)
            except Exception as error:  # the service's bug, answered as the service would
                return 500, _error("InternalServerError", f"{type(error).__name__}: {error}")

    def client(self) -> RekognitionClient:
        """A boto3 client that talks to this endpoint (with throwaway local credentials)."""
        import boto3

        return boto3.client(
            "rekognition",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
        )

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RekognitionEndpoint:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def _error(code: str, message: str) -> dict[str, Any]:
    return {"__type": code, "Code": code, "Message": message}


def _handler_for(endpoint: RekognitionEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self.close_connection = True
                self._send(413, _error("RequestEntityTooLargeException", "Request body too large"))
                return
            raw = self.rfile.read(length)
            target = self.headers.get("X-Amz-Target", "")
            if not target.startswith(TARGET_PREFIX) or self.path != "/":
                self._send(400, _error("UnknownOperationException", f"Unknown operation {target!r}"))
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._send(400, _error("SerializationException", "The request body is not JSON"))
                return
            self._send(*endpoint.answer(target[len(TARGET_PREFIX) :], body))

        def _send(self, status: int, answer: dict[str, Any]) -> None:
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the tests' output stays readable; __main__ prints its own lines

    return Handler
