"""Enrollment for the sandbox, through the real services and adapters, as the API would."""

from __future__ import annotations

from pathlib import Path

from chalicelib import wiring
from chalicelib.core.errors import AlreadyExists
from chalicelib.core.models import Employee, FaceRecord
from chalicelib.enrollment.consent import give_consent
from chalicelib.enrollment.employees import add_face, create_employee, get_employee, update_employee
from sandbox.stack import Stack

ACTOR = "sandbox"  # who the audit log says made the change


def enroll_employee(stack: Stack, employee: Employee, photos: list[Path]) -> list[FaceRecord]:
    """Create ``employee``, or bring an existing record up to it (`sandbox evaluate` enrolls
    a gallery a photo at a time), then enroll every photo; ``EnrollmentError`` says why one
    failed."""
    ports = wiring.api_ports(stack.settings).enrollment
    try:
        create_employee(employee, ports, ACTOR)
    except AlreadyExists:
        if get_employee(employee.employee_id, ports) != employee:
            changes = {field: getattr(employee, field) for field in ("name", "email", "department", "active")}
            update_employee(employee.employee_id, changes, ports, ACTOR)
    limits, policy, consent = stack.settings.limits, stack.settings.policy, stack.settings.consent
    current = any(r.covers(consent.notice_version) for r in ports.consents.history(employee.employee_id))
    if photos and not current:
        # As a real site would: the signed form first (the sandbox's people consent on paper).
        give_consent(employee.employee_id, "paper", f"sandbox-{employee.employee_id}", ports, consent, ACTOR)
    return [
        add_face(
            employee.employee_id, photo.read_bytes(), ports, limits, ACTOR, policy=policy, consent=consent
        )
        for photo in photos
    ]
