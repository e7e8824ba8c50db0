"""The door's check of remote commands: only a command signed with the command key, for this
door, with a known action, fresh and never seen before is accepted; everything else is
refused with a reason. The messages are built by the API's own code (chalicelib.access.commands),
so these tests also pin the format both sides agree on."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.access.commands import canonical, claims_for, message_body
from door.commands import MAX_AGE, MAX_CLOCK_SKEW, CommandCheck, CommandVerdict, message_kind
from door.controller import RecentMessages
from door.used_messages import UsedMessages
from tests.door.messages import NOW, message, scan
from tests.fakes import InMemorySigner

DOOR = "front-door"


@pytest.fixture
def key() -> InMemorySigner:
    return InMemorySigner(key_id="alias/facegate-test-door-commands", secret=b"command-key")


@pytest.fixture
def decision_key() -> InMemorySigner:
    return InMemorySigner(key_id="alias/facegate-test-decision-signing", secret=b"decision-key")


def check(key: InMemorySigner, now: datetime = NOW, memory: Any = None, door: str = DOOR) -> CommandCheck:
    remembered = memory if memory is not None else RecentMessages(lambda: now.timestamp())
    return CommandCheck(key, door, remembered, clock=lambda: now)


def command(
    signer: InMemorySigner,
    action: str = "unlock",
    seconds: int = 5,
    *,
    door: str = DOOR,
    issued: datetime = NOW - timedelta(seconds=1),
    changes: dict[str, Any] | None = None,
) -> str:
    """A command as the API sends it, its claims changed by ``changes`` before signing."""
    claims: dict[str, Any] = dict(claims_for(door, action, seconds, "alice", issued, signer.key_id))
    claims.update(changes or {})
    return message_body(claims, signer)


def refused(verdict: CommandVerdict) -> str:
    assert not verdict.accepted and verdict.action == "" and verdict.command_id == ""
    return verdict.reason


def test_a_fresh_unlock_is_accepted_once(key: InMemorySigner) -> None:
    door = check(key)
    body = command(key, seconds=7)
    verdict = door.handle(body)
    assert (verdict.accepted, verdict.reason, verdict.action, verdict.seconds, verdict.actor) == (
        True,
        "ok",
        "unlock",
        7,
        "alice",
    )
    assert verdict.command_id == json.loads(body)["command"]["command_id"]
    assert "already used: replay" in refused(door.handle(body))


def test_a_replay_is_refused_by_a_new_check_sharing_the_memory_on_disk(
    key: InMemorySigner, tmp_path: Path
) -> None:
    body = command(key)
    path = tmp_path / "used-messages"
    first = UsedMessages(path, clock=lambda: NOW.timestamp())
    assert check(key, memory=first).handle(body).accepted
    first.close()
    restarted = UsedMessages(path, clock=lambda: NOW.timestamp())  # the agent restarted
    assert "already used: replay" in refused(check(key, memory=restarted).handle(body))
    assert check(key, memory=restarted).handle(command(key)).accepted  # a new command still is


@pytest.mark.parametrize("action", ["lockdown", "release"])
def test_lockdown_and_release_are_accepted_with_no_seconds(key: InMemorySigner, action: str) -> None:
    verdict = check(key).handle(command(key, action))
    assert (verdict.accepted, verdict.action, verdict.seconds) == (True, action, 0)


def test_a_stale_command_is_refused(key: InMemorySigner) -> None:
    issued = NOW - MAX_AGE - timedelta(milliseconds=1)
    assert "is stale" in refused(check(key).handle(command(key, issued=issued)))
    assert check(key).handle(command(key, issued=NOW - MAX_AGE)).accepted  # the last instant still is


def test_a_command_from_the_future_is_refused(key: InMemorySigner) -> None:
    ahead = NOW + MAX_CLOCK_SKEW + timedelta(milliseconds=1)
    assert "from the future" in refused(check(key).handle(command(key, issued=ahead)))
    assert check(key).handle(command(key, issued=NOW + MAX_CLOCK_SKEW)).accepted  # clock skew


def test_a_command_for_another_door_is_refused(key: InMemorySigner) -> None:
    reason = refused(check(key).handle(command(key, door="server-room")))
    assert reason.endswith("for door 'server-room', not this door")


@pytest.mark.parametrize("action", ["open", "UNLOCK", "", None, 1, ["unlock"]])
def test_an_unknown_action_is_refused(key: InMemorySigner, action: object) -> None:
    assert "unknown action" in refused(check(key).handle(command(key, changes={"action": action})))


@pytest.mark.parametrize("seconds", [0, 31, -1, 10**6, 5.0, "5", True, False, None, [5]])
def test_unlock_seconds_must_be_a_whole_number_from_1_to_30(key: InMemorySigner, seconds: object) -> None:
    reason = refused(check(key).handle(command(key, changes={"seconds": seconds})))
    assert "unlock seconds must be a whole number from 1 to 30" in reason


@pytest.mark.parametrize("seconds", [1, 30])
def test_unlock_seconds_at_the_bounds_are_accepted(key: InMemorySigner, seconds: int) -> None:
    assert check(key).handle(command(key, seconds=seconds)).seconds == seconds


def test_a_command_signed_with_the_decision_key_is_refused(
    key: InMemorySigner, decision_key: InMemorySigner
) -> None:
    forged = command(decision_key)  # whoever holds the camera's key cannot open doors this way
    assert refused(check(key).handle(forged)) == "invalid signature"


def test_a_decision_is_never_a_command_and_a_command_never_a_decision(
    key: InMemorySigner, decision_key: InMemorySigner
) -> None:
    from door.controller import DoorController

    decision = message(scan(), decision_key)
    assert message_kind(decision) == "decision"
    assert refused(check(key).handle(decision)) == "invalid signature"
    # Even signed with the command key, a decision's claims are no command's version.
    assert refused(check(key).handle(message(scan(), key))) == "unknown signed message version"
    unlocks: list[object] = []
    controller = DoorController(key, DOOR, unlocks.append, clock=lambda: NOW)
    assert controller.handle(command(key)).reason == "unknown signed message version"
    assert unlocks == []


def test_a_tampered_command_is_refused(key: InMemorySigner) -> None:
    document = json.loads(command(key, seconds=3))
    claims = json.loads(document["signature"]["payload"])
    claims["seconds"] = 30
    document["signature"]["payload"] = canonical(claims)
    assert refused(check(key).handle(json.dumps(document))) == "invalid signature"


def test_only_the_signed_payload_is_trusted(key: InMemorySigner) -> None:
    document = json.loads(command(key, seconds=3))
    document["command"].update({"seconds": 30, "door_id": "server-room", "action": "lockdown"})
    verdict = check(key).handle(json.dumps(document))
    assert (verdict.accepted, verdict.action, verdict.seconds) == (True, "unlock", 3)


def test_an_unsigned_command_is_refused(key: InMemorySigner) -> None:
    document = json.loads(command(key))
    del document["signature"]
    assert message_kind(json.dumps(document)) == "command"
    assert refused(check(key).handle(json.dumps(document))) == "unsigned or unreadable message"


@pytest.mark.parametrize(
    "changes",
    [
        {"command_id": "not-hex"},
        {"command_id": "A" * 32},
        {"command_id": 7},
        {"issued_at": "2026-03-08T14:29:59+00:00"},  # a zone, but not as the API writes it
        {"issued_at": "2026-03-08T14:29:59"},  # no zone at all
        {"issued_at": "2026-W10-7T14:29:59Z"},
        {"issued_at": "2026-02-30T14:29:59Z"},
        {"issued_at": 1772980199},
        {"actor": ""},
        {"actor": None},
        {"actor": "x" * 129},
    ],
)
def test_malformed_signed_fields_are_refused(key: InMemorySigner, changes: dict[str, Any]) -> None:
    refused(check(key).handle(command(key, changes=changes)))


def _signed_payload(key: InMemorySigner, payload: str) -> str:
    mac = base64.b64encode(key.sign(payload.encode("utf-8"))).decode()
    signature = {"algorithm": "HMAC_SHA_256", "key_id": key.key_id, "payload": payload, "mac": mac}
    return json.dumps({"command": {}, "signature": signature})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "unsigned or unreadable message"),
        ("null", "unsigned or unreadable message"),
        ("[]", "unsigned or unreadable message"),
        ("{}", "unsigned or unreadable message"),
        ("not json", "unsigned or unreadable message"),
        ("[" * 100_000, "unsigned or unreadable message"),
        ('{"command":' * 50_000 + "{}" + "}" * 50_000, "unsigned or unreadable message"),
        ('{"signature": "x"}', "unsigned or unreadable message"),
        ('{"signature": {"payload": "{}", "mac": "not base64!"}}', "unsigned or unreadable message"),
        ('{"signature": {"payload": 5, "mac": "AAAA"}}', "unreadable signed payload"),
        # A lone surrogate from a JSON escape: no bytes were ever signed that decode to it.
        (
            '{"signature": {"payload": "{\\"v\\": \\"\\ud800\\"}", "mac": "AAAA"}}',
            "unreadable signed payload",
        ),
        ('{"signature": {"payload": "{}", "mac": "AAAA"}}', "invalid signature"),
    ],
)
def test_garbage_bodies_are_refused(key: InMemorySigner, body: str, reason: str) -> None:
    assert refused(check(key).handle(body)) == reason


def test_a_deeply_nested_or_non_object_payload_is_refused_even_when_signed(key: InMemorySigner) -> None:
    for payload in ("[" * 100_000 + "]" * 100_000, "[]", '"facegate-command/1"', "not json"):
        reason = refused(check(key).handle(_signed_payload(key, payload)))
        assert reason in ("unreadable signed payload", "unknown signed message version"), payload


def test_when_the_signature_cannot_be_checked_the_command_is_refused(key: InMemorySigner) -> None:
    body = command(key)
    key.fail_with = ConnectionError("KMS unreachable")
    assert refused(check(key).handle(body)) == "signature could not be checked: ConnectionError"


def test_a_memory_that_cannot_promise_refuses(key: InMemorySigner) -> None:
    class Forgetful:
        def claim(self, message_id: str, expires_at: float) -> bool:
            return False  # a full or quarantined memory: never a "yes" it cannot keep

    assert "already used" in refused(check(key, memory=Forgetful()).handle(command(key)))


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ('{"command": {}, "signature": {}}', "command"),
        ('{"command": null}', "command"),
        ('{"signature": {}, "scan_id": "x"}', "decision"),
        ("{}", "decision"),
        ("[]", None),
        ('"command"', None),
        ("not json", None),
        ("[" * 100_000, None),
        ("", None),
    ],
)
def test_message_kind_reads_only_the_top_level_shape(body: str, kind: str | None) -> None:
    assert message_kind(body) == kind


def test_both_sides_agree_on_the_format() -> None:
    """The API (chalicelib) and the door never import each other: this pins what they share."""
    from chalicelib.access import commands as api
    from door import commands as door

    assert api.VERSION == door.VERSION == "facegate-command/1"
    assert set(api.ACTIONS) == door.ACTIONS
    assert timedelta(seconds=api.MAX_AGE_SECONDS) == door.MAX_AGE  # the API's expires_at is the door's
    assert (api.MIN_SECONDS, api.MAX_SECONDS) == (door.MIN_SECONDS, door.MAX_SECONDS)
    assert api.MIN_SECONDS <= api.DEFAULT_SECONDS <= api.MAX_SECONDS
