"""Read-only services: door events by day, by employee or by id; who is in a photo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.config import Settings
from chalicelib.errors import NotFound
from chalicelib.imaging import normalise
from chalicelib.models import Scan
from chalicelib.ports import EmployeeDirectory, FaceEngine, Page, ScanLog
from chalicelib.recognition import decide


def scan_by_id(scan_id: str, scans: ScanLog) -> Scan:
    scan = scans.get(scan_id)
    if scan is None:
        raise NotFound(f"no scan {scan_id}")
    return scan


@dataclass(frozen=True)
class Recognition:
    """Who is in a photo, without recording a door event."""

    body: dict[str, Any]


def recognize(
    photo: bytes, engine: FaceEngine, directory: EmployeeDirectory, settings: Settings
) -> Recognition:
    """Normalise, search and decide as a scan would; raises ``RejectedImage`` for bad photos."""
    image = normalise(photo, settings.limits)
    result = engine.search(image)
    employee = directory.get(result.best.employee_id) if result.best else None
    decision = decide(result, employee, settings.policy)
    return Recognition(
        {
            "status": decision.status.value,
            "employee_id": decision.employee_id,
            "employee_name": decision.employee_name,
            "similarity": decision.similarity,
            "reason": decision.reason,
            "faces": [{"box": face.box.to_dict(), "sharpness": face.sharpness} for face in result.faces],
            "engine": engine.name,
        }
    )


def page_of(page: Page[Scan]) -> dict[str, Any]:
    return {"items": [scan.to_dict() for scan in page.items], "next_token": page.next_token}
