"""process_upload() with in-memory ports: records, notifications, idempotency, failing closed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.access.control import CurrentPolicy
from chalicelib.core.config import Settings
from chalicelib.core.errors import NotificationFailed, RecordCopyNotWritten, ScanNotRecorded
from chalicelib.core.keys import INVALID_CAMERA, NO_CAMERA, processed_key
from chalicelib.core.models import (
    BoundingBox,
    DetectedFace,
    Employee,
    Match,
    Reason,
    SearchResult,
    Status,
    Upload,
)
from chalicelib.scanning.pipeline import PipelinePorts, process_upload, scan_id_for
from tests.fakes import (
    InMemoryAccessStore,
    InMemoryEmployeeDirectory,
    InMemoryImageStore,
    InMemoryScanLog,
    RecordingNotifier,
    ScriptedEngine,
)
from tests.images import encoded, two_tone

NOW = datetime(2026, 3, 8, 14, 30, tzinfo=UTC)
SETTINGS = Settings.from_env({"FACEGATE_TIMEZONE": "America/Chicago"})
MATCH = SearchResult(
    faces=[DetectedFace(BoundingBox(10, 10, 200, 200), 70.0)], best=Match("EMP001", 93.2), runner_up=None
)


@dataclass
class World:
    images: InMemoryImageStore = field(default_factory=InMemoryImageStore)
    engine: ScriptedEngine = field(default_factory=lambda: ScriptedEngine(MATCH))
    directory: InMemoryEmployeeDirectory = field(
        default_factory=lambda: InMemoryEmployeeDirectory(Employee("EMP001", "Jane Doe"))
    )
    scans: InMemoryScanLog = field(init=False)
    notifier: RecordingNotifier = field(default_factory=RecordingNotifier)
    access_store: InMemoryAccessStore = field(default_factory=InMemoryAccessStore)  # never configured
    access: CurrentPolicy = field(init=False)  # one per container: its cache outlives a scan

    def __post_init__(self) -> None:
        self.scans = InMemoryScanLog(self.directory)
        self.access = CurrentPolicy(self.access_store, SETTINGS.timezone)

    @property
    def ports(self) -> PipelinePorts:
        return PipelinePorts(self.images, self.engine, self.directory, self.scans, self.notifier, self.access)

    def upload(
        self,
        key: str = "incoming/front-door/a.jpg",
        data: bytes | None = None,
        *,
        stored_at: datetime | None = None,
        **kw: object,
    ) -> Upload:
        """The photo in the bucket, stored (S3's ``LastModified``) at ``stored_at``, by default
        when its event says it was, and its event."""
        payload = encoded(two_tone(), "JPEG") if data is None else data
        self.images.objects[("cams", key)] = payload
        fields: dict[str, object] = {
            "version_id": "v1",
            "sequencer": "01",
            "event_time": "2026-03-08T14:29:59.500Z",
            "size": len(payload),
            **kw,
        }
        try:
            stated = datetime.fromisoformat(str(fields["event_time"]).replace("Z", "+00:00"))
            stated = stated if stated.tzinfo else stated.replace(tzinfo=UTC)
        except (ValueError, OverflowError):
            stated = NOW - timedelta(seconds=0.5)
        self.images.modified[("cams", key)] = stored_at or stated
        return Upload(bucket="cams", key=key, **fields)  # type: ignore[arg-type]

    def process(self, upload: Upload) -> object:
        return process_upload(upload, self.ports, SETTINGS, clock=lambda: NOW)


@pytest.fixture
def world() -> World:
    return World()


def test_a_match_is_recorded_announced_and_written_to_processed(world: World) -> None:
    scan = world.process(world.upload())
    [recorded] = world.scans.scans.values()
    assert recorded.status is Status.AUTHORIZED
    assert recorded.camera_id == "front-door"
    assert recorded.decision.employee_name == "Jane Doe"
    assert recorded.captured_at == "2026-03-08T14:29:59.500Z"
    assert recorded.day == "2026-03-08"
    assert recorded.notification == "SENT"
    assert [s.scan_id for s in world.notifier.published] == [recorded.scan_id]
    document = world.images.json_documents[("cams", processed_key(recorded.scan_id, "2026-03-08"))]
    assert document["status"] == "AUTHORIZED" and document["similarity"] == 93.2
    assert scan is not None


def test_local_day_follows_the_site_time_zone(world: World) -> None:
    # 03:30 UTC on 9 March is still 8 March in Chicago.
    late_evening = datetime(2026, 3, 9, 3, 30, 1, tzinfo=UTC)
    upload = world.upload(event_time="2026-03-09T03:30:00Z")
    process_upload(upload, world.ports, SETTINGS, clock=lambda: late_evening)
    [recorded] = world.scans.scans.values()
    assert recorded.day == "2026-03-08"
    assert recorded.captured_at == "2026-03-09T03:30:00.000Z"
    assert recorded.engine == "scripted"


def test_a_duplicate_event_gives_one_record_and_one_notification(world: World) -> None:
    upload = world.upload()
    world.process(upload)
    world.process(upload)
    assert len(world.scans.scans) == 1
    assert len(world.notifier.published) == 1
    assert world.engine.searches == 1  # the redelivery costs no recognition


def test_a_new_version_of_the_same_key_is_a_new_scan(world: World) -> None:
    world.process(world.upload(version_id="v1"))
    world.process(world.upload(version_id="v2"))
    assert len(world.scans.scans) == 2


def test_scan_id_depends_on_bucket_key_and_version() -> None:
    base = Upload("b", "incoming/c/k.jpg", "v1", "s", "t")
    assert scan_id_for(base) == scan_id_for(Upload("b", "incoming/c/k.jpg", "v1", "other", "t2"))
    assert scan_id_for(base) != scan_id_for(Upload("b", "incoming/c/k.jpg", "v2", "s", "t"))
    assert scan_id_for(base) != scan_id_for(Upload("b2", "incoming/c/k.jpg", "v1", "s", "t"))


def test_our_own_processed_output_is_ignored(world: World) -> None:
    assert world.process(world.upload(key="processed/abc.json")) is None
    assert world.scans.scans == {} and world.notifier.published == []


def test_keys_outside_incoming_camera_layout_are_rejected_and_recorded(world: World) -> None:
    world.process(world.upload(key="incoming/no-camera.jpg"))
    [recorded] = world.scans.scans.values()
    assert recorded.status is Status.REJECTED
    assert recorded.camera_id == NO_CAMERA
    assert recorded.decision.reason == "key is not incoming/<camera-id>/<file>"
    assert recorded.decision.reason_code is Reason.BAD_KEY


@pytest.mark.parametrize(
    "camera",
    [
        "front-door\nStatus: AUTHORIZED",
        "lobby\u2028Employee: EMP001",
        "door\u202eroolf",  # a bidi override
        "x" * 65,
        "..",
        "café",
        "front door",
    ],
)
def test_a_camera_id_outside_the_pattern_is_rejected_unseen(world: World, camera: str) -> None:
    world.process(world.upload(key=f"incoming/{camera}/a.jpg"))
    [recorded] = world.scans.scans.values()
    assert recorded.status is Status.REJECTED
    assert recorded.decision.reason_code is Reason.BAD_CAMERA_ID
    assert recorded.camera_id == INVALID_CAMERA  # never processed as a real camera's scan
    assert world.engine.searches == 0
    [alert] = world.notifier.published
    assert alert.camera_id == INVALID_CAMERA


def test_the_same_version_gives_one_record_whether_or_not_the_event_names_it(world: World) -> None:
    key = "incoming/front-door/a.jpg"
    upload = world.upload(key=key, version_id=None, sequencer="0A")
    world.images.versions[("cams", key)] = "v7"
    world.process(upload)
    world.process(world.upload(key=key, version_id="v7", sequencer="0B"))
    [recorded] = world.scans.scans.values()
    assert recorded.object_version == "v7"
    assert len(world.notifier.published) == 1


def test_each_version_of_one_key_is_its_own_record_even_with_equal_bytes(world: World) -> None:
    # moto's events carry neither versionId nor sequencer, and equal bytes share an eTag.
    key = "incoming/front-door/a.jpg"
    for _ in range(3):
        world.images.put("cams", key, encoded(two_tone(), "JPEG"))
        world.process(world.upload(key=key, version_id=None, sequencer="same-etag"))
    assert sorted(scan.object_version or "" for scan in world.scans.scans.values()) == ["v1", "v2", "v3"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"not a photo at all", "not an image"),
        (encoded(two_tone(), "GIF"), "unsupported image format GIF"),
    ],
)
def test_unusable_uploads_are_rejected_with_a_reason(world: World, data: bytes, reason: str) -> None:
    world.process(world.upload(data=data))
    [recorded] = world.scans.scans.values()
    assert recorded.status is Status.REJECTED
    assert reason in (recorded.decision.reason or "")
    assert world.notifier.published[0].status is Status.REJECTED
    assert world.engine.searches == 0


def test_an_oversized_upload_is_rejected_without_reading_it(world: World) -> None:
    world.images.fail_with = AssertionError("must not be read")
    world.process(world.upload(size=SETTINGS.limits.max_bytes + 1))
    [recorded] = world.scans.scans.values()
    assert recorded.status is Status.REJECTED
    assert "file too large" in (recorded.decision.reason or "")


def test_a_photo_decided_too_late_never_opens_the_door(world: World) -> None:
    taken = NOW - timedelta(minutes=3)
    world.process(world.upload(event_time=taken.isoformat()))
    [recorded] = world.scans.scans.values()
    assert recorded.status is Status.ERROR
    assert "too late" in (recorded.decision.reason or "")


@pytest.mark.parametrize("stored_at", [NOW + timedelta(seconds=6), datetime(2099, 1, 1, tzinfo=UTC)])
def test_a_photo_stored_in_the_future_never_opens_the_door(world: World, stored_at: datetime) -> None:
    """A clock gone wrong cannot keep a photo "fresh" for ever: the 60 s rule fails closed.
    (The event's own time changes nothing: tests/unit/test_scan_findings.py.)"""
    world.process(world.upload(stored_at=stored_at))
    [recorded] = world.scans.scans.values()
    assert (recorded.status, recorded.decision.reason_code) == (Status.ERROR, Reason.TOO_LATE)
    assert recorded.decision.employee_id == "EMP001"  # who it was stays on the record
    assert [scan.status for scan in world.notifier.published] == [Status.ERROR]


@pytest.mark.parametrize(
    "event_time",
    ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-01:00", "2099-01-01T00:00Z"],
)
def test_an_impossible_event_time_is_recorded_at_the_time_it_was_processed(
    world: World, event_time: str
) -> None:
    """Recorded, not crashed; and on today's day, expiring with the rest, not kept forever."""
    world.process(world.upload(event_time=event_time))
    [recorded] = world.scans.scans.values()
    assert recorded.status is Status.ERROR and recorded.captured_at.startswith(NOW.date().isoformat())
    assert recorded.expires_at == int((NOW + timedelta(days=SETTINGS.retention_days)).timestamp())


def test_a_forged_ancient_photo_expires_as_if_it_were_as_old_as_any_event_can_be(world: World) -> None:
    world.process(world.upload(event_time="0001-01-02T00:00:00Z"))
    [recorded] = world.scans.scans.values()
    assert recorded.status is Status.ERROR and recorded.captured_at.startswith("0001-01-02")
    kept_until = NOW - timedelta(days=15) + timedelta(days=SETTINGS.retention_days)
    assert recorded.expires_at == int(kept_until.timestamp())  # never a TTL DynamoDB ignores


def test_a_replayed_event_with_a_forged_fresh_time_never_opens_the_door_for_an_old_photo(
    world: World,
) -> None:
    """Whoever may write to the failed-scans queue can rewrite an event's time, not the time
    S3 stored the photo: the 60 s rule measures from the older of the two."""
    forged = world.upload(
        event_time=(NOW - timedelta(seconds=3)).isoformat(), stored_at=NOW - timedelta(seconds=65)
    )
    world.process(forged)
    [recorded] = world.scans.scans.values()
    assert (recorded.status, recorded.decision.reason_code) == (Status.ERROR, Reason.TOO_LATE)
    assert "photo taken at 2026-03-08T14:28:55.000Z" in (recorded.decision.reason or "")
    assert [scan.status for scan in world.notifier.published] == [Status.ERROR]


@pytest.mark.parametrize(
    "stored_at", [None, NOW + timedelta(seconds=10)], ids=["no-last-modified", "last-modified-ahead"]
)
def test_a_photo_whose_stored_time_is_unknown_or_in_the_future_never_opens_the_door(
    world: World, stored_at: datetime | None
) -> None:
    upload = world.upload(stored_at=stored_at)
    if stored_at is None:
        del world.images.modified[("cams", upload.key)]
    world.process(upload)
    [recorded] = world.scans.scans.values()
    assert (recorded.status, recorded.decision.reason_code) == (Status.ERROR, Reason.TOO_LATE)


def test_a_photo_stored_a_moment_after_its_event_time_opens_the_door(world: World) -> None:
    world.process(world.upload(stored_at=NOW - timedelta(seconds=0.2)))  # the event says 0.5 s ago
    [recorded] = world.scans.scans.values()
    assert recorded.status is Status.AUTHORIZED
    assert recorded.captured_at == "2026-03-08T14:29:59.800Z"  # S3's time, never the event's


def test_a_photo_a_few_seconds_ahead_of_our_clock_is_s3s_clock_skew(world: World) -> None:
    world.process(world.upload(event_time=(NOW + timedelta(seconds=4)).isoformat()))
    [recorded] = world.scans.scans.values()
    assert recorded.status is Status.AUTHORIZED


@pytest.mark.parametrize("failing", ["images", "engine", "directory"])
def test_a_failing_dependency_is_recorded_as_error(world: World, failing: str) -> None:
    getattr(world, failing).fail_with = ConnectionError("boom")
    world.process(world.upload())
    [recorded] = world.scans.scans.values()
    assert recorded.status is Status.ERROR
    assert "ConnectionError: boom" in (recorded.decision.reason or "")
    assert world.notifier.published[0].status is Status.ERROR


def test_when_the_scan_log_fails_security_hears_of_it_and_lambda_retries(world: World) -> None:
    world.scans.fail_with = ConnectionError("dynamodb down")
    with pytest.raises(ScanNotRecorded):
        world.process(world.upload())
    [alert] = world.notifier.published
    assert alert.status is Status.ERROR
    assert "could not record" in (alert.decision.reason or "")
    assert "decided AUTHORIZED" in (alert.decision.reason or "")


def test_when_publishing_an_alert_fails_the_redelivery_sends_it(world: World) -> None:
    world.engine.result = SearchResult(faces=[])
    upload = world.upload()
    world.notifier.fail_with = ConnectionError("sns down")
    with pytest.raises(NotificationFailed):
        world.process(upload)
    [recorded] = world.scans.scans.values()
    assert recorded.status is Status.NO_FACE and recorded.notification == "FAILED"
    world.notifier.fail_with = None
    world.process(upload)
    assert [s.status for s in world.notifier.published] == [Status.NO_FACE]
    assert world.scans.scans[recorded.scan_id].notification == "SENT"
    world.process(upload)
    assert len(world.notifier.published) == 1


def test_a_failed_authorization_is_never_announced_late(world: World) -> None:
    upload = world.upload()
    world.notifier.fail_with = ConnectionError("sns down")
    scan = world.process(upload)  # no exception: a retry must not open the door minutes later
    assert scan is not None
    [recorded] = world.scans.scans.values()
    assert recorded.status is Status.AUTHORIZED and recorded.notification == "FAILED"
    world.notifier.fail_with = None
    world.process(upload)
    assert world.notifier.published == []


def test_a_failing_processed_copy_does_not_lose_the_scan(world: World) -> None:
    world.images.write_fails_with = ConnectionError("s3 down")
    with pytest.raises(RecordCopyNotWritten):  # a redelivery puts the copy (test_scan_findings)
        world.process(world.upload())
    [recorded] = world.scans.scans.values()
    assert recorded.status is Status.AUTHORIZED
    assert len(world.notifier.published) == 1


def test_a_suspended_employee_is_not_let_in(world: World) -> None:
    world.directory.employees["EMP001"] = Employee("EMP001", "Jane Doe", active=False)
    world.process(world.upload())
    [recorded] = world.scans.scans.values()
    assert recorded.status is Status.UNKNOWN


class ErasedAfterRead(InMemoryEmployeeDirectory):
    """The erasure begins right after the scan read the employee, before it writes the record."""

    def get(self, employee_id: str) -> Employee | None:
        employee = super().get(employee_id)
        self.begin_erasure(employee_id, "job-1")
        return employee


def test_a_scan_in_flight_during_an_erasure_keeps_no_trace_of_the_employee() -> None:
    world = World(directory=ErasedAfterRead(Employee("EMP001", "Jane Doe")))
    world.process(world.upload())
    [recorded] = world.scans.scans.values()
    assert recorded.status is Status.UNKNOWN
    assert recorded.decision.reason_code is Reason.EMPLOYEE_ERASED
    assert recorded.decision.employee_id is None and recorded.decision.employee_name is None
    assert recorded.object_version == "v1"  # so the erasure's last sweep can purge the photo
    [alert] = world.notifier.published
    assert "EMP001" not in str(alert.to_dict()) and "Jane" not in str(alert.to_dict())
