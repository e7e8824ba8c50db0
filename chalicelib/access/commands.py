"""Remote door commands as they travel: the signed claims, the message body, the request bodies.

A command goes straight to the door's own queue (never through the decisions topic) and is
signed with the door command key (``FACEGATE_COMMAND_KEY``), a KMS HMAC key only the API's
role may use: a decision signed by the camera function is never a command, nor the reverse.
The door agent (``door/commands.py``, which never imports this) verifies the MAC over the
exact payload string, then trusts only the fields inside it::

    {"command": {<the claims, readable>},
     "signature": {"algorithm": "HMAC_SHA_256", "key_id": "...",
                   "payload": "<canonical JSON of the claims>", "mac": "<base64>"}}

Claims (``facegate-command/1``): ``v``, ``command_id`` (32 random hex), ``door_id``,
``action`` (``unlock``, ``lockdown``, ``release``), ``seconds`` (1–30 for an unlock, 0
otherwise), ``issued_at`` (UTC, milliseconds, ``Z``), ``actor`` (the caller's username) and
``key_id``. The door refuses a command issued more than ``MAX_AGE_SECONDS`` ago.
``tests/api/test_door_commands.py`` pins this format against the door's check.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime, timedelta
from typing import Any, Final

from chalicelib.access.documents import reason_text
from chalicelib.core.errors import BadRequest, SigningFailed
from chalicelib.core.local_days import iso_ms
from chalicelib.core.ports import MessageSigner

VERSION = "facegate-command/1"
ALGORITHM: Final = "HMAC_SHA_256"
ACTIONS = ("unlock", "lockdown", "release")
# The door refuses a command older than this (door/commands.py MAX_AGE): the answer's expires_at.
MAX_AGE_SECONDS = 30
MIN_SECONDS, MAX_SECONDS, DEFAULT_SECONDS = 1, 30, 5

Claims = dict[str, str | int]


def claims_for(door_id: str, action: str, seconds: int, actor: str, issued: datetime, key_id: str) -> Claims:
    """A new command's claims: a fresh random id every time (the door uses each id once)."""
    if action not in ACTIONS:
        raise ValueError(f"no door command {action!r}")
    return {
        "v": VERSION,
        "command_id": secrets.token_hex(16),
        "door_id": door_id,
        "action": action,
        "seconds": seconds if action == "unlock" else 0,
        "issued_at": iso_ms(issued),
        "actor": actor,
        "key_id": key_id,
    }


def expires_at(issued: datetime) -> str:
    """The last instant the door still accepts a command issued at ``issued``."""
    return iso_ms(issued + timedelta(seconds=MAX_AGE_SECONDS))


def canonical(claims: Claims) -> str:
    """Sorted keys, no insignificant whitespace, ASCII only: the same claims, the same bytes."""
    return json.dumps(claims, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def message_body(claims: Claims, signer: MessageSigner) -> str:
    """The message the door's queue receives: the readable claims and their signature."""
    payload = canonical(claims)
    try:
        mac = signer.sign(payload.encode("ascii"))
    except Exception as error:
        raise SigningFailed(
            f"could not sign command {claims['command_id']}: {type(error).__name__}"
        ) from error
    signature = {
        "algorithm": ALGORITHM,
        "key_id": signer.key_id,
        "payload": payload,
        "mac": base64.b64encode(mac).decode("ascii"),
    }
    return json.dumps({"command": claims, "signature": signature}, sort_keys=True, separators=(",", ":"))


def unlock_request(body: dict[str, Any]) -> tuple[str, int]:
    """``{"reason": "...", "seconds": N}`` of ``POST /doors/{id}/unlock``: the reason and the
    seconds (default ``DEFAULT_SECONDS``); ``BadRequest`` naming the field otherwise."""
    _only(body, {"reason", "seconds"})
    seconds = body.get("seconds", DEFAULT_SECONDS)
    # bool is an int to Python and 5.0 a number to JSON: neither is a whole number of seconds here.
    if type(seconds) is not int or not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise BadRequest(f"seconds must be a whole number from {MIN_SECONDS} to {MAX_SECONDS}")
    return reason_text(body.get("reason")), seconds


def reason_request(body: dict[str, Any]) -> str:
    """``{"reason": "..."}`` of a lockdown or its release: the reason, or ``BadRequest``."""
    _only(body, {"reason"})
    return reason_text(body.get("reason"))


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")
