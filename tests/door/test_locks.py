"""The lock adapters against real doubles: gpiozero's mock pins, a local HTTP relay that speaks
Shelly's ``Switch.Set`` (and fails on demand), and real commands."""

from __future__ import annotations

import hashlib
import http.server
import os
import signal
import socket
import threading
import time
import tracemalloc
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from door.command_lock import CommandLock
from door.locks import GpioRelayLock, HttpRelayLock
from door.ports import HardwareFailed


def eventually(condition: Callable[[], bool], within: float = 1.0) -> bool:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


# --- GPIO relay ---------------------------------------------------------------------------------


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.close()


def test_a_strike_relay_starts_off_is_on_while_unlocked_and_locks_itself(factory: MockFactory) -> None:
    lock = GpioRelayLock(17, pin_factory=factory)
    pin = factory.pin(17)
    assert pin.state is False
    lock.unlock(0.05)
    assert pin.state is True
    assert eventually(lambda: pin.state is False)
    lock.close()


def test_an_active_low_relay_board_is_driven_low_to_release(factory: MockFactory) -> None:
    lock = GpioRelayLock(17, active_high=False, pin_factory=factory)
    pin = factory.pin(17)
    assert pin.state is True
    lock.unlock(0.05)
    assert pin.state is False
    assert eventually(lambda: pin.state is True)
    lock.close()


def test_a_fail_safe_maglock_is_energised_to_hold_and_released_to_unlock(factory: MockFactory) -> None:
    lock = GpioRelayLock(17, fail_secure=False, pin_factory=factory)
    pin = factory.pin(17)
    assert pin.state is True  # energised: the door is held
    lock.unlock(0.05)
    assert pin.state is False
    assert eventually(lambda: pin.state is True)
    lock.unlock(10)
    lock.lock()
    assert pin.state is True
    lock.close()


def test_lock_locks_at_once(factory: MockFactory) -> None:
    lock = GpioRelayLock(17, pin_factory=factory)
    pin = factory.pin(17)
    lock.unlock(10)
    lock.lock()
    assert pin.state is False
    lock.close()


def test_an_unlock_while_released_extends_it(factory: MockFactory) -> None:
    lock = GpioRelayLock(17, pin_factory=factory)
    pin = factory.pin(17)
    first = time.monotonic()
    lock.unlock(0.3)
    time.sleep(0.1)
    second = time.monotonic()
    lock.unlock(0.6)
    time.sleep(max(0.0, first + 0.45 - time.monotonic()))  # past the first unlock's end
    if time.monotonic() < second + 0.5:  # (a very slow machine could be past the second's too)
        assert pin.state is True
    assert eventually(lambda: pin.state is False, within=2.0)
    lock.close()


def test_close_locks_and_lets_the_pin_go(factory: MockFactory) -> None:
    lock = GpioRelayLock(17, pin_factory=factory)
    lock.unlock(10)
    lock.close()
    assert factory.pin(17).state is False
    lock.close()  # twice is fine
    GpioRelayLock(17, pin_factory=factory).close()  # the pin is free again


def test_gpio_errors_are_hardware_failed(factory: MockFactory) -> None:
    lock = GpioRelayLock(17, pin_factory=factory)
    with pytest.raises(HardwareFailed, match=r"GPIO relay on pin 17: cannot be set up: GPIOPinInUse"):
        GpioRelayLock(17, pin_factory=factory)
    with pytest.raises(HardwareFailed, match=r"pin 99: cannot be set up"):
        GpioRelayLock(99, pin_factory=factory)
    lock.close()
    with pytest.raises(HardwareFailed, match=r"GPIO relay on pin 17: could not release"):
        lock.unlock(1)
    with pytest.raises(HardwareFailed, match=r"could not lock"):
        lock.lock()


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), float("inf")])
def test_an_unlock_time_of_no_sense_is_refused(factory: MockFactory, seconds: float) -> None:
    lock = GpioRelayLock(17, pin_factory=factory)
    with pytest.raises(ValueError):
        lock.unlock(seconds)
    assert factory.pin(17).state is False
    lock.close()


# --- HTTP relay ---------------------------------------------------------------------------------

REALM, NONCE, USER, PASSWORD = "shellypro1-abc123", "5f1e3a", "admin", "s3cret-pw"


@dataclass
class Relay:
    """What the local relay does with the next requests, and what it was asked."""

    url: str
    behaviour: str = "ok"
    auth: str = ""  # "", "basic" or "digest" (SHA-256, as Shelly Gen2+)
    queries: list[dict[str, list[str]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


# What the relay answers for each behaviour that is an answer: its status and body.
ANSWERS = {
    "ok": (200, b'{"was_on": false}'),
    "500": (500, b"Internal Server Error"),
    "not json": (200, b"<html>\x1b[31mhello\r\n</html>"),
    "json error": (400, b'{"code": -103, "message": "Invalid argument \'id\': no such component"}'),
    "json error with 200": (200, b'{"code": -114, "message": "Resource unavailable:\\nrelay overheated"}'),
    "deep json": (200, b"[" * 30_000 + b"]" * 30_000),  # valid, and nested past any parser's depth
}


class ShellyHandler(http.server.BaseHTTPRequestHandler):
    server: RelayServer

    def do_GET(self) -> None:
        relay = self.server.relay
        if relay.auth and not self._authorised(relay.auth):
            challenge = (
                f'Digest qop="auth", realm="{REALM}", nonce="{NONCE}", algorithm=SHA-256'
                if relay.auth == "digest"
                else f'Basic realm="{REALM}"'
            )
            self._answer(401, b"", {"WWW-Authenticate": challenge})
            return
        path, _, query = self.path.partition("?")
        relay.queries.append(urllib.parse.parse_qs(query))
        if path != "/rpc/Switch.Set":
            self._answer(404, b'{"code": 404, "message": "No handler for ' + path.encode() + b'"}')
        elif relay.behaviour in ANSWERS:
            self._answer(*ANSWERS[relay.behaviour])
        elif relay.behaviour == "garbled":
            self.wfile.write(b"garbage\r\n\r\n")
        elif relay.behaviour == "hang":
            relay.release.wait(5)
        elif relay.behaviour == "trickled headers":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            self._trickle(relay)
        elif relay.behaviour == "trickled body":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            self._trickle(relay)

    def _trickle(self, relay: Relay) -> None:
        """A byte every 50 ms for 2 s: each read is quick, the whole answer far too slow."""
        for _ in range(40):
            if relay.release.wait(0.05):
                return
            self.wfile.write(b"x")

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self, scheme: str) -> bool:
        header = self.headers.get("Authorization", "")
        if scheme == "basic":
            return header == "Basic " + _b64(f"{USER}:{PASSWORD}")
        if not header.startswith("Digest "):
            return False
        fields = urllib.request.parse_keqv_list(urllib.request.parse_http_list(header[len("Digest ") :]))
        a1 = _sha256(f"{USER}:{REALM}:{PASSWORD}")
        a2 = _sha256(f"GET:{fields['uri']}")
        expected = _sha256(f"{a1}:{NONCE}:{fields['nc']}:{fields['cnonce']}:auth:{a2}")
        return fields.get("algorithm") == "SHA-256" and fields["response"] == expected

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


class RelayServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    relay: Relay


@pytest.fixture
def relay() -> Iterator[Relay]:
    server = RelayServer(("127.0.0.1", 0), ShellyHandler)
    server.relay = Relay(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.relay
    server.relay.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_unlock_asks_the_relay_to_switch_back_by_itself(relay: Relay) -> None:
    lock = HttpRelayLock(relay.url + "/", channel=1)
    lock.unlock(5)
    lock.unlock(2.5)
    lock.lock()
    assert relay.queries == [
        {"id": ["1"], "on": ["true"], "toggle_after": ["5"]},
        {"id": ["1"], "on": ["true"], "toggle_after": ["2.5"]},
        {"id": ["1"], "on": ["false"]},
    ]


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("500", r": HTTP 500$"),
        ("not json", r": the answer is not JSON: <html> \[31mhello </html>$"),
        ("json error", r": HTTP 400: error -103: Invalid argument 'id': no such component$"),
        ("json error with 200", r": refused: error -114: Resource unavailable: relay overheated$"),
        ("garbled", r": no answer: BadStatusLine"),
        ("deep json", r": the answer is not JSON: \[\[\[\["),
        ("hang", r": no answer within 0.3 s$"),
        ("trickled headers", r": no answer within 0.3 s$"),
        ("trickled body", r": no answer within 0.3 s$"),
    ],
)
def test_a_relay_that_fails_is_hardware_failed_naming_it_and_the_cause(
    relay: Relay, behaviour: str, reason: str
) -> None:
    relay.behaviour = behaviour
    lock = HttpRelayLock(relay.url, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(HardwareFailed, match=rf"^relay {relay.url} switch 0{reason}") as failure:
        lock.unlock(5)
    assert "\n" not in str(failure.value) and "\x1b" not in str(failure.value)
    assert time.monotonic() - started < 1.5


def test_a_relay_that_refuses_the_connection_is_hardware_failed() -> None:
    lock = HttpRelayLock(f"http://127.0.0.1:{closed_port()}", timeout=0.5)
    with pytest.raises(HardwareFailed, match=r"no answer: ConnectionRefusedError"):
        lock.lock()


def test_credentials_are_never_in_a_message() -> None:
    port = closed_port()
    url = f"http://{USER}:{PASSWORD}@127.0.0.1:{port}/token-abc123/?key=xyz789"
    with pytest.raises(HardwareFailed) as failure:
        HttpRelayLock(url, timeout=0.5).unlock(5)
    assert PASSWORD not in str(failure.value) and USER not in str(failure.value)
    # Named by scheme, host and port only: a path or a query may hold a token too.
    assert str(failure.value).startswith(f"relay http://127.0.0.1:{port} switch 0: no answer: ")
    with pytest.raises(ValueError) as refusal:
        HttpRelayLock(f"ftp://{USER}:{PASSWORD}@relay.local/")
    assert PASSWORD not in str(refusal.value)


@pytest.mark.parametrize("scheme", ["basic", "digest"])
def test_credentials_in_the_url_are_sent_as_the_relay_asks(relay: Relay, scheme: str) -> None:
    relay.auth = scheme
    host = relay.url.removeprefix("http://")
    HttpRelayLock(f"http://{USER}:{PASSWORD}@{host}").unlock(5)
    assert relay.queries == [{"id": ["0"], "on": ["true"], "toggle_after": ["5"]}]
    with pytest.raises(HardwareFailed, match=r"HTTP 401") as failure:
        HttpRelayLock(f"http://{USER}:wrong-{PASSWORD}@{host}").unlock(5)
    assert PASSWORD not in str(failure.value)


@pytest.mark.parametrize(
    "password", ["Pa/ss-HUNTER2", "Pa?ss-HUNTER2", "Pa#ss-HUNTER2", "1234/HUNTER2", "Pa/ss-HUNTER2@x:99"]
)
def test_a_relay_url_whose_password_is_not_encoded_is_refused_without_echoing_it(password: str) -> None:
    # Unencoded, "/ ? #" end the host early: "admin:Pa" would be taken for the host, and the
    # rest of the password for the path, sent to that host and shown in every message.
    with pytest.raises(ValueError, match="percent-encode") as refusal:
        HttpRelayLock(f"http://admin:{password}@127.0.0.1:9")
    assert "HUNTER2" not in str(refusal.value) and "Pa" not in str(refusal.value)
    encoded = urllib.parse.quote(password, safe="")
    HttpRelayLock(f"http://admin:{encoded}@127.0.0.1:9")  # what the message asks for is taken


@pytest.mark.parametrize("url", ["ftp://relay.local", "relay.local", "file:///etc/passwd", "http://"])
def test_a_relay_url_must_be_http_or_https_with_a_host(url: str) -> None:
    with pytest.raises(ValueError, match="http:// or https://"):
        HttpRelayLock(url)


def test_proxy_settings_are_not_used_for_the_relay(relay: Relay, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("no_proxy", "")
    HttpRelayLock(relay.url).unlock(5)
    assert len(relay.queries) == 1


# --- command hook -------------------------------------------------------------------------------


def test_a_command_that_succeeds_unlocks_with_the_seconds_filled_in(tmp_path: Path) -> None:
    said = tmp_path / "said"
    script = 'printf "%s %s|" "$1" "$2" >> "$0"'
    lock = CommandLock(["sh", "-c", script, str(said), "{seconds}", "for-{seconds}s"], ["true"])
    lock.unlock(5)
    lock.unlock(2.5)
    lock.lock()
    assert said.read_text() == "5 for-5s|2.5 for-2.5s|"


def test_a_command_that_exits_non_zero_is_hardware_failed_with_its_last_words() -> None:
    script = r'printf "first line\n\033[31mthe relay said no\r\n" >&2; exit 3'
    lock = CommandLock(["sh", "-c", script, "token=abc123"], ["false"])
    with pytest.raises(HardwareFailed) as failure:
        lock.unlock(5)
    assert str(failure.value) == "lock command 'sh' exited 3: first line [31mthe relay said no"
    assert "abc123" not in str(failure.value)
    with pytest.raises(HardwareFailed, match=r"^lock command 'false' exited 1$"):
        lock.lock()


def test_a_command_that_says_too_much_is_told_in_one_bounded_line() -> None:
    script = "yes noise | head -n 20000 >&2; echo the end >&2; exit 1"
    with pytest.raises(HardwareFailed) as failure:
        CommandLock(["sh", "-c", script], ["true"]).unlock(5)
    message = str(failure.value)
    assert len(message) < 260 and "\n" not in message
    assert message.endswith("noise noise the end")


def test_a_command_flooding_stderr_costs_no_memory() -> None:
    flood = "yes noise | head -c 48000000 >&2; echo the relay said no >&2; exit 1"
    tracemalloc.start()
    try:
        with pytest.raises(HardwareFailed, match=r"noise noise the relay said no$"):
            CommandLock(["sh", "-c", flood], ["true"]).unlock(5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000  # its 48 MB went through, only its last words stayed


def test_a_command_that_exits_is_done_though_a_child_it_left_holds_its_stderr(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = 'setsid sleep 10 & echo $! > "$0"; echo started >&2; exit 0'
    started = time.monotonic()
    try:
        CommandLock(["sh", "-c", script, str(pid_file)], ["true"], timeout=1.5).unlock(5)
        assert time.monotonic() - started < 1.0  # not the 1.5 s timeout: done at its exit
    finally:
        assert eventually(lambda: pid_file.exists() and pid_file.read_text().strip() != "")
        os.kill(int(pid_file.read_text()), signal.SIGKILL)  # the sleep this test started


def test_a_command_that_hangs_is_killed_with_what_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = 'sleep 10 & echo $! > "$0"; wait'
    lock = CommandLock(["sh", "-c", script, str(pid_file)], ["sleep", "10"], timeout=0.5)
    started = time.monotonic()
    with pytest.raises(HardwareFailed, match=r"^lock command 'sh' did not finish within 0.5 s$"):
        lock.unlock(5)
    with pytest.raises(HardwareFailed, match=r"^lock command 'sleep' did not finish"):
        lock.lock()
    assert time.monotonic() - started < 1.8
    assert eventually(lambda: _gone(int(pid_file.read_text())))


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] in "ZX"  # a zombie is gone
    except (FileNotFoundError, ProcessLookupError):
        return True


def test_a_missing_program_is_hardware_failed() -> None:
    lock = CommandLock(["/nonexistent/unlock-door", "{seconds}"], ["true"])
    with pytest.raises(
        HardwareFailed, match=r"'/nonexistent/unlock-door' could not be run: FileNotFoundError"
    ):
        lock.unlock(5)


@pytest.mark.parametrize("argv", ["unlock-door 5", [], ["unlock", 5]])
def test_a_command_must_be_a_list_of_arguments(argv: Any) -> None:
    with pytest.raises(ValueError, match="non-empty list of arguments"):
        CommandLock(argv, ["true"])
