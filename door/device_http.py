"""The door's one HTTP client for devices (a network relay, a snapshot camera), and how a
device's URL is checked and named.

``http_get``'s deadline covers the whole request, so a device that trickles its answer cannot
hold the caller. A device is named to people by scheme, host and port only; a URL whose user
and password cannot be told apart from its host is refused (``ambiguous_url``).
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")  # RFC 3986's


def http_get(
    url: str,
    *,
    seconds: float,
    limit: int,
    handlers: Sequence[urllib.request.BaseHandler] = (),
    headers: Mapping[str, str] | None = None,
) -> tuple[int, bytes]:
    """GET ``url``: its status and the first ``limit`` bytes of its body (an error status's
    too), all within ``seconds``, connecting and headers included. Raises ``TimeoutError`` past
    them, and urllib's or http.client's own errors as they come. ``handlers`` are added to
    urllib's (authentication, proxies): not HTTP or HTTPS ones, whose sockets nothing could cut.

    urllib's timeout is per socket operation: a device sending a byte a second would never hit
    it. So the request runs on a worker thread, and at the deadline its sockets are shut down
    (which wakes the worker wherever it reads) and the caller gets its answer at once.
    """
    sockets = _Sockets()
    opener = urllib.request.build_opener(*handlers, _CuttableHandler(sockets))
    request = urllib.request.Request(url, headers=dict(headers or {}))
    outcome: list[tuple[int, bytes] | BaseException] = []

    def fetch() -> None:
        try:
            with opener.open(request, timeout=seconds) as response:
                outcome.append((response.status, response.read(limit)))
        except urllib.error.HTTPError as error:
            with error:
                outcome.append((error.code, error.read(limit)))
        except BaseException as error:  # anything at all goes to the caller's thread
            outcome.append(error)

    # A daemon: a worker stuck where a shutdown cannot reach (a name lookup) must not keep
    # the agent from exiting.
    worker = threading.Thread(target=fetch, name="http-get", daemon=True)
    worker.start()
    worker.join(seconds)
    if not outcome:
        sockets.cut()
        raise TimeoutError(f"no answer within {seconds:g} s")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


class _Sockets:
    """The sockets one request opened, so that its deadline can cut them."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._cut = False

    def add(self, sock: socket.socket) -> None:
        with self._guard:
            self._sockets.append(sock)
            cut = self._cut
        if cut:  # connected after the deadline: it goes at once
            _shut(sock)

    def cut(self) -> None:
        with self._guard:
            self._cut = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    # A shutdown, not a close: it wakes a read blocked on another thread at once, and the file
    # descriptor stays that thread's to close (closing it here could close a reused number).
    # The plain socket's method: on a TLS socket it works on the same descriptor.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Connection(http.client.HTTPConnection):
    """An HTTP connection that hands its socket to ``sockets`` once connected."""

    def __init__(self, host: str, *, sockets: _Sockets, **options: Any) -> None:
        super().__init__(host, **options)
        self._sockets = sockets

    def connect(self) -> None:
        super().connect()
        self._sockets.add(self.sock)


class _TlsConnection(http.client.HTTPSConnection):
    """An HTTPS connection that hands its (TLS) socket to ``sockets`` once connected."""

    def __init__(self, host: str, *, sockets: _Sockets, **options: Any) -> None:
        super().__init__(host, **options)
        self._sockets = sockets

    def connect(self) -> None:
        super().connect()
        self._sockets.add(self.sock)


class _CuttableHandler(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    """urllib's HTTP and HTTPS handlers (it uses this one instead of its own), with connections
    whose sockets a deadline can cut."""

    def __init__(self, sockets: _Sockets) -> None:
        super().__init__()
        self._sockets = sockets

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        def connection(host: str, /, **options: Any) -> http.client.HTTPConnection:
            return _Connection(host, sockets=self._sockets, **options)

        return self.do_open(connection, req)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        def connection(host: str, /, **options: Any) -> http.client.HTTPConnection:
            return _TlsConnection(host, sockets=self._sockets, **options)

        return self.do_open(connection, req)


def ambiguous_url(url: str) -> bool:
    """Whether ``url``'s user and password cannot be told apart from its host: an ``@`` after
    the authority has ended (an unencoded ``/``, ``?`` or ``#`` in the password), a port that is
    not a port (an unencoded ``:``), or no host. Such a URL goes to the wrong host, and any
    name made of it (a log line, a door event) carries the password. False for a string that
    is not a ``scheme://`` URL (a file path, ``usb:0``)."""
    scheme, found, rest = url.partition("://")
    if not found or not URL_SCHEME.fullmatch(scheme):
        return False
    authority_end = min((index for index in map(rest.find, "/?#") if index >= 0), default=len(rest))
    if "@" in rest[authority_end:]:
        return True
    try:
        parts = urllib.parse.urlsplit(url)  # raises for a bracket left open ("[fe80::1")
        _ = parts.port  # (what is asked is whether reading it raises)
    except ValueError:
        return True
    return not parts.hostname


def origin(parts: urllib.parse.SplitResult) -> str:
    """``scheme://host:port`` of a URL: how a device is named to people, with nothing of its
    user, password, path or query (where tokens live too)."""
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
