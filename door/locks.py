"""The door's lock behind the ``Lock`` port: a GPIO relay or a network relay (a command hook:
``door.command_lock``).

Every adapter locks again by itself after ``unlock(seconds)``, and turns whatever its device
says into ``HardwareFailed`` with a message for people: which relay, and why. Messages never
carry credentials: a relay is named by its URL's scheme, host and port only, and a URL whose
user and password cannot be told apart from its host is refused (``device_http.ambiguous_url``).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import math
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

from door.device_http import ambiguous_url, http_get, origin
from door.ports import HardwareFailed

log = logging.getLogger(__name__)

# How much of a device's own words (an error message, a hook's stderr) goes into ours.
DETAIL_LIMIT = 200
# A relay's answer to Switch.Set is a few dozen bytes; more is not a relay talking.
ANSWER_LIMIT = 64 * 1024


def check_seconds(seconds: float) -> None:
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"unlock time must be a positive number of seconds, not {seconds!r}")


def seconds_text(seconds: float) -> str:
    """``5`` for 5.0, ``2.5`` for 2.5: what a relay's query or a hook's argument expects."""
    return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))


def one_line(text: str, limit: int = DETAIL_LIMIT) -> str:
    """``text`` as one printable line of at most ``limit`` characters, keeping its end (where
    a program's last words, usually the reason it failed, are)."""
    words = "".join(c if c.isprintable() else " " for c in text).split()
    line = " ".join(words)
    return line if len(line) <= limit else "…" + line[-(limit - 1) :]


class _OutputDevice(Protocol):
    """What ``GpioRelayLock`` uses of gpiozero's ``OutputDevice``."""

    def on(self) -> None: ...

    def off(self) -> None: ...

    def close(self) -> None: ...


class GpioRelayLock:
    """A relay on a GPIO pin (gpiozero), with the unlock timer in this process.

    With ``fail_secure=True`` (an electric strike, the default) the relay energised means the
    door is released: the relay starts off, ``lock()`` and ``close()`` turn it off, and a box
    that loses power leaves the door locked. With ``fail_secure=False`` (a fail-safe maglock)
    the relay energised means the door is held: the relay starts on, ``unlock`` turns it off
    for the time asked, and ``lock()`` turns it on. A fail-safe lock releases whenever the box
    or its power dies (that is what fail-safe means, usually by fire code).

    ``active_high`` is the relay board's wiring: False for the common boards that switch on
    when the pin is driven low.
    """

    def __init__(
        self,
        pin: int | str,
        *,
        active_high: bool = True,
        fail_secure: bool = True,
        pin_factory: object | None = None,
    ) -> None:
        self._name = f"GPIO relay on pin {pin}"
        try:
            from gpiozero import OutputDevice
        except ImportError as error:
            raise HardwareFailed(f"{self._name}: gpiozero is not installed ({error})") from error
        # The device's "on" always means "door released": for a maglock that is the relay's
        # inactive level, so the device's polarity is the board's, inverted.
        released_level_high = active_high if fail_secure else not active_high
        try:
            self._relay: _OutputDevice = OutputDevice(
                pin, active_high=released_level_high, initial_value=False, pin_factory=pin_factory
            )
        except Exception as error:  # gpiozero's errors, or its pin library's: no relay to drive
            raise HardwareFailed(f"{self._name}: cannot be set up: {describe(error)}") from error
        self._guard = threading.Lock()
        self._timer: threading.Timer | None = None
        # Each unlock or lock starts a new generation: a timer of an earlier one that fires
        # late (it was already running when cancelled) must not cut a later unlock short.
        self._generation = 0

    def unlock(self, seconds: float) -> None:
        """Release the door for ``seconds``; an unlock while released extends to ``seconds``
        from now."""
        check_seconds(seconds)
        with self._guard:
            self._generation += 1
            self._cancel_timer()
            self._switch(self._relay.on, "release")
            self._timer = threading.Timer(seconds, self._expire, args=(self._generation,))
            self._timer.daemon = True  # close() locks; a stray timer must not keep the process alive
            self._timer.start()

    def lock(self) -> None:
        """Lock now."""
        with self._guard:
            self._generation += 1
            self._cancel_timer()
            self._switch(self._relay.off, "lock")

    def close(self) -> None:
        """Lock and release the pin (shutdown). Safe to call twice."""
        with self._guard:
            self._generation += 1
            self._cancel_timer()
            try:
                self._relay.off()
            except Exception as error:  # already closed, or the pin is gone: nothing more to do
                log.warning("%s: could not lock on close: %s", self._name, describe(error))
            self._relay.close()

    def _expire(self, generation: int) -> None:
        with self._guard:
            if generation != self._generation:
                return
            self._timer = None
            try:
                self._switch(self._relay.off, "lock after the unlock time")
            except HardwareFailed as failure:  # nobody to raise to on the timer's thread
                log.error("door may still be released: %s", failure)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _switch(self, action: Callable[[], None], what: str) -> None:
        try:
            action()
        except Exception as error:  # gpiozero's errors, or its pin library's
            raise HardwareFailed(f"{self._name}: could not {what}: {describe(error)}") from error


class _DigestSha256AuthHandler(urllib.request.HTTPDigestAuthHandler):
    """Digest authentication with SHA-256 too (RFC 7616), as Shelly Gen2+ devices ask for it;
    the standard library of Python 3.11 knows MD5 and SHA-1 only."""

    def get_algorithm_impls(self, algorithm: str) -> tuple[Callable[[str], str], Callable[[str, str], str]]:
        if algorithm != "SHA-256":
            return super().get_algorithm_impls(algorithm)

        def digest(text: str) -> str:
            return hashlib.sha256(text.encode("utf-8")).hexdigest()

        return digest, lambda secret, data: digest(f"{secret}:{data}")


class HttpRelayLock:
    """A network relay that speaks Shelly's Gen2+ RPC over HTTP (``Switch.Set``).

    The unlock asks the relay for ``toggle_after``, so the relay's own timer locks again even
    if this box dies while the door is released. Credentials go in the URL
    (``http://admin:secret@10.0.0.5``, special characters percent-encoded) and are sent as HTTP
    basic or digest authentication, whichever the relay asks for; they never appear in a
    message. ``timeout`` bounds each request whole. Proxy settings of the environment are
    ignored: the relay is on the door's own network.
    """

    def __init__(self, base_url: str, channel: int = 0, timeout: float = 2.0) -> None:
        # (The URL is never echoed: with an unencoded character its password is anywhere in it.)
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("relay URL must be http:// or https:// with a host")
        if ambiguous_url(base_url):
            raise ValueError("relay URL: percent-encode / ? # @ : in its user and password")
        if not (math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        host = parts.netloc.rpartition("@")[2]
        self._base = urllib.parse.urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))
        self._name = f"relay {origin(parts)} switch {channel}"
        self._channel = channel
        self._timeout = timeout
        self._passwords: urllib.request.HTTPPasswordMgrWithDefaultRealm | None = None
        if parts.username is not None:
            self._passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            user = urllib.parse.unquote(parts.username)
            self._passwords.add_password(None, self._base, user, urllib.parse.unquote(parts.password or ""))

    def unlock(self, seconds: float) -> None:
        """Switch the relay on, and let the relay switch itself off after ``seconds``."""
        check_seconds(seconds)
        self._switch_set(on=True, toggle_after=seconds_text(seconds))

    def lock(self) -> None:
        """Switch the relay off now."""
        self._switch_set(on=False)

    def _switch_set(self, on: bool, toggle_after: str | None = None) -> None:
        query = {"id": str(self._channel), "on": "true" if on else "false"}
        if toggle_after is not None:
            query["toggle_after"] = toggle_after
        url = f"{self._base}/rpc/Switch.Set?{urllib.parse.urlencode(query)}"
        answer = self._get(url)
        try:
            document = json.loads(answer)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            said = one_line(answer[:80].decode("utf-8", errors="replace"))
            raise HardwareFailed(f"{self._name}: the answer is not JSON: {said}") from None
        problem = _rpc_error(document)
        if problem:
            raise HardwareFailed(f"{self._name}: refused: {problem}")

    def _get(self, url: str) -> bytes:
        # Fresh handlers each time: the authentication handlers keep state between requests.
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
        if self._passwords is not None:
            handlers += [
                urllib.request.HTTPBasicAuthHandler(self._passwords),
                _DigestSha256AuthHandler(self._passwords),
            ]
        late = f"{self._name}: no answer within {self._timeout:g} s"
        try:
            status, body = http_get(url, seconds=self._timeout, limit=ANSWER_LIMIT, handlers=handlers)
        except TimeoutError:  # the deadline, or one socket operation's timeout: the same to people
            raise HardwareFailed(late) from None
        except urllib.error.URLError as error:  # refused, unknown host, TLS, a connect timeout
            if isinstance(error.reason, TimeoutError):
                raise HardwareFailed(late) from None
            raise HardwareFailed(f"{self._name}: no answer: {describe(error.reason)}") from None
        # urllib wraps only the errors of connecting: an answer cut short or garbled comes as it is.
        except (OSError, ValueError, http.client.HTTPException) as error:
            raise HardwareFailed(f"{self._name}: no answer: {describe(error)}") from None
        if status != 200:
            problem = _rpc_error(_json_or_none(body))
            raise HardwareFailed(f"{self._name}: HTTP {status}" + (f": {problem}" if problem else ""))
        return body


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _rpc_error(document: Any) -> str:
    """Why a Shelly RPC answer is not a success ("" when it is one): an error object
    (``{"code": .., "message": ..}``, bare or as JSON-RPC's ``error``), or not an object at all."""
    if not isinstance(document, dict):
        return "" if document is None else "the answer is not a JSON object"
    error = document.get("error", document)
    if isinstance(error, dict) and ("code" in error or "message" in error):
        return one_line(f"error {error.get('code')}: {error.get('message')}")
    return ""


def describe(error: object) -> str:
    """An exception (or a URLError's reason) as its type and one line of its text."""
    if isinstance(error, BaseException):
        text = one_line(str(error))
        return f"{type(error).__name__}: {text}" if text else type(error).__name__
    return one_line(str(error))
