"""What a door does with one remote command from its queue: verify it, then say whether to act.

A command (``unlock`` for a few seconds, ``lockdown``, ``release``) comes from the API, signed
with the door command key: a key of its own, never the camera function's decision key, so a
decision cannot pose as a command nor the reverse. ``CommandCheck.handle`` accepts one only
when every check passes: its MAC (``door.controller.verified_claims`` with the command
key's verifier and ``facegate-command/1``), this door's id, a known action, an unlock's
seconds (a whole number, 1–30), a fresh ``issued_at`` (at most ``MAX_AGE`` old, at most
``MAX_CLOCK_SKEW`` ahead), and a command id never used before (``MessageMemory``, on disk
in the agent: ``door.used_messages``). Anything else is refused with its reason and never
accepted; the agent acts only on an accepted verdict.

Only fields inside the verified payload are trusted. ``message_kind`` reads the body's
unverified shape only to pick which verifier to try: a body that lies about its kind is
verified with the wrong key, and refused.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from door.controller import MacVerifier, MessageMemory, Refused, verified_claims

log = logging.getLogger(__name__)

VERSION = "facegate-command/1"  # the claims format the API signs (chalicelib/access/commands.py)
ACTIONS = frozenset({"unlock", "lockdown", "release"})
# A command is for now: one that waited longer than this in the queue (the door was off,
# the network down) is stale, and the person who sent it can send it again.
MAX_AGE = timedelta(seconds=30)
MAX_CLOCK_SKEW = timedelta(seconds=5)  # a command a little from the future is our clock's fault
MIN_SECONDS, MAX_SECONDS = 1, 30  # how long an unlock may hold the door open
COMMAND_ID = re.compile(r"[0-9a-f]{32}")
ISSUED_AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")
MAX_ACTOR = 128


@dataclass(frozen=True)
class CommandVerdict:
    accepted: bool
    reason: str  # why not, or "ok"
    command_id: str = ""
    action: str = ""  # unlock, lockdown or release ("" when nothing could be verified)
    seconds: int = 0  # an unlock's; 0 otherwise
    actor: str = ""  # who sent it (a username of the API's user pool), for the door's log
    issued_at: str = ""  # when the API signed it (UTC ISO-8601): orders a lockdown and a release


class CommandCheck:
    """One door's check of remote commands: its id, the command key's verifier, its memory."""

    def __init__(
        self,
        verifier: MacVerifier,
        door_id: str,
        memory: MessageMemory,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._verifier = verifier
        self._door_id = door_id
        self._memory = memory
        self._clock = clock

    def handle(self, body: str) -> CommandVerdict:
        """The verdict on one message body: accepted (act on ``action``) or refused, with why."""
        try:
            verdict = self._check(verified_claims(body, self._verifier, VERSION))
        except Refused as refusal:
            log.warning("command refused: %s", refusal)
            return CommandVerdict(False, str(refusal))
        log.info(
            "command %s accepted: %s %s (sent by %r)",
            verdict.command_id,
            verdict.action,
            f"for {verdict.seconds} s" if verdict.action == "unlock" else "",
            verdict.actor,
        )
        return verdict

    def _check(self, claims: dict[str, Any]) -> CommandVerdict:
        command_id = claims.get("command_id")
        if not isinstance(command_id, str) or not COMMAND_ID.fullmatch(command_id):
            raise Refused("command without a valid command id")
        door = claims.get("door_id")
        if door != self._door_id:
            raise Refused(f"command {command_id} for door {_shown(door)}, not this door")
        action = claims.get("action")
        if not isinstance(action, str) or action not in ACTIONS:
            raise Refused(f"command {command_id} has an unknown action {_shown(action)}")
        seconds = 0  # lockdown and release hold the door as they say, for no set time
        if action == "unlock":
            seconds = _unlock_seconds(command_id, claims.get("seconds"))
        actor = claims.get("actor")
        if not isinstance(actor, str) or not actor or len(actor) > MAX_ACTOR:
            raise Refused(f"command {command_id} names no sender")
        issued = _issued_at(command_id, claims.get("issued_at"))
        now = self._clock()
        if now - issued > MAX_AGE:
            raise Refused(f"command {command_id} is stale: issued {issued.isoformat()}")
        if issued - now > MAX_CLOCK_SKEW:
            raise Refused(f"command {command_id} is from the future: issued {issued.isoformat()}")
        # Remembered past the last instant it could still pass the age check.
        if not self._memory.claim(command_id, (issued + MAX_AGE + MAX_CLOCK_SKEW).timestamp()):
            raise Refused(f"command {command_id} was already used: replay")
        return CommandVerdict(True, "ok", command_id, action, seconds, actor, claims["issued_at"])


def message_kind(body: str) -> Literal["command", "decision"] | None:
    """Which check a queue message is for, from its unverified top-level shape: ``"command"``
    for a JSON object with a ``command`` field, ``"decision"`` for any other JSON object (the
    decision check refuses one unsigned), None for anything else (not JSON, not an object).
    It chooses the verifier, nothing more: trust comes only from the verifier of that kind."""
    try:
        document = json.loads(body)
    except (ValueError, TypeError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    return "command" if "command" in document else "decision"


def _unlock_seconds(command_id: str, raw: object) -> int:
    """An unlock's seconds: an int (JSON's ``true`` is a bool, ``5.0`` a float: neither), 1–30."""
    if isinstance(raw, bool) or not isinstance(raw, int) or not MIN_SECONDS <= raw <= MAX_SECONDS:
        raise Refused(
            f"command {command_id}: unlock seconds must be a whole number "
            f"from {MIN_SECONDS} to {MAX_SECONDS}, not {_shown(raw)}"
        )
    return raw


def _issued_at(command_id: str, raw: object) -> datetime:
    """``issued_at`` as UTC ISO-8601 ending in ``Z``, exactly (``fromisoformat`` alone reads
    week dates, offsets and naive times too)."""
    if not isinstance(raw, str) or not ISSUED_AT.fullmatch(raw):
        raise Refused(f"command {command_id} has an unreadable issued_at")
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Refused(f"command {command_id} has an unreadable issued_at") from None


def _shown(value: object) -> str:
    """A signed but unexpected value, cut short for the log (it came from the API's key, still)."""
    return repr(value)[:80]
