"""process_upload() asks the access policy: DENIED, the door and rule on AUTHORIZED, the cache
by version token, failing closed when the policy cannot be read.

The site is the issue's (``tests/access_site.py``), stored in an in-memory access store; the
photos are Jane's, staff, at the front door's cameras in Chicago.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.access.control import CurrentPolicy, admit
from chalicelib.access.documents import rule_from
from chalicelib.core.errors import NotificationFailed
from chalicelib.core.keys import processed_key
from chalicelib.core.models import Decision, Employee, Reason, Scan, SearchResult, Status, Upload
from chalicelib.scanning.notifications import notification_for
from chalicelib.scanning.pipeline import process_upload
from tests.access_site import entries, local
from tests.fakes import InMemoryAccessStore, InMemoryEmployeeDirectory
from tests.unit.test_pipeline import MATCH, SETTINGS, World

JANE = Employee("EMP001", "Jane Doe", groups=frozenset({"staff"}))
MONDAY_10 = local("2026-03-09", "10:00")  # the day after the spring change: CDT
SUNDAY_10 = local("2026-03-08", "10:00")
CHRISTMAS_10 = local("2026-12-25", "10:00")


@pytest.fixture
def site() -> World:
    world = World(directory=InMemoryEmployeeDirectory(JANE))
    assert world.access_store.commit("", put=entries())
    return world


def scan_at(
    world: World,
    taken: datetime,
    *,
    camera: str = "front-door-in",
    version: str = "v1",
    decided_after: timedelta = timedelta(seconds=1),
) -> Scan:
    """Jane's photo taken at ``taken`` by ``camera``, decided ``decided_after`` later."""
    upload = world.upload(f"incoming/{camera}/a.jpg", version_id=version, event_time=taken.isoformat())
    return processed(world, upload, taken + decided_after)


def processed(world: World, upload: Upload, now: datetime) -> Scan:
    scan = process_upload(upload, world.ports, SETTINGS, clock=lambda: now)
    assert scan is not None
    return world.scans.scans[scan.scan_id]


def test_outside_her_hours_jane_is_denied_by_name_door_and_rule(site: World) -> None:
    recorded = scan_at(site, SUNDAY_10)
    decision = recorded.decision
    assert recorded.status is Status.DENIED
    assert decision.reason_code is Reason.OUTSIDE_SCHEDULE
    assert (decision.employee_id, decision.employee_name) == ("EMP001", "Jane Doe")
    assert (decision.door_id, decision.access_rule, decision.holiday) == (
        "front-door",
        "staff-front-door",
        None,
    )
    assert decision.similarity == 93.2
    for named in ("EMP001", "Jane", "front-door", "staff"):
        assert named not in (decision.reason or "")
    document = site.images.json_documents[("cams", processed_key(recorded.scan_id, recorded.day))]
    assert (document["status"], document["door_id"], document["access_rule"]) == (
        "DENIED",
        "front-door",
        "staff-front-door",
    )


def test_a_denied_scan_is_announced_to_security_like_any_alert(site: World) -> None:
    recorded = scan_at(site, SUNDAY_10)
    assert recorded.notification == "SENT"
    [announced] = site.notifier.published
    assert announced.scan_id == recorded.scan_id
    assert notification_for(announced).attributes["status"] == "DENIED"


def test_within_her_hours_jane_is_authorized_naming_the_door_and_the_rule(site: World) -> None:
    recorded = scan_at(site, MONDAY_10, camera="front-door-out")
    assert recorded.status is Status.AUTHORIZED
    decision = recorded.decision
    assert (decision.door_id, decision.access_rule, decision.holiday) == (
        "front-door",
        "staff-front-door",
        None,
    )
    assert decision.reason_code is None


def test_a_closed_holiday_is_named_on_the_denial(site: World) -> None:
    decision = scan_at(site, CHRISTMAS_10).decision
    assert (decision.status, decision.reason_code) == (Status.DENIED, Reason.HOLIDAY_CLOSED)
    assert (decision.holiday, decision.access_rule) == ("2026-12-25", None)


def test_every_refusing_verdict_is_a_reason_code() -> None:
    from chalicelib.access.policy import Verdict

    refusals = set(Verdict) - {Verdict.GRANTED, Verdict.HOLIDAY_OPEN}
    assert {Reason(verdict.value) for verdict in refusals} <= set(Reason)


def test_the_policy_must_allow_both_the_photos_instant_and_the_decisions(site: World) -> None:
    # Taken at 18:59:30, decided at 19:00:10 (within the 60 s rule): the hours ended meanwhile.
    late = scan_at(site, local("2026-03-09", "18:59:30"), decided_after=timedelta(seconds=40))
    assert (late.status, late.decision.reason_code) == (Status.DENIED, Reason.OUTSIDE_SCHEDULE)
    # Taken at 06:59:50, decided at 07:00:05: still before the staff's hours.
    early = scan_at(site, local("2026-03-09", "06:59:50"), version="v2", decided_after=timedelta(seconds=15))
    assert (early.status, early.decision.reason_code) == (Status.DENIED, Reason.OUTSIDE_SCHEDULE)


def test_a_permitted_photo_decided_too_late_is_still_an_error(site: World) -> None:
    recorded = scan_at(site, MONDAY_10, decided_after=timedelta(seconds=61))
    assert (recorded.status, recorded.decision.reason_code) == (Status.ERROR, Reason.TOO_LATE)


def test_a_rule_change_is_seen_by_the_very_next_scan(site: World) -> None:
    assert scan_at(site, SUNDAY_10).status is Status.DENIED
    weekend = rule_from("staff-weekend", {"effect": "GRANT", "doors": ["front-door"], "groups": ["staff"]})
    assert site.access_store.commit(site.access_store.current, put=[weekend])
    after = scan_at(site, SUNDAY_10 + timedelta(minutes=1), version="v2")
    assert (after.status, after.decision.access_rule) == (Status.AUTHORIZED, "staff-weekend")
    assert site.access_store.loads == 2


def test_an_unchanged_policy_costs_one_version_read_per_scan_and_no_load(site: World) -> None:
    for number in range(3):
        scan_at(site, MONDAY_10 + timedelta(minutes=number), version=f"v{number}")
    assert (site.access_store.version_reads, site.access_store.loads) == (3, 1)


def test_an_unreadable_policy_is_an_error_and_never_authorized(site: World) -> None:
    site.access_store.fail_with = ConnectionError("the access table did not answer")
    recorded = scan_at(site, MONDAY_10)
    assert (recorded.status, recorded.decision.reason_code) == (Status.ERROR, Reason.ACCESS_FAILED)
    assert recorded.decision.door_id == "front-door-in"  # routed to the camera's own door
    assert [scan.status for scan in site.notifier.published] == [Status.ERROR]


def test_a_cached_policy_does_not_stand_in_for_a_failed_version_read(site: World) -> None:
    assert scan_at(site, MONDAY_10).status is Status.AUTHORIZED
    site.access_store.fail_with = TimeoutError("read timed out")
    recorded = scan_at(site, MONDAY_10 + timedelta(minutes=1), version="v2")
    assert (recorded.status, recorded.decision.reason_code) == (Status.ERROR, Reason.ACCESS_FAILED)
    assert "EMP001" not in (recorded.decision.reason or "")


def test_a_suspended_employee_stays_unknown_and_no_rule_is_asked(site: World) -> None:
    site.directory.employees["EMP001"] = Employee("EMP001", "Jane Doe", active=False, groups=JANE.groups)
    recorded = scan_at(site, MONDAY_10)
    assert (recorded.status, recorded.decision.reason_code) == (Status.UNKNOWN, Reason.SUSPENDED)
    assert (recorded.decision.door_id, recorded.decision.access_rule) == ("front-door", None)


def test_a_strangers_decision_names_its_door_for_one_version_read(site: World) -> None:
    # Every decision goes to its door's queue (the door agent retries after UNKNOWN).
    site.engine.result = SearchResult(faces=MATCH.faces)  # a face, no match
    recorded = scan_at(site, MONDAY_10)
    assert (recorded.status, recorded.decision.door_id) == (Status.UNKNOWN, "front-door")
    assert site.access_store.version_reads == 1


def test_a_failed_denied_alert_is_raised_for_redelivery_and_resent_once(site: World) -> None:
    site.notifier.fail_with = ConnectionError("sns down")
    upload = site.upload("incoming/front-door-in/a.jpg", event_time=SUNDAY_10.isoformat())
    soon = SUNDAY_10 + timedelta(seconds=1)
    with pytest.raises(NotificationFailed):
        process_upload(upload, site.ports, SETTINGS, clock=lambda: soon)
    [recorded] = site.scans.scans.values()
    assert (recorded.status, recorded.notification) == (Status.DENIED, "FAILED")
    site.notifier.fail_with = None
    processed(site, upload, soon + timedelta(minutes=5))  # Lambda's retry
    assert [scan.status for scan in site.notifier.published] == [Status.DENIED]
    assert site.scans.scans[recorded.scan_id].notification == "SENT"
    processed(site, upload, soon + timedelta(minutes=6))
    assert len(site.notifier.published) == 1
    assert site.access_store.version_reads == 1  # a redelivery decides nothing again


def test_a_site_never_configured_lets_jane_through_a_camera_of_its_own() -> None:
    world = World(directory=InMemoryEmployeeDirectory(JANE))  # the access store is empty
    recorded = scan_at(world, SUNDAY_10, camera="loading-dock")
    assert recorded.status is Status.AUTHORIZED
    assert (recorded.decision.door_id, recorded.decision.access_rule) == (
        "loading-dock",
        "everyone-everywhere-always",
    )


# --- CurrentPolicy and admit on their own ------------------------------------------------------


def test_current_policy_labels_its_cache_with_the_version_it_loaded() -> None:
    store = InMemoryAccessStore()
    policy = CurrentPolicy(store, "America/Chicago")
    assert policy.get().version == "" and store.loads == 1
    assert policy.get().version == "" and store.loads == 1  # pristine is cached too
    assert store.commit("", put=entries())
    assert policy.get().version == store.current and store.loads == 2
    assert policy.get().timezone == "America/Chicago" and store.loads == 2


def test_admit_leaves_every_decision_but_authorized_alone() -> None:
    store = InMemoryAccessStore()
    access = CurrentPolicy(store, "UTC")
    for status in Status:
        if status is Status.AUTHORIZED:
            continue
        decision = Decision(status, employee_id="EMP001")
        assert admit(decision, JANE, "front-door", (datetime.now(UTC),), access) is decision
    assert store.version_reads == 0
