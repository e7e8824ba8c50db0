"""/scans, /employees/{id}/scans and /recognize: door events looked up, photos checked."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.api.conftest import Api, b64


@pytest.fixture
def day_of_scans(api: Api, photos: Path) -> str:
    """EMP001 enrolled; three camera photos processed today: a match, a stranger, a hall."""
    api.create("EMP001", "Avery Stone")
    api.enroll("EMP001", photos / "obama.jpg")
    stack = api.stack
    stack.upload("front-door", "a.jpg", (photos / "obama2.jpg").read_bytes())
    stack.upload("front-door", "b.png", (photos / "astronaut.png").read_bytes())
    stack.upload("loading-dock", "c.png", (photos / "coffee.png").read_bytes())
    assert all(event.error is None for event in stack.pump(expected=3))
    return datetime.now(ZoneInfo(stack.settings.timezone)).date().isoformat()


def test_a_day_of_scans_in_time_order(api: Api, day_of_scans: str) -> None:
    reply = api.call("GET", f"/scans?day={day_of_scans}", token="security")
    assert reply.status == 200
    items = reply.json["items"]
    assert sorted(item["status"] for item in items) == ["AUTHORIZED", "NO_FACE", "UNKNOWN"]
    assert [item["captured_at"] for item in items] == sorted(item["captured_at"] for item in items)
    assert reply.json["next_token"] is None


def test_today_is_the_default_day(api: Api, day_of_scans: str) -> None:
    assert len(api.call("GET", "/scans").json["items"]) == 3


def test_filters_by_status_and_camera(api: Api, day_of_scans: str) -> None:
    [authorized] = api.call("GET", f"/scans?day={day_of_scans}&status=AUTHORIZED").json["items"]
    assert authorized["employee_id"] == "EMP001" and authorized["employee_name"] == "Avery Stone"
    [dock] = api.call("GET", f"/scans?day={day_of_scans}&camera_id=loading-dock").json["items"]
    assert dock["status"] == "NO_FACE"


def test_pages_through_a_day(api: Api, day_of_scans: str) -> None:
    first = api.call("GET", f"/scans?day={day_of_scans}&limit=2").json
    assert len(first["items"]) == 2 and first["next_token"]
    second = api.call("GET", f"/scans?day={day_of_scans}&limit=2&next_token={first['next_token']}").json
    ids = {item["scan_id"] for item in first["items"] + second["items"]}
    assert len(ids) == 3


def test_another_day_is_empty(api: Api, day_of_scans: str) -> None:
    assert api.call("GET", "/scans?day=2001-01-01").json == {"items": [], "next_token": None}


@pytest.mark.parametrize(
    "query", ["day=yesterday", "day=2026-13-01", "day=2026-1-1", "status=OPEN", "limit=-1", "next_token=%%%"]
)
def test_bad_scan_queries_are_400(api: Api, query: str) -> None:
    assert api.call("GET", f"/scans?{query}").status == 400


def test_a_scan_by_id(api: Api, day_of_scans: str) -> None:
    [item] = api.call("GET", f"/scans?day={day_of_scans}&status=UNKNOWN").json["items"]
    assert api.call("GET", f"/scans/{item['scan_id']}", token="security").json == item
    assert api.call("GET", "/scans/" + "0" * 32).status == 404
    assert api.call("GET", "/scans/not-an-id").status == 400


def test_an_employees_scans_newest_first(api: Api, day_of_scans: str, photos: Path) -> None:
    api.stack.upload("front-door", "again.jpg", (photos / "obama3.jpg").read_bytes())
    api.stack.pump(expected=1)
    items = api.call("GET", "/employees/EMP001/scans", token="security").json["items"]
    assert [item["status"] for item in items] == ["AUTHORIZED", "AUTHORIZED"]
    assert items[0]["captured_at"] >= items[1]["captured_at"]
    assert api.call("GET", "/employees/NOPE/scans").status == 404


def test_recognize_answers_without_recording_a_door_event(api: Api, day_of_scans: str, photos: Path) -> None:
    before = len(api.call("GET", f"/scans?day={day_of_scans}").json["items"])
    reply = api.call(
        "POST", "/recognize", {"image": b64((photos / "obama3.jpg").read_bytes())}, token="security"
    )
    assert reply.status == 200
    assert reply.json["status"] == "AUTHORIZED" and reply.json["employee_id"] == "EMP001"
    assert reply.json["similarity"] >= 80 and len(reply.json["faces"]) == 1
    assert len(api.call("GET", f"/scans?day={day_of_scans}").json["items"]) == before
    assert sorted(n["attributes"]["status"] for n in api.stack.notifications()) == [
        "AUTHORIZED",
        "NO_FACE",
        "UNKNOWN",
    ]


def test_recognize_reports_groups_and_refuses_non_images(api: Api, photos: Path) -> None:
    group = api.call("POST", "/recognize", {"image": b64((photos / "group.jpg").read_bytes())})
    assert group.json["status"] == "MULTIPLE_FACES" and len(group.json["faces"]) == 6
    refused = api.call("POST", "/recognize", {"image": b64(b"GIF89a not really")})
    assert refused.status == 422 and "not an image" in refused.json["message"]
