"""A busy machine makes local setup slower, never fail: requests to our own servers wait (bounded)."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from sandbox.stack import SandboxError, post_patiently

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@contextmanager
def server_answering_from(attempt: int) -> Iterator[tuple[str, list[int]]]:
    """A loopback server that reads every request but answers only from the ``attempt``-th on
    (1-based); earlier connections are held open in silence, as a server too busy to answer."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    seen: list[int] = []
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            connection.recv(65536)
            seen.append(len(seen) + 1)
            if len(seen) >= attempt:
                connection.sendall(ANSWER)
                connection.close()
            else:
                held.append(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/moto-api/reset", seen
    finally:
        listener.close()
        for connection in held:
            connection.close()


def test_a_server_slow_to_answer_is_waited_for(caplog: pytest.LogCaptureFixture) -> None:
    with server_answering_from(attempt=3) as (url, seen), caplog.at_level(logging.WARNING):
        post_patiently(url, patience=30, attempt_seconds=0.3)
    assert seen == [1, 2, 3]
    assert "is slow to answer" in caplog.text


def test_a_server_silent_for_the_whole_patience_is_a_clear_error() -> None:
    with server_answering_from(attempt=10**6) as (url, seen), pytest.raises(SandboxError) as raised:
        post_patiently(url, patience=1.0, attempt_seconds=0.3)
    assert f"{url} did not answer within 1 s" in str(raised.value)
    assert "overloaded" in str(raised.value)
    assert len(seen) >= 2  # it tried again before giving up
