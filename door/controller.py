"""What a door does with one decision from its queue: verify, then unlock or refuse with a reason.

Every check must pass before ``unlock`` is called; whatever cannot be read or checked keeps
the door shut. Only fields inside the verified payload are trusted: the rest of the message
body (and the SNS message attributes the filter policy used) can be written by anyone who
may publish to the topic. The queue brings every decision for this door (the agent retries
after NO_FACE); only a fresh, first-seen AUTHORIZED for this very door opens it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

log = logging.getLogger(__name__)

VERSION = "facegate-decision/2"  # the claims format the camera function signs
# The pipeline never authorizes a photo decided more than 60 s after it was taken
# (MAX_AUTHORIZE_DELAY); a message older than that is a backlog or a replay.
MAX_AGE = timedelta(seconds=60)
# Clocks drift: a decision from a little in the future is our clock's fault, not an attack.
MAX_CLOCK_SKEW = timedelta(seconds=5)


class MacVerifier(Protocol):
    def verify(self, message: bytes, mac: bytes) -> bool:
        """True only when ``mac`` is the signing key's MAC of ``message``."""
        ...


class MessageMemory(Protocol):
    def claim(self, message_id: str, expires_at: float) -> bool:
        """True the first time ``message_id`` is claimed (until ``expires_at``, epoch seconds);
        False for a replay, or when the memory cannot promise it is not one."""
        ...


class RecentMessages:
    """Ids in memory only, forgotten at expiry: for tests and one-shot runs. The door agent
    keeps them on disk (``door.used_messages``), so a restart does not reopen the door."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def claim(self, message_id: str, expires_at: float) -> bool:
        now = self._clock()
        self._expiry = {known: until for known, until in self._expiry.items() if until > now}
        if message_id in self._expiry:
            return False
        self._expiry[message_id] = expires_at
        return True


@dataclass(frozen=True)
class Unlock:
    employee_id: str
    camera_id: str
    scan_id: str


@dataclass(frozen=True)
class Verdict:
    unlocked: bool
    reason: str  # why not, or "ok"
    scan_id: str = ""
    employee_id: str = ""
    status: str = ""  # the verified decision's status ("" when nothing could be verified)
    camera_id: str = ""


class Refused(Exception):
    """One failed check; its message is the reason logged."""


class DoorController:
    """One door: its id, its unlock action, the decisions it has used."""

    def __init__(
        self,
        verifier: MacVerifier,
        door_id: str,
        unlock: Callable[[Unlock], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        memory: MessageMemory | None = None,
    ) -> None:
        self._verifier = verifier
        self._door_id = door_id
        self._unlock = unlock
        self._clock = clock
        self._memory = memory if memory is not None else RecentMessages(lambda: self._clock().timestamp())

    def handle(self, body: str) -> Verdict:
        """Act on one message body (raw SNS delivery: the message's JSON for machines)."""
        try:
            claims = verified_claims(body, self._verifier, VERSION)
            return self._decide(claims)
        except Refused as refusal:
            log.warning("door stays shut: %s", refusal)
            return Verdict(False, str(refusal))

    def _decide(self, claims: dict[str, Any]) -> Verdict:
        scan_id = str(claims.get("scan_id") or "")
        employee = str(claims.get("employee_id") or "")
        camera = str(claims.get("camera_id") or "")
        status = str(claims.get("status") or "")
        door = claims.get("door_id")
        if door != self._door_id:
            raise Refused(f"scan {scan_id} is for door {door!r}, not this door")
        if status != "AUTHORIZED":  # a genuine decision for this door: the agent may retry
            log.info("scan %s at %s is %s: door stays shut", scan_id, camera, status)
            return Verdict(False, f"scan {scan_id} is {status}", scan_id, employee, status, camera)
        if not employee or not scan_id:
            raise Refused(f"scan {scan_id} is AUTHORIZED for no one")
        now = self._clock()
        captured = _moment(claims.get("captured_at"))
        decided = _moment(claims.get("decided_at"))
        if now - captured > MAX_AGE:
            raise Refused(f"scan {scan_id} is stale: captured {claims.get('captured_at')}")
        if max(captured, decided) - now > MAX_CLOCK_SKEW or decided < captured:
            raise Refused(f"scan {scan_id} has impossible times")
        # Remembered past the last instant it could still pass the age check.
        if not self._memory.claim(scan_id, (captured + MAX_AGE + MAX_CLOCK_SKEW).timestamp()):
            raise Refused(f"scan {scan_id} was already used: replay")
        self._unlock(Unlock(employee, camera, scan_id))
        log.info("door unlocked for %s at %s (scan %s)", employee, camera, scan_id)
        return Verdict(True, "ok", scan_id, employee, status, camera)


def verified_claims(body: str, verifier: MacVerifier, version: str) -> dict[str, Any]:
    """The signed claims of a message body, once its MAC and version are checked; ``Refused``
    with the reason otherwise. Nothing outside the signed payload is read."""
    try:
        signature = json.loads(body)["signature"]
        payload = signature["payload"]
        mac = base64.b64decode(signature["mac"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError):
        raise Refused("unsigned or unreadable message") from None
    try:  # not a string, or a lone surrogate from a JSON escape: no such bytes were ever signed
        message = payload.encode("utf-8")
    except (AttributeError, UnicodeEncodeError):
        raise Refused("unreadable signed payload") from None
    try:
        valid = verifier.verify(message, mac)
    except Exception as error:  # KMS unreachable, or it refused: no way to trust it
        raise Refused(f"signature could not be checked: {type(error).__name__}") from None
    if not valid:
        raise Refused("invalid signature")
    try:
        claims = json.loads(payload)
    except (ValueError, RecursionError):
        raise Refused("unreadable signed payload") from None
    if not isinstance(claims, dict) or claims.get("v") != version:
        raise Refused("unknown signed message version")
    return claims


def _moment(text: object) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise Refused(f"unreadable time {text!r}") from None
    if parsed.tzinfo is None:
        raise Refused(f"time without a zone {text!r}")
    return parsed
