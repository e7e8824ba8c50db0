"""Drop-folder enrollment with in-memory ports: the API's rules, the photo always deleted,
every outcome audited and announced once, nothing left of a refused new employee."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from chalicelib.core.config import ConsentSettings, ImageLimits, Policy
from chalicelib.core.errors import (
    Conflict,
    EnrollmentError,
    MalformedResponse,
    NotificationFailed,
    ObjectUnreadable,
)
from chalicelib.core.keys import enroll_key
from chalicelib.core.models import Employee, FaceRecord, NormalisedImage, SearchResult, Upload
from chalicelib.enrollment.drop_folder import (
    DropOutcome,
    DropPorts,
    admin_message,
    enroll_dropped,
    metadata_text,
)
from chalicelib.enrollment.employee_rules import new_employee
from chalicelib.enrollment.employees import EnrollmentPorts
from tests.fakes import (
    InMemoryAccessStore,
    InMemoryAdminNotifier,
    InMemoryAuditLog,
    InMemoryConsentLedger,
    InMemoryEmployeeDirectory,
    InMemoryImageStore,
    InMemoryPendingFaces,
    InMemoryScanLog,
    ScriptedEngine,
)
from tests.images import encoded, two_tone

AT = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
BUCKET = "cams"
PHOTO = encoded(two_tone(), "PNG")
HR = "AWS:AIDAHRSYSTEM"
LIMITS = ImageLimits()


class Drop:
    """The ports of one test, and helpers to drop a photo and look at what happened."""

    def __init__(self) -> None:
        self.images = InMemoryImageStore()
        self.directory = InMemoryEmployeeDirectory(Employee("EMP001", "Quinn Zebedee"))
        self.engine = ScriptedEngine(SearchResult(faces=[], best=None, runner_up=None))
        self.audit = InMemoryAuditLog()
        self.admins = InMemoryAdminNotifier()
        self.consents = InMemoryConsentLedger.granting()
        enrollment = EnrollmentPorts(
            self.directory, self.engine, self.audit, InMemoryScanLog(), self.consents, lambda: AT
        )
        self.pending = InMemoryPendingFaces()
        self.access = InMemoryAccessStore()
        self.ports = DropPorts(self.images, enrollment, self.admins, self.engine, self.pending, self.access)

    def put(self, key: str, data: bytes = PHOTO, **metadata: str) -> Upload:
        return self.put_with(key, metadata, data)

    def put_with(self, key: str, metadata: dict[str, str], data: bytes = PHOTO) -> Upload:
        self.images.put(BUCKET, key, data, metadata)
        return Upload(BUCKET, key, None, None, "", uploader=HR)

    def run(self, upload: Upload, limits: ImageLimits = LIMITS) -> DropOutcome:
        return enroll_dropped(
            upload, self.ports, limits, new_employee, policy=Policy(), consent=ConsentSettings()
        )

    def actions(self) -> list[tuple[str, str, str]]:
        return [(e.actor, e.action, e.target) for e in self.audit.entries]

    def events(self) -> list[str]:
        return [attributes["event"] for _, _, attributes in self.admins.published]


@pytest.fixture
def drop() -> Drop:
    return Drop()


def test_a_new_employee_is_created_from_the_metadata_with_one_face(drop: Drop) -> None:
    upload = drop.put(enroll_key("EMP002", "a.png"), name="Avery Stone", email="avery@example.com")
    outcome = drop.run(upload)
    assert outcome.enrolled and outcome.created
    assert drop.directory.employees["EMP002"] == Employee(
        "EMP002",
        "Avery Stone",
        email="avery@example.com",
        enrolled_at="2026-03-10T09:30:00.000Z",
    )  # its first face starts the retention's no-scan clock
    assert drop.directory.employees["EMP002"].created_at == "2026-03-10T09:30:00.000Z"
    assert len(drop.engine.faces["EMP002"]) == 1
    assert drop.images.objects == {} and drop.images.deletions == [(BUCKET, upload.key, "v1")]
    assert drop.actions() == [
        (HR, "employee.create", "EMP002"),
        (HR, "face.enroll", "EMP002"),
        (HR, "enrollment.enrolled", "EMP002"),
    ]
    [(subject, message, attributes)] = drop.admins.published
    assert attributes == {"event": "enrollment.enrolled", "employee_id": "EMP002"}
    assert subject == "facegate: EMP002 enrolled from the drop folder" and len(subject) < 100
    assert "Uploaded by: AWS:AIDAHRSYSTEM" in message and "Avery" not in message  # ids only


def test_an_existing_employees_photo_waits_for_an_admin_and_keeps_their_record(drop: Drop) -> None:
    drop.engine.faces["EMP001"] = ["f0"]
    drop.engine.shows = lambda *_: True  # the photo shows them
    outcome = drop.run(drop.put(enroll_key("EMP001", "b.png"), name="Someone Else"))
    assert not outcome.enrolled and not outcome.created and outcome.pending_id in drop.pending.held
    assert drop.directory.employees["EMP001"].name == "Quinn Zebedee"  # metadata ignored
    assert drop.engine.faces["EMP001"] == ["f0"]  # not in the gallery until approved
    assert drop.events() == ["enrollment.pending"]


def test_a_refused_photo_of_a_new_employee_leaves_no_employee_and_is_deleted(drop: Drop) -> None:
    drop.engine.add_fails_with = EnrollmentError("no face found in the photo")
    upload = drop.put(enroll_key("EMP003", "c.png"), name="Robin Vale")
    outcome = drop.run(upload)
    assert not outcome.enrolled and outcome.reason == "no face found in the photo"
    assert "EMP003" not in drop.directory.employees and not drop.engine.faces.get("EMP003")
    assert drop.images.objects == {}
    assert [action for _, action, _ in drop.actions()] == [
        "employee.create",
        "employee.create.undone",
        "enrollment.refused",
    ]
    [(subject, message, attributes)] = drop.admins.published
    assert attributes["event"] == "enrollment.refused" and "refused (EMP003)" in subject
    assert "Reason: no face found in the photo" in message


def test_a_duplicate_face_is_a_refusal_with_its_message(drop: Drop) -> None:
    drop.engine.add_fails_with = Conflict("this face is enrolled for EMP001 already")
    outcome = drop.run(drop.put(enroll_key("EMP004", "d.png"), name="Sam Lee"))
    assert outcome.reason == "this face is enrolled for EMP001 already"
    assert "EMP004" not in drop.directory.employees


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ({}, "name is required"),
        ({"name": "  "}, "name must be 1–200 characters"),
        ({"name": "A\u202eB"}, "name must not contain control characters"),
        ({"name": "Ava", "email": "not-an-address"}, "email is not an email address"),
    ],
)
def test_a_new_employee_needs_metadata_the_api_would_accept(
    drop: Drop, metadata: dict[str, str], reason: str
) -> None:
    outcome = drop.run(drop.put_with(enroll_key("EMP005", "e.png"), metadata))
    assert outcome.reason == reason
    assert "EMP005" not in drop.directory.employees and not drop.engine.faces.get("EMP005")
    assert drop.images.objects == {} and drop.events() == ["enrollment.refused"]


def test_a_non_ascii_name_arrives_rfc_2047_encoded_and_is_read_back() -> None:
    assert metadata_text("=?UTF-8?B?Wm/DqyBBbmRyw6k=?=") == "Zoë André"
    assert metadata_text("Plain Name") == "Plain Name"
    assert metadata_text("=?bogus") == "=?bogus"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("enroll/EMP001.jpg", "key is not enroll/<employee-id>/<file>"),
        ("enroll/EMP001/deeper/a.jpg", "key is not enroll/<employee-id>/<file>"),
        (
            "enroll/bad id/a.jpg",
            "employee id must be 1–64 characters of A–Z, a–z, 0–9, _ . : - (not only dots)",
        ),
        ("enroll/erasure/a.jpg", "employee id erasure is reserved"),
    ],
)
def test_a_bad_key_is_refused_and_deleted(drop: Drop, key: str, reason: str) -> None:
    outcome = drop.run(drop.put(key, name="Ava"))
    assert outcome.reason == reason and outcome.employee_id is None
    assert drop.images.objects == {} and drop.engine.faces == {}
    assert drop.actions() == [(HR, "enrollment.refused", "(invalid)")]


def test_an_oversize_photo_is_refused_unread_and_deleted(drop: Drop) -> None:
    outcome = drop.run(drop.put(enroll_key("EMP001", "big.png"), b"x" * 101), ImageLimits(max_bytes=100))
    assert outcome.reason == "file too large: 101 bytes, limit 100"
    assert drop.images.objects == {} and drop.events() == ["enrollment.refused"]


def test_a_redelivered_event_does_nothing_twice(drop: Drop) -> None:
    upload = drop.put(enroll_key("EMP002", "a.png"), name="Avery Stone")
    drop.run(upload)
    again = drop.run(upload)
    assert again.gone
    assert len(drop.engine.faces["EMP002"]) == 1 and drop.events() == ["enrollment.enrolled"]
    assert len(drop.audit.entries) == 3


def test_a_failure_after_the_photo_is_deleted_is_told_to_the_admins(drop: Drop) -> None:
    drop.engine.add_fails_with = MalformedResponse("garbled")
    outcome = drop.run(drop.put(enroll_key("EMP006", "f.png"), name="Kai"))
    assert outcome.reason == "internal error: drop the photo again"
    assert "EMP006" not in drop.directory.employees and drop.events() == ["enrollment.refused"]


def test_a_read_failure_is_raised_before_anything_is_deleted(drop: Drop) -> None:
    upload = drop.put(enroll_key("EMP001", "g.png"))
    drop.images.fail_with = RuntimeError("S3 throttled")
    with pytest.raises(RuntimeError):
        drop.run(upload)
    drop.images.fail_with = None
    assert drop.images.objects and drop.audit.entries == [] and drop.admins.published == []


def test_an_announcement_that_fails_is_raised_after_the_audit(drop: Drop) -> None:
    drop.admins.fail_with = RuntimeError("SNS down")
    with pytest.raises(NotificationFailed):
        drop.run(drop.put(enroll_key("EMP002", "h.png"), name="Avery Stone"))
    assert [action for _, action, _ in drop.actions()][-1] == "enrollment.enrolled"


def test_the_uploader_defaults_to_the_drop_folder(drop: Drop) -> None:
    drop.images.put(BUCKET, enroll_key("EMP001", "i.png"), PHOTO)
    drop.run(Upload(BUCKET, enroll_key("EMP001", "i.png"), None, None, ""))
    assert {actor for actor, _, _ in drop.actions()} == {"drop-folder"}


def test_the_subject_stays_under_snss_limit_and_on_one_line() -> None:
    outcome = DropOutcome("enroll/x/y", "E" * 64, reason="r\nStatus: AUTHORIZED")
    subject, message = admin_message(outcome, "actor\nforged")
    assert len(subject) < 100 and "\n" not in subject
    assert "Reason: r\\x0aStatus: AUTHORIZED" in message and "actor\\x0aforged" in message


def test_a_refused_photo_leaves_the_employee_an_admin_enrolled_meanwhile(drop: Drop) -> None:
    """The blurred photo created a new hire; an admin enrolled a face of theirs meanwhile
    (and a second photo dropped at once waits): the refusal must not wipe employee or face."""
    good = drop.put(enroll_key("EMP009", "good.png"), name="New Hire")
    bad = drop.put(enroll_key("EMP009", "blurred.png"), name="New Hire")
    engine, real_add = drop.engine, drop.engine.add_face
    results: dict[str, DropOutcome] = {}

    def add_face(
        employee_id: str,
        image: NormalisedImage,
        *,
        refuse_at: float | None = None,
        allow: frozenset[str] = frozenset(),
    ) -> FaceRecord:
        if "good" not in results:  # the blurred photo's call: the others run meanwhile
            engine.add_face = real_add  # type: ignore[method-assign]
            results["good"] = drop.run(good)
            real_add(employee_id, image)  # the admin's, through the API
            raise EnrollmentError("face too blurred")
        return real_add(employee_id, image, refuse_at=refuse_at, allow=allow)

    drop.engine.shows = lambda *_: True
    engine.add_face = add_face  # type: ignore[method-assign]
    outcome = drop.run(bad)
    assert results["good"].pending_id and not outcome.enrolled and outcome.remains
    assert "EMP009" in drop.directory.employees and len(engine.faces["EMP009"]) == 1
    [kept] = [entry for entry in drop.audit.entries if entry.action == "employee.create.kept"]
    assert "restored" not in kept.details  # seen before the delete: never removed at all
    assert "employee.create.undone" not in [action for _, action, _ in drop.actions()]
    assert drop.events() == ["enrollment.pending", "enrollment.refused"]
    assert "EMP009 was kept: another photo enrolled a face" in drop.admins.published[1][1]


def test_a_face_landing_while_the_employee_is_removed_puts_them_back(drop: Drop) -> None:
    """The other photo's face is stored between the undo's check and its delete."""
    drop.engine.add_fails_with = EnrollmentError("face too blurred")
    real_delete = drop.directory.delete

    def delete(employee_id: str) -> None:
        real_delete(employee_id)
        drop.engine.faces.setdefault(employee_id, []).append("concurrent")

    drop.directory.delete = delete  # type: ignore[method-assign]
    outcome = drop.run(drop.put(enroll_key("EMP009", "blurred.png"), name="New Hire"))
    assert outcome.remains and "EMP009" in drop.directory.employees
    assert drop.engine.faces["EMP009"] == ["concurrent"]


def test_the_photo_that_lost_the_create_race_waits(drop: Drop) -> None:
    """The employee was created between its look and its create (another photo, an admin):
    not by this drop, so its face waits for an admin."""
    upload = drop.put(enroll_key("EMP009", "good.png"), name="New Hire")
    real_get = drop.directory.get
    drop.directory.get = lambda employee_id: None  # type: ignore[method-assign]
    drop.directory.employees["EMP009"] = Employee("EMP009", "New Hire")  # as created by the other
    try:
        outcome = drop.run(upload)
    finally:
        drop.directory.get = real_get  # type: ignore[method-assign]
    assert outcome.pending_id and not outcome.created and not drop.engine.faces.get("EMP009")


def test_a_failing_undo_is_a_refusal_saying_the_employee_may_remain(drop: Drop) -> None:
    drop.engine.add_fails_with = EnrollmentError("face too blurred")

    def broken_delete(employee_id: str) -> None:
        raise RuntimeError("DynamoDB throttled")

    drop.directory.delete = broken_delete  # type: ignore[method-assign]
    outcome = drop.run(drop.put(enroll_key("EMP009", "blurred.png"), name="New Hire"))
    assert not outcome.enrolled and outcome.remains
    assert outcome.reason is not None and outcome.reason.startswith("face too blurred")
    assert "EMP009 may remain" in outcome.reason
    assert [action for _, action, _ in drop.actions()] == [
        "employee.create",
        "employee.create.undo_failed",
        "enrollment.refused",
    ]
    [(_, message, attributes)] = drop.admins.published
    assert attributes["event"] == "enrollment.refused" and "No employee was created" not in message
    assert drop.images.objects == {}


@pytest.mark.parametrize(
    "value",
    [
        "=?UTF-8?B?A?=",  # bad base64
        "=?x-bogus?Q?abc?=",  # an unknown charset
        "=?UTF-8?B?/w==?=",  # not UTF-8
    ],
)
def test_a_malformed_encoded_word_is_a_clear_refusal(drop: Drop, value: str) -> None:
    outcome = drop.run(drop.put(enroll_key("EMP009", "a.png"), name=value))
    assert outcome.reason == "name metadata is not valid RFC 2047"
    assert "EMP009" not in drop.directory.employees and drop.events() == ["enrollment.refused"]


def test_a_huge_encoded_name_is_judged_by_the_name_rule(drop: Drop) -> None:
    encoded_name = "=?UTF-8?B?" + base64.b64encode(("ë" * 600).encode()).decode() + "?="
    outcome = drop.run(drop.put(enroll_key("EMP009", "a.png"), name=encoded_name))
    assert outcome.reason == "name must be 1–200 characters"


def test_an_unreadable_photo_is_refused_deleted_audited_and_told(drop: Drop) -> None:
    upload = drop.put(enroll_key("EMP001", "kms.png"))
    drop.images.fail_with = ObjectUnreadable("enroll/EMP001/kms.png may not be read (AccessDenied)")
    real_delete = drop.images.delete

    def delete(bucket: str, key: str, version_id: str | None = None) -> None:
        drop.images.fail_with = None
        real_delete(bucket, key, version_id)

    drop.images.delete = delete  # type: ignore[method-assign]
    outcome = drop.run(upload)
    assert outcome.reason == "enroll/EMP001/kms.png may not be read (AccessDenied)"
    assert drop.images.objects == {} and not outcome.photo_kept
    assert drop.actions() == [(HR, "enrollment.refused", "EMP001")]
    assert drop.events() == ["enrollment.refused"]


def test_an_unreadable_photo_that_cannot_be_deleted_is_told_to_stay(drop: Drop) -> None:
    upload = drop.put(enroll_key("EMP001", "kms.png"))
    drop.images.fail_with = ObjectUnreadable("enroll/EMP001/kms.png may not be read (AccessDenied)")
    outcome = drop.run(upload)
    assert outcome.photo_kept and drop.images.objects
    [(_, message, _)] = drop.admins.published
    assert "could not be deleted" in message and "has been deleted" not in message


def test_a_photo_of_someone_else_is_refused_for_an_employee_with_faces(drop: Drop) -> None:
    drop.engine.faces["EMP001"] = ["f0"]
    drop.engine.shows = lambda *_: False
    outcome = drop.run(drop.put(enroll_key("EMP001", "stranger.png")))
    assert outcome.reason == (
        "this photo does not match EMP001's enrolled faces: an admin can add it through the API"
    )
    assert drop.engine.faces["EMP001"] == ["f0"] and drop.events() == ["enrollment.refused"]


def test_a_matching_photo_waits_and_a_first_face_needs_no_match(drop: Drop) -> None:
    drop.engine.shows = lambda image, employee_id: employee_id == "EMP001"
    assert drop.run(drop.put(enroll_key("EMP001", "first.png"))).pending_id  # no faces yet: no check
    drop.engine.faces["EMP001"] = ["f0"]
    assert drop.run(drop.put(enroll_key("EMP001", "second.png"))).pending_id
    assert len(drop.pending.held) == 2 and drop.engine.faces["EMP001"] == ["f0"]
