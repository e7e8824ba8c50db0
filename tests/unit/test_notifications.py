"""What people and machines read in a notification."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from chalicelib.core.display import display_text
from chalicelib.core.models import Decision, Reason, Scan, Status
from chalicelib.scanning.notifications import (
    SUBJECT_LIMIT,
    AlertSite,
    local_time,
    notification_for,
    sns_message,
)


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
    assert note.subject == "Door unlocks: EMP001 Jane Doe at front-door (95.5%)"
    assert note.attributes == {
        "status": "AUTHORIZED",
        "camera_id": "front-door",
        "door_id": "front-door",  # no door named: the camera is a door of its own
        "employee_id": "EMP001",
    }
    assert note.body["similarity"] == 95.5


@pytest.mark.parametrize(
    ("status", "subject"),
    [
        (Status.UNKNOWN, "Door stays locked: unknown person at front-door"),
        (Status.MULTIPLE_FACES, "Door stays locked: several faces at front-door, possible tailgating"),
        (Status.ERROR, "Door stays locked: processing error at front-door"),
        (Status.NO_FACE, "Door stays locked: no face seen at front-door"),
        (Status.LOW_QUALITY, "Door stays locked: face not clear enough at front-door"),
        (Status.REJECTED, "Door stays locked: unusable upload from front-door"),
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
    assert message["default"].startswith("Door stays locked: unknown person")
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
        == "Door stays locked: EMP001 Jane Doe denied at front-door-in: outside the schedule of the rule..."
    )
    assert note.attributes == {
        "status": "DENIED",
        "camera_id": "front-door-in",
        "door_id": "front-door",  # the policy's door of the camera: its queue's filter
        "employee_id": "EMP001",
    }
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


CHICAGO = AlertSite("America/Chicago", "facegate-dev-camera-123456789012")


def at(captured_at: str, decision: Decision, camera: str = "front-door") -> Scan:
    return replace(scan(decision, camera), captured_at=captured_at)


@pytest.mark.parametrize("status", list(Status))
def test_the_first_line_says_what_the_door_did(status: Status) -> None:
    text = notification_for(scan(Decision(status, employee_id="EMP001")), CHICAGO).text
    first = text.splitlines()[0]
    assert first.startswith("Door unlocks: " if status is Status.AUTHORIZED else "Door stays locked: ")


def test_the_text_gives_camera_door_local_time_and_where_the_photo_is() -> None:
    note = notification_for(at("2026-12-02T16:41:07.250Z", DENIAL, camera="front-door-in"), CHICAGO)
    lines = note.text.splitlines()
    assert lines[0].startswith("Door stays locked: EMP001 Jane Doe denied at front-door-in")
    assert "Camera: front-door-in" in lines and "Door: front-door" in lines
    assert "Captured: 2026-12-02 10:41:07 CST (UTC-06:00)" in lines
    assert "Photo: s3://facegate-dev-camera-123456789012/incoming/front-door-in/x.jpg (version v1)" in lines


def test_summer_time_shows_the_summer_abbreviation_and_offset() -> None:
    note = notification_for(at("2026-07-01T13:00:00.000Z", Decision(Status.UNKNOWN)), CHICAGO)
    assert "Captured: 2026-07-01 08:00:00 CDT (UTC-05:00)" in note.text.splitlines()


def test_an_unversioned_photo_and_an_unknown_zone_still_give_a_readable_text() -> None:
    unversioned = replace(scan(Decision(Status.NO_FACE)), object_version=None)
    lines = notification_for(unversioned, AlertSite("Mars/Olympus_Mons", "cams")).text.splitlines()
    assert "Photo: s3://cams/incoming/front-door/x.jpg" in lines
    assert "Captured: 2026-03-08 08:30:00 UTC (UTC+00:00)" in lines


def test_the_machine_body_and_attributes_stay_the_scan_as_stored() -> None:
    stored = scan(DENIAL)
    note = notification_for(stored, CHICAGO)
    assert note.body == stored.to_dict()
    assert json.loads(json.loads(sns_message(note))["sqs"]) == stored.to_dict()
    assert note.attributes == {
        "status": "DENIED",
        "camera_id": "front-door",
        "door_id": "front-door",
        "employee_id": "EMP001",
    }


HOSTILE = [
    "x" * 5000,
    "e" + "\u0301" * 500,  # combining accents stacked on one letter
    "\u202eroob-tnorf",  # a right-to-left override
    "\u200f\u200e\u2066rtl\u2069",
    "😀🚪🔓" * 40,
    "José Ñúñez 山田 Ωμέγα",
    "\ud800lone\udfffsurrogates",
    "\x00nul\x07bell\x1b[31m",
    "line\nbreak\r\n\u2028\u2029\x85",
    "\u3000\u3000ideographic space first",
    "ﬁ ｆｕｌｌ ｗｉｄｔｈ",
    "",
]


def sns_accepts(subject: str) -> bool:
    """SNS's subject rule at its strictest (its API reference, old and new): printable ASCII,
    no line breaks or control characters, not starting with a space, under 100 characters."""
    return 0 < len(subject) < 100 and all(" " <= char <= "~" for char in subject) and subject[0] != " "


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("status", list(Status))
def test_every_subject_is_one_sns_accepts_whatever_the_names_hold(hostile: str, status: Status) -> None:
    decision = Decision(
        status, reason=hostile, employee_id=f"EMP{hostile[:8]}", employee_name=hostile, similarity=90.0
    )
    note = notification_for(
        replace(scan(decision), camera_id=hostile or "x", object_key=f"incoming/{hostile}/a.jpg"), CHICAGO
    )
    assert sns_accepts(note.subject), note.subject
    assert len(note.subject) <= SUBJECT_LIMIT
    assert note.subject.startswith(("Door unlocks: ", "Door stays locked: "))
    sns_message(note).encode("utf-8")  # the whole Publish request is UTF-8: nothing here may fail
    assert all(value and value.encode("utf-8") for value in note.attributes.values())
    assert len(note.text.splitlines()[0]) == len(note.text.split("\n")[0])  # one first line


def test_accents_are_dropped_not_lost_in_the_subject() -> None:
    decision = Decision(Status.AUTHORIZED, employee_id="EMP7", employee_name="José Ñúñez", similarity=91.0)
    note = notification_for(scan(decision), CHICAGO)
    assert note.subject == "Door unlocks: EMP7 Jose Nunez at front-door (91.0%)"
    assert "Employee: EMP7 José Ñúñez" in note.text.splitlines()  # the text keeps the name as it is


def test_a_lone_surrogate_stored_in_a_name_still_publishes_and_reads_back_the_same() -> None:
    decision = Decision(Status.UNKNOWN, employee_id="EMP1", employee_name="bad\ud800name")
    note = notification_for(scan(decision), CHICAGO)
    message = sns_message(note)
    message.encode("utf-8")
    assert json.loads(json.loads(message)["sqs"])["employee_name"] == "bad\ud800name"
    assert "Employee: EMP1 bad\\ud800name" in note.text.splitlines()


@pytest.mark.parametrize(
    ("captured_at", "zone"),
    [("9999-12-31T23:59:59Z", "Pacific/Kiritimati"), ("0001-01-01T00:00:00Z", "America/Chicago")],
)
def test_a_time_at_the_end_of_the_calendar_is_shown_as_stored(captured_at: str, zone: str) -> None:
    assert local_time(captured_at, zone) == captured_at
