"""Issue 28's scanning findings, each closed as a class: access and freshness judged at S3's
``LastModified`` and the decision time (never a stated ``eventTime``); a camera on no door of a
site policy opens nothing (UNKNOWN_CAMERA).

The site is the issue's (``tests/access_site.py``): staff may use the front door (cameras
``front-door-in`` and ``-out``) 07:00–19:00 on weekdays; Jane is staff.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from chalicelib.core.models import Reason, Scan, Status
from chalicelib.scanning.pipeline import process_upload
from tests.access_site import entries, local
from tests.fakes import InMemoryEmployeeDirectory
from tests.unit.test_pipeline import SETTINGS, World
from tests.unit.test_pipeline_access import JANE

SCHEDULE_END = local("2026-03-09", "19:00")  # a Monday
SCHEDULE_START = local("2026-03-09", "07:00")


@pytest.fixture
def site() -> World:
    world = World(directory=InMemoryEmployeeDirectory(JANE))
    assert world.access_store.commit("", put=entries())
    return world


def decided(
    world: World, *, stored: datetime, stated: datetime, now: datetime, camera: str = "front-door-in"
) -> Scan:
    """Jane's photo stored by S3 at ``stored``, its event stating ``stated``, decided at ``now``."""
    upload = world.upload(
        f"incoming/{camera}/a.jpg", version_id="v1", event_time=stated.isoformat(), stored_at=stored
    )
    scan = process_upload(upload, world.ports, SETTINGS, clock=lambda: now)
    assert scan is not None
    return world.scans.scans[scan.scan_id]


# --- 1. access and freshness at a time no client states ---------------------------------


@pytest.mark.parametrize("stated_back", [timedelta(seconds=2), timedelta(seconds=9), timedelta(seconds=55)])
def test_a_forged_earlier_event_time_cannot_stretch_a_schedule_end(
    site: World, stated_back: timedelta
) -> None:
    """Stored at 19:00:03, after her hours: the real event is DENIED, and so is one stating
    any earlier time (today it was AUTHORIZED, judged at the stated instant)."""
    stored = SCHEDULE_END + timedelta(seconds=3)
    real = decided(site, stored=stored, stated=stored, now=stored + timedelta(seconds=1))
    assert (real.status, real.decision.reason_code) == (Status.DENIED, Reason.OUTSIDE_SCHEDULE)
    forged_site = World(directory=InMemoryEmployeeDirectory(JANE))
    assert forged_site.access_store.commit("", put=entries())
    forged = decided(
        forged_site, stored=stored, stated=SCHEDULE_END - stated_back, now=stored + timedelta(seconds=1)
    )
    assert (forged.status, forged.decision.reason_code) == (Status.DENIED, Reason.OUTSIDE_SCHEDULE)


def test_a_forged_later_event_time_cannot_open_a_schedule_early(site: World) -> None:
    stored = SCHEDULE_START - timedelta(seconds=2)
    forged = decided(site, stored=stored, stated=SCHEDULE_START, now=SCHEDULE_START + timedelta(seconds=1))
    assert (forged.status, forged.decision.reason_code) == (Status.DENIED, Reason.OUTSIDE_SCHEDULE)


@pytest.mark.parametrize(
    ("stored", "now"),
    [
        (SCHEDULE_END - timedelta(seconds=2), SCHEDULE_END + timedelta(seconds=1)),  # ends meanwhile
        (SCHEDULE_START - timedelta(seconds=1), SCHEDULE_START + timedelta(seconds=3)),  # starts meanwhile
    ],
    ids=["window-ends-before-the-decision", "window-starts-after-the-photo"],
)
def test_access_must_hold_both_when_s3_stored_the_photo_and_when_it_is_decided(
    site: World, stored: datetime, now: datetime
) -> None:
    """The narrower window: a genuine event (its time S3's own) is DENIED when the window
    does not cover both instants."""
    scan = decided(site, stored=stored, stated=stored, now=now)
    assert (scan.status, scan.decision.reason_code) == (Status.DENIED, Reason.OUTSIDE_SCHEDULE)


def test_inside_the_window_at_both_instants_jane_is_authorized(site: World) -> None:
    stored = SCHEDULE_END - timedelta(seconds=5)
    scan = decided(site, stored=stored, stated=stored, now=stored + timedelta(seconds=2))
    assert scan.status is Status.AUTHORIZED


@pytest.mark.parametrize(
    "stated",
    ["", "yesterday", "2026-13-40T99:00:00Z", "2099-01-01T00:00Z", "2026-03-09T18:00:00Z"],
)
def test_the_event_time_whatever_it_states_changes_no_decision(site: World, stated: str) -> None:
    """Freshness and access read S3's ``LastModified``: a fresh photo inside the window opens
    the door whatever the event states, an old one never does."""
    stored = SCHEDULE_END - timedelta(minutes=5)
    fresh = site.upload("incoming/front-door-in/a.jpg", version_id="v1", event_time=stated, stored_at=stored)
    scan = process_upload(fresh, site.ports, SETTINGS, clock=lambda: stored + timedelta(seconds=1))
    assert scan is not None and scan.status is Status.AUTHORIZED
    old = site.upload("incoming/front-door-in/b.jpg", version_id="v2", event_time=stated, stored_at=stored)
    scan = process_upload(old, site.ports, SETTINGS, clock=lambda: stored + timedelta(seconds=61))
    assert scan is not None and (scan.status, scan.decision.reason_code) == (Status.ERROR, Reason.TOO_LATE)


def test_a_replayed_dead_letter_is_judged_at_last_modified_and_never_opens_late(site: World) -> None:
    """``facegate dlq replay`` hands Lambda an event whose time may be up to when SQS received
    it: the photo S3 stored minutes before stays shut, whatever that time says."""
    stored = SCHEDULE_END - timedelta(minutes=10)
    replayed_at = stored + timedelta(minutes=3)
    scan = decided(site, stored=stored, stated=replayed_at - timedelta(seconds=1), now=replayed_at)
    assert (scan.status, scan.decision.reason_code) == (Status.ERROR, Reason.TOO_LATE)
    assert [alert.status for alert in site.notifier.published] == [Status.ERROR]


# --- 2. a camera on no door of a site policy ---------------------------------------------


def test_with_a_site_policy_a_camera_on_no_door_denies_even_under_a_grant_to_every_door(site: World) -> None:
    """``incoming/front-door-3/`` is no door's camera: no DENY on a door and no broad GRANT
    (security's ``*``, Jane's staff rule) applies to it; it is DENIED, UNKNOWN_CAMERA."""
    stored = local("2026-03-09", "10:00")
    scan = decided(
        site, stored=stored, stated=stored, now=stored + timedelta(seconds=1), camera="front-door-3"
    )
    assert (scan.status, scan.decision.reason_code) == (Status.DENIED, Reason.UNKNOWN_CAMERA)
    assert scan.decision.door_id == "front-door-3"
    assert scan.decision.employee_id == "EMP001"
    for named in ("EMP001", "Jane", "front-door-3"):
        assert named not in (scan.decision.reason or "")
    assert [alert.status for alert in site.notifier.published] == [Status.DENIED]


def test_a_grant_naming_the_unlisted_camera_as_a_door_admits_nobody_there() -> None:
    rules = {"all-cams": {"effect": "GRANT", "doors": ["*"], "groups": ["*"]}}
    world = World(directory=InMemoryEmployeeDirectory(JANE))
    assert world.access_store.commit("", put=entries(rules=rules))
    stored = local("2026-03-09", "10:00")
    scan = decided(world, stored=stored, stated=stored, now=stored + timedelta(seconds=1), camera="side-cam")
    assert (scan.status, scan.decision.reason_code) == (Status.DENIED, Reason.UNKNOWN_CAMERA)
    listed = decided(world, stored=stored, stated=stored, now=stored + timedelta(seconds=1))
    assert listed.status is Status.AUTHORIZED and listed.decision.door_id == "front-door"


@pytest.mark.parametrize("kind", ["group", "rule", "door"])
def test_any_door_group_or_rule_puts_a_site_policy_in_force(kind: str) -> None:
    from chalicelib.access.documents import door_from, group_from, rule_from
    from chalicelib.access.policy import AccessEntry

    made: dict[str, AccessEntry] = {
        "group": group_from("staff", {"name": "Staff"}),
        "rule": rule_from("all", {"effect": "GRANT", "doors": ["*"], "groups": ["*"]}),
        "door": door_from("back", {"name": "Back", "cameras": ["back-cam"]}),
    }
    entry = made[kind]
    world = World(directory=InMemoryEmployeeDirectory(JANE))
    assert world.access_store.commit("", put=[entry])
    stored = local("2026-03-09", "10:00")
    scan = decided(world, stored=stored, stated=stored, now=stored + timedelta(seconds=1), camera="side-cam")
    assert (scan.status, scan.decision.reason_code) == (Status.DENIED, Reason.UNKNOWN_CAMERA)


def test_a_fresh_site_keeps_every_camera_a_door_of_its_own() -> None:
    world = World(directory=InMemoryEmployeeDirectory(JANE))  # nothing stored: the built-in rule
    stored = local("2026-03-09", "10:00")
    scan = decided(world, stored=stored, stated=stored, now=stored + timedelta(seconds=1), camera="side-cam")
    assert scan.status is Status.AUTHORIZED and scan.decision.door_id == "side-cam"


def test_a_locked_down_unlisted_camera_still_says_lockdown(site: World) -> None:
    from chalicelib.access.policy import Lockdown

    lockdown = Lockdown("front-door-3", "2026-03-09T15:00:00.000Z", "admin", "drill")
    assert site.access_store.commit(site.access_store.version(), put=[lockdown])
    stored = local("2026-03-09", "10:00")
    scan = decided(
        site, stored=stored, stated=stored, now=stored + timedelta(seconds=1), camera="front-door-3"
    )
    assert (scan.status, scan.decision.reason_code) == (Status.DENIED, Reason.LOCKDOWN)
