"""Door events in the cloud: what a door agent reports is checked, recorded once and announced to
security; what a stolen box or a stranger in the bucket could write instead is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.core.keys import DOOR_EVENTS_PREFIX, door_events_folder
from chalicelib.core.models import DoorEventKind, Upload
from chalicelib.doors.events import DoorEventPorts, Refused, door_event_entry, record_door_event
from door import keys as door_keys
from door.cloud import event_document
from door.ports import DoorEvent
from door.ports import DoorEventKind as AgentDoorEventKind
from tests.fakes import InMemoryAdminNotifier, InMemoryAuditLog, InMemoryImageStore

NOW = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
BUCKET = "camera-bucket"


def body(**changes: Any) -> bytes:
    document = {
        "kind": "HELD_OPEN",
        "door_id": "front-door",
        "at": NOW.timestamp() - 5,
        "detail": "open 31 s",
    }
    document.update(changes)
    return json.dumps({k: v for k, v in document.items() if v is not ...}).encode()


class Site:
    def __init__(self) -> None:
        self.images, self.audit, self.security = (
            InMemoryImageStore(),
            InMemoryAuditLog(),
            InMemoryAdminNotifier(),
        )
        self.ports = DoorEventPorts(self.images, self.audit, self.audit, self.security)

    def report(self, data: bytes, key: str | None = None) -> Any:
        key = key or door_keys.door_event_key("front-door", json.loads(data).get("at", 0))
        self.images.objects[(BUCKET, key)] = data
        return record_door_event(Upload(BUCKET, key, "v1", None, ""), self.ports, "dev", clock=lambda: NOW)


def test_the_agents_event_is_recorded_once_and_announced_without_a_door_route() -> None:
    site = Site()
    event = DoorEvent(AgentDoorEventKind.HELD_OPEN, "front-door", NOW.timestamp() - 5, "open 31 s")
    data = json.dumps(event_document(event)).encode()
    key = door_keys.door_event_key("front-door", event.at)
    entry = site.report(data, key)
    assert (entry.action, entry.actor, entry.target) == ("door.HELD_OPEN", "door:front-door", "door-events")
    assert entry.details == {"door_id": "front-door", "detail": "open 31 s", "counts": {}}
    [(subject, text, attributes)] = site.security.published
    assert subject == "Door event: HELD_OPEN at front-door" and "Detail: open 31 s" in text
    # Security's filter takes it; no door's queue does (they filter on door_id).
    assert attributes == {"status": "HELD_OPEN", "kind": "door_event", "door": "front-door"}
    assert site.report(data, key) is None  # S3 delivered the event again: one entry, one alert
    assert len(site.audit.entries) == 1 and len(site.security.published) == 1


def test_the_agent_and_the_cloud_agree_on_the_layout_and_the_kinds() -> None:
    assert door_keys.DOOR_EVENTS_PREFIX == DOOR_EVENTS_PREFIX
    assert door_keys.door_event_key("front-door", NOW.timestamp()).startswith(
        door_events_folder("front-door")
    )
    assert [kind.value for kind in AgentDoorEventKind] == [kind.value for kind in DoorEventKind]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"not json", "not a JSON event"),
        (b"[]", "not a JSON object"),
        (b'{"kind": "HELD_OPEN", "kind": "CLOSED", "door_id": "front-door", "at": 1}', "not a JSON event"),
        (b"[" * 100_000, "not a JSON event"),
        (body(door_id="server-room"), "another door than its folder"),
        (body(kind="DOOR_OPENED_BY_MAGIC"), "unknown kind"),
        (body(kind=None), "unknown kind"),
        (body(at="yesterday"), "at is not a time"),
        (body(at=True), "at is not a time"),
        (body(at=1e300), "at is not a time"),
        (body(at=10**309), "at is not a time"),  # a whole number no float holds
        (b'{"kind": "HELD_OPEN", "door_id": "front-door", "at": NaN}', "not a JSON event"),  # NaN: not JSON
        (body(at=(NOW - timedelta(days=16)).timestamp()), "out of range"),
        (body(at=(NOW + timedelta(minutes=10)).timestamp()), "out of range"),
        (body(detail=["a"]), "detail is not text"),
        (body(counts={"dropped": -1}), "small whole numbers"),
        (body(counts={"dropped": True}), "small whole numbers"),
        (body(counts={"Dropped Photos": 1}), "small whole numbers"),
        (body(counts={f"c{n}": 1 for n in range(5)}), "not a small object"),
    ],
)
def test_a_hostile_event_body_is_refused_with_its_reason(data: bytes, why: str) -> None:
    with pytest.raises(Refused, match=why):
        door_event_entry("front-door", data, NOW)


@pytest.mark.parametrize(
    "key",
    [
        "door-events/front-door/notes.txt",
        "door-events/front door/20261207T180000.000Z-0123456789abcdef.json",
        "door-events/front-door/sub/20261207T180000.000Z-0123456789abcdef.json",
        "door-events/../20261207T180000.000Z-0123456789abcdef.json",
    ],
)
def test_an_object_outside_the_agents_layout_is_not_recorded(key: str) -> None:
    site = Site()
    assert site.report(body(), key) is None
    assert site.audit.entries == [] and site.security.published == []


def test_a_line_break_in_the_detail_cannot_forge_a_line_of_the_alert() -> None:
    site = Site()
    site.report(body(detail="ok\nEvent: CLOSED\u2028Door: server-room"))
    [(_, text, _)] = site.security.published
    assert [line for line in text.splitlines() if line.startswith(("Event:", "Door:"))] == [
        "Door: front-door",
        "Event: HELD_OPEN",
    ]


def test_a_file_written_again_with_another_time_is_neither_recorded_nor_announced_twice() -> None:
    site = Site()
    key = door_keys.door_event_key("front-door", NOW.timestamp() - 5)
    assert site.report(body(), key) is not None
    assert site.report(body(at=NOW.timestamp() - 60), key) is None  # the name's time is the event's
    assert site.report(body(detail="something else"), key) is None  # once per door and file
    assert len(site.audit.entries) == len(site.security.published) == 1


def test_two_doors_may_name_their_files_alike() -> None:
    site = Site()
    name = door_keys.door_event_key("front-door", NOW.timestamp() - 5).rsplit("/", 1)[1]
    site.report(body(), f"door-events/front-door/{name}")
    site.report(body(door_id="server-room"), f"door-events/server-room/{name}")
    assert [entry.details["door_id"] for entry in site.audit.entries] == ["front-door", "server-room"]


@pytest.mark.parametrize("failure", ["gone", "unreadable"])
def test_an_event_file_that_cannot_be_read_is_refused_not_retried(failure: str) -> None:
    from chalicelib.core.errors import ObjectGone, ObjectUnreadable

    site = Site()
    site.images.fail_with = ObjectGone("no such key") if failure == "gone" else ObjectUnreadable("SSE-C")
    assert site.report(body()) is None and site.audit.entries == []


def test_counts_are_one_line_and_cannot_pose_as_fields_of_the_alert() -> None:
    site = Site()
    site.report(body(counts={"door": 1, "event": 2}))
    [(_, text, _)] = site.security.published
    assert "Counts: door=1, event=2" in text
    assert [line for line in text.splitlines() if line.startswith(("Door:", "Event:"))] == [
        "Door: front-door",
        "Event: HELD_OPEN",
    ]


def test_a_flooding_door_is_recorded_but_not_announced_past_ten_a_minute() -> None:
    from chalicelib.doors.events import ALERTS_PER_MINUTE

    site = Site()
    for n in range(ALERTS_PER_MINUTE + 5):
        site.report(body(at=NOW.timestamp() - 30 + n))
    site.report(body(door_id="server-room"), door_keys.door_event_key("server-room", NOW.timestamp() - 5))
    assert len(site.audit.entries) == ALERTS_PER_MINUTE + 6  # every one recorded
    alerts = site.security.published
    assert len(alerts) == ALERTS_PER_MINUTE + 1  # the tenth says the rest are held back
    assert "recorded, not announced" in alerts[ALERTS_PER_MINUTE - 1][1]
    assert alerts[-1][2]["door"] == "server-room"  # another door is not silenced


def test_a_days_listing_answers_the_newest_thousand_and_says_how_many_it_left_out() -> None:
    from chalicelib.doors.events import LISTED, events_of_day

    site = Site()
    for n in range(LISTED + 3):
        at = NOW - timedelta(hours=2) + timedelta(seconds=n)
        site.report(body(at=at.timestamp(), detail=f"#{n}"))
    listed, left_out = events_of_day(site.audit, "2026-12-07", "UTC")
    assert (len(listed), left_out) == (LISTED, 3) and listed[0]["detail"] == "#3"


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_day_at_the_calendars_edge_is_a_bad_request_not_a_crash(day: str) -> None:
    from chalicelib.core.errors import BadRequest
    from chalicelib.doors.events import events_of_day

    with pytest.raises(BadRequest, match="out of range"):
        events_of_day(InMemoryAuditLog(), day, "Europe/Berlin")


def test_an_oversized_event_is_refused_unread() -> None:
    site = Site()
    assert site.report(body(detail="x" * 10_000)) is None and site.audit.entries == []
