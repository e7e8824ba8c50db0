"""Enrollment: create and change employees; add and remove their face photos.

Every change is written to the audit log with who made it. Erasing an employee is an
asynchronous job: see ``chalicelib.erasure``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from chalicelib.config import ImageLimits
from chalicelib.errors import AlreadyExists, NotFound
from chalicelib.imaging import RejectedImage, normalise
from chalicelib.models import AuditEntry, Employee, FaceRecord
from chalicelib.ports import AuditLog, EmployeeDirectory, FaceEngine, ScanLog
from chalicelib.recognition import EnrollmentError

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class EnrollmentPorts:
    directory: EmployeeDirectory
    engine: FaceEngine
    audit: AuditLog
    scans: ScanLog  # an employee's door events, read only (erasure has ports of its own)
    clock: Clock = lambda: datetime.now(UTC)

    def log(self, actor: str, action: str, target: str, **details: Any) -> None:
        at = self.clock().isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self.audit.record(AuditEntry(at, actor, action, target, details))


def register(employee: Employee, directory: EmployeeDirectory) -> Employee:
    """Create or replace an employee record (the sandbox's shortcut; no audit)."""
    directory.put(employee)
    return employee


def create_employee(employee: Employee, ports: EnrollmentPorts, actor: str) -> Employee:
    """Create an employee; ``AlreadyExists`` when the id is taken."""
    if not ports.directory.create(employee):
        raise AlreadyExists(f"employee {employee.employee_id} already exists")
    ports.log(actor, "employee.create", employee.employee_id)  # ids only: no personal data
    return employee


def get_employee(employee_id: str, directory: EmployeeDirectory) -> Employee:
    employee = directory.get(employee_id)
    if employee is None:
        raise NotFound(f"no employee {employee_id}")
    return employee


def update_employee(
    employee_id: str, changes: dict[str, Any], ports: EnrollmentPorts, actor: str
) -> Employee:
    """Change name, email, department or ``active`` (suspended employees never get in)."""
    current = get_employee(employee_id, ports.directory)
    updated = replace(current, **changes)
    ports.directory.put(updated)
    ports.log(actor, "employee.update", employee_id, changes=sorted(changes))
    return updated


def enroll_photo(
    employee_id: str,
    photo: bytes,
    *,
    engine: FaceEngine,
    directory: EmployeeDirectory,
    limits: ImageLimits,
) -> FaceRecord:
    """Enroll one photo of an existing employee; raise ``EnrollmentError`` with the reason."""
    get_employee(employee_id, directory)
    try:
        image = normalise(photo, limits)
    except RejectedImage as error:
        raise EnrollmentError(str(error)) from None
    return engine.add_face(employee_id, image)


def add_face(
    employee_id: str, photo: bytes, ports: EnrollmentPorts, limits: ImageLimits, actor: str
) -> FaceRecord:
    """``enroll_photo`` with an audit entry."""
    record = enroll_photo(employee_id, photo, engine=ports.engine, directory=ports.directory, limits=limits)
    ports.log(actor, "face.enroll", employee_id, face_id=record.face_id)
    return record


def faces_of(employee_id: str, ports: EnrollmentPorts) -> list[FaceRecord]:
    get_employee(employee_id, ports.directory)
    return ports.engine.list_faces(employee_id)


def remove_face(employee_id: str, face_id: str, ports: EnrollmentPorts, actor: str) -> None:
    if face_id not in {face.face_id for face in faces_of(employee_id, ports)}:
        raise NotFound(f"employee {employee_id} has no face {face_id}")
    ports.engine.remove_faces(employee_id, [face_id])
    ports.log(actor, "face.remove", employee_id, face_id=face_id)
