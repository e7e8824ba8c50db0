"""Fault injection at the HTTP layer of botocore: the real client, its real retries.

A fault answers (or breaks) a request before it leaves the process, so the SDK's retry
mode, the adapters and the pipeline see exactly what a failing AWS would give them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ReadTimeoutError

FAULTS = ("throttling", "server error", "timeout", "access denied", "malformed response")
TRANSIENT = {"throttling", "server error", "timeout"}


class _Raw(io.BytesIO):
    """What botocore reads a response from: a byte stream (streamed bodies use ``read``)."""

    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        yield self.getvalue()


ERROR_CODES = {
    "throttling": {
        "s3": (503, "SlowDown"),
        "dynamodb": (400, "ThrottlingException"),
        "sns": (400, "Throttling"),
        "kms": (400, "ThrottlingException"),
    },
    "server error": {
        "s3": (500, "InternalError"),
        "dynamodb": (500, "InternalServerError"),
        "sns": (500, "InternalError"),
        "kms": (500, "KMSInternalException"),
    },
    "access denied": {
        "s3": (403, "AccessDenied"),
        "dynamodb": (400, "AccessDeniedException"),
        "sns": (403, "AuthorizationError"),
        "kms": (400, "AccessDeniedException"),
    },
}


def _headers(content_type: str | None = None) -> HTTPHeaders:
    """Response headers as botocore's own transport hands them over."""
    headers = HTTPHeaders()
    if content_type is not None:
        headers["content-type"] = content_type
    return headers


def _error(service: str, fault: str) -> tuple[int, bytes, HTTPHeaders]:
    """The status, body and headers the service answers that fault with."""
    status, code = ERROR_CODES[fault][service]
    if service == "dynamodb":
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": fault}).encode()
        return status, body, _headers("application/x-amz-json-1.0")
    if service == "kms":
        body = json.dumps({"__type": code, "message": fault}).encode()
        return status, body, _headers("application/x-amz-json-1.1")
    error = f"<Code>{code}</Code><Message>{fault}</Message>"
    if service == "s3":
        return status, f"<Error>{error}</Error>".encode(), _headers()
    xml = f"<ErrorResponse><Error><Type>Sender</Type>{error}</Error></ErrorResponse>"
    return status, xml.encode(), _headers("text/xml")


class FaultInjector:
    """Fails matching requests with ``fault`` (the first ``times``, or all); counts them."""

    def __init__(
        self,
        service: str,
        operation: str,
        fault: str,
        match: Callable[[bytes], bool] = lambda _: True,
        times: int | None = None,
    ) -> None:
        self.service, self.operation, self.fault, self.match = service, operation, fault, match
        self.times = times
        self.attempts = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        if not self.match(body) or (self.times is not None and self.attempts >= self.times):
            return None
        self.attempts += 1
        if self.fault == "timeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        if self.fault == "malformed response":
            return AWSResponse(request.url, 200, _headers("text/plain"), _Raw(b"<<<garbage{{{"))
        status, payload, headers = _error(self.service, self.fault)
        return AWSResponse(request.url, status, headers, _Raw(payload))


@contextmanager
def injected(injector: FaultInjector) -> Iterator[FaultInjector]:
    """Attach the fault to every client the app builds while inside.

    Clients copy their session's event hooks when created, so the app's cached clients
    are dropped first and built again on a session that carries the fault.
    """
    from chalicelib import wiring

    wiring.reset()
    session = wiring._session()
    event = f"before-send.{injector.service}.{injector.operation}"
    # A before-send handler answers with a response; the stubs type every handler as -> None.
    handler: Callable[..., Any] = injector
    session.events.register(event, handler)
    try:
        yield injector
    finally:
        session.events.unregister(event, handler)
        wiring.reset()


def table_is(name: str) -> Callable[[bytes], bool]:
    """A request naming table ``name`` (``TableName``, or the first table of a batch's ``RequestItems``)."""
    marks = [
        f'"{field}":{space}{opening}"{name}"'.encode()
        for field, opening in (("TableName", ""), ("RequestItems", "{"))
        for space in ("", " ")
    ]
    return lambda body: any(mark in body for mark in marks)
