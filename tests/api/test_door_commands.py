"""Remote unlock and lockdown (issue 27 item 3) through the real app, on the sandbox stage.

A command lands on the door's own queue signed with the door command key: the door's check
(door/commands.py with KMS's VerifyMac) accepts it, and the decision signing key does not
verify it. A lockdown makes the next scan of an enrolled employee at that door DENIED with
``LOCKDOWN``; its release lets them in again. Every command is audited.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib import wiring
from chalicelib.access.remote import AUDIT_TARGET
from chalicelib.aws.scans import DynamoScanLog
from chalicelib.core.models import Employee, Reason, Scan, Status
from door.commands import CommandCheck, CommandVerdict, message_kind
from door.controller import RecentMessages
from door.kms import KmsMacVerifier
from sandbox.door import door_queue
from sandbox.enroll import enroll_employee
from sandbox.stack import Stack
from tests.api.conftest import Api

DOOR = "front-door"  # a sandbox door with a queue; no door of the policy lists it: its own door
ADMIN, SECURITY = "sandbox-admins", "sandbox-security"  # the users behind api's tokens


def queued(stack: Stack, door_id: str = DOOR) -> list[str]:
    """Every message waiting on the door's queue (taken off it)."""
    sqs, url = stack.session.client("sqs"), door_queue(stack, door_id)
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def door_check(stack: Stack, key_id: str, door_id: str = DOOR) -> CommandCheck:
    """The check a door agent runs, verifying with ``key_id`` through KMS."""
    verifier = KmsMacVerifier(stack.session.client("kms"), key_id)
    return CommandCheck(verifier, door_id, RecentMessages(lambda: datetime.now(UTC).timestamp()))


def audit_entries(stack: Stack) -> list[dict[str, Any]]:
    items = stack.session.resource("dynamodb").Table(stack.settings.audit_table).scan()["Items"]
    return sorted((item for item in items if item["target"] == AUDIT_TARGET), key=lambda item: item["entry"])


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"seconds": 5},
        {"reason": "ab"},
        {"reason": "   ab   "},
        {"reason": "x" * 201},
        {"reason": "let the\nengineer in"},
        {"reason": "delivery\u202e"},
        {"reason": 42},
        {"reason": "courier at the door", "seconds": 0},
        {"reason": "courier at the door", "seconds": 31},
        {"reason": "courier at the door", "seconds": True},
        {"reason": "courier at the door", "seconds": 5.0},
        {"reason": "courier at the door", "seconds": "5"},
        {"reason": "courier at the door", "open": True},
    ],
)
def test_an_unlock_needs_a_reason_and_sane_seconds(api: Api, body: Any) -> None:
    reply = api.call("POST", f"/doors/{DOOR}/unlock", body)
    assert reply.status == 400, reply.json
    assert isinstance(reply.json["message"], str)
    assert queued(api.stack) == [] and audit_entries(api.stack) == []


def test_admins_and_security_may_unlock_and_others_not(api: Api) -> None:
    stack = api.stack
    body = {"reason": "courier at the front door", "seconds": 8}
    for group in ("admins", "security"):
        reply = api.call("POST", f"/doors/{DOOR}/unlock", body, token=group)
        assert reply.status == 202, reply.json
        assert set(reply.json) == {"command_id", "door_id", "action", "expires_at"}
        assert (reply.json["door_id"], reply.json["action"]) == (DOOR, "unlock")
    nobody = stack.token("security", username="nobody")
    stack.cognito.admin_remove_user_from_group(
        UserPoolId=stack.names["user_pool_id"], Username="nobody", GroupName="security"
    )
    for method, path in (
        ("POST", "unlock"),
        ("POST", "lockdown"),
        ("DELETE", "lockdown"),
        ("GET", "lockdown"),
    ):
        assert api.call(method, f"/doors/{DOOR}/{path}", body, token=nobody).status == 403, (method, path)
    assert api.call("POST", f"/doors/{DOOR}/unlock", body, token=None).status == 401
    assert len(queued(stack)) == 2


def test_a_door_without_a_queue_is_404_and_nothing_happens(api: Api) -> None:
    body = {"reason": "testing a door that was never added"}
    for method, path in (("POST", "unlock"), ("POST", "lockdown"), ("DELETE", "lockdown")):
        reply = api.call(method, f"/doors/side-door/{path}", body)
        assert reply.status == 404, reply.json
        assert reply.json["message"] == "door side-door has no queue: make door-add DOOR=side-door"
    assert api.call("GET", "/doors/side-door/lockdown").json["locked_down"] is False
    assert audit_entries(api.stack) == []
    assert api.call("POST", "/doors/not a door!/unlock", body).status == 400


def test_the_command_verifies_at_the_door_with_the_command_key_only(api: Api) -> None:
    stack = api.stack
    reply = api.call("POST", f"/doors/{DOOR}/unlock", {"reason": "visitor badge failed", "seconds": 12})
    [body] = queued(stack)
    assert message_kind(body) == "command"
    readable = json.loads(body)["command"]
    assert readable["key_id"] == stack.settings.command_key != stack.settings.signing_key
    assert (readable["actor"], readable["seconds"], readable["v"]) == (ADMIN, 12, "facegate-command/1")

    verdict = door_check(stack, stack.settings.command_key).handle(body)
    issued = readable["issued_at"]
    assert verdict == CommandVerdict(True, "ok", reply.json["command_id"], "unlock", 12, ADMIN, issued)
    assert door_check(stack, stack.settings.signing_key).handle(body).reason == "invalid signature"
    other_door = door_check(stack, stack.settings.command_key, door_id="server-room").handle(body)
    assert not other_door.accepted and other_door.reason.endswith("not this door")
    issued = datetime.fromisoformat(readable["issued_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(reply.json["expires_at"].replace("Z", "+00:00"))
    assert (expires - issued).total_seconds() == 30


def test_the_api_role_signs_commands_with_the_command_key_not_the_decision_key(api: Api) -> None:
    """Two keys in KMS: a MAC of one is no MAC of the other (the key policies, which moto does
    not enforce, are checked in tests/infra/test_template.py)."""
    kms = api.stack.session.client("kms")
    command_key = kms.describe_key(KeyId=api.stack.settings.command_key)["KeyMetadata"]
    signing_key = kms.describe_key(KeyId=api.stack.settings.signing_key)["KeyMetadata"]
    assert command_key["KeyId"] != signing_key["KeyId"]
    assert command_key["KeySpec"] == "HMAC_256" and command_key["KeyUsage"] == "GENERATE_VERIFY_MAC"


def _scan(stack: Stack, camera: str, name: str, photo: Path) -> Scan:
    key = stack.upload(camera, name, photo.read_bytes())
    assert [event.error for event in stack.pump(expected=1)] == [None]
    today = datetime.now(ZoneInfo(stack.settings.timezone)).date().isoformat()
    page = DynamoScanLog(wiring.table(stack.settings.scans_table)).by_day(today, limit=100)
    [found] = [scan for scan in page.items if scan.object_key == key]
    return found


def test_a_lockdown_denies_everyone_at_that_door_until_released(api: Api, photos: Path) -> None:
    stack = api.stack
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    for door in (DOOR, "loading-dock"):  # a site policy: each camera on its door (else UNKNOWN_CAMERA)
        assert api.call("PUT", f"/doors/{door}", {"name": door, "cameras": [door]}).status == 200
    assert api.call("GET", f"/doors/{DOOR}/lockdown", token="security").json == {
        "door_id": DOOR,
        "locked_down": False,
        "since": None,
        "actor": None,
        "reason": None,
    }

    locked = api.call(
        "POST", f"/doors/{DOOR}/lockdown", {"reason": "intruder seen in the lobby"}, token="security"
    )
    assert locked.status == 202, locked.json
    assert locked.json["action"] == "lockdown"
    state = api.call("GET", f"/doors/{DOOR}/lockdown").json
    assert state == {**locked.json["lockdown"], "locked_down": True}
    assert (state["actor"], state["reason"]) == (SECURITY, "intruder seen in the lobby")

    denied = _scan(stack, DOOR, "during.jpg", photos / "obama2.jpg")
    assert (denied.status, denied.decision.reason_code) == (Status.DENIED, Reason.LOCKDOWN)
    assert (denied.decision.reason, denied.decision.employee_id, denied.decision.door_id) == (
        "door locked down",
        "EMP001",
        DOOR,
    )
    elsewhere = _scan(stack, "loading-dock", "elsewhere.jpg", photos / "obama3.jpg")
    assert elsewhere.status is Status.AUTHORIZED  # only that door
    unlock = api.call("POST", f"/doors/{DOOR}/unlock", {"reason": "let the guard in"})
    assert unlock.status == 409 and "locked down" in unlock.json["message"]

    again = api.call("POST", f"/doors/{DOOR}/lockdown", {"reason": "still locked, resent"})
    assert again.status == 202 and again.json["lockdown"] == locked.json["lockdown"]  # since, by, why kept

    released = api.call("DELETE", f"/doors/{DOOR}/lockdown", {"reason": "police cleared the lobby"})
    assert released.status == 202, released.json
    assert released.json["released"] == locked.json["lockdown"]
    assert api.call("GET", f"/doors/{DOOR}/lockdown").json["locked_down"] is False
    admitted = _scan(stack, DOOR, "after.jpg", photos / "obama3.jpg")
    assert admitted.status is Status.AUTHORIZED

    # What the door's queue got, beside the decisions: each command, accepted by the door's check.
    check = door_check(stack, stack.settings.command_key)
    verdicts = [check.handle(body) for body in queued(stack) if message_kind(body) == "command"]
    assert [(v.accepted, v.action, v.actor) for v in verdicts] == [
        (True, "lockdown", SECURITY),
        (True, "lockdown", ADMIN),
        (True, "release", ADMIN),
    ]


def test_every_command_is_audited_who_when_why_what_which_door(api: Api) -> None:
    api.call("POST", f"/doors/{DOOR}/unlock", {"reason": "courier with a parcel"}, token="security")
    api.call("POST", f"/doors/{DOOR}/lockdown", {"reason": "fire drill starts"})
    api.call("DELETE", f"/doors/{DOOR}/lockdown", {"reason": "fire drill over"})
    api.call("DELETE", f"/doors/{DOOR}/lockdown", {"reason": "resend, the door was offline"})
    entries = audit_entries(api.stack)
    assert [(e["action"], e["actor"], e["details"]["reason"]) for e in entries] == [
        ("door.unlock", SECURITY, "courier with a parcel"),
        ("door.lockdown", ADMIN, "fire drill starts"),
        ("door.release", ADMIN, "fire drill over"),
        ("door.release", ADMIN, "resend, the door was offline"),
    ]
    assert all(e["details"]["door_id"] == DOOR and len(e["details"]["command_id"]) == 32 for e in entries)
    assert entries[0]["details"]["seconds"] == 5  # the default
    assert [e["details"].get("was_locked_down") for e in entries[2:]] == [True, False]
    assert all(e["at"].endswith("Z") for e in entries)
    assert len({e["details"]["command_id"] for e in entries}) == 4
    # The daily report counts them with one Query of that partition (the site's day: today).
    from chalicelib.reporting.reports import build_summary

    zone = ZoneInfo(api.stack.settings.timezone)
    days = [datetime.fromisoformat(e["at"].replace("Z", "+00:00")).astimezone(zone).date() for e in entries]
    on_the_day = [e["action"] for e, day in zip(entries, days, strict=True) if day == days[0]]  # midnight
    summary = build_summary(days[0].isoformat(), wiring.report_ports(api.stack.settings), api.stack.settings)
    expected = {action: on_the_day.count(f"door.{action}") for action in ("unlock", "lockdown", "release")}
    assert summary.door_commands == expected and sum(expected.values()) == len(on_the_day)


def test_a_camera_on_another_door_cannot_be_locked_down_by_its_camera_id(api: Api) -> None:
    door = {"name": "Loading dock", "cameras": ["loading-dock", "front-door"]}
    assert api.call("PUT", "/doors/loading-dock", door).status == 200
    reply = api.call("POST", f"/doors/{DOOR}/lockdown", {"reason": "wrong id for the dock"})
    assert reply.status == 409, reply.json
    assert "camera of door loading-dock" in reply.json["message"]
    assert api.call("GET", f"/doors/{DOOR}/lockdown").json["locked_down"] is False
    assert [e["action"] for e in audit_entries(api.stack)] == []
