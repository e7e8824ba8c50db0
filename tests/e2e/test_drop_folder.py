"""The drop folder end to end in the sandbox: real photos put under enroll/, the S3 event
pumped to ``on_enrollment_upload``, the real model, and what is left in local AWS after."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest

import app
from chalicelib import wiring
from chalicelib.core.keys import ENROLL_PREFIX
from chalicelib.core.models import Employee
from sandbox.enroll import enroll_employee
from sandbox.stack import Stack


def versions_left(stack: Stack) -> list[str]:
    """Every version and delete marker under enroll/: enrollment photos are never kept."""
    listing = stack.s3.list_object_versions(Bucket=stack.settings.camera_bucket, Prefix=ENROLL_PREFIX)
    return [entry["Key"] for entry in listing.get("Versions", []) + listing.get("DeleteMarkers", [])]


def employee(stack: Stack, employee_id: str) -> Employee | None:
    return wiring.enrollment_ports(stack.settings).directory.get(employee_id)


def faces(stack: Stack, employee_id: str) -> int:
    return len(wiring.enrollment_ports(stack.settings).engine.list_faces(employee_id))


def audit_actions(stack: Stack, target: str) -> list[str]:
    items = stack.session.client("dynamodb").scan(TableName=stack.settings.audit_table)["Items"]
    entries = sorted(
        (item["entry"]["S"], item["action"]["S"]) for item in items if item["target"]["S"] == target
    )
    return [action for _, action in entries]


def handled(stack: Stack, expected: int = 1) -> None:
    events = stack.pump(expected=expected)
    assert len(events) == expected and all(event.error is None for event in events), events


def test_a_new_employee_is_enrolled_from_the_metadata_and_the_photo_is_gone(
    stack: Stack, photos: Path
) -> None:
    stack.drop("EMP010", "avery.jpg", (photos / "obama.jpg").read_bytes(), name="Avery Stone")
    handled(stack)
    assert employee(stack, "EMP010") == Employee("EMP010", "Avery Stone", enrolled_at=ANY)
    assert faces(stack, "EMP010") == 1
    assert versions_left(stack) == []  # the bucket is versioned: no version, no delete marker
    [notice] = stack.admin_notifications()
    assert notice["attributes"] == {"event": "enrollment.enrolled", "employee_id": "EMP010"}
    assert notice["subject"] == "facegate: EMP010 enrolled from the drop folder"
    assert "The employee is new" in notice["message"]
    assert audit_actions(stack, "EMP010") == [
        "employee.create",
        "consent.give",  # from the photo's x-amz-meta-consent-*
        "face.enroll",
        "enrollment.enrolled",
    ]
    assert stack.notifications() == []  # nothing on the door-decision topic
    # and the door now opens for them
    stack.upload("front-door", "a.jpg", (photos / "obama2.jpg").read_bytes())
    handled(stack)
    [decision] = stack.notifications()
    assert decision["attributes"]["status"] == "AUTHORIZED"


def test_a_photo_without_consent_is_refused_and_creates_no_one(stack: Stack, photos: Path) -> None:
    stack.drop("EMP011", "avery.jpg", (photos / "obama.jpg").read_bytes(), consent=False, name="Avery Stone")
    handled(stack)
    assert employee(stack, "EMP011") is None and faces(stack, "EMP011") == 0
    assert versions_left(stack) == []
    [notice] = stack.admin_notifications()
    assert notice["attributes"] == {"event": "enrollment.refused", "employee_id": "EMP011"}
    assert "Reason: employee EMP011 has no consent to biometric notice 2026-12" in notice["message"]


def test_an_existing_employees_second_face_waits_for_an_admin(stack: Stack, photos: Path) -> None:
    from chalicelib.core.config import Settings
    from chalicelib.enrollment import pending

    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    stack.drop("EMP001", "second.jpg", (photos / "obama3.jpg").read_bytes(), name="Not Applied")
    handled(stack)
    assert faces(stack, "EMP001") == 1  # held, not in the gallery
    assert employee(stack, "EMP001") == Employee("EMP001", "Avery Stone", enrolled_at=ANY)  # metadata ignored
    assert [n["attributes"]["event"] for n in stack.admin_notifications()] == ["enrollment.pending"]
    assert versions_left(stack) == []
    held = wiring.pending_faces(stack.settings)
    [face] = pending.pending_faces(held)
    settings = Settings.from_env()
    ports = wiring.enrollment_ports(stack.settings)
    pending.approve(
        face.pending_id,
        held,
        ports,
        settings.limits,
        "admin",
        policy=settings.policy,
        consent=settings.consent,
    )
    assert faces(stack, "EMP001") == 2


@pytest.mark.parametrize(
    ("photo", "reason"),
    [
        ("coffee.png", "no face found in the photo"),
        ("group.jpg", "faces in the photo: enroll a photo of one person"),
    ],
)
def test_a_refused_photo_is_notified_deleted_and_leaves_no_employee(
    stack: Stack, photos: Path, photo: str, reason: str
) -> None:
    stack.drop("EMP020", photo, (photos / photo).read_bytes(), name="Robin Vale")
    handled(stack)
    [notice] = stack.admin_notifications()
    assert notice["attributes"]["event"] == "enrollment.refused"
    assert reason in notice["message"] and "refused (EMP020)" in notice["subject"]
    assert employee(stack, "EMP020") is None and faces(stack, "EMP020") == 0
    assert versions_left(stack) == []
    assert audit_actions(stack, "EMP020")[-2:] == ["employee.create.undone", "enrollment.refused"]


def test_an_enrolled_face_dropped_for_a_new_employee_is_refused_naming_the_other(
    stack: Stack, photos: Path
) -> None:
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    stack.drop("EMP021", "twin.jpg", (photos / "obama2.jpg").read_bytes(), name="Robin Vale")
    handled(stack)
    [notice] = stack.admin_notifications()
    assert notice["attributes"]["event"] == "enrollment.refused"
    assert "this face matches employee EMP001" in notice["message"]
    assert employee(stack, "EMP021") is None and faces(stack, "EMP021") == 0
    # the consent this drop stated is undone with the employee it created
    refused = ["face.refused", "consent.undone", "employee.create.undone", "enrollment.refused"]
    assert audit_actions(stack, "EMP021")[-4:] == refused


def test_a_photo_of_someone_else_is_refused_for_an_employee_with_faces(stack: Stack, photos: Path) -> None:
    """A typo'd id or a compromised HR system must not add a stranger's face to an employee."""
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    stack.drop("EMP001", "stranger.jpg", (photos / "biden.jpg").read_bytes())
    handled(stack)
    [notice] = stack.admin_notifications()
    assert notice["attributes"]["event"] == "enrollment.refused"
    assert "does not match EMP001's enrolled faces: an admin can add it through the API" in notice["message"]
    assert faces(stack, "EMP001") == 1 and versions_left(stack) == []
    stack.drop("EMP001", "same.jpg", (photos / "obama2.jpg").read_bytes())
    handled(stack)
    assert faces(stack, "EMP001") == 1  # it shows them, and waits for an admin
    assert audit_actions(stack, "EMP001")[-3:] == ["enrollment.refused", "face.pending", "enrollment.pending"]


def test_a_malformed_encoded_name_is_refused_as_such(stack: Stack, photos: Path) -> None:
    stack.drop("EMP071", "a.jpg", (photos / "obama.jpg").read_bytes(), name="=?UTF-8?B?A?=")
    handled(stack)
    [notice] = stack.admin_notifications()
    assert "Reason: name metadata is not valid RFC 2047" in notice["message"]
    assert employee(stack, "EMP071") is None and versions_left(stack) == []


def test_a_non_ascii_name_is_sent_rfc_2047_encoded_and_enrolled_as_written(
    stack: Stack, photos: Path
) -> None:
    # botocore (and S3's headers) take ASCII only: S3's documented form for other text.
    encoded = "=?UTF-8?B?" + base64.b64encode("Zoë André".encode()).decode() + "?="
    stack.drop("EMP070", "a.jpg", (photos / "obama.jpg").read_bytes(), name=encoded)
    handled(stack)
    assert employee(stack, "EMP070") == Employee("EMP070", "Zoë André", enrolled_at=ANY)


def test_a_new_employee_without_a_name_is_refused_as_the_api_would(stack: Stack, photos: Path) -> None:
    stack.drop("EMP030", "a.jpg", (photos / "obama.jpg").read_bytes(), email="avery@example.com")
    handled(stack)
    [notice] = stack.admin_notifications()
    assert "Reason: name is required" in notice["message"]
    assert employee(stack, "EMP030") is None and versions_left(stack) == []


def test_a_bad_key_is_refused_and_deleted(stack: Stack, photos: Path) -> None:
    key = f"{ENROLL_PREFIX}EMP001/nested/a.jpg"
    stack.s3.put_object(
        Bucket=stack.settings.camera_bucket, Key=key, Body=(photos / "obama.jpg").read_bytes()
    )
    handled(stack)
    [notice] = stack.admin_notifications()
    assert notice["attributes"] == {"event": "enrollment.refused"}
    assert "key is not enroll/<employee-id>/<file>" in notice["message"]
    assert versions_left(stack) == [] and employee(stack, "EMP001") is None


def test_an_oversize_photo_is_refused_and_deleted(
    stack: Stack, photos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEGATE_MAX_UPLOAD_BYTES", "100000")
    stack.drop("EMP040", "big.jpg", (photos / "obama.jpg").read_bytes(), name="Avery Stone")
    handled(stack)
    [notice] = stack.admin_notifications()
    assert "Reason: file too large: 279922 bytes, limit 100000" in notice["message"]
    assert employee(stack, "EMP040") is None and versions_left(stack) == []


def test_a_redelivered_event_does_nothing_twice(stack: Stack, photos: Path) -> None:
    stack.drop("EMP050", "a.jpg", (photos / "obama.jpg").read_bytes(), name="Avery Stone")
    event = queued_event(stack)
    for _ in range(3):  # S3 delivers at least once: the same event, three times
        app.on_enrollment_upload(event, None)
    assert faces(stack, "EMP050") == 1
    assert [n["attributes"]["event"] for n in stack.admin_notifications()] == ["enrollment.enrolled"]
    assert audit_actions(stack, "EMP050") == [
        "employee.create",
        "consent.give",
        "face.enroll",
        "enrollment.enrolled",
    ]


def test_the_audits_actor_is_the_uploader_or_the_drop_folder(stack: Stack, photos: Path) -> None:
    stack.drop("EMP060", "a.jpg", (photos / "obama.jpg").read_bytes(), name="Avery Stone")
    event = queued_event(stack)
    # moto's events carry no userIdentity; in AWS this is the HR role's principal id
    principal = event["Records"][0].get("userIdentity", {}).get("principalId") or "drop-folder"
    app.on_enrollment_upload(event, None)
    items = stack.session.client("dynamodb").scan(TableName=stack.settings.audit_table)["Items"]
    assert {item["actor"]["S"] for item in items if item["target"]["S"] == "EMP060"} == {principal}
    assert "Uploaded by: " + principal in stack.admin_notifications()[0]["message"]


def queued_event(stack: Stack) -> dict[str, Any]:
    """The S3 event the drop produced, taken off the sandbox's event queue."""
    url = stack.names["uploads_queue"]
    for _ in range(10):
        for message in stack.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []):
            stack.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            event: dict[str, Any] = json.loads(message["Body"])
            if "Records" in event:
                return event
    raise AssertionError("no S3 event was queued")
