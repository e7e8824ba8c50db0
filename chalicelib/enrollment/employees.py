"""Enrollment: create and change employees; add and remove their face photos.

Every change is written to the audit log with who made it. Erasing an employee is an
asynchronous job: see ``chalicelib.erasure.job``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from chalicelib.core.config import ConsentSettings, ImageLimits, Policy
from chalicelib.core.errors import (
    AlreadyExists,
    ConsentMissing,
    DuplicateFace,
    EmployeeBeingErased,
    EnrollmentError,
    NotFound,
    RejectedImage,
)
from chalicelib.core.local_days import iso_ms
from chalicelib.core.models import AuditEntry, Employee, FaceRecord
from chalicelib.core.ports import (
    AuditLog,
    ConsentLedger,
    EmployeeDirectory,
    FaceEngine,
    Page,
    RetiresModels,
    ScanLog,
)
from chalicelib.scanning.imaging import normalise
from chalicelib.scanning.recognition import confusable_at

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class EnrollmentPorts:
    """What enrollment and the read-only lookups need (``wiring.api_ports().enrollment``)."""

    directory: EmployeeDirectory
    engine: FaceEngine
    audit: AuditLog
    scans: ScanLog  # an employee's door events, read only (erasure has ports of its own)
    consents: ConsentLedger  # biometric consents, checked before any face is stored
    clock: Clock = lambda: datetime.now(UTC)

    def now(self) -> str:
        """The clock's instant as the records store it (UTC ISO-8601, milliseconds)."""
        return iso_ms(self.clock())

    def log(self, actor: str, action: str, target: str, **details: Any) -> None:
        self.audit.record(AuditEntry(self.now(), actor, action, target, details))


def create_employee(employee: Employee, ports: EnrollmentPorts, actor: str) -> Employee:
    """Create an employee; ``AlreadyExists`` when the id is taken, ``EmployeeBeingErased``
    while an erasure job holds it (its tombstone: until the job is DONE). One created inactive
    starts the retention clock of the inactive (``inactive_since``) at once."""
    now = ports.now()
    employee = replace(employee, inactive_since=None if employee.active else now, created_at=now)
    if not ports.directory.create(employee):
        job_id = ports.directory.erasure_of(employee.employee_id)
        if job_id is not None:
            raise EmployeeBeingErased(employee.employee_id, job_id)
        raise AlreadyExists(f"employee {employee.employee_id} already exists")
    ports.log(actor, "employee.create", employee.employee_id)  # ids only: no personal data
    return employee


def get_employee(employee_id: str, ports: EnrollmentPorts) -> Employee:
    """The employee; ``NotFound`` when there is none (or they are being erased)."""
    employee = ports.directory.get(employee_id)
    if employee is None:
        raise NotFound(f"no employee {employee_id}")
    return employee


def list_employees(limit: int, token: str | None, ports: EnrollmentPorts) -> Page[Employee]:
    """The employees, a page of at most ``limit`` at a time; ``BadPageToken`` for a forged token."""
    return ports.directory.listing(limit, token)


def update_employee(
    employee_id: str, changes: dict[str, Any], ports: EnrollmentPorts, actor: str
) -> Employee:
    """Change name, email, department or ``active`` (suspended employees never get in).

    Suspending starts the retention clock of the inactive (``inactive_since``: now, kept if
    they were inactive already); reactivating clears it."""
    current = get_employee(employee_id, ports)
    updated = replace(current, **changes)
    if updated.active:
        updated = replace(updated, inactive_since=None)
    elif current.active or current.inactive_since is None:
        updated = replace(updated, inactive_since=ports.now())
    ports.directory.put(updated)
    ports.log(actor, "employee.update", employee_id, changes=sorted(changes))
    return updated


def add_face(
    employee_id: str,
    photo: bytes,
    ports: EnrollmentPorts,
    limits: ImageLimits,
    actor: str,
    *,
    policy: Policy,
    consent: ConsentSettings,
) -> FaceRecord:
    """Enroll one photo of an existing employee; ``ConsentMissing`` (audited) without their
    consent to the notice in force when the stage requires it, ``EnrollmentError`` says why
    it cannot be, ``DuplicateFace`` (audited) that the face is another employee's
    (``confusable_at``), but for the look-alikes an admin allowed as a pair with them
    (``allowed_lookalikes``)."""
    get_employee(employee_id, ports)
    require_consent(employee_id, ports, consent, actor)
    try:
        image = normalise(photo, limits)
    except RejectedImage as error:
        raise EnrollmentError(str(error)) from None
    allow = allowed_lookalikes(employee_id, ports)
    try:
        record = ports.engine.add_face(employee_id, image, refuse_at=confusable_at(policy), allow=allow)
    except DuplicateFace as duplicate:
        ports.log(
            actor,
            "face.refused",
            employee_id,
            reason="duplicate_face",
            other_employee_id=duplicate.other_employee_id,
            similarity=f"{duplicate.similarity:.2f}",  # a string: DynamoDB takes no float
        )
        raise
    ports.directory.stamp(employee_id, "enrolled_at", ports.now())  # the no-scan clock starts (once)
    if allow:
        ports.log(actor, "face.enroll", employee_id, face_id=record.face_id, lookalikes_allowed=sorted(allow))
    else:
        ports.log(actor, "face.enroll", employee_id, face_id=record.face_id)
    return record


def allowed_lookalikes(employee_id: str, ports: EnrollmentPorts) -> frozenset[str]:
    """The employees whose faces may resemble ``employee_id``'s: pairs an admin allowed
    (``enrollment.lookalikes``), honoured only while both employees' records list each
    other, so a pair outlives neither of them (an id erased and created again is a stranger)."""
    return frozenset(
        other
        for other in ports.directory.lookalikes(employee_id)
        if employee_id in ports.directory.lookalikes(other)
    )


def require_consent(employee_id: str, ports: EnrollmentPorts, consent: ConsentSettings, actor: str) -> None:
    """``ConsentMissing`` (audited) unless consent is off or the employee has a consent to
    the notice in force that is not withdrawn: every way a face is stored passes here."""
    if not consent.required:
        return
    if any(record.covers(consent.notice_version) for record in ports.consents.history(employee_id)):
        return
    ports.log(actor, "face.refused", employee_id, reason="no_consent", notice=consent.notice_version)
    raise ConsentMissing(
        f"employee {employee_id} has no consent to biometric notice {consent.notice_version}: "
        f"record it first (PUT /employees/{employee_id}/consent)"
    )


def retire_old_model(ports: EnrollmentPorts, actor: str) -> dict[str, int]:
    """Remove the faces of the engine's old model once nobody needs them (audited); an
    engine of one model has none to remove."""
    if not isinstance(ports.engine, RetiresModels):
        return {"removed_faces": 0, "employees": 0}
    faces, employees = ports.engine.retire_old_model()
    ports.log(actor, "gallery.retire_old_model", "gallery", removed_faces=faces, employees=employees)
    return {"removed_faces": faces, "employees": employees}


def faces_of(employee_id: str, ports: EnrollmentPorts) -> list[FaceRecord]:
    """The faces enrolled for an existing employee."""
    get_employee(employee_id, ports)
    return ports.engine.list_faces(employee_id)


def remove_face(employee_id: str, face_id: str, ports: EnrollmentPorts, actor: str) -> None:
    """Forget one face of an employee; ``NotFound`` when they have no such face."""
    if face_id not in {face.face_id for face in faces_of(employee_id, ports)}:
        raise NotFound(f"employee {employee_id} has no face {face_id}")
    ports.engine.remove_faces(employee_id, [face_id])
    ports.log(actor, "face.remove", employee_id, face_id=face_id)
