"""Issue 15's example site, built over the real HTTP API and enforced on real camera uploads.

*Staff: front door 07:00–19:00 on weekdays; IT: also the server room, always; contractor X:
front door until the 30th; nobody on public holidays except security.* The photos go
through S3's notifications, the real model and the camera handler; each policy change is
seen by the very next scan of the same warm container.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from chalicelib import wiring
from chalicelib.aws.scans import DynamoScanLog
from chalicelib.core.models import Employee, Scan, Status
from sandbox.api_server import LocalApi
from sandbox.enroll import enroll_employee
from sandbox.stack import Stack

STAFF, IT_PERSON, CONTRACTOR = "EMP001", "EMP002", "EMP003"


class Site:
    """The admin's side (HTTP with an admin token) and the camera's (uploads, the handler)."""

    def __init__(self, stack: Stack, api: LocalApi, photos: Path) -> None:
        self.stack = stack
        self.url = api.url
        self.headers = {"Authorization": f"Bearer {stack.token('admins')}"}
        self.photos = photos
        self.uploads = 0

    def put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = requests.put(f"{self.url}{path}", json=body, headers=self.headers, timeout=30)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def delete(self, path: str) -> None:
        answer = requests.delete(f"{self.url}{path}", headers=self.headers, timeout=30)
        assert answer.status_code == 204, answer.text

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.stack.settings.timezone)).date()

    def scan(self, camera_id: str, photo: str) -> Scan:
        """One upload by ``camera_id``, handled as S3's notification would have it handled."""
        self.uploads += 1
        key = self.stack.upload(camera_id, f"{self.uploads}.jpg", (self.photos / photo).read_bytes())
        handled = self.stack.pump(1)
        assert [event.error for event in handled] == [None]
        scans = DynamoScanLog(wiring.table(self.stack.settings.scans_table))
        page = scans.by_day(self.today().isoformat(), limit=100)
        found = [scan for scan in page.items if scan.object_key == key]
        assert len(found) == 1
        return found[0]


@pytest.fixture
def site(stack: Stack, photos: Path) -> Iterator[Site]:
    enroll_employee(stack, Employee(STAFF, "Avery Stone"), [photos / "obama.jpg"])
    enroll_employee(stack, Employee(IT_PERSON, "Jordan Lee"), [photos / "biden.jpg"])
    enroll_employee(stack, Employee(CONTRACTOR, "Casey Contractor"), [photos / "astronaut.png"])
    api = LocalApi(port=0, quiet=True)
    built = Site(stack, api, photos)
    built.put("/doors/front", {"name": "Front door", "cameras": ["front-door-in", "front-door-out"]})
    built.put("/doors/server-room", {"name": "Server room", "cameras": ["server-room-cam"]})
    for group in ("staff", "it", "security"):
        built.put(f"/access-groups/{group}", {"name": group.title()})
    for group, employee in (("staff", STAFF), ("staff", IT_PERSON), ("it", IT_PERSON)):
        built.put(f"/access-groups/{group}/members/{employee}", {})
    weekdays = ["mon", "tue", "wed", "thu", "fri"]
    rules: dict[str, dict[str, Any]] = {
        "staff-front": {
            "effect": "GRANT",
            "doors": ["front"],
            "groups": ["staff"],
            "schedule": [{"days": weekdays, "start": "07:00", "end": "19:00"}],
        },
        "it-server-room": {"effect": "GRANT", "doors": ["front", "server-room"], "groups": ["it"]},
        "contractor-x": {
            "effect": "GRANT",
            "doors": ["front"],
            "employees": [CONTRACTOR],
            "valid_until": (built.today() - timedelta(days=1)).isoformat(),  # the 30th was yesterday
        },
        "security-everywhere": {"effect": "GRANT", "doors": ["*"], "groups": ["security"]},
    }
    for rule_id, rule in rules.items():
        built.put(f"/access-rules/{rule_id}", rule)
    built.delete("/access-rules/everyone-everywhere-always")
    yield built
    api.stop()


def test_the_example_site_is_enforced_at_the_door(site: Site) -> None:
    it_in_server_room = site.scan("server-room-cam", "biden.jpg")
    assert it_in_server_room.status is Status.AUTHORIZED
    assert (it_in_server_room.decision.door_id, it_in_server_room.decision.access_rule) == (
        "server-room",
        "it-server-room",
    )

    staff_in_server_room = site.scan("server-room-cam", "obama2.jpg")
    assert staff_in_server_room.status is Status.DENIED
    denied = staff_in_server_room.decision
    assert (denied.employee_id, denied.employee_name, denied.door_id) == (STAFF, "Avery Stone", "server-room")
    assert denied.reason_code is not None and denied.reason_code.value == "NO_ACCESS_RULE"

    expired = site.scan("front-door-in", "astronaut.png").decision
    assert (expired.employee_id, expired.access_rule) == (CONTRACTOR, "contractor-x")
    assert expired.reason_code is not None and expired.reason_code.value == "PASS_EXPIRED"

    staff_at_front = site.scan("front-door-out", "obama2.jpg")
    zone = ZoneInfo(site.stack.settings.timezone)
    taken = datetime.fromisoformat(staff_at_front.captured_at).astimezone(zone)
    working_hours = taken.weekday() < 5 and 7 <= taken.hour < 19
    assert staff_at_front.decision.door_id == "front"  # a second camera of the same door
    if working_hours:
        assert staff_at_front.status is Status.AUTHORIZED
    else:
        assert staff_at_front.status is Status.DENIED
        assert staff_at_front.decision.reason_code is not None
        assert staff_at_front.decision.reason_code.value == "OUTSIDE_SCHEDULE"


def test_a_holiday_today_shuts_every_door_but_to_security_from_the_next_scan(site: Site) -> None:
    assert site.scan("server-room-cam", "biden.jpg").status is Status.AUTHORIZED
    site.put(f"/holidays/{site.today().isoformat()}", {"name": "Public holiday", "groups": ["security"]})
    site.put(f"/access-groups/security/members/{STAFF}", {})

    closed = site.scan("server-room-cam", "biden.jpg")
    assert closed.status is Status.DENIED
    assert closed.decision.reason_code is not None and closed.decision.reason_code.value == "HOLIDAY_CLOSED"
    assert closed.decision.holiday == site.today().isoformat()

    guard = site.scan("server-room-cam", "obama2.jpg")
    assert guard.status is Status.AUTHORIZED and guard.decision.access_rule == "security-everywhere"


def test_denied_alerts_security_naming_the_door(site: Site) -> None:
    site.stack.notifications()  # what setting up the site published, if anything
    denied = site.scan("server-room-cam", "obama2.jpg")
    assert denied.status is Status.DENIED
    published = [note for note in site.stack.notifications() if note["body"]["scan_id"] == denied.scan_id]
    assert len(published) == 1
    assert published[0]["attributes"]["status"] == "DENIED"
    assert published[0]["body"]["door_id"] == "server-room"
    assert "Avery Stone" in published[0]["subject"] or "EMP001" in published[0]["subject"]


def test_removing_a_member_or_ending_a_pass_applies_to_the_next_scan(site: Site) -> None:
    assert site.scan("server-room-cam", "biden.jpg").status is Status.AUTHORIZED
    site.delete(f"/access-groups/it/members/{IT_PERSON}")
    assert site.scan("server-room-cam", "biden.jpg").status is Status.DENIED

    contractor_rule = {"effect": "GRANT", "doors": ["front"], "employees": [CONTRACTOR]}
    site.put("/access-rules/contractor-x", {**contractor_rule, "valid_until": site.today().isoformat()})
    assert site.scan("front-door-in", "astronaut.png").status is Status.AUTHORIZED
    yesterday = (site.today() - timedelta(days=1)).isoformat()
    site.put("/access-rules/contractor-x", {**contractor_rule, "valid_until": yesterday})
    assert site.scan("front-door-in", "astronaut.png").status is Status.DENIED
