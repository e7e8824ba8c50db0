"""Read-only services: door events by day, by employee or by id; who is in a photo.

An employee under erasure is absent from every read the moment ``DELETE /employees/{id}``
answers (``EmployeeDirectory.get`` says None while the job runs): a scan that still names
them is shown as the job will leave it (no id, no name), and a photo that still matches
their faces is recognised as nobody's (``_absent_matches_nobody``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.core.config import Settings
from chalicelib.core.errors import NotFound
from chalicelib.core.models import Scan, SearchResult
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
    page = ports.scans.by_day(day, limit, token, status=status, camera_id=camera_id)
    return Page(shown(page.items, ports), page.next_token)


def scans_of_employee(employee_id: str, limit: int, token: str | None, ports: EnrollmentPorts) -> Page[Scan]:
    """An existing employee's scans, newest first; ``NotFound`` for an unknown employee."""
    get_employee(employee_id, ports)
    return ports.scans.by_employee(employee_id, limit, token)


def scan_by_id(scan_id: str, ports: EnrollmentPorts) -> Scan:
    """One scan; ``NotFound`` when there is none."""
    scan = ports.scans.get(scan_id)
    if scan is None:
        raise NotFound(f"no scan {scan_id}")
    [visible] = shown([scan], ports)
    return visible


def shown(scans: Sequence[Scan], ports: EnrollmentPorts) -> list[Scan]:
    """The scans as a reader may see them: one that names an employee the directory does
    not hold (being erased, or erased) shown without their id and name. One directory read
    per employee named on the page (a page holds at most the API's largest limit)."""
    named = {scan.decision.employee_id for scan in scans if scan.decision.employee_id is not None}
    absent = {employee_id for employee_id in named if ports.directory.get(employee_id) is None}
    return [_without_identity(scan) if scan.decision.employee_id in absent else scan for scan in scans]


def _without_identity(scan: Scan) -> Scan:
    return replace(scan, decision=replace(scan.decision, employee_id=None, employee_name=None), erased=True)


@dataclass(frozen=True)
class Recognition:
    """Who is in a photo, without recording a door event."""

    body: dict[str, Any]


def recognize(photo: bytes, ports: EnrollmentPorts, settings: Settings) -> Recognition:
    """Normalise, search and decide as a scan would; raises ``RejectedImage`` for bad photos."""
    image = normalise(photo, settings.limits)
    result = ports.engine.search(image)
    employee = ports.directory.get(result.best.employee_id) if result.best else None
    if employee is None:
        result = _absent_matches_nobody(result)
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


def _absent_matches_nobody(result: SearchResult) -> SearchResult:
    """A best match the directory does not hold (being erased, or a face without a record)
    is no match at all: no id to show, and the runner-up is never promoted in its place
    (it scored lower against this photo than someone who is not there)."""
    return replace(result, best=None, runner_up=None)
