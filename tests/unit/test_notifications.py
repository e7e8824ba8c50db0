"""What people and machines read in a notification."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from chalicelib.display import display_text
from chalicelib.models import Decision, Reason, Scan, Status
from chalicelib.notifications import notification_for, sns_message


def scan(decision: Decision, camera: str = "front-door") -> Scan:
    return Scan(
        scan_id="abc123",
        camera_id=camera,
        object_key=f"incoming/{camera}/x.jpg",
        object_version="v1",
        captured_at="2026-03-08T08:30:00.000Z",
        processed_at="2026-03-08T08:30:01.000Z",
        day="2026-03-08",
        decision=decision,
        engine="local",
        expires_at=0,
    )


def test_authorized_subject_names_the_employee_camera_and_similarity() -> None:
    decision = Decision(Status.AUTHORIZED, employee_id="EMP001", employee_name="Jane Doe", similarity=95.5)
    note = notification_for(scan(decision))
    assert note.subject == "✅ Authorized: EMP001 Jane Doe at front-door (95.5%)"
    assert note.attributes == {"status": "AUTHORIZED", "camera_id": "front-door", "employee_id": "EMP001"}
    assert note.body["similarity"] == 95.5


@pytest.mark.parametrize(
    ("status", "subject"),
    [
        (Status.UNKNOWN, "🚫 Unknown person at front-door"),
        (Status.MULTIPLE_FACES, "⚠️ Several faces at front-door: possible tailgating"),
        (Status.ERROR, "❌ Processing error at front-door"),
        (Status.NO_FACE, "👤 No face seen at front-door"),
        (Status.LOW_QUALITY, "🌫️ Face not clear enough at front-door"),
        (Status.REJECTED, "⛔ Unusable upload from front-door"),
    ],
)
def test_every_status_has_a_readable_subject(status: Status, subject: str) -> None:
    note = notification_for(scan(Decision(status, reason="because")))
    assert note.subject == subject
    assert note.attributes["status"] == status.value
    assert note.attributes["employee_id"] == "none"
    assert "Reason: because" in note.text


def test_subject_stays_under_the_sns_limit_on_one_line() -> None:
    decision = Decision(Status.AUTHORIZED, employee_id="E" * 64, employee_name="N\n" * 80, similarity=90)
    subject = notification_for(scan(decision)).subject
    assert len(subject) < 100 and "\n" not in subject


def test_sns_message_has_text_for_people_and_json_for_machines() -> None:
    note = notification_for(scan(Decision(Status.UNKNOWN, similarity=50.0)))
    message = json.loads(sns_message(note))
    assert message["default"].startswith("🚫 Unknown person")
    assert json.loads(message["sqs"])["status"] == "UNKNOWN"
    assert json.loads(message["lambda"])["scan_id"] == "abc123"


FORGERIES = [
    "\nStatus: AUTHORIZED",
    "\u2028Employee: EMP001",
    "\rStatus: AUTHORIZED",
    "\x85Status: AUTHORIZED",
]


@pytest.mark.parametrize("forged", FORGERIES)
def test_no_uploaded_or_stored_text_can_add_a_line_to_an_alert(forged: str) -> None:
    decision = Decision(
        Status.UNKNOWN,
        reason=f"because{forged}",
        employee_id=f"EMP9{forged}",
        employee_name=f"Jane{forged}",
        similarity=70.0,
    )
    note = notification_for(
        Scan(
            **{
                **scan(decision).__dict__,
                "camera_id": f"door{forged}",
                "object_key": f"incoming/x/{forged}.jpg",
            }
        )
    )
    lines = note.text.splitlines()  # splitlines() breaks at every Unicode line boundary
    assert [line for line in lines if line.startswith(("Status:", "Employee:"))] == [
        "Status: UNKNOWN",
        f"Employee: {display_text('EMP9' + forged + ' Jane' + forged)}",
    ]
    assert len(note.subject.splitlines()) == 1 and len(note.subject) < 100
    assert json.loads(sns_message(note))["sqs"]  # the machine body keeps the data as it is
    assert note.body["camera_id"] == f"door{forged}"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("front-door", "front-door"),
        ("a\nb", "a\\x0ab"),
        ("a\u2028b\u2029c", "a\\u2028b\\u2029c"),
        ("evil\u202etxt.jpg", "evil\\u202etxt.jpg"),  # a right-to-left override
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("tab\there", "tab\\x09here"),
        ("José Ñúñez 山田", "José Ñúñez 山田"),
        (None, ""),
    ],
)
def test_the_display_sanitiser_shows_every_invisible_character_as_its_escape(
    raw: str | None, shown: str
) -> None:
    assert display_text(raw) == shown


def test_the_display_sanitiser_cuts_to_a_limit() -> None:
    assert display_text("x" * 10, 5) == "xxxx…"


DENIAL = Decision(
    Status.DENIED,
    reason="outside the schedule of the rule for this door",
    reason_code=Reason.OUTSIDE_SCHEDULE,
    employee_id="EMP001",
    employee_name="Jane Doe",
    similarity=93.2,
    door_id="front-door",
    access_rule="staff-front-door",
)


def test_a_denial_names_who_where_and_why_and_is_filtered_as_denied() -> None:
    note = notification_for(scan(DENIAL, camera="front-door-in"))
    assert (
        note.subject
        == "🔒 Denied: EMP001 Jane Doe at front-door-in: outside the schedule of the rule for this door"
    )
    assert note.attributes == {"status": "DENIED", "camera_id": "front-door-in", "employee_id": "EMP001"}
    lines = note.text.splitlines()
    assert "Door: front-door" in lines and "Rule: staff-front-door" in lines
    assert "Reason: outside the schedule of the rule for this door" in lines
    assert not any(line.startswith("Holiday:") for line in lines)
    body = json.loads(json.loads(sns_message(note))["sqs"])
    assert (body["status"], body["door_id"], body["access_rule"], body["reason_code"]) == (
        "DENIED",
        "front-door",
        "staff-front-door",
        "OUTSIDE_SCHEDULE",
    )


def test_a_denial_on_a_holiday_names_the_holiday() -> None:
    closed = replace(DENIAL, reason_code=Reason.HOLIDAY_CLOSED, access_rule=None, holiday="2026-12-25")
    lines = notification_for(scan(closed)).text.splitlines()
    assert "Holiday: 2026-12-25" in lines and not any(line.startswith("Rule:") for line in lines)


def test_every_status_has_a_headline() -> None:
    for status in Status:
        assert notification_for(scan(Decision(status, employee_id="EMP001"))).subject


@pytest.mark.parametrize("forged", FORGERIES)
def test_no_stored_rule_door_or_name_can_add_a_line_to_a_denial(forged: str) -> None:
    decision = replace(
        DENIAL,
        employee_name=f"Jane{forged}",
        door_id=f"door{forged}",
        access_rule=f"rule{forged}",
        reason=f"why{forged}",
    )
    note = notification_for(scan(decision))
    lines = note.text.splitlines()
    assert [line for line in lines if line.startswith("Status:")] == ["Status: DENIED"]
    assert f"Door: {display_text('door' + forged)}" in lines
    assert f"Rule: {display_text('rule' + forged)}" in lines
    assert len(note.subject.splitlines()) == 1 and len(note.subject) < 100
