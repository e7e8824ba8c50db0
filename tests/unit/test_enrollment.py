"""Enrollment services with in-memory ports: every change audited with who made it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.core.config import ConsentSettings, ImageLimits, Policy
from chalicelib.core.errors import (
    AlreadyExists,
    BadPageToken,
    Conflict,
    DuplicateFace,
    EnrollmentError,
    NotFound,
)
from chalicelib.core.models import Employee, Match, SearchResult
from chalicelib.enrollment import employees as enrollment
from chalicelib.enrollment.employees import EnrollmentPorts
from tests.fakes import (
    InMemoryAuditLog,
    InMemoryConsentLedger,
    InMemoryEmployeeDirectory,
    InMemoryScanLog,
    ScriptedEngine,
)
from tests.images import encoded, two_tone

AT = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
LIMITS = ImageLimits()
POLICY = Policy(match_threshold=80.0, match_margin=5.0)
CONSENT = ConsentSettings()
PHOTO = encoded(two_tone(), "PNG")


@pytest.fixture
def ports() -> EnrollmentPorts:
    return EnrollmentPorts(
        directory=InMemoryEmployeeDirectory(Employee("EMP001", "Quinn Zebedee")),
        engine=ScriptedEngine(SearchResult(faces=[], best=None, runner_up=None)),
        audit=InMemoryAuditLog(),
        scans=InMemoryScanLog(),
        consents=InMemoryConsentLedger.granting(),
        clock=lambda: AT,
    )


def audit(ports: EnrollmentPorts) -> list[tuple[str, str, str, dict[str, object]]]:
    entries = ports.audit.entries  # type: ignore[attr-defined]
    return [(e.actor, e.action, e.target, e.details) for e in entries]


def test_create_then_get_and_a_second_create_is_refused(ports: EnrollmentPorts) -> None:
    avery = Employee("EMP002", "Avery Stone", email="avery@example.com")
    assert enrollment.create_employee(avery, ports, "admin") == avery
    assert enrollment.get_employee("EMP002", ports) == avery
    with pytest.raises(AlreadyExists):
        enrollment.create_employee(Employee("EMP002", "Someone Else"), ports, "admin")
    assert enrollment.get_employee("EMP002", ports).name == "Avery Stone"
    assert audit(ports) == [("admin", "employee.create", "EMP002", {})]  # ids only, no name
    assert ports.audit.entries[0].at == "2026-03-10T09:30:00.000Z"  # type: ignore[attr-defined]


def test_get_and_update_of_an_unknown_employee_are_not_found(ports: EnrollmentPorts) -> None:
    with pytest.raises(NotFound):
        enrollment.get_employee("NOPE", ports)
    with pytest.raises(NotFound):
        enrollment.update_employee("NOPE", {"name": "X"}, ports, "admin")
    assert audit(ports) == []


def test_update_changes_the_fields_and_audits_their_names(ports: EnrollmentPorts) -> None:
    updated = enrollment.update_employee("EMP001", {"active": False, "name": "Quinn Z"}, ports, "admin")
    assert (updated.name, updated.active) == ("Quinn Z", False)
    assert enrollment.get_employee("EMP001", ports) == updated
    assert audit(ports) == [("admin", "employee.update", "EMP001", {"changes": ["active", "name"]})]


def test_list_employees_pages_through_everyone(ports: EnrollmentPorts) -> None:
    for n in range(2, 6):
        enrollment.create_employee(Employee(f"EMP00{n}", f"Person {n}"), ports, "admin")
    first = enrollment.list_employees(3, None, ports)
    assert [e.employee_id for e in first.items] == ["EMP001", "EMP002", "EMP003"]
    rest = enrollment.list_employees(3, first.next_token, ports)
    assert [e.employee_id for e in rest.items] == ["EMP004", "EMP005"] and rest.next_token is None
    with pytest.raises(BadPageToken):
        enrollment.list_employees(3, "forged", ports)


def test_add_list_and_remove_faces_each_audited(ports: EnrollmentPorts) -> None:
    first = enrollment.add_face("EMP001", PHOTO, ports, LIMITS, "admin", policy=POLICY, consent=CONSENT)
    second = enrollment.add_face("EMP001", PHOTO, ports, LIMITS, "admin", policy=POLICY, consent=CONSENT)
    assert {f.face_id for f in enrollment.faces_of("EMP001", ports)} == {first.face_id, second.face_id}

    enrollment.remove_face("EMP001", first.face_id, ports, "security-lead")
    assert [f.face_id for f in enrollment.faces_of("EMP001", ports)] == [second.face_id]
    with pytest.raises(NotFound):  # gone already, or never theirs
        enrollment.remove_face("EMP001", first.face_id, ports, "admin")
    assert audit(ports) == [
        ("admin", "face.enroll", "EMP001", {"face_id": first.face_id}),
        ("admin", "face.enroll", "EMP001", {"face_id": second.face_id}),
        ("security-lead", "face.remove", "EMP001", {"face_id": first.face_id}),
    ]


def test_faces_need_an_employee_and_a_photo(ports: EnrollmentPorts) -> None:
    with pytest.raises(NotFound):
        enrollment.add_face("NOPE", PHOTO, ports, LIMITS, "admin", policy=POLICY, consent=CONSENT)
    with pytest.raises(NotFound):
        enrollment.faces_of("NOPE", ports)
    with pytest.raises(EnrollmentError, match="not an image"):
        enrollment.add_face(
            "EMP001", b"not a photo at all", ports, LIMITS, "admin", policy=POLICY, consent=CONSENT
        )
    assert ports.engine.faces == {}  # type: ignore[attr-defined]
    assert audit(ports) == []


def test_the_service_asks_the_engine_to_refuse_faces_within_the_margin_below_the_threshold(
    ports: EnrollmentPorts,
) -> None:
    enrollment.add_face("EMP001", PHOTO, ports, LIMITS, "admin", policy=Policy(90.0, 4.0), consent=CONSENT)
    assert ports.engine.refuse_ats == [86.0]  # type: ignore[attr-defined]


def test_a_face_of_another_employee_is_refused_named_and_audited(ports: EnrollmentPorts) -> None:
    engine: ScriptedEngine = ports.engine  # type: ignore[assignment]
    enrollment.create_employee(Employee("EMP002", "Avery Stone"), ports, "admin")
    engine.nearest_other = Match("EMP001", 75.0)  # exactly threshold − margin: refused
    with pytest.raises(DuplicateFace) as refused:
        enrollment.add_face("EMP002", PHOTO, ports, LIMITS, "admin", policy=POLICY, consent=CONSENT)
    assert isinstance(refused.value, Conflict)  # 409 through the error middleware
    assert (refused.value.other_employee_id, refused.value.similarity) == ("EMP001", 75.0)
    assert str(refused.value).startswith("this face matches employee EMP001 (similarity 75.0): ")
    assert engine.faces == {}
    assert audit(ports)[-1] == (
        "admin",
        "face.refused",
        "EMP002",
        {"reason": "duplicate_face", "other_employee_id": "EMP001", "similarity": "75.00"},
    )


def test_a_face_just_below_the_floor_or_of_the_same_employee_is_enrolled(ports: EnrollmentPorts) -> None:
    engine: ScriptedEngine = ports.engine  # type: ignore[assignment]
    enrollment.create_employee(Employee("EMP002", "Avery Stone"), ports, "admin")
    engine.nearest_other = Match("EMP001", 74.99)
    enrollment.add_face("EMP002", PHOTO, ports, LIMITS, "admin", policy=POLICY, consent=CONSENT)
    engine.nearest_other = Match("EMP001", 95.0)  # more photos of the same employee
    enrollment.add_face("EMP001", PHOTO, ports, LIMITS, "admin", policy=POLICY, consent=CONSENT)
    assert sorted(engine.faces) == ["EMP001", "EMP002"]
    assert [entry[1] for entry in audit(ports)] == ["employee.create", "face.enroll", "face.enroll"]
