"""The erasure job with in-memory ports: what it finds and removes, resuming, settling, failing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from chalicelib.access.policy import (
    ANY,
    DEFAULT_RULE,
    AccessEntry,
    AccessGroup,
    AccessKey,
    Door,
    Effect,
    Rule,
)
from chalicelib.access.ports import MAX_ACCESS_CHANGES
from chalicelib.core.config import Settings
from chalicelib.core.errors import AccessPolicyUnsettled, NotFound, ObjectGone, ObjectUnreadable
from chalicelib.core.keys import legacy_processed_key, processed_key
from chalicelib.core.models import (
    BoundingBox,
    Decision,
    Employee,
    NormalisedImage,
    PendingFace,
    Reason,
    Scan,
    Status,
)
from chalicelib.core.ports import Page
from chalicelib.erasure.job import job_status, run_job, start_erasure
from chalicelib.erasure.steps import ACCESS_ATTEMPTS, ErasurePorts
from tests.fakes import (
    InMemoryAccessStore,
    InMemoryAuditLog,
    InMemoryConsentLedger,
    InMemoryEmployeeDirectory,
    InMemoryErasureJobs,
    InMemoryErasureQueue,
    InMemoryImageStore,
    InMemoryPendingFaces,
    InMemoryScanLog,
    ScriptedEngine,
)
from tests.images import encoded

BUCKET = "cams"
START = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
SETTINGS = Settings.from_env(
    {"FACEGATE_RETENTION_DAYS": "3", "FACEGATE_ERASURE_SETTLE_SECONDS": "0", "FACEGATE_TIMEZONE": "UTC"}
)
RED, BLUE = (220, 30, 30), (30, 30, 220)  # a red photo shows EMP001 (the scripted engine's rule)


def photo(colour: tuple[int, int, int]) -> bytes:
    return encoded(Image.new("RGB", (48, 32), colour), "PNG")


def shows_red(image: NormalisedImage, employee_id: str) -> bool:
    return bool(image.pixels.getpixel((0, 0)) == RED)


@dataclass
class World:
    clock: list[datetime] = field(default_factory=lambda: [START])
    directory: InMemoryEmployeeDirectory = field(
        default_factory=lambda: InMemoryEmployeeDirectory(
            Employee("EMP001", "Quinn Zebedee"), Employee("EMP002", "Other Person")
        )
    )
    engine: ScriptedEngine = field(default_factory=lambda: ScriptedEngine(result=None, shows=shows_red))  # type: ignore[arg-type]
    audit: InMemoryAuditLog = field(default_factory=InMemoryAuditLog)
    scans: InMemoryScanLog = field(default_factory=InMemoryScanLog)
    images: InMemoryImageStore = field(default_factory=InMemoryImageStore)
    jobs: InMemoryErasureJobs = field(default_factory=InMemoryErasureJobs)
    queue: InMemoryErasureQueue = field(default_factory=InMemoryErasureQueue)
    access: InMemoryAccessStore = field(default_factory=InMemoryAccessStore)
    consents: InMemoryConsentLedger = field(default_factory=InMemoryConsentLedger)
    pending: InMemoryPendingFaces = field(default_factory=InMemoryPendingFaces)

    @property
    def ports(self) -> ErasurePorts:
        return ErasurePorts(
            self.directory,
            self.engine,
            self.audit,
            self.scans,
            self.images,
            self.jobs,
            self.queue,
            BUCKET,
            self.access,
            self.consents,
            self.pending,
            clock=lambda: self.clock[0],
        )

    def scan(
        self, scan_id: str, colour: tuple[int, int, int], status: Status, employee_id: str | None = None,
        *, day: int = 0, **extra: object,
    ) -> Scan:  # fmt: skip
        captured = START - timedelta(days=day, minutes=1)
        key = f"incoming/door/{scan_id}.png"
        self.images.objects[(BUCKET, key)] = photo(colour)
        self.images.json_documents[(BUCKET, processed_key(scan_id, captured.date().isoformat()))] = {
            "scan_id": scan_id
        }
        name = "Quinn Zebedee" if employee_id == "EMP001" else None
        scan = Scan(
            scan_id=scan_id,
            camera_id="door",
            object_key=key,
            object_version="v1",
            captured_at=captured.isoformat().replace("+00:00", "Z"),
            processed_at=str(extra.pop("processed_at", captured.isoformat().replace("+00:00", "Z"))),
            day=captured.date().isoformat(),
            decision=Decision(
                status,
                employee_id=employee_id,
                employee_name=name,
                face_box=BoundingBox(1, 1, 9, 9),
                **extra,  # type: ignore[arg-type]
            ),
            engine="scripted",
            expires_at=0,
        )
        self.scans.record(scan)
        return scan

    def run(self, job_id: str, **kw: object) -> None:
        run_job(job_id, self.ports, kw.pop("settings", SETTINGS), **kw)  # type: ignore[arg-type]

    def photo_kept(self, scan_id: str) -> bool:
        return (BUCKET, f"incoming/door/{scan_id}.png") in self.images.objects

    def copies_kept(self, scan: Scan) -> list[str]:
        """The scan's processed copies still stored, in either layout."""
        keys = (processed_key(scan.scan_id, scan.day), legacy_processed_key(scan.scan_id))
        return [key for key in keys if (BUCKET, key) in self.images.json_documents]

    def legacy_copy(self, scan: Scan) -> None:
        """A copy where versions before the partitioned layout wrote it."""
        self.images.json_documents[(BUCKET, legacy_processed_key(scan.scan_id))] = scan.to_dict()


@pytest.fixture
def world() -> World:
    w = World()
    w.engine.add_face("EMP001", None)  # type: ignore[arg-type]
    w.engine.add_face("EMP001", None)  # type: ignore[arg-type]
    return w


def test_erasure_finds_unlinked_photos_first_and_leaves_nothing_of_the_employee(world: World) -> None:
    linked = [world.scan(f"mine{n:03}", RED, Status.AUTHORIZED, "EMP001", day=n % 3) for n in range(130)]
    group = world.scan("group", RED, Status.MULTIPLE_FACES, day=1)  # never linked to them
    blurred = world.scan("blurred", RED, Status.LOW_QUALITY, day=3)
    failed = world.scan("engine-failed", RED, Status.ERROR, day=2)
    strangers = [world.scan(f"other{n:02}", BLUE, Status.UNKNOWN, day=n % 2) for n in range(60)]
    colleague = world.scan("colleague", RED, Status.AUTHORIZED, "EMP002")  # red, but not unlinked
    too_old = world.scan("too-old", RED, Status.UNKNOWN, day=9)  # outside the window

    job = start_erasure("EMP001", world.ports, "admin")
    assert world.queue.sent == [(job.job_id, 0)]
    assert world.directory.get("EMP001") is None  # absent from the start: no one reads them
    world.run(job.job_id)

    status = job_status(job.job_id, world.jobs)
    assert status["status"] == "DONE"
    assert status["progress"] == {
        "days_total": 6,
        "days_searched": 6,
        "photos_checked": 63,
        "photos_unreadable": 0,
    }
    assert status["result"] == {
        "faces_removed": 2,
        "unlinked_photos_found": 3,
        "scans_anonymised": 130,
        "scans_purged": 3,
        "in_flight_purged": 0,
        "photos_deleted": 133,
    }
    assert "Quinn Zebedee" not in str(status)
    for scan in linked:
        record = world.scans.get(scan.scan_id)
        assert (
            record is not None
            and record.decision.employee_id is None
            and record.decision.employee_name is None
        )
        assert not world.photo_kept(scan.scan_id)
        assert world.copies_kept(scan) == []
    for gone in (group, blurred, failed):
        assert world.scans.get(gone.scan_id) is None and not world.photo_kept(gone.scan_id)
    for kept in (*strangers, colleague, too_old):
        assert world.scans.get(kept.scan_id) == kept and world.photo_kept(kept.scan_id)
    assert world.engine.faces["EMP001"] == [] and "EMP001" not in world.directory.employees
    assert world.directory.get("EMP002") is not None
    erased = [e for e in world.audit.entries if e.action == "employee.erase"]
    assert len(erased) == 1 and erased[0].details["scans_purged"] == 3
    assert "Quinn" not in str(world.audit.entries)


def test_a_second_delete_returns_the_running_job_and_unknown_employees_are_404(world: World) -> None:
    first = start_erasure("EMP001", world.ports, "admin")
    again = start_erasure("EMP001", world.ports, "someone-else")
    assert again.job_id == first.job_id and again.actor == "admin"
    assert len(world.jobs.jobs) == 1
    with pytest.raises(NotFound):
        start_erasure("NOPE", world.ports, "admin")
    with pytest.raises(NotFound):  # a PATCH racing the erasure cannot unmark (or reactivate) them
        world.directory.put(Employee("EMP001", "Quinn Zebedee"))


class FlakyScanLog(InMemoryScanLog):
    """Anonymising fails once, after ``after`` successes: a throttled call half way."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after

    def anonymise(self, scan_id: str) -> None:
        if self.after == 0:
            self.after = -1
            raise RuntimeError("ProvisionedThroughputExceededException")
        self.after -= 1
        super().anonymise(scan_id)


def test_a_job_that_fails_half_way_resumes_where_it_stopped(world: World) -> None:
    world.scans = FlakyScanLog(after=40)
    for n in range(70):
        world.scan(f"mine{n:03}", RED, Status.AUTHORIZED, "EMP001")
    world.scan("group", RED, Status.MULTIPLE_FACES)
    job = start_erasure("EMP001", world.ports, "admin")
    with pytest.raises(RuntimeError):
        world.run(job.job_id, receive_count=1)
    failed = job_status(job.job_id, world.jobs)
    assert (failed["status"], failed["step"], failed["attempts"]) == ("RUNNING", "linked", 1)
    assert "ProvisionedThroughput" in failed["error"] and failed["result"]["scans_anonymised"] == 40
    assert failed["result"]["unlinked_photos_found"] == 1  # the search is not repeated

    checked = failed["progress"]["photos_checked"]
    world.run(job.job_id, receive_count=2)  # the queue redelivers
    done = job_status(job.job_id, world.jobs)
    assert (done["status"], done["error"], done["progress"]["photos_checked"]) == ("DONE", None, checked)
    assert done["result"]["scans_anonymised"] == 70 and done["result"]["scans_purged"] == 1
    assert all(scan.decision.employee_id is None for scan in world.scans.scans.values())


def test_the_last_delivery_marks_the_job_failed_and_a_new_delete_retries_it(world: World) -> None:
    world.scan("mine", RED, Status.AUTHORIZED, "EMP001")
    job = start_erasure("EMP001", world.ports, "admin")
    world.images.fail_with = RuntimeError("AccessDenied")
    for receive in range(1, SETTINGS.erasure_max_receives + 1):
        with pytest.raises(RuntimeError):
            world.run(job.job_id, receive_count=receive)
    failed = job_status(job.job_id, world.jobs)
    assert failed["status"] == "FAILED" and failed["attempts"] == 5 and "AccessDenied" in failed["error"]
    assert [e.action for e in world.audit.entries][-1] == "employee.erase.failed"

    world.images.fail_with = None
    world.queue.sent.clear()
    retried = start_erasure("EMP001", world.ports, "admin")
    assert retried.job_id == job.job_id and world.queue.sent == [(job.job_id, 0)]
    world.run(job.job_id)
    assert job_status(job.job_id, world.jobs)["status"] == "DONE"


def test_the_final_sweep_waits_then_purges_scans_stopped_by_the_guard(world: World) -> None:
    settings = Settings.from_env({"FACEGATE_RETENTION_DAYS": "3", "FACEGATE_TIMEZONE": "UTC"})
    job = start_erasure("EMP001", world.ports, "admin")
    world.run(job.job_id, settings=settings)
    assert job_status(job.job_id, world.jobs)["status"] == "SETTLING"
    assert world.queue.sent[-1] == (job.job_id, 90)
    assert world.directory.get("EMP001") is None and "EMP001" in world.directory.erasing  # the tombstone

    # Meanwhile the camera function finished scans it had started before the erasure.
    later = (START + timedelta(seconds=20)).isoformat().replace("+00:00", "Z")
    world.scan("in-flight", RED, Status.UNKNOWN, reason_code=Reason.EMPLOYEE_ERASED, processed_at=later)
    world.scan("stranger", BLUE, Status.UNKNOWN, processed_at=later)
    world.scan("late-link", RED, Status.AUTHORIZED, "EMP001", processed_at=later)

    world.clock[0] = START + timedelta(seconds=30)
    world.run(job.job_id, settings=settings)  # an early duplicate: wait the rest
    assert world.queue.sent[-1] == (job.job_id, 60)
    assert job_status(job.job_id, world.jobs)["status"] == "SETTLING"

    world.clock[0] = START + timedelta(seconds=95)
    world.run(job.job_id, settings=settings)
    done = job_status(job.job_id, world.jobs)
    assert done["status"] == "DONE" and done["result"]["in_flight_purged"] == 1
    assert "EMP001" not in world.directory.employees  # the tombstone lifts at DONE
    assert done["result"]["scans_anonymised"] == 1
    assert world.scans.get("in-flight") is None and not world.photo_kept("in-flight")
    assert world.scans.get("stranger") is not None and world.photo_kept("stranger")
    late = world.scans.get("late-link")
    assert late is not None and late.decision.employee_id is None and not world.photo_kept("late-link")


def test_the_final_sweep_removes_late_copies_and_late_errors_that_named_them(world: World) -> None:
    settings = Settings.from_env({"FACEGATE_RETENTION_DAYS": "3", "FACEGATE_TIMEZONE": "UTC"})
    at_the_door = world.scan("at-the-door", RED, Status.AUTHORIZED, "EMP001")
    group = world.scan("group", RED, Status.MULTIPLE_FACES)  # shows them unnamed: purged, record and all
    job = start_erasure("EMP001", world.ports, "admin")
    world.run(job.job_id, settings=settings)  # anonymised and purged, their copies deleted; now settling
    assert world.copies_kept(at_the_door) == world.copies_kept(group) == []
    assert world.scans.get("group") is None  # and with the record, the day its copy is filed under

    # The camera invocations that recorded them write their processed copies only now (one
    # still running the version before the partitioned layout), and a match decided too late
    # (an ERROR that named them) is stopped by the guard.
    for scan in (at_the_door, group):
        world.images.json_documents[(BUCKET, processed_key(scan.scan_id, scan.day))] = scan.to_dict()
        world.legacy_copy(scan)
    later = (START + timedelta(seconds=20)).isoformat().replace("+00:00", "Z")
    world.scan("too-late", RED, Status.ERROR, reason_code=Reason.EMPLOYEE_ERASED, processed_at=later)

    world.clock[0] = START + timedelta(seconds=95)
    world.run(job.job_id, settings=settings)
    assert job_status(job.job_id, world.jobs)["status"] == "DONE"
    assert world.copies_kept(at_the_door) == world.copies_kept(group) == []
    assert world.scans.get("too-late") is None and not world.photo_kept("too-late")
    # The job stays in the audit table: the copies' keys, which hold every day they were
    # seen, go once the sweep is done.
    done = world.jobs.get(job.job_id)
    assert done is not None and done.copies == []


def test_a_finished_job_keeps_counts_and_no_scan_id_that_would_say_where_they_were_seen(
    world: World,
) -> None:
    """An anonymised record keeps its time, door and rule for the retention window: the ids
    of the scans the job touched would join back to every passage of the erased employee."""
    at_the_door = [world.scan(f"mine{n}", RED, Status.AUTHORIZED, "EMP001", day=n) for n in range(3)]
    group = world.scan("group", RED, Status.MULTIPLE_FACES, day=1)
    job = start_erasure("EMP001", world.ports, "admin")
    world.run(job.job_id)

    status = job_status(job.job_id, world.jobs)
    stored = world.jobs.get(job.job_id)
    assert stored is not None and stored.state == "DONE"
    assert status["result"] == {
        "faces_removed": 2,
        "unlinked_photos_found": 1,
        "scans_anonymised": 3,
        "scans_purged": 1,
        "in_flight_purged": 0,
        "photos_deleted": 4,
    }
    kept = str(stored.to_dict()) + str(status) + str(world.audit.entries)
    for scan in (*at_the_door, group):
        assert scan.scan_id not in kept
    assert (stored.found, stored.anonymised, stored.purged, stored.in_flight) == ([], [], [], [])


def test_a_running_job_shows_counts_not_scan_ids(world: World) -> None:
    world.scan("mine", RED, Status.AUTHORIZED, "EMP001")
    job = start_erasure("EMP001", world.ports, "admin")
    world.images.fail_with = RuntimeError("SlowDown")  # the linked step stops half way
    with pytest.raises(RuntimeError):
        world.run(job.job_id)
    status = job_status(job.job_id, world.jobs)
    assert status["status"] == "RUNNING" and "mine" not in str(status)


def test_erasure_deletes_copies_in_the_partitioned_and_the_older_layout(world: World) -> None:
    # Copies written before the upgrade sit at processed/<scan-id>.json, newer ones under
    # processed/dt=<day>/: an employee's records from before the upgrade stay erasable.
    linked = world.scan("mine", RED, Status.AUTHORIZED, "EMP001", day=1)
    unlinked = world.scan("group", RED, Status.MULTIPLE_FACES, day=2)
    stranger = world.scan("stranger", BLUE, Status.UNKNOWN, day=1)
    for scan in (linked, unlinked, stranger):
        world.legacy_copy(scan)
        assert len(world.copies_kept(scan)) == 2

    settings = Settings.from_env({"FACEGATE_RETENTION_DAYS": "3", "FACEGATE_TIMEZONE": "UTC"})
    job = start_erasure("EMP001", world.ports, "admin")
    world.run(job.job_id, settings=settings)
    assert job_status(job.job_id, world.jobs)["status"] == "SETTLING"  # gone before the final sweep
    assert world.copies_kept(linked) == world.copies_kept(unlinked) == []
    assert len(world.copies_kept(stranger)) == 2  # nothing of theirs


def test_a_job_out_of_time_saves_its_place_and_queues_itself_again(world: World) -> None:
    for n in range(40):
        world.scan(f"other{n:02}", BLUE, Status.UNKNOWN)
    job = start_erasure("EMP001", world.ports, "admin")
    world.queue.sent.clear()
    world.run(job.job_id, time_left=lambda: 30.0)
    paused = job_status(job.job_id, world.jobs)
    assert (paused["status"], paused["step"], paused["progress"]["photos_checked"]) == (
        "RUNNING",
        "search",
        25,
    )
    assert world.queue.sent == [(job.job_id, 0)]
    world.run(job.job_id)
    done = job_status(job.job_id, world.jobs)
    assert done["status"] == "DONE" and done["progress"]["photos_checked"] == 40


def test_a_duplicate_message_for_a_finished_job_changes_nothing(world: World) -> None:
    job = start_erasure("EMP001", world.ports, "admin")
    world.run(job.job_id)
    saves = world.jobs.saves
    world.run(job.job_id)
    assert world.jobs.saves == saves
    with pytest.raises(NotFound):
        job_status("0" * 32, world.jobs)


@pytest.mark.parametrize(
    "refusal",
    [
        ObjectUnreadable("the photo may not be read (InvalidObjectState)"),  # uploaded as GLACIER
        ObjectUnreadable("the photo may not be read (InvalidRequest)"),  # SSE-C, its key unknown
        ObjectUnreadable("the photo may not be read (KMS.DisabledException)"),
        ObjectUnreadable("the photo may not be read (KeyTooLongError)"),
        ObjectGone("incoming/door/poisoned.png is not in the bucket"),  # a bare 404
    ],
    ids=["archived", "sse-c", "kms", "key-too-long", "gone"],
)
def test_a_photo_that_cannot_be_read_does_not_block_the_erasure(world: World, refusal: Exception) -> None:
    """Any camera may upload bytes S3 will not give back (GLACIER, SSE-C): such a photo is
    one the engine could not see them in, or one scan would keep everyone from being erased."""
    mine = world.scan("mine", RED, Status.AUTHORIZED, "EMP001")
    world.scan("poisoned", RED, Status.ERROR, reason_code=Reason.READ_FAILED)
    group = world.scan("group", RED, Status.MULTIPLE_FACES)
    world.images.refusals["incoming/door/poisoned.png"] = refusal

    job = start_erasure("EMP001", world.ports, "admin")
    world.run(job.job_id)

    status = job_status(job.job_id, world.jobs)
    assert (status["status"], status["error"]) == ("DONE", None)
    unreadable = 0 if isinstance(refusal, ObjectGone) else 1
    assert status["progress"]["photos_checked"] == 2
    assert status["progress"]["photos_unreadable"] == unreadable
    assert status["result"]["scans_purged"] == 1 and world.scans.get(group.scan_id) is None
    assert not world.photo_kept(mine.scan_id) and world.engine.faces["EMP001"] == []
    assert "EMP001" not in world.directory.employees


def test_a_photo_that_is_not_an_image_counts_as_unreadable(world: World) -> None:
    world.scan("garbage", RED, Status.ERROR)
    world.images.objects[(BUCKET, "incoming/door/garbage.png")] = b"not a picture"
    job = start_erasure("EMP001", world.ports, "admin")
    world.run(job.job_id)
    status = job_status(job.job_id, world.jobs)
    assert status["status"] == "DONE" and status["progress"]["photos_unreadable"] == 1


def test_a_passing_read_failure_during_the_search_is_retried_by_the_queue(world: World) -> None:
    world.scan("group", RED, Status.MULTIPLE_FACES)
    world.images.refusals["incoming/door/group.png"] = RuntimeError("SlowDown")  # a throttled read
    job = start_erasure("EMP001", world.ports, "admin")
    with pytest.raises(RuntimeError, match="SlowDown"):
        world.run(job.job_id)
    failed = job_status(job.job_id, world.jobs)
    assert (failed["status"], failed["step"]) == ("RUNNING", "search")
    assert world.engine.faces["EMP001"] != []  # nothing removed before the search is complete

    del world.images.refusals["incoming/door/group.png"]
    world.run(job.job_id, receive_count=2)
    done = job_status(job.job_id, world.jobs)
    assert done["status"] == "DONE" and done["result"]["scans_purged"] == 1


class CountingImageStore(InMemoryImageStore):
    """Counts every object deleted; the ``fail_on``-th delete call raises instead (once)."""

    def __init__(self, fail_on: int | None = None) -> None:
        super().__init__()
        self.calls, self.fail_on = 0, fail_on
        self.deleted: Counter[tuple[str, str | None]] = Counter()

    def delete(self, bucket: str, key: str, version_id: str | None = None) -> None:
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("SlowDown")
        super().delete(bucket, key, version_id)
        self.deleted[(key, version_id)] += 1


class CountingScanLog(InMemoryScanLog):
    """Counts what was asked of it: pages of each index, and each scan anonymised."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: Counter[str] = Counter()
        self.anonymised: Counter[str] = Counter()

    def by_day(self, day: str, limit: int, token: str | None = None, **where: str | None) -> Page[Scan]:
        self.pages["by_day"] += 1
        return super().by_day(day, limit, token, **where)

    def by_employee(self, employee_id: str, limit: int, token: str | None = None) -> Page[Scan]:
        self.pages["by_employee"] += 1
        return super().by_employee(employee_id, limit, token)

    def anonymise(self, scan_id: str) -> None:
        super().anonymise(scan_id)
        self.anonymised[scan_id] += 1


def test_an_erasure_over_many_pages_that_fails_half_way_resumes_and_does_nothing_twice(
    world: World,
) -> None:
    # 3 deletes per linked scan (photo, copy, older layout's copy): the 172nd is the photo of
    # the 58th, after 50 were saved.
    images, scans = CountingImageStore(fail_on=172), CountingScanLog()
    world.images, world.scans = images, scans
    mine = [world.scan(f"mine{n:03}", RED, Status.AUTHORIZED, "EMP001", day=n % 2) for n in range(110)]
    group = world.scan("group", RED, Status.MULTIPLE_FACES, day=1)
    strangers = [world.scan(f"other{n:02}", BLUE, Status.UNKNOWN, day=n % 3) for n in range(30)]
    job = start_erasure("EMP001", world.ports, "admin")

    with pytest.raises(RuntimeError, match="SlowDown"):
        world.run(job.job_id, receive_count=1)
    failed = job_status(job.job_id, world.jobs)
    assert (failed["status"], failed["step"]) == ("RUNNING", "linked")
    assert failed["result"]["scans_anonymised"] == 57
    assert scans.pages["by_day"] > failed["progress"]["days_total"]  # the search paged a day
    searched = dict(scans.pages)

    world.run(job.job_id, receive_count=2)  # the queue redelivers
    done = job_status(job.job_id, world.jobs)
    assert (done["status"], done["error"]) == ("DONE", None)
    assert done["progress"]["photos_checked"] == failed["progress"]["photos_checked"] == 31
    assert scans.pages["by_employee"] - searched["by_employee"] >= 2  # 53 left: a page, then the end
    assert scans.pages["by_day"] > searched["by_day"]  # only the final sweep's days
    assert done["result"]["scans_anonymised"] == 110 and done["result"]["scans_purged"] == 1

    # Nothing done twice: each scan anonymised once, each camera photo version deleted once.
    assert set(scans.anonymised.values()) == {1} and len(scans.anonymised) == 110
    photos = {(s.object_key, s.object_version) for s in [*mine, group]}
    assert {key: images.deleted[key] for key in photos} == dict.fromkeys(photos, 1)
    assert [e.action for e in world.audit.entries].count("employee.erase") == 1
    assert done["result"]["faces_removed"] == 2

    # Nothing left behind.
    assert all(s.decision.employee_id is None for s in world.scans.scans.values())
    assert world.scans.get("group") is None
    assert not any(world.photo_kept(s.scan_id) for s in [*mine, group])
    assert not any(world.copies_kept(s) for s in [*mine, group])
    assert world.engine.faces["EMP001"] == [] and "EMP001" not in world.directory.employees
    assert all(world.photo_kept(s.scan_id) and world.scans.get(s.scan_id) == s for s in strangers)


# --- the access policy: memberships go with the employee item, rules lose their id -----------


def a_rule(rule_id: str, groups: tuple[str, ...] = (), employees: tuple[str, ...] = ()) -> Rule:
    return Rule(
        rule_id, Effect.GRANT, frozenset({"front"}), groups=frozenset(groups), employees=frozenset(employees)
    )


def test_erasure_takes_them_out_of_every_access_rule_and_every_group(world: World) -> None:
    world.directory.employees["EMP001"] = Employee("EMP001", "Quinn Zebedee", groups=frozenset({"staff"}))
    world.directory.employees["EMP002"] = Employee("EMP002", "Other Person", groups=frozenset({"staff"}))
    night = a_rule("night", groups=("staff",), employees=("EMP001",))
    pair = a_rule("pair", employees=("EMP001", "EMP002"))
    theirs_alone = Rule("their-pass", Effect.DENY, frozenset({ANY}), employees=frozenset({"EMP001"}))
    other = a_rule("other", employees=("EMP002",))
    door = Door("front", "Front door", frozenset({"front-door"}))
    assert world.access.commit(
        "", put=[DEFAULT_RULE, night, pair, theirs_alone, other, door, AccessGroup("staff", "Staff")]
    )

    job = start_erasure("EMP001", world.ports, "admin")
    world.run(job.job_id)

    assert job_status(job.job_id, world.jobs)["status"] == "DONE"
    left = world.access.load()
    assert {rule.rule_id: rule for rule in left.rules} == {
        DEFAULT_RULE.rule_id: DEFAULT_RULE,
        "night": replace(night, employees=frozenset()),  # still granted to the group
        "pair": replace(pair, employees=frozenset({"EMP002"})),
        "other": other,  # a rule left naming no one ("their-pass") is gone
    }
    assert left.doors == (door,) and "EMP001" not in repr(left)
    assert world.directory.members("staff") == ["EMP002"]  # the membership went with the item
    assert "EMP001" not in world.directory.employees


def test_a_site_on_the_built_in_rule_stays_pristine(world: World) -> None:
    job = start_erasure("EMP001", world.ports, "admin")
    world.run(job.job_id)
    assert job_status(job.job_id, world.jobs)["status"] == "DONE"
    assert world.access.current == "" and world.access.load().pristine  # nothing committed


class EditedMeanwhile(InMemoryAccessStore):
    """An admin's commit lands between the step's read and its write, ``times`` times."""

    def __init__(self) -> None:
        super().__init__()
        self.times = 0
        self.lost = 0

    def commit(
        self, expected_version: str, put: Sequence[AccessEntry] = (), delete: Sequence[AccessKey] = ()
    ) -> bool:
        if self.times and expected_version == self.current:
            self.times -= 1
            edit = a_rule(f"added-{self.times}", employees=("EMP001", "EMP002"))
            assert super().commit(self.current, put=[edit])
        landed = super().commit(expected_version, put, delete)
        self.lost += not landed
        return landed


def test_a_rule_commit_that_loses_to_an_edit_reads_the_rules_again(world: World) -> None:
    world.access = EditedMeanwhile()
    assert world.access.commit("", put=[a_rule("solo", employees=("EMP001",))])
    world.access.times = 2  # from now on
    job = start_erasure("EMP001", world.ports, "admin")
    world.run(job.job_id)
    assert job_status(job.job_id, world.jobs)["status"] == "DONE"
    assert world.access.lost == 2
    rules = world.access.load().rules
    assert [rule.rule_id for rule in rules] == ["added-0", "added-1"]  # the edits kept, without them
    assert all(rule.employees == {"EMP002"} for rule in rules)


def test_rules_that_keep_changing_fail_the_delivery_and_the_job_resumes_at_the_access_step(
    world: World,
) -> None:
    world.access = EditedMeanwhile()
    assert world.access.commit("", put=[a_rule("solo", employees=("EMP001",))])
    world.access.times = ACCESS_ATTEMPTS  # from now on
    job = start_erasure("EMP001", world.ports, "admin")
    with pytest.raises(AccessPolicyUnsettled):
        world.run(job.job_id, receive_count=1)
    failed = job_status(job.job_id, world.jobs)
    assert (failed["status"], failed["step"]) == ("RUNNING", "access")
    world.run(job.job_id, receive_count=2)
    assert job_status(job.job_id, world.jobs)["status"] == "DONE"
    assert "EMP001" not in repr(world.access.load())


def test_more_rules_than_one_commit_holds_are_all_cleared(world: World) -> None:
    rules = [a_rule(f"pass-{n:03}", employees=("EMP001", "EMP002")) for n in range(MAX_ACCESS_CHANGES + 30)]
    assert world.access.commit("", put=rules[:MAX_ACCESS_CHANGES])
    assert world.access.commit(world.access.current, put=rules[MAX_ACCESS_CHANGES:])
    job = start_erasure("EMP001", world.ports, "admin")
    world.run(job.job_id)
    left = world.access.load().rules
    assert len(left) == len(rules) and all(rule.employees == {"EMP002"} for rule in left)


def test_the_final_sweep_takes_them_out_of_a_rule_written_while_settling(world: World) -> None:
    settings = Settings.from_env({"FACEGATE_RETENTION_DAYS": "3", "FACEGATE_TIMEZONE": "UTC"})
    job = start_erasure("EMP001", world.ports, "admin")
    world.run(job.job_id, settings=settings)
    assert job_status(job.job_id, world.jobs)["status"] == "SETTLING"
    assert world.access.commit(
        world.access.current, put=[a_rule("late", groups=("staff",), employees=("EMP001",))]
    )
    world.clock[0] = START + timedelta(seconds=95)
    world.run(job.job_id, settings=settings)
    assert job_status(job.job_id, world.jobs)["status"] == "DONE"
    assert world.access.load().rules == (a_rule("late", groups=("staff",)),)


def test_the_final_sweep_removes_a_face_an_enrollment_in_flight_wrote_after_the_faces_step(
    world: World,
) -> None:
    # POST /employees/EMP001/faces read the employee before the DELETE and wrote the face
    # after the job's faces step: the employee is gone, their embedding would not be.
    settings = Settings.from_env({"FACEGATE_RETENTION_DAYS": "3", "FACEGATE_TIMEZONE": "UTC"})
    erased_from_gallery: list[str] = []
    ports = replace(world.ports, erase_from_gallery=erased_from_gallery.append)
    job = start_erasure("EMP001", ports, "admin")
    run_job(job.job_id, ports, settings)
    assert job_status(job.job_id, world.jobs)["status"] == "SETTLING"
    world.engine.add_face("EMP001", None)  # type: ignore[arg-type]
    world.clock[0] = START + timedelta(seconds=95)
    run_job(job.job_id, ports, settings)
    assert job_status(job.job_id, world.jobs)["status"] == "DONE"
    assert world.engine.list_faces("EMP001") == []
    assert erased_from_gallery == ["EMP001", "EMP001"]  # the snapshot published again without it


def test_erasure_purges_every_held_drop_folder_photo_of_the_employee(world: World) -> None:
    """A photo held for approval outlives no erasure (B2): approved after the id is created
    again, it would enroll the erased person's face under someone else. One a drop in flight
    holds while the job runs goes too; a colleague's stays."""
    world.pending.hold(PendingFace("a" * 32, "EMP001", "2026-03-10T14:00:00.000Z", "hr", "r"), b"mine")
    world.pending.hold(PendingFace("b" * 32, "EMP002", "2026-03-10T14:00:00.000Z", "hr", "r"), b"theirs")
    remove_faces = world.engine.remove_faces

    def late_drop(employee_id: str) -> None:  # a drop that read the employee before the job
        world.pending.hold(PendingFace("c" * 32, "EMP001", "2026-03-10T15:00:00.000Z", "hr", "r"), b"late")
        remove_faces(employee_id)

    world.engine.remove_faces = late_drop  # type: ignore[method-assign,assignment]
    job = start_erasure("EMP001", world.ports, "admin")
    world.run(job.job_id)
    assert job_status(job.job_id, world.jobs)["status"] == "DONE"
    assert list(world.pending.held) == ["b" * 32]
    assert sorted(world.pending.discarded) == ["a" * 32, "c" * 32]
