"""The stage's HTTP API as Python calls: JSON in, JSON out, one refresh on an expired token.

Safe to share between threads (``facegate import`` runs several workers on one client).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Protocol

TIMEOUT_SECONDS = 60  # an enrollment photo through the local engine on a cold container


class TokenSource(Protocol):
    """Where bearer tokens come from (``facegate_cli.tokens``)."""

    def access_token(self) -> str:
        """A current access token (refreshed first when it is about to expire)."""
        ...

    def refreshed(self) -> str:
        """A new access token, after the API refused the current one."""
        ...


class ApiError(Exception):
    """The API answered with an error status; ``message`` is its ``{"message": …}`` text."""

    def __init__(self, status: int, message: str, body: object = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.body = body


class ApiClient:
    """``get``/``post``/``put``/``patch``/``delete`` on one stage's API with the admin's token."""

    def __init__(self, base_url: str, tokens: TokenSource, timeout: float = TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._timeout = timeout

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: object = None) -> Any:
        return self.request("POST", path, body=body)

    def put(self, path: str, body: object, params: dict[str, str] | None = None) -> Any:
        return self.request("PUT", path, params=params, body=body)

    def patch(self, path: str, body: object) -> Any:
        return self.request("PATCH", path, body=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def request(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: object = None
    ) -> Any:
        """The decoded JSON answer (None for an empty one); ``ApiError`` for a 4xx/5xx."""
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        data = None if body is None else json.dumps(body).encode()
        try:
            return self._send(method, url, data, self._tokens.access_token())
        except ApiError as error:
            if error.status != 401:
                raise
        return self._send(method, url, data, self._tokens.refreshed())

    def _send(self, method: str, url: str, data: bytes | None, token: str) -> Any:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with OPENER.open(request, timeout=self._timeout) as answer:
                return _decoded(answer.read())
        except urllib.error.HTTPError as error:
            body = _decoded(error.read())
            message = body.get("message") if isinstance(body, dict) else None
            raise ApiError(error.code, _redacted(str(message or error.reason)), body) from None


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """The API never redirects: following one would hand the bearer token to another host."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        raise ApiError(
            code,
            f"the API answered with a redirect to {_redacted(newurl)}: refused, not followed "
            "(check the stage's API URL)",
        )


OPENER = urllib.request.build_opener(_RefuseRedirects)

# A JWT: three base64url parts, the first two JSON objects ("eyJ" is how '{"' starts).
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
MAX_MESSAGE = 500


def _redacted(message: str) -> str:
    """The message without any token in it (a gateway may echo the Authorization header)."""
    message = JWT.sub("<token>", message)
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + "…"


def segment(value: str) -> str:
    """``value`` as one URL path segment: the API validates ids, the URL must not be bent by
    them (an id's ``:``, ``.`` or ``/``)."""
    return urllib.parse.quote(value, safe="")


def _decoded(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return {"message": raw[:200].decode(errors="replace")}
