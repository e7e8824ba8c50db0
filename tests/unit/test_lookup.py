"""Read-only services with in-memory ports: scans by day, employee and id; recognising a photo."""

from __future__ import annotations

import pytest

from chalicelib.core.config import Settings
from chalicelib.core.errors import NotFound, RejectedImage
from chalicelib.core.models import (
    BoundingBox,
    Decision,
    DetectedFace,
    Employee,
    Match,
    Scan,
    SearchResult,
    Status,
)
from chalicelib.enrollment import lookup
from chalicelib.enrollment.employees import EnrollmentPorts
from tests.fakes import (
    InMemoryAuditLog,
    InMemoryConsentLedger,
    InMemoryEmployeeDirectory,
    InMemoryScanLog,
    ScriptedEngine,
)
from tests.images import encoded, two_tone

SETTINGS = Settings.from_env({"FACEGATE_TIMEZONE": "UTC"})
FACE = DetectedFace(BoundingBox(10, 10, 200, 200), sharpness=90.0)
NOBODY = SearchResult(faces=[], best=None, runner_up=None)


def world(result: SearchResult = NOBODY) -> EnrollmentPorts:
    directory = InMemoryEmployeeDirectory(
        Employee("EMP001", "Quinn Zebedee"), Employee("EMP002", "Avery Stone", active=False)
    )
    return EnrollmentPorts(
        directory,
        ScriptedEngine(result),
        InMemoryAuditLog(),
        InMemoryScanLog(directory),
        InMemoryConsentLedger(),
    )


def scan(
    ports: EnrollmentPorts, n: int, status: Status, employee_id: str | None = None, **where: str
) -> Scan:
    day, camera = where.get("day", "2026-03-10"), where.get("camera", "front")
    recorded = Scan(
        scan_id=f"{n:032x}",
        camera_id=camera,
        object_key=f"incoming/{camera}/{n}.jpg",
        object_version=None,
        captured_at=f"{day}T09:{n:02}:00Z",
        processed_at=f"{day}T09:{n:02}:01Z",
        day=day,
        decision=Decision(status, employee_id=employee_id),
        engine="scripted",
        expires_at=0,
    )
    ports.scans.record(recorded)
    return recorded


def test_scans_of_a_day_in_time_order_by_status_and_camera_a_page_at_a_time() -> None:
    ports = world()
    scans = [
        scan(ports, n, Status.UNKNOWN if n % 2 else Status.AUTHORIZED, camera="back" if n == 3 else "front")
        for n in range(5)
    ]
    scan(ports, 9, Status.UNKNOWN, day="2026-03-11")
    first = lookup.scans_of_day("2026-03-10", 3, None, ports)
    rest = lookup.scans_of_day("2026-03-10", 3, first.next_token, ports)
    assert [*first.items, *rest.items] == scans and rest.next_token is None
    unknown = lookup.scans_of_day("2026-03-10", 10, None, ports, status="UNKNOWN")
    assert [s.scan_id for s in unknown.items] == [scans[1].scan_id, scans[3].scan_id]
    back = lookup.scans_of_day("2026-03-10", 10, None, ports, camera_id="back")
    assert back.items == [scans[3]]


def test_scans_of_an_employee_newest_first_and_only_of_one_who_exists() -> None:
    ports = world()
    mine = [scan(ports, n, Status.AUTHORIZED, "EMP001") for n in range(3)]
    scan(ports, 7, Status.UNKNOWN)
    page = lookup.scans_of_employee("EMP001", 10, None, ports)
    assert page.items == mine[::-1]
    with pytest.raises(NotFound):
        lookup.scans_of_employee("NOPE", 10, None, ports)


def test_a_scan_by_id() -> None:
    ports = world()
    recorded = scan(ports, 1, Status.NO_FACE)
    assert lookup.scan_by_id(recorded.scan_id, ports) == recorded
    with pytest.raises(NotFound):
        lookup.scan_by_id("f" * 32, ports)


@pytest.mark.parametrize(
    ("best", "status", "name"),
    [
        (Match("EMP001", 97.0), "AUTHORIZED", "Quinn Zebedee"),
        (Match("EMP002", 97.0), "UNKNOWN", "Avery Stone"),  # suspended
        (Match("EMP001", 40.0), "UNKNOWN", None),  # below the threshold
        (None, "UNKNOWN", None),
    ],
)
def test_recognize_decides_as_a_scan_would_and_records_nothing(
    best: Match | None, status: str, name: str | None
) -> None:
    ports = world(SearchResult(faces=[FACE], best=best, runner_up=None))
    body = lookup.recognize(encoded(two_tone(), "PNG"), ports, SETTINGS).body
    assert (body["status"], body["employee_name"], body["engine"]) == (status, name, "scripted")
    assert body["faces"] == [{"box": FACE.box.to_dict(), "sharpness": 90.0}]
    assert ports.scans.scans == {} and ports.audit.entries == []  # type: ignore[attr-defined]


def test_recognize_refuses_what_is_not_a_photo_before_searching() -> None:
    ports = world()
    with pytest.raises(RejectedImage):
        lookup.recognize(b"GIF89a not really", ports, SETTINGS)
    assert ports.engine.searches == 0  # type: ignore[attr-defined]
