"""Issue 28's scanning findings, each closed as a class: access and freshness judged at S3's
``LastModified`` and the decision time (never a stated ``eventTime``); a camera on no door of a
site policy opens nothing (UNKNOWN_CAMERA); a scans-table outage alerts once per scan, however
often the event comes back; an AUTHORIZED that could not be published, and a
processed copy that could not be stored, are counted for their alarms; the copy is put again
by a redelivery.

The site is the issue's (``tests/access_site.py``): staff may use the front door (cameras
``front-door-in`` and ``-out``) 07:00–19:00 on weekdays; Jane is staff.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from chalicelib.core.errors import NotificationFailed, RecordCopyNotWritten, ScanNotRecorded
from chalicelib.core.keys import processed_key, unrecorded_alert_key
from chalicelib.core.models import Reason, Scan, SearchResult, Status
from chalicelib.core.observability import METRICS
from chalicelib.scanning.pipeline import process_upload
from tests.access_site import entries, local
from tests.fakes import InMemoryEmployeeDirectory, InMemoryImageStore
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


@pytest.mark.parametrize("camera", ["front-door", "server-room", "FRONT-DOOR-IN", "front-door-in.x"])
def test_a_camera_named_like_a_door_or_a_camera_but_listed_by_none_opens_nothing(
    site: World, camera: str
) -> None:
    """Uploading under a door's own id (or a look-alike of a listed camera) is no way onto it."""
    stored = local("2026-03-09", "10:00")
    scan = decided(site, stored=stored, stated=stored, now=stored + timedelta(seconds=1), camera=camera)
    assert (scan.status, scan.decision.reason_code) == (Status.DENIED, Reason.UNKNOWN_CAMERA)


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


# --- 3. and 5. what no one would hear of: counted for the ops alarms ---------------------


@pytest.fixture
def metrics() -> Iterator[list[dict[str, object]]]:
    """Every EMF record emitted meanwhile."""
    records: list[dict[str, object]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(json.loads(record.getMessage()))

    capture, saved = Capture(), METRICS.level
    METRICS.addHandler(capture)
    METRICS.setLevel(logging.INFO)
    try:
        yield records
    finally:
        METRICS.removeHandler(capture)
        METRICS.setLevel(saved)


def counted(records: list[dict[str, object]], metric: str) -> int:
    return sum(int(str(record.get(metric, 0))) for record in records)


def test_an_authorized_that_could_not_be_published_is_counted_once(
    metrics: list[dict[str, object]],
) -> None:
    world = World()
    upload = world.upload()
    world.notifier.fail_with = ConnectionError("sns down")
    scan = world.process(upload)
    assert isinstance(scan, Scan) and scan.status is Status.AUTHORIZED and scan.notification == "FAILED"
    assert counted(metrics, "AuthorizedUnannounced") == 1
    world.notifier.fail_with = None
    world.process(upload)  # a redelivery: never announced late, never counted twice
    assert world.notifier.published == [] and counted(metrics, "AuthorizedUnannounced") == 1


def test_a_failed_alert_is_not_an_unannounced_authorization(metrics: list[dict[str, object]]) -> None:
    world = World()
    world.engine.result = SearchResult(faces=[])
    world.notifier.fail_with = ConnectionError("sns down")
    with pytest.raises(NotificationFailed):
        world.process(world.upload())
    assert counted(metrics, "AuthorizedUnannounced") == 0


@pytest.mark.parametrize("status", ["AUTHORIZED", "NO_FACE"])
def test_a_failed_processed_copy_is_counted_retried_and_put_by_the_redelivery(
    metrics: list[dict[str, object]], status: str
) -> None:
    world = World()
    if status == "NO_FACE":
        world.engine.result = SearchResult(faces=[])
    upload = world.upload()
    world.images.write_fails_with = ConnectionError("s3 down")
    with pytest.raises(RecordCopyNotWritten):  # so that Lambda delivers the event again
        world.process(upload)
    [recorded] = world.scans.scans.values()
    assert recorded.status.value == status and counted(metrics, "RecordCopyFailed") == 1
    assert [scan.status.value for scan in world.notifier.published] == [status]  # the door heard it once
    with pytest.raises(RecordCopyNotWritten):  # still failing: counted again, retried again
        world.process(upload)
    assert counted(metrics, "RecordCopyFailed") == 2
    world.images.write_fails_with = None
    again = world.process(upload)
    assert isinstance(again, Scan) and again.scan_id == recorded.scan_id
    copy = world.images.json_documents[("cams", processed_key(recorded.scan_id, recorded.day))]
    assert copy == json.loads(json.dumps(recorded.to_dict()))
    assert len(world.notifier.published) == 1 and counted(metrics, "RecordCopyFailed") == 2


def test_a_redelivery_puts_a_copy_that_went_missing_even_when_nothing_failed_before() -> None:
    world = World()
    upload = world.upload()
    world.process(upload)
    [recorded] = world.scans.scans.values()
    key = ("cams", processed_key(recorded.scan_id, recorded.day))
    first = world.images.json_documents.pop(key)
    world.process(upload)
    assert world.images.json_documents[key] == first


def test_a_failed_alert_and_a_failed_copy_retry_the_alert_first() -> None:
    world = World()
    world.engine.result = SearchResult(faces=[])
    upload = world.upload()
    world.notifier.fail_with = ConnectionError("sns down")
    world.images.write_fails_with = ConnectionError("s3 down")
    with pytest.raises(NotificationFailed):
        world.process(upload)
    world.notifier.fail_with = world.images.write_fails_with = None
    world.process(upload)
    [recorded] = world.scans.scans.values()
    assert recorded.notification == "SENT" and len(world.notifier.published) == 1
    assert ("cams", processed_key(recorded.scan_id, recorded.day)) in world.images.json_documents


# --- 4. a scans-table outage alerts security once per scan --------------------------------


@pytest.mark.parametrize("deliveries", [2, 3, 7])
def test_a_scans_table_outage_alerts_once_per_scan_however_often_the_event_comes_back(
    deliveries: int,
) -> None:
    world = World()
    upload = world.upload()
    world.scans.fail_with = ConnectionError("dynamodb down")
    for _ in range(deliveries):  # Lambda's two retries, then dead-letter replays
        with pytest.raises(ScanNotRecorded):  # still fail-closed: every delivery raises
            world.process(upload)
    [alert] = world.notifier.published
    assert (alert.status, alert.decision.reason_code) == (Status.ERROR, Reason.NOT_RECORDED)
    world.scans.fail_with = None
    world.process(upload)  # the table is back: recorded and announced like any scan
    assert [scan.status for scan in world.notifier.published] == [Status.ERROR, Status.AUTHORIZED]


def test_each_object_version_is_a_scan_of_its_own_and_alerts_of_its_own() -> None:
    world = World()
    world.scans.fail_with = ConnectionError("dynamodb down")
    for version in ("v1", "v2", "v1", "v2"):
        with pytest.raises(ScanNotRecorded):
            world.process(world.upload(version_id=version))
    assert len(world.notifier.published) == 2


def test_an_alert_that_could_not_be_published_is_tried_again_by_the_next_delivery() -> None:
    world = World()
    upload = world.upload()
    world.scans.fail_with = ConnectionError("dynamodb down")
    world.notifier.fail_with = ConnectionError("sns down")
    with pytest.raises(ScanNotRecorded):
        world.process(upload)
    world.notifier.fail_with = None
    for _ in range(2):
        with pytest.raises(ScanNotRecorded):
            world.process(upload)
    assert [alert.decision.reason_code for alert in world.notifier.published] == [Reason.NOT_RECORDED]


class UnclaimableImageStore(InMemoryImageStore):
    def claim(self, bucket: str, key: str) -> bool:
        raise ConnectionError("s3 down")


def test_when_s3_cannot_say_whether_security_heard_it_alerts_again() -> None:
    """Fail closed towards alerting: a marker S3 cannot write is no reason to stay silent."""
    world = World(images=UnclaimableImageStore())
    upload = world.upload()
    world.scans.fail_with = ConnectionError("dynamodb down")
    for _ in range(2):
        with pytest.raises(ScanNotRecorded):
            world.process(upload)
    assert len(world.notifier.published) == 2


def test_the_marker_is_the_scans_own_key_under_alerts() -> None:
    world = World()
    upload = world.upload()
    world.scans.fail_with = ConnectionError("dynamodb down")
    with pytest.raises(ScanNotRecorded):
        world.process(upload)
    [alert] = world.notifier.published
    assert ("cams", unrecorded_alert_key(alert.scan_id)) in world.images.objects
    assert unrecorded_alert_key(alert.scan_id) == f"alerts/unrecorded/{alert.scan_id}"
