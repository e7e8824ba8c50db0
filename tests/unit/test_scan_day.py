"""A scan is filed under S3's time for the photo, never a time its event states (finding B4):
the day erasure, the daily report and retention look for it under is one no client chooses,
and a photo recorded during an erasure is purged whatever day it is filed under."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from chalicelib.access.control import CurrentPolicy
from chalicelib.core.models import (
    BoundingBox,
    DetectedFace,
    ErasureJob,
    Match,
    Reason,
    SearchResult,
    Status,
    Upload,
)
from chalicelib.erasure.job import job_status, start_erasure
from chalicelib.scanning.pipeline import PipelinePorts, process_upload
from tests.fakes import InMemoryScanLog, RecordingNotifier
from tests.unit.test_erasure import BUCKET, RED, SETTINGS, START, World, photo

FACE = DetectedFace(BoundingBox(0, 0, 200, 200), sharpness=90.0)
SEEN = {  # what the engine answers for the photo while their faces are enrolled
    "unknown": SearchResult([FACE], None, None),  # recorded UNKNOWN: the meanwhile check finds it
    "matched": SearchResult([FACE], Match("EMP001", 97.0), None),  # the guard's EMPLOYEE_ERASED
}


def _record(world: World, name: str, *, stored: datetime, stated: datetime, at: datetime) -> str:
    """The camera function records a photo S3 stored at ``stored`` whose event states ``stated``."""
    key = f"incoming/door/{name}.png"
    world.images.objects[(BUCKET, key)] = photo(RED)
    world.images.modified[(BUCKET, key)] = stored
    upload = Upload(BUCKET, key, "v1", "01", stated.isoformat().replace("+00:00", "Z"))
    ports = PipelinePorts(
        world.images, world.engine, world.directory, world.scans, RecordingNotifier(),
        CurrentPolicy(world.access, SETTINGS.timezone),
    )  # fmt: skip
    scan = process_upload(upload, ports, SETTINGS, clock=lambda: at)
    assert scan is not None
    return scan.scan_id


def _world(seen: str) -> World:
    world = World()
    world.scans = InMemoryScanLog(world.directory)  # with the guard: a scan naming them is refused
    world.engine.add_face("EMP001", None)  # type: ignore[arg-type]
    world.engine.result = SEEN[seen]
    return world


@pytest.mark.parametrize("stated_days_ago", [3, 0.5, -0.0001])
def test_a_scan_is_filed_under_s3s_time_not_the_stated_one(stated_days_ago: float) -> None:
    world = _world("unknown")
    stored = START - timedelta(seconds=2)
    scan_id = _record(world, "a", stored=stored, stated=START - timedelta(days=stated_days_ago), at=START)
    recorded = world.scans.get(scan_id)
    assert recorded is not None
    assert (recorded.captured_at, recorded.day) == ("2026-03-10T14:59:58.000Z", "2026-03-10")


def test_without_s3s_time_a_scan_is_filed_when_it_was_processed() -> None:
    world = _world("unknown")
    scan_id = _record(world, "a", stored=START, stated=START - timedelta(days=3), at=START)
    del world.images.modified[(BUCKET, "incoming/door/a.png")]
    world.scans.scans.clear()
    upload = Upload(BUCKET, "incoming/door/a.png", "v1", "01", "2026-03-07T15:00:00Z")
    ports = PipelinePorts(
        world.images, world.engine, world.directory, world.scans, RecordingNotifier(),
        CurrentPolicy(world.access, SETTINGS.timezone),
    )  # fmt: skip
    later = START + timedelta(hours=1)
    process_upload(upload, ports, SETTINGS, clock=lambda: later)
    recorded = world.scans.get(scan_id)
    assert recorded is not None and recorded.captured_at == "2026-03-10T16:00:00.000Z"


@pytest.mark.parametrize("seen", ["unknown", "matched"])
@pytest.mark.parametrize(
    ("stored_days_before", "stated_days_before"),
    [(0, 3), (0, 30), (2, 2), (4, 0)],  # a stated old time; a photo stored long before (a dead letter)
)
def test_a_photo_recorded_during_an_erasure_is_purged_whatever_day_it_is_filed_under(
    seen: str, stored_days_before: int, stated_days_before: int
) -> None:
    world = _world(seen)
    recorded: list[str] = []
    real_save = world.jobs.save

    def save(job: ErasureJob) -> None:  # the camera records the photo once search is done
        real_save(job)
        if job.step != "search" and not recorded:
            at = START + timedelta(seconds=5)
            stored = at - timedelta(days=stored_days_before, seconds=1)
            stated = at - timedelta(days=stated_days_before, seconds=1)
            recorded.append(_record(world, "meanwhile", stored=stored, stated=stated, at=at))

    world.jobs.save = save  # type: ignore[method-assign]
    job = start_erasure("EMP001", world.ports, "admin")
    world.run(job.job_id)
    assert recorded and job_status(job.job_id, world.jobs)["status"] == "DONE"
    assert world.scans.get(recorded[0]) is None and not world.photo_kept("meanwhile")


@pytest.mark.parametrize(("seen", "code"), [("unknown", None), ("matched", Reason.EMPLOYEE_ERASED)])
def test_the_photos_these_tests_record_are_the_ones_erasure_looks_for(seen: str, code: Reason | None) -> None:
    world = _world(seen)
    start_erasure("EMP001", world.ports, "admin")
    scan_id = _record(world, "a", stored=START, stated=START, at=START + timedelta(seconds=1))
    recorded = world.scans.get(scan_id)
    assert recorded is not None and recorded.status is Status.UNKNOWN
    assert (recorded.decision.reason_code is Reason.EMPLOYEE_ERASED) == (code is Reason.EMPLOYEE_ERASED)
    assert recorded.decision.employee_id is None
