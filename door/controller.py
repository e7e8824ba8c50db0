"""What a door does with one message from its queue: verify, then unlock or refuse with a reason.

Every check must pass before ``unlock`` is called; whatever cannot be read or checked keeps
the door shut. Only fields inside the verified payload are trusted: the rest of the message
body (and the SNS message attributes the filter policy used) can be written by anyone who
may publish to the topic.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

log = logging.getLogger(__name__)

VERSION = "facegate-decision/1"  # the claims format the camera function signs
# The pipeline never authorizes a photo decided more than 60 s after it was taken
# (MAX_AUTHORIZE_DELAY); a message older than that is a backlog or a replay.
MAX_AGE = timedelta(seconds=60)
# Clocks drift: a decision from a little in the future is our clock's fault, not an attack.
MAX_CLOCK_SKEW = timedelta(seconds=5)


class MacVerifier(Protocol):
    def verify(self, message: bytes, mac: bytes) -> bool:
        """True only when ``mac`` is the signing key's MAC of ``message``."""
        ...


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


class Refused(Exception):
    """One failed check; its message is the reason logged."""


class DoorController:
    """One door: the cameras that belong to it, its unlock action, what it has seen."""

    def __init__(
        self,
        verifier: MacVerifier,
        cameras: set[str],
        unlock: Callable[[Unlock], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._verifier = verifier
        self._cameras = cameras
        self._unlock = unlock
        self._clock = clock
        # Scan ids that opened the door, with when they were captured. Anything captured
        # more than MAX_AGE ago is refused as stale anyway, so older ids can be forgotten.
        self._seen: OrderedDict[str, datetime] = OrderedDict()

    def handle(self, body: str) -> Verdict:
        """Act on one message body (raw SNS delivery: the message's JSON for machines)."""
        try:
            claims = self._verified_claims(body)
            return self._decide(claims)
        except Refused as refusal:
            log.warning("door stays shut: %s", refusal)
            return Verdict(False, str(refusal))

    def _verified_claims(self, body: str) -> dict[str, Any]:
        try:
            signature = json.loads(body)["signature"]
            payload = signature["payload"]
            mac = base64.b64decode(signature["mac"], validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise Refused("unsigned or unreadable message") from None
        if not isinstance(payload, str):
            raise Refused("unreadable signed payload")
        try:
            valid = self._verifier.verify(payload.encode("utf-8"), mac)
        except Exception as error:  # KMS unreachable, or it refused: no way to trust it
            raise Refused(f"signature could not be checked: {type(error).__name__}") from None
        if not valid:
            raise Refused("invalid signature")
        try:
            claims = json.loads(payload)
        except ValueError:
            raise Refused("unreadable signed payload") from None
        if not isinstance(claims, dict) or claims.get("v") != VERSION:
            raise Refused("unknown signed message version")
        return claims

    def _decide(self, claims: dict[str, Any]) -> Verdict:
        scan_id = str(claims.get("scan_id") or "")
        employee = str(claims.get("employee_id") or "")
        camera = str(claims.get("camera_id") or "")
        if claims.get("status") != "AUTHORIZED" or not employee or not scan_id:
            raise Refused(f"scan {scan_id} is {claims.get('status')}, not AUTHORIZED")
        if camera not in self._cameras:
            raise Refused(f"scan {scan_id} is from camera {camera!r}, not one of this door's")
        now = self._clock()
        captured = _moment(claims.get("captured_at"))
        decided = _moment(claims.get("decided_at"))
        if now - captured > MAX_AGE:
            raise Refused(f"scan {scan_id} is stale: captured {claims.get('captured_at')}")
        if max(captured, decided) - now > MAX_CLOCK_SKEW or decided < captured:
            raise Refused(f"scan {scan_id} has impossible times")
        self._forget_before(now - MAX_AGE - MAX_CLOCK_SKEW)
        if scan_id in self._seen:
            raise Refused(f"scan {scan_id} was already used: replay")
        self._seen[scan_id] = captured
        self._unlock(Unlock(employee, camera, scan_id))
        log.info("door unlocked for %s at %s (scan %s)", employee, camera, scan_id)
        return Verdict(True, "ok", scan_id, employee)

    def _forget_before(self, cutoff: datetime) -> None:
        for scan_id, captured in list(self._seen.items()):
            if captured < cutoff:
                del self._seen[scan_id]


def _moment(text: object) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise Refused(f"unreadable time {text!r}") from None
    if parsed.tzinfo is None:
        raise Refused(f"time without a zone {text!r}")
    return parsed
