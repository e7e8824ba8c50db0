"""The gallery's health as a bounded job: close pairs, single photos, outlier faces and who
waits for the model migration, measured a slice of faces at a time.

``start_health`` (POST /gallery/health) stores a job and queues it, or returns the job that
runs (at most one at a time). The health worker runs ``run_health``: the engine counts the
gallery (``FaceEngine.health_census``), then each slice compares its faces with the whole
gallery (``health_slice``: numpy blocks on the local engine, paced SearchFaces on
Rekognition) and is added to the job, saved only while no other run moved it. A run takes at
most ``SLICES_PER_RUN`` slices and stops early when its time runs short; it re-queues the
rest. The last run counts the gallery again and stores the report, each list capped at
``LISTED`` entries with how many were left out. A gallery that changes while a job runs
gives a report of the faces walked; the counts are those at the end.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.core.config import Policy
from chalicelib.core.errors import NotFound
from chalicelib.core.health_jobs import LISTED, HealthCensus, HealthJob
from chalicelib.core.local_days import iso_ms
from chalicelib.core.models import gallery_health
from chalicelib.core.ports import EmployeeDirectory, FaceEngine, HealthJobs, HealthQueue

Clock = Callable[[], datetime]
TimeLeft = Callable[[], float]

# Slices one invocation takes at most, and the seconds it keeps in hand for one more.
SLICES_PER_RUN = 20
SLICE_MARGIN_SECONDS = 60.0
# A running job not moved for this long lost its message (a queue never loses one, but a
# start may die before sending it): asking again sends it again, and the job resumes.
STALE_AFTER = timedelta(minutes=15)
# The health queue's maxReceiveCount (infra/template.yaml): on that receive a failing job is FAILED.
MAX_RECEIVES = 3


@dataclass(frozen=True)
class HealthPorts:
    """What the health job needs (``wiring.health_ports``)."""

    engine: FaceEngine
    jobs: HealthJobs
    queue: HealthQueue
    directory: EmployeeDirectory  # a report's reader sees only employees still in it
    clock: Clock = lambda: datetime.now(UTC)

    def now(self) -> str:
        return iso_ms(self.clock())


def start_health(ports: HealthPorts, actor: str) -> tuple[HealthJob, bool]:
    """Start a job, or return the one running (queued again when it seems lost): (job, started)."""
    latest_id = ports.jobs.latest_id()
    latest = ports.jobs.get(latest_id) if latest_id else None
    if latest is not None and latest.state in ("QUEUED", "RUNNING"):
        if latest.state == "QUEUED" or _stale(latest, ports):
            ports.queue.send(latest.job_id)  # a duplicate message dies at its first save
        return latest, False
    now = ports.now()
    job = HealthJob(uuid.uuid4().hex, actor, started_at=now, updated_at=now)
    if not ports.jobs.create(job, latest_id):  # another start won the race: theirs runs
        winner_id = ports.jobs.latest_id()
        winner = ports.jobs.get(winner_id) if winner_id else None
        if winner is None:
            raise NotFound("the gallery health job just started could not be read; ask again")
        return winner, False
    ports.queue.send(job.job_id)
    return job, True


def health_status(job_id: str | None, ports: HealthPorts) -> dict[str, Any]:
    """What GET /gallery/health[/{job_id}] shows (the latest job without an id); ``NotFound``.
    A report names only employees the directory still has, unmarked: one erased (or being
    erased) since it was measured is left out of its lists, whenever the job ran."""
    job_id = job_id if job_id is not None else ports.jobs.latest_id()
    job = ports.jobs.get(job_id) if job_id else None
    if job is None:
        raise NotFound("no gallery health job" if job_id is None else f"no gallery health job {job_id}")
    shown = public(job)
    if job.result is not None:
        shown["report"] = present_only(job.result, ports.directory)
    return shown


def present_only(report: dict[str, Any], directory: EmployeeDirectory) -> dict[str, Any]:
    """``report`` without the entries of employees absent from ``directory`` or being erased:
    one batch of reads for the ids it names (each list holds at most ``LISTED``)."""
    named = {
        *(employee for pair in report["close_pairs"] for employee in pair["employee_ids"]),
        *report["single_photo"],
        *(face["employee_id"] for face in report["outlier_faces"]),
        *report["old_model_only"],
    }
    here = directory.present(sorted(named)) if named else frozenset()
    return report | {
        "close_pairs": [pair for pair in report["close_pairs"] if set(pair["employee_ids"]) <= here],
        "single_photo": [employee for employee in report["single_photo"] if employee in here],
        "outlier_faces": [face for face in report["outlier_faces"] if face["employee_id"] in here],
        "old_model_only": [employee for employee in report["old_model_only"] if employee in here],
    }


def public(job: HealthJob) -> dict[str, Any]:
    """The job as the API shows it: state, progress and, once DONE, the report."""
    return {
        "job_id": job.job_id,
        "status": job.state,
        "started_at": job.started_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
        "progress": {"faces_total": job.faces_total, "faces_done": job.faces_done},
        "report": job.result,
        "attempts": job.attempts,
        "error": job.error,
    }


def run_health(
    job_id: str,
    ports: HealthPorts,
    policy: Policy,
    *,
    receive_count: int = 1,
    max_receives: int = MAX_RECEIVES,
    time_left: TimeLeft | None = None,
) -> HealthJob | None:
    """Advance a job by at most ``SLICES_PER_RUN`` slices (re-queueing the rest); on failure
    record it and re-raise (the queue redelivers), FAILED on the queue's last delivery."""
    job = ports.jobs.get(job_id)
    if job is None or job.state in ("DONE", "FAILED"):
        return job  # a duplicate or stale message
    stored = [job.faces_done]  # what the store holds: each save is conditional on it
    try:
        _advance(job, ports, policy, time_left or (lambda: math.inf), stored)
    except Exception as error:
        job.attempts += 1
        job.error = f"{type(error).__name__}: {error}"[:300]
        if receive_count >= max_receives:
            job.state = "FAILED"
        _save(job, ports, stored)
        raise
    return job


def _advance(
    job: HealthJob, ports: HealthPorts, policy: Policy, time_left: TimeLeft, stored: list[int]
) -> None:
    if job.faces_total is None:
        census = ports.engine.health_census(policy)
        job.state, job.faces_total, job.slice_faces = "RUNNING", census.faces, census.slice_faces
        if not _save(job, ports, stored):
            return  # another run of the same job counted first: it goes on
    for taken in range(SLICES_PER_RUN):
        if job.faces_done >= job.faces_total:
            break
        if taken and time_left() < SLICE_MARGIN_SECONDS:  # the first slice always: progress
            break
        stop = min(job.faces_total, job.faces_done + max(1, job.slice_faces))
        job.add(ports.engine.health_slice(policy, job.faces_done, stop))
        job.faces_done, job.error = stop, None
        if not _save(job, ports, stored):
            return  # a duplicate message's run: the one that saved first goes on
    if job.faces_done < job.faces_total:
        ports.queue.send(job.job_id)  # the rest in a fresh invocation, at once
        return
    job.result = report(job, ports.engine.health_census(policy), policy)
    job.state, job.finished_at = "DONE", ports.now()
    job.pairs, job.outliers = [], []  # the report holds what is kept
    _save(job, ports, stored)


def report(job: HealthJob, census: HealthCensus, policy: Policy) -> dict[str, Any]:
    """The report in ``gallery_health``'s shape, each list capped at ``LISTED`` entries, and
    ``left_out``: how many each list did not name (close pairs: at least that many when
    ``close_pairs_at_least``)."""
    pairs = {(a, b): score for a, b, score in job.pairs}
    whole = gallery_health(
        policy.match_threshold,
        policy.match_margin,
        census.face_counts,
        pairs,
        job.outliers,
        census.old_model_only,
    ).to_dict()
    found = {
        "close_pairs": len(pairs),
        "single_photo": len(whole["single_photo"]),
        "outlier_faces": job.outliers_found,
        "old_model_only": len(whole["old_model_only"]),
    }
    for name in found:
        whole[name] = whole[name][:LISTED]
    whole["left_out"] = {name: max(0, count - len(whole[name])) for name, count in found.items()}
    whole["close_pairs_at_least"] = job.pairs_overflowed
    return whole


def _stale(job: HealthJob, ports: HealthPorts) -> bool:
    try:
        moved = datetime.fromisoformat(job.updated_at.replace("Z", "+00:00"))
    except ValueError:
        return True
    return ports.clock() - moved > STALE_AFTER


def _save(job: HealthJob, ports: HealthPorts, stored: list[int]) -> bool:
    job.updated_at = ports.now()
    if not ports.jobs.save(job, stored[0]):
        return False
    stored[0] = job.faces_done
    return True


def health_message(job_id: str) -> str:
    """The body of the queue message that hands ``job_id`` to the health worker."""
    return json.dumps({"health_job_id": job_id})


def job_id_of(body: str) -> str:
    """The job id of a queue message's body; ``ValueError`` for anything else."""
    message = json.loads(body)
    if not isinstance(message, dict) or not isinstance(message.get("health_job_id"), str):
        raise ValueError("not a gallery health message")
    return str(message["health_job_id"])
