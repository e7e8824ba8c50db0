"""An erasure from the moment it starts (issue 28): the employee is absent from every read,
their id is a tombstone nobody may create again until DONE, and a photo of them recorded
while the job runs is checked and purged before DONE."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.core.config import Settings
from chalicelib.core.errors import AlreadyExists, EmployeeBeingErased
from chalicelib.core.keys import enroll_key
from chalicelib.core.models import (
    BoundingBox,
    DetectedFace,
    Employee,
    ErasureJob,
    Match,
    SearchResult,
    Status,
)
from chalicelib.enrollment import lookup
from chalicelib.enrollment.employees import EnrollmentPorts, create_employee
from chalicelib.erasure.job import job_status, start_erasure
from chalicelib.erasure.steps import iso
from tests.fakes import InMemoryAuditLog, InMemoryConsentLedger, ScriptedEngine
from tests.images import encoded, two_tone
from tests.unit.test_drop_folder import Drop
from tests.unit.test_erasure import RED, START, World

SETTLING = Settings.from_env({"FACEGATE_RETENTION_DAYS": "3", "FACEGATE_TIMEZONE": "UTC"})


@pytest.fixture
def world() -> World:
    w = World()
    w.engine.add_face("EMP001", None)  # type: ignore[arg-type]
    return w


def _enrollment(world: World) -> EnrollmentPorts:
    return EnrollmentPorts(
        world.directory,
        world.engine,
        InMemoryAuditLog(),
        world.scans,
        InMemoryConsentLedger.granting(),
        lambda: START,
    )


def test_a_photo_recorded_unlinked_after_the_search_step_is_purged_before_done(world: World) -> None:
    """The attack: a photo of them uploaded while the job runs is recorded UNKNOWN (or as
    several faces) after the search paged past its day; DONE must not leave it behind."""
    meanwhile: list[str] = []
    real_save = world.jobs.save

    def save(job: ErasureJob) -> None:  # the camera records a photo the moment search is done
        real_save(job)
        if job.step not in ("search",) and not meanwhile:
            later = iso(START + timedelta(seconds=5))
            world.scan("meanwhile", RED, Status.UNKNOWN, processed_at=later)
            world.scan("crowd", RED, Status.MULTIPLE_FACES, processed_at=later)
            meanwhile.append("recorded")

    world.jobs.save = save  # type: ignore[method-assign]
    job = start_erasure("EMP001", world.ports, "admin")
    world.run(job.job_id)
    assert meanwhile and job_status(job.job_id, world.jobs)["status"] == "DONE"
    for scan_id in ("meanwhile", "crowd"):
        assert world.scans.get(scan_id) is None and not world.photo_kept(scan_id), scan_id


def test_the_id_is_a_tombstone_until_the_job_is_done(world: World) -> None:
    job = start_erasure("EMP001", world.ports, "admin")
    world.run(job.job_id, settings=SETTLING)  # settling: the record would have gone already
    assert job_status(job.job_id, world.jobs)["status"] == "SETTLING"
    with pytest.raises(EmployeeBeingErased) as refused:
        create_employee(Employee("EMP001", "Someone New"), _enrollment(world), "admin")
    assert refused.value.fields == {"erasure_job_id": job.job_id}
    assert f"is being erased (job {job.job_id})" in str(refused.value)

    world.clock[0] = START + timedelta(seconds=95)
    world.run(job.job_id, settings=SETTLING)
    assert job_status(job.job_id, world.jobs)["status"] == "DONE"
    assert create_employee(Employee("EMP001", "Someone New"), _enrollment(world), "admin")
    with pytest.raises(AlreadyExists):  # an id simply taken stays the plain conflict
        create_employee(Employee("EMP001", "Someone New"), _enrollment(world), "admin")


def test_a_drop_during_an_erasure_is_refused_and_creates_nobody() -> None:
    drop = Drop()
    assert drop.directory.begin_erasure("EMP001", "job1") == "job1"
    outcome = drop.run(drop.put(enroll_key("EMP001", "again.png"), name="Quinn Zebedee"))
    assert not outcome.enrolled and not outcome.pending_id and not outcome.created
    assert outcome.reason is not None and "EMP001 is being erased (job job1)" in outcome.reason
    assert drop.directory.erasing == {"EMP001": "job1"} and not drop.engine.faces.get("EMP001")
    assert drop.events() == ["enrollment.refused"]


def _face() -> DetectedFace:
    return DetectedFace(BoundingBox(0, 0, 200, 200), sharpness=90.0)


def test_recognize_names_nobody_for_a_face_of_an_employee_under_erasure(world: World) -> None:
    world.engine.result = SearchResult([_face()], Match("EMP001", 99.0), Match("EMP002", 60.0))
    ports = _enrollment(world)
    photo = encoded(two_tone(), "PNG")
    settings = Settings.from_env({"FACEGATE_TIMEZONE": "UTC"})
    assert lookup.recognize(photo, ports, settings).body["employee_id"] == "EMP001"  # before
    start_erasure("EMP001", world.ports, "admin")
    body = lookup.recognize(photo, ports, settings).body
    assert body["status"] == "UNKNOWN" and body["employee_id"] is None and body["employee_name"] is None
    assert body["similarity"] is None and "EMP001" not in str(body) and "EMP002" not in str(body)


def test_scans_naming_an_employee_under_erasure_are_shown_without_them(world: World) -> None:
    named = world.scan("at-the-door", RED, Status.AUTHORIZED, "EMP001")
    other = world.scan("other", RED, Status.AUTHORIZED, "EMP002")
    start_erasure("EMP001", world.ports, "admin")
    ports = _enrollment(world)
    [shown, kept] = lookup.scans_of_day(named.day, 50, None, ports).items
    assert (shown.decision.employee_id, shown.decision.employee_name, shown.erased) == (None, None, True)
    assert kept.decision.employee_id == "EMP002" and kept == other
    assert lookup.scan_by_id("at-the-door", ports).decision.employee_id is None
    assert world.scans.get("at-the-door") == named  # shown so; the job anonymises the record itself


def test_a_scripted_engine_without_the_erased_face_would_see_nobody() -> None:
    """The fake's contract this file leans on: shows_employee needs their faces enrolled."""
    engine = ScriptedEngine(SearchResult([]), shows=lambda *_: True)
    assert not engine.shows_employee(None, "EMP001")  # type: ignore[arg-type]
