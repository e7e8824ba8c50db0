"""Doors end to end: camera upload → signed SNS decision → that door's queue → its check → unlock.

moto does not enforce the topic policy, so anyone may publish here: these forgeries are
stopped by the signature alone (the policy's content is checked in tests/infra).
"""

from __future__ import annotations

import io
import random
from collections import Counter
from pathlib import Path

import pytest
import requests

from chalicelib.core.models import Employee
from door.controller import Unlock
from sandbox.api_server import LocalApi
from sandbox.door import door_queue, publish_forgery, publish_raw, run_door
from sandbox.enroll import enroll_employee
from sandbox.resources import SANDBOX_DOORS
from sandbox.stack import Stack


def test_an_authorized_upload_unlocks_once_and_forgeries_and_replays_do_not(
    stack: Stack, photos: Path
) -> None:
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    enroll_employee(stack, Employee("EMP002", "Jordan Lee"), [photos / "biden.jpg"])
    unlocks: list[Unlock] = []
    _, read_queue = run_door(stack, "front-door", unlocks.append)
    stack.upload("front-door", "avery.jpg", (photos / "obama2.jpg").read_bytes())
    stack.upload("front-door", "stranger.png", (photos / "astronaut.png").read_bytes())
    assert [event.error for event in stack.pump(expected=2)] == [None, None]
    verdicts = read_queue()  # every decision for this door: the agent retries after UNKNOWN
    assert sorted((v.status, v.unlocked) for v in verdicts) == [("AUTHORIZED", True), ("UNKNOWN", False)]
    assert [(u.employee_id, u.camera_id) for u in unlocks] == [("EMP001", "front-door")]
    genuine = next(n["body"] for n in stack.notifications() if n["attributes"]["status"] == "AUTHORIZED")

    publish_forgery(stack, "EMP002", "front-door")
    publish_forgery(stack, "EMP002", "front-door", signed=False)
    publish_raw(stack, genuine)  # replayed verbatim by someone who saw it
    tampered = {**genuine, "signature": {**genuine["signature"]}}
    tampered["signature"]["payload"] = tampered["signature"]["payload"].replace("EMP001", "EMP002")
    publish_raw(stack, tampered)
    reasons = sorted(v.reason.split(": ")[-1] for v in read_queue())
    assert len(reasons) == 4
    assert reasons.count("invalid signature") == 2
    assert "unsigned or unreadable message" in reasons
    assert any("replay" in reason for reason in reasons)
    assert len(unlocks) == 1


def test_a_decision_names_its_door_from_the_access_policy(stack: Stack, photos: Path) -> None:
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    api = LocalApi(port=0, quiet=True)
    try:
        door = {"name": "Server room", "cameras": ["server-room-cam"]}
        headers = {"Authorization": f"Bearer {stack.token('admins')}"}
        answer = requests.put(f"{api.url}/doors/server-room", json=door, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
    finally:
        api.stop()
    server_room: list[Unlock] = []
    _, read_server_room = run_door(stack, "server-room", server_room.append)
    stack.upload("server-room-cam", "avery.jpg", (photos / "obama2.jpg").read_bytes())
    stack.pump(expected=1)
    [verdict] = read_server_room()
    assert verdict.unlocked and [u.camera_id for u in server_room] == ["server-room-cam"]
    [note] = stack.notifications()
    assert note["attributes"]["door_id"] == "server-room" and note["body"]["door_id"] == "server-room"


@pytest.mark.slow(reason="240 real decisions through the pipeline: the routing needs a few hundred")
def test_three_doors_each_unlock_exactly_for_their_own_decisions(stack: Stack, photos: Path) -> None:
    """A few hundred interleaved decisions across three doors (cameras on no door are doors of
    their own here): each door's queue holds its own decisions, all of them, and no other's."""
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    randomly = random.Random(27)
    plan = [randomly.choice(SANDBOX_DOORS) for _ in range(240)]
    unlocks: dict[str, list[Unlock]] = {door: [] for door in SANDBOX_DOORS}
    readers = {door: run_door(stack, door, unlocks[door].append)[1] for door in SANDBOX_DOORS}
    # Half the photos open a door; the rest are a stranger and an empty hall (the cheapest
    # decision): every status must reach its own door all the same.
    photo_of = {
        "AUTHORIZED": small_jpeg(photos / "obama2.jpg"),
        "UNKNOWN": small_jpeg(photos / "astronaut.png"),
        "NO_FACE": small_jpeg(photos / "coffee.png"),
    }
    expected: Counter[tuple[str, str]] = Counter()
    for index, door in enumerate(plan):
        status = ("AUTHORIZED", "UNKNOWN", "AUTHORIZED", "NO_FACE")[index % 4]
        stack.upload(door, f"{index:03d}.jpg", photo_of[status])
        expected[(door, status)] += 1
    events = stack.pump(expected=len(plan), workers=2)  # as concurrent Lambda invocations
    assert all(event.error is None for event in events)
    received: Counter[tuple[str, str]] = Counter()
    for door, read in readers.items():
        for verdict in read():
            assert verdict.status, verdict.reason  # verified, and for this very door
            received[(door, verdict.status)] += 1
            assert verdict.camera_id == door
    assert received == expected  # none lost, none delivered to another door
    for door in SANDBOX_DOORS:
        assert len(unlocks[door]) == expected[(door, "AUTHORIZED")]
        assert {u.camera_id for u in unlocks[door]} == {door}
    assert len({u.scan_id for door in SANDBOX_DOORS for u in unlocks[door]}) == sum(
        expected[(door, "AUTHORIZED")] for door in SANDBOX_DOORS
    )


@pytest.mark.fresh_stack
def test_the_door_stays_shut_when_the_decision_cannot_be_signed(stack: Stack, photos: Path) -> None:
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    # moto ignores a disabled key's state; without its alias GenerateMac fails as KMS would.
    stack.session.client("kms").delete_alias(AliasName=stack.settings.signing_key)
    _, read_queue = run_door(stack, "front-door")
    stack.upload("front-door", "avery.jpg", (photos / "obama2.jpg").read_bytes())
    [event] = stack.pump(expected=1)
    assert event.error is None  # an AUTHORIZED that failed to go out is never retried: it would be late
    assert read_queue() == [] and stack.notifications() == []
    [scan] = stack.session.client("dynamodb").scan(TableName=stack.settings.scans_table)["Items"]
    assert scan["status"]["S"] == "AUTHORIZED" and scan["notification"]["S"] == "FAILED"


def test_a_door_reads_only_the_queue_it_was_given(stack: Stack) -> None:
    assert len({door_queue(stack, door) for door in SANDBOX_DOORS}) == len(SANDBOX_DOORS)


def small_jpeg(path: Path, side: int = 640) -> bytes:
    """The photo at ``side`` pixels on its long side: the same face, a quicker decision."""
    from PIL import Image

    with Image.open(path) as opened:
        image = opened.convert("RGB")
    image.thumbnail((side, side))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()
