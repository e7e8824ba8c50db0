"""Enrollment for the sandbox, through the real service and adapters (until the HTTP API exists)."""

from __future__ import annotations

from pathlib import Path

from chalicelib import wiring
from chalicelib.enrollment import enroll_photo, register
from chalicelib.models import Employee, FaceRecord
from sandbox.stack import Stack


def enroll_employee(stack: Stack, employee: Employee, photos: list[Path]) -> list[FaceRecord]:
    """Register ``employee`` and enroll every photo; ``EnrollmentError`` says why one failed."""
    ports = wiring.pipeline_ports(stack.settings)
    register(employee, ports.directory)
    return [
        enroll_photo(
            employee.employee_id,
            photo.read_bytes(),
            engine=ports.engine,
            directory=ports.directory,
            limits=stack.settings.limits,
        )
        for photo in photos
    ]
