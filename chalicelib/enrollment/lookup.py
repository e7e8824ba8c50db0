"""Read-only services: door events by day, by employee or by id; who is in a photo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.core.config import Settings
from chalicelib.core.errors import NotFound
from chalicelib.core.models import Scan
from chalicelib.core.ports import Page
from chalicelib.enrollment.employees import EnrollmentPorts, get_employee
from chalicelib.scanning.imaging import normalise
from chalicelib.scanning.recognition import decide


def scans_of_day(
    day: str,
    limit: int,
    token: str | None,
    ports: EnrollmentPorts,
    *,
    status: str | None = None,
    camera_id: str | None = None,
) -> Page[Scan]:
    """One local day's scans in time order, optionally only one status or camera."""
    return ports.scans.by_day(day, limit, token, status=status, camera_id=camera_id)


def scans_of_employee(employee_id: str, limit: int, token: str | None, ports: EnrollmentPorts) -> Page[Scan]:
    """An existing employee's scans, newest first; ``NotFound`` for an unknown employee."""
    get_employee(employee_id, ports)
    return ports.scans.by_employee(employee_id, limit, token)


def scan_by_id(scan_id: str, ports: EnrollmentPorts) -> Scan:
    """One scan; ``NotFound`` when there is none."""
    scan = ports.scans.get(scan_id)
    if scan is None:
        raise NotFound(f"no scan {scan_id}")
    return scan


@dataclass(frozen=True)
class Recognition:
    """Who is in a photo, without recording a door event."""

    body: dict[str, Any]


def recognize(photo: bytes, ports: EnrollmentPorts, settings: Settings) -> Recognition:
    """Normalise, search and decide as a scan would; raises ``RejectedImage`` for bad photos."""
    image = normalise(photo, settings.limits)
    result = ports.engine.search(image)
    employee = ports.directory.get(result.best.employee_id) if result.best else None
    decision = decide(result, employee, settings.policy)
    return Recognition(
        {
            "status": decision.status.value,
            "employee_id": decision.employee_id,
            "employee_name": decision.employee_name,
            "similarity": decision.similarity,
            "reason": decision.reason,
            "faces": [{"box": face.box.to_dict(), "sharpness": face.sharpness} for face in result.faces],
            "engine": ports.engine.name,
        }
    )
