"""Enrollment: create, change and erase employees; add and remove their face photos.

Every change is written to the audit log with who made it. Erasure removes every piece
of an employee's biometric data: faces in the engine, camera photos of them and the
processed copies; their door events stay, anonymised, until retention expires them.
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
from chalicelib.ports import AuditLog, EmployeeDirectory, ImageStore, ScanLog
from chalicelib.recognition import EnrollmentError, FaceEngine

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class EnrollmentPorts:
    directory: EmployeeDirectory
    engine: FaceEngine
    audit: AuditLog
    scans: ScanLog
    images: ImageStore
    camera_bucket: str
    processed_prefix: str = "processed/"
    clock: Clock = lambda: datetime.now(UTC)

    def log(self, actor: str, action: str, target: str, **details: Any) -> None:
        at = self.clock().isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self.audit.record(AuditEntry(at, actor, action, target, details))


@dataclass(frozen=True)
class Erasure:
    """What erasing an employee removed."""

    employee_id: str
    faces_removed: int
    scans_anonymised: int
    photos_deleted: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "employee_id": self.employee_id,
            "faces_removed": self.faces_removed,
            "scans_anonymised": self.scans_anonymised,
            "photos_deleted": self.photos_deleted,
        }


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


def erase_employee(employee_id: str, ports: EnrollmentPorts, actor: str) -> Erasure:
    """Remove every face and photo of the employee, anonymise their scans, delete the record."""
    get_employee(employee_id, ports.directory)
    faces = len(ports.engine.list_faces(employee_id))
    ports.engine.remove_faces(employee_id)
    anonymised = photos = 0
    token: str | None = None
    while True:
        page = ports.scans.by_employee(employee_id, limit=100, token=token)
        for scan in page.items:
            ports.images.delete(ports.camera_bucket, scan.object_key, scan.object_version)
            ports.images.delete(ports.camera_bucket, f"{ports.processed_prefix}{scan.scan_id}.json")
            photos += 1
            ports.scans.anonymise(scan.scan_id)
            anonymised += 1
        if page.next_token is None:
            break
        token = page.next_token
    ports.directory.delete(employee_id)
    erasure = Erasure(employee_id, faces, anonymised, photos)
    ports.log(
        actor,
        "employee.erase",
        employee_id,
        **{k: v for k, v in erasure.to_dict().items() if k != "employee_id"},
    )
    return erasure
