"""The door's decision check: only a signed, fresh, first-seen AUTHORIZED for this very door
unlocks; everything else is refused with a reason."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from chalicelib.core.models import Reason, Status
from door.controller import DoorController, Unlock
from tests.door.messages import NOW, message, scan, tampered
from tests.fakes import InMemorySigner


class Door:
    def __init__(self, key: InMemorySigner, now: datetime = NOW) -> None:
        self.now = now
        self.unlocks: list[Unlock] = []
        self.controller = DoorController(key, "front-door", self.unlocks.append, clock=lambda: self.now)


@pytest.fixture
def key() -> InMemorySigner:
    return InMemorySigner(secret=b"door-key")


def test_a_fresh_signed_authorized_decision_unlocks(key: InMemorySigner) -> None:
    door = Door(key)
    verdict = door.controller.handle(message(scan(), key))
    assert verdict.unlocked and verdict.reason == "ok"
    assert door.unlocks == [Unlock("EMP001", "front-door", "a" * 32)]


def test_an_unsigned_message_is_refused(key: InMemorySigner) -> None:
    door = Door(key)
    verdict = door.controller.handle(message(scan(), None))
    assert (verdict.unlocked, verdict.reason) == (False, "unsigned or unreadable message")
    assert door.unlocks == []


@pytest.mark.parametrize(
    "changes",
    [{"employee_id": "EMP002"}, {"camera_id": "back-door"}, {"captured_at": "2026-03-08T14:29:59.000Z"}],
)
def test_a_tampered_payload_is_refused(key: InMemorySigner, changes: dict[str, str]) -> None:
    door = Door(key)
    verdict = door.controller.handle(tampered(message(scan(), key), **changes))
    assert (verdict.unlocked, verdict.reason) == (False, "invalid signature")


def test_fields_outside_the_signed_payload_are_not_trusted(key: InMemorySigner) -> None:
    door = Door(key)
    document = json.loads(message(scan(), key))
    document["employee_id"] = "EMP999"  # the readable body, not the payload
    assert door.controller.handle(json.dumps(document)).unlocked
    assert [u.employee_id for u in door.unlocks] == ["EMP001"]


def test_a_decision_signed_with_another_key_is_refused(key: InMemorySigner) -> None:
    door = Door(key)
    forged = message(scan(), InMemorySigner(key_id=key.key_id, secret=b"attacker"))
    assert door.controller.handle(forged).reason == "invalid signature"
    assert door.unlocks == []


def test_a_stale_decision_is_refused(key: InMemorySigner) -> None:
    door = Door(key, now=NOW + timedelta(seconds=60))  # captured 62 s ago
    verdict = door.controller.handle(message(scan(), key))
    assert not verdict.unlocked and "stale" in verdict.reason


def test_a_decision_from_the_future_is_refused(key: InMemorySigner) -> None:
    door = Door(key, now=NOW - timedelta(seconds=30))
    verdict = door.controller.handle(message(scan(), key))
    assert not verdict.unlocked and "impossible times" in verdict.reason


def test_a_replayed_decision_is_refused(key: InMemorySigner) -> None:
    door = Door(key)
    body = message(scan(), key)
    assert door.controller.handle(body).unlocked
    door.now += timedelta(seconds=10)
    verdict = door.controller.handle(body)
    assert not verdict.unlocked and "replay" in verdict.reason
    assert len(door.unlocks) == 1


def test_a_decision_for_another_door_is_refused(key: InMemorySigner) -> None:
    door = Door(key)
    verdict = door.controller.handle(message(scan(camera="loading-dock"), key))  # a door of its own
    assert not verdict.unlocked and "for door 'loading-dock', not this door" in verdict.reason
    elsewhere = scan()
    elsewhere = replace(elsewhere, decision=replace(elsewhere.decision, door_id="server-room"))
    assert "for door 'server-room'" in door.controller.handle(message(elsewhere, key)).reason
    assert door.unlocks == []


def test_the_signed_door_decides_not_the_camera(key: InMemorySigner) -> None:
    # The access policy puts camera lobby-cam on the front door: the signed door says so.
    decided = scan(camera="lobby-cam")
    decided = replace(decided, decision=replace(decided.decision, door_id="front-door"))
    door = Door(key)
    assert door.controller.handle(message(decided, key)).unlocked
    assert door.unlocks == [Unlock("EMP001", "lobby-cam", "a" * 32)]


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.AUTHORIZED])
def test_a_signed_decision_other_than_authorized_is_refused(key: InMemorySigner, status: Status) -> None:
    # Named employees too: a match decided too late is an ERROR that still names its employee.
    door = Door(key)
    for employee in ("EMP001", None):
        verdict = door.controller.handle(message(scan(status=status, employee=employee), key))
        assert not verdict.unlocked and verdict.reason == f"scan {'a' * 32} is {status.value}"
        assert verdict.status == status.value  # verified: the agent may retry on NO_FACE
    assert door.unlocks == []


def test_a_signed_denial_of_a_known_employee_at_this_door_stays_shut(key: InMemorySigner) -> None:
    # Everything a denial carries looks like an authorization but its status: recognised,
    # active, this door's camera, fresh, signed.
    denied = scan(status=Status.DENIED)
    denied = replace(
        denied,
        decision=replace(
            denied.decision,
            reason="outside the schedule of the rule for this door",
            reason_code=Reason.OUTSIDE_SCHEDULE,
            similarity=97.0,
            door_id="front-door",
            access_rule="staff-front-door",
        ),
    )
    door = Door(key)
    verdict = door.controller.handle(message(denied, key))
    assert (verdict.unlocked, verdict.reason) == (False, f"scan {'a' * 32} is DENIED")
    forged = tampered(message(denied, key), status="AUTHORIZED")
    assert door.controller.handle(forged).reason == "invalid signature"
    assert door.unlocks == []


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not json",
        "[]",
        '{"signature": {"payload": 1, "mac": "AA=="}}',
        '{"signature": {"payload": "\\ud800", "mac": "AA=="}}',  # a lone surrogate: no bytes
        "[" * 100_000,
    ],
)
def test_unreadable_messages_are_refused(key: InMemorySigner, body: str) -> None:
    assert not Door(key).controller.handle(body).unlocked


def test_when_the_signature_cannot_be_checked_the_door_stays_shut(key: InMemorySigner) -> None:
    door = Door(key)
    body = message(scan(), key)
    key.fail_with = ConnectionError("KMS unreachable")
    verdict = door.controller.handle(body)
    assert (verdict.unlocked, verdict.reason) == (False, "signature could not be checked: ConnectionError")
