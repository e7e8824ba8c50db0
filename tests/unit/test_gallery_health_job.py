"""The gallery health job on the fake ports: slices, resuming, one job at a time, duplicate
messages, bounded reports, failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.core.config import Policy
from chalicelib.core.health_jobs import KEPT_PAIRS, LISTED, HealthPart
from chalicelib.core.models import Employee, SearchResult
from chalicelib.enrollment import gallery_health as health
from chalicelib.enrollment.gallery_health import HealthPorts, run_health, start_health
from tests.fakes import InMemoryEmployeeDirectory, InMemoryHealthJobs, InMemoryHealthQueue, ScriptedEngine

POLICY = Policy()
NOW = datetime(2026, 3, 8, 14, 30, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def ports_with(faces: dict[str, int], clock: Clock | None = None) -> HealthPorts:
    engine = ScriptedEngine(SearchResult(faces=[]))
    engine.faces = {employee: [f"{employee}-f{n}" for n in range(count)] for employee, count in faces.items()}
    directory = InMemoryEmployeeDirectory(*(Employee(employee, employee) for employee in faces))
    return HealthPorts(engine, InMemoryHealthJobs(), InMemoryHealthQueue(), directory, clock or Clock())


def engine_of(ports: HealthPorts) -> ScriptedEngine:
    assert isinstance(ports.engine, ScriptedEngine)
    return ports.engine


def run_out_after(slices: int) -> health.TimeLeft:
    """An invocation's time that allows ``slices`` slices, then says it is ending."""
    calls = iter(range(10_000))
    return lambda: 1000.0 if next(calls) < slices - 1 else 0.0


def drain(ports: HealthPorts, slices_per_run: int | None = None) -> int:
    """Run every queued message, as the worker would; how many runs it took."""
    queue = ports.queue
    assert isinstance(queue, InMemoryHealthQueue)
    runs = 0
    while queue.sent:
        time_left = run_out_after(slices_per_run) if slices_per_run else None
        run_health(queue.sent.pop(0), ports, POLICY, time_left=time_left)
        runs += 1
        assert runs < 1000
    return runs


def test_a_job_walks_the_gallery_in_slices_and_resumes_where_the_last_run_stopped() -> None:
    ports = ports_with({"EMP001": 2, "EMP002": 1, "EMP003": 2})
    engine = engine_of(ports)
    engine.close = {("EMP001", "EMP003"): 91.5}
    engine.outlying = {"EMP003-f1": 41.0}
    job, started = start_health(ports, "admin")
    assert started and job.state == "QUEUED" and ports.queue.sent == [job.job_id]  # type: ignore[attr-defined]

    assert drain(ports, slices_per_run=1) == 3  # one slice of two faces per run: 5 faces
    assert engine.health_slices == [(0, 2), (2, 4), (4, 5)]  # each face once, in order
    done = health.health_status(job.job_id, ports)
    assert done["status"] == "DONE" and done["progress"] == {"faces_total": 5, "faces_done": 5}
    assert done["report"] == {
        "employees": 3,
        "faces": 5,
        "threshold": POLICY.match_threshold,
        "margin": POLICY.match_margin,
        "close_pairs": [{"employee_ids": ["EMP001", "EMP003"], "similarity": 91.5}],
        "single_photo": ["EMP002"],
        "outlier_faces": [{"employee_id": "EMP003", "face_id": "EMP003-f1", "similarity": 41.0}],
        "old_model_only": [],
        "left_out": {"close_pairs": 0, "single_photo": 0, "outlier_faces": 0, "old_model_only": 0},
        "close_pairs_at_least": False,
    }
    assert health.health_status(None, ports) == done  # GET /gallery/health: the latest


def test_one_run_takes_a_bounded_number_of_slices_then_queues_the_rest() -> None:
    ports = ports_with({f"E{n:03d}": 1 for n in range(3 * health.SLICES_PER_RUN)})
    engine_of(ports).health_slice_faces = 1
    job, _ = start_health(ports, "admin")
    ports.queue.sent.clear()  # type: ignore[attr-defined]
    run_health(job.job_id, ports, POLICY)  # no deadline at all: still bounded
    stored = ports.jobs.get(job.job_id)
    assert stored is not None and stored.state == "RUNNING"
    assert stored.faces_done == health.SLICES_PER_RUN and ports.queue.sent == [job.job_id]  # type: ignore[attr-defined]


def test_at_most_one_job_runs_and_a_finished_one_makes_room_for_the_next() -> None:
    ports = ports_with({"EMP001": 1})
    first, started = start_health(ports, "admin")
    again, started_again = start_health(ports, "other-admin")
    assert started and not started_again and again.job_id == first.job_id
    drain(ports)
    second, started = start_health(ports, "admin")
    assert started and second.job_id != first.job_id
    assert health.health_status(first.job_id, ports)["status"] == "DONE"  # still readable


def test_a_start_that_lost_the_race_returns_the_winners_job() -> None:
    ports = ports_with({"EMP001": 1})
    jobs = ports.jobs
    assert isinstance(jobs, InMemoryHealthJobs)
    winner, _ = start_health(ports, "admin")
    answers = iter([None])  # the loser read the latest before the winner stored its job
    jobs.latest_id = lambda: next(answers, winner.job_id)  # type: ignore[method-assign]
    job, started = start_health(ports, "other-admin")
    assert not started and job.job_id == winner.job_id


def test_a_job_whose_message_seems_lost_is_queued_again_not_restarted() -> None:
    clock = Clock()
    ports = ports_with({"EMP001": 2, "EMP002": 2}, clock)
    job, _ = start_health(ports, "admin")
    run_health(ports.queue.sent.pop(0), ports, POLICY, time_left=run_out_after(1))  # type: ignore[attr-defined]
    ports.queue.sent.clear()  # type: ignore[attr-defined]  # the re-queue is lost
    assert start_health(ports, "admin") == (ports.jobs.get(job.job_id), False)
    assert ports.queue.sent == []  # type: ignore[attr-defined]  # moving recently: left alone
    clock.now += health.STALE_AFTER + timedelta(seconds=1)
    assert start_health(ports, "admin")[0].job_id == job.job_id
    drain(ports)
    assert health.health_status(job.job_id, ports)["progress"]["faces_done"] == 4


def test_a_duplicate_message_never_adds_a_slice_twice() -> None:
    ports = ports_with({"EMP001": 2, "EMP002": 2})
    engine = engine_of(ports)
    engine.outlying = {"EMP001-f0": 10.0, "EMP002-f1": 20.0}
    job, _ = start_health(ports, "admin")
    slice_of = engine.health_slice

    def overtaken(policy: Policy, start: int, stop: int) -> HealthPart:
        """The first slice of this run: meanwhile the message's duplicate runs the whole job."""
        engine.health_slice = slice_of  # type: ignore[method-assign]
        run_health(job.job_id, ports, POLICY)
        return slice_of(policy, start, stop)

    engine.health_slice = overtaken  # type: ignore[method-assign]
    run_health(job.job_id, ports, POLICY)
    jobs = ports.jobs
    assert isinstance(jobs, InMemoryHealthJobs) and jobs.refused_saves == 1
    report = health.health_status(job.job_id, ports)["report"]
    assert report is not None and report["left_out"]["outlier_faces"] == 0
    assert [face["face_id"] for face in report["outlier_faces"]] == ["EMP001-f0", "EMP002-f1"]


def test_the_report_is_bounded_and_says_how_many_it_left_out() -> None:
    many = LISTED + 50
    ports = ports_with({f"E{n:04d}": 1 for n in range(many)} | {"Z0001": 2})
    engine = engine_of(ports)
    engine.health_slice_faces = 400
    engine.close = {
        (min(a, b), max(a, b)): 80.0 + (n + many * (step - 1)) / 10_000
        for step in (1, 2)
        for n in range(many)
        for a, b in [(f"E{n:04d}", f"E{(n + step) % many:04d}")]
    }
    assert len(engine.close) > KEPT_PAIRS
    engine.outlying = {f"E{n:04d}-f0": float(n % 70) for n in range(many)}
    job, _ = start_health(ports, "admin")
    drain(ports)
    report = health.health_status(job.job_id, ports)["report"]
    assert report is not None
    assert all(len(report[name]) == LISTED for name in ("close_pairs", "single_photo", "outlier_faces"))
    assert report["left_out"] == {
        "close_pairs": KEPT_PAIRS - LISTED,
        "single_photo": many - LISTED,
        "outlier_faces": many - LISTED,
        "old_model_only": 0,
    }
    assert report["close_pairs_at_least"] is True  # more pairs than the job could keep
    best = [pair["similarity"] for pair in report["close_pairs"]]
    assert best == sorted(best, reverse=True) and best[0] == round(80.0 + (2 * many - 1) / 10_000, 2)
    lowest = [face["similarity"] for face in report["outlier_faces"]]
    assert lowest == sorted(lowest) and lowest[0] == 0.0
    stored = ports.jobs.get(job.job_id)
    assert stored is not None and stored.pairs == [] and stored.outliers == []  # the report holds them


def test_a_failing_run_is_retried_and_marked_failed_on_the_last_receive() -> None:
    ports = ports_with({"EMP001": 1})
    job, _ = start_health(ports, "admin")
    engine_of(ports).fail_with = RuntimeError("gallery unreadable")
    with pytest.raises(RuntimeError):
        run_health(job.job_id, ports, POLICY, receive_count=1, max_receives=2)
    running = health.health_status(job.job_id, ports)
    assert (
        running["status"] == "QUEUED"
        and running["attempts"] == 1
        and "gallery unreadable" in running["error"]
    )
    with pytest.raises(RuntimeError):
        run_health(job.job_id, ports, POLICY, receive_count=2, max_receives=2)
    assert health.health_status(job.job_id, ports)["status"] == "FAILED"
    assert start_health(ports, "admin")[1]  # a failed job makes room for a new one


def test_an_unknown_job_is_not_found() -> None:
    from chalicelib.core.errors import NotFound

    ports = ports_with({})
    with pytest.raises(NotFound):
        health.health_status(None, ports)
    with pytest.raises(NotFound):
        health.health_status("a" * 32, ports)


@pytest.mark.parametrize("when", ["erased after the job", "being erased during it"])
def test_a_report_never_names_an_employee_erased_or_being_erased(when: str) -> None:
    ports = ports_with({"EMP003": 1, "EMP005": 1, "EMP007": 2, "EMP009": 2})
    directory = ports.directory
    assert isinstance(directory, InMemoryEmployeeDirectory)
    engine = engine_of(ports)
    engine.close = {("EMP003", "EMP005"): 90.0, ("EMP007", "EMP009"): 88.0, ("EMP005", "EMP009"): 87.0}
    engine.outlying = {"EMP005-f0": 40.0, "EMP007-f1": 41.0}
    job, _ = start_health(ports, "admin")
    if when == "being erased during it":
        directory.begin_erasure("EMP005", "job-5")  # marked: the faces are still in the engine
        drain(ports)
    else:
        drain(ports)
        directory.delete("EMP005")  # the erasure's DONE: no record left
    for shown in (health.health_status(job.job_id, ports), health.health_status(None, ports)):
        report = shown["report"]
        assert "EMP005" not in str(report)
        assert report["single_photo"] == ["EMP003"]
        assert report["close_pairs"] == [{"employee_ids": ["EMP007", "EMP009"], "similarity": 88.0}]
        assert [face["employee_id"] for face in report["outlier_faces"]] == ["EMP007"]
