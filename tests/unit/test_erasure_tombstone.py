"""The erasure job never touches an employee record it did not mark (finding B3): once its
tombstone has lifted, the id may be someone new's, and a redelivered job ends DONE without
touching their faces, scans, rules or record."""

from __future__ import annotations

import pytest

from chalicelib.access.policy import DEFAULT_RULE, Effect, Rule
from chalicelib.core.models import Employee, Status
from chalicelib.erasure.job import job_status, start_erasure
from tests.fakes import InMemoryEmployeeDirectory, InMemoryErasureJobs
from tests.unit.test_erasure import BLUE, RED, World

NEW = Employee("EMP001", "Someone New")


class DiesAfterTheDelete(InMemoryEmployeeDirectory):
    """The record goes, then every save of the job fails (the worker dies before DONE)."""

    def __init__(self, jobs: InMemoryErasureJobs, *employees: Employee) -> None:
        super().__init__(*employees)
        self.jobs = jobs

    def delete(self, employee_id: str) -> None:  # how the job lifted its tombstone before
        super().delete(employee_id)
        self.jobs.fail_with = RuntimeError("the worker died")

    def end_erasure(self, employee_id: str, job_id: str) -> bool:
        ended = super().end_erasure(employee_id, job_id)
        self.jobs.fail_with = RuntimeError("the worker died")
        return ended


def _world_dying_after_the_delete() -> World:
    world = World()
    world.directory = DiesAfterTheDelete(world.jobs, Employee("EMP001", "Quinn Zebedee"))
    world.engine.add_face("EMP001", None)  # type: ignore[arg-type]
    return world


def _recreate(world: World) -> None:
    """HR enrolls someone new under the id: a face, a scan that names them, a rule."""
    assert world.directory.create(NEW)
    world.engine.add_face("EMP001", None)  # type: ignore[arg-type]
    world.scan("new-linked", BLUE, Status.AUTHORIZED, "EMP001")
    world.scan("new-erased", RED, Status.UNKNOWN, processed_at="2026-03-10T16:00:00.000Z")
    rule = Rule("theirs", Effect.GRANT, frozenset({"front"}), employees=frozenset({"EMP001"}))
    assert world.access.commit(world.access.load().version, put=[DEFAULT_RULE, rule])


def _untouched(world: World) -> None:
    assert world.directory.employees["EMP001"] == NEW
    assert len(world.engine.faces["EMP001"]) == 1
    linked = world.scans.get("new-linked")
    assert linked is not None and linked.decision.employee_id == "EMP001" and world.photo_kept("new-linked")
    assert world.scans.get("new-erased") is not None and world.photo_kept("new-erased")
    assert any("EMP001" in rule.employees for rule in world.access.load().rules)


@pytest.mark.parametrize("recreated_when", ["before the redelivery", "never"])
def test_a_job_redelivered_after_its_tombstone_lifted_touches_no_one_new(recreated_when: str) -> None:
    world = _world_dying_after_the_delete()
    job = start_erasure("EMP001", world.ports, "admin")
    with pytest.raises(RuntimeError):
        world.run(job.job_id)
    assert "EMP001" not in world.directory.employees
    world.jobs.fail_with = None
    saved = world.jobs.get(job.job_id)
    assert saved is not None and saved.state == "RUNNING"  # DONE was never saved
    if recreated_when != "never":
        _recreate(world)

    world.run(job.job_id)  # the queue delivers it again

    assert job_status(job.job_id, world.jobs)["status"] == "DONE"
    if recreated_when != "never":
        _untouched(world)


def test_a_job_whose_id_another_job_marked_ends_without_touching_it() -> None:
    world = World()
    world.engine.add_face("EMP001", None)  # type: ignore[arg-type]
    job = start_erasure("EMP001", world.ports, "admin")
    world.directory.erasing["EMP001"] = "another-job"  # as after a lost DONE, a re-create, a new erasure
    world.run(job.job_id)
    assert job_status(job.job_id, world.jobs)["status"] == "DONE"
    assert world.directory.erasure_of("EMP001") == "another-job" and len(world.engine.faces["EMP001"]) == 1
