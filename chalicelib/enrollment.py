"""Enrollment: create employees and add their face photos."""

from __future__ import annotations

from chalicelib.config import ImageLimits
from chalicelib.imaging import RejectedImage, normalise
from chalicelib.models import Employee, FaceRecord
from chalicelib.ports import EmployeeDirectory
from chalicelib.recognition import EnrollmentError, FaceEngine


def register(employee: Employee, directory: EmployeeDirectory) -> Employee:
    """Create or replace an employee record."""
    directory.put(employee)
    return employee


def enroll_photo(
    employee_id: str,
    photo: bytes,
    *,
    engine: FaceEngine,
    directory: EmployeeDirectory,
    limits: ImageLimits,
) -> FaceRecord:
    """Enroll one photo of an existing employee; raise ``EnrollmentError`` with the reason."""
    if directory.get(employee_id) is None:
        raise LookupError(f"no employee {employee_id!r}")
    try:
        image = normalise(photo, limits)
    except RejectedImage as error:
        raise EnrollmentError(str(error)) from None
    return engine.add_face(employee_id, image)
