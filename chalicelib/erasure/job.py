"""Erasure: every face, photo and named record of an employee, removed by an asynchronous job.

``start_erasure`` (DELETE /employees/{id}) marks the employee (suspended, and absent to
every reader from then on), stores a job and queues it. The erasure worker runs
``run_job`` in steps, each idempotent and saved on the job, so a redelivered message
resumes where the last attempt stopped:

search    photos of the retention window never linked to them (MULTIPLE_FACES, UNKNOWN,
          LOW_QUALITY) in which the engine still sees their face: before the faces go
linked    their scans: photo version and processed copies deleted, identity stripped
unlinked  the photos found by ``search``: photo, processed copies and record deleted
employee  their consents end (withdrawn by the job, kept for the auditor); the record stays,
          marked, as the job's tombstone, so nobody can create the employee again until DONE
access    their id out of every access rule (a rule left naming no one is deleted)
faces     the photos recorded since the job started that were never linked to them are
          checked as ``search`` checks (their faces are still enrolled, so the engine can
          still see them) and purged; then their faces leave the engine (and the gallery
          snapshot, published again). Until then a photo of them is matched, named and
          stopped by the pipeline's guard (EMPLOYEE_ERASED), which ``final`` purges.
settle    wait for scans in flight during the erasure to be recorded (the queue's delay)
final     ``faces`` again (an enrollment that read the employee before the erasure may write
          a face after the faces step), ``linked`` and ``unlinked`` again, and the scans the
          pipeline's guard recorded as EMPLOYEE_ERASED since the job started are deleted with
          their photos; ``access`` again (a rule written meanwhile may name them); their
          consents end again (one written by a request that read them before); their
          drop-folder photos held for approval (``pending/``, every version); last, the
          employee record (their group memberships are on it): the tombstone goes at DONE,
          noted on the job first and deleted only while it is this job's mark

Before every step the job checks the record is still the one it marked (``tombstone.not_theirs``): once
the tombstone has lifted (a DONE save lost, a worker dead after the delete), the id may belong
to someone new, and the job ends DONE without touching their faces, scans, rules or record.

A photo recorded after the faces have left the engine is one it can no longer tell them
in, as after DONE: the faces go as late as the job can check for them.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from typing import Any

from chalicelib.core.config import Settings
from chalicelib.core.errors import NotFound
from chalicelib.core.models import ErasureJob
from chalicelib.core.ports import ErasureJobs
from chalicelib.erasure import steps
from chalicelib.erasure.steps import ErasurePorts, TimeLeft
from chalicelib.erasure.tombstone import not_theirs

# Jobs saved by the order before the tombstone (faces second, employee deleted fifth) resume
# here complete: every step after theirs runs, and ``final`` repeats ``linked`` and ``unlinked``.
STEPS = ("search", "linked", "unlinked", "employee", "access", "faces", "settle", "final", "done")


def start_erasure(employee_id: str, ports: ErasurePorts, actor: str) -> ErasureJob:
    """Start erasing an employee, or return the job already erasing them; ``NotFound``."""
    marked = ports.directory.begin_erasure(employee_id, uuid.uuid4().hex)
    if marked is None:
        raise NotFound(f"no employee {employee_id}")
    job = ports.jobs.get(marked)
    if job is None:  # ours, or a start that died between marking and storing its job
        now = ports.now()
        job = ErasureJob(marked, employee_id, actor, started_at=now, updated_at=now)
        if not ports.jobs.create(job):
            return _existing_in(ports.jobs, marked)
        ports.log(actor, "employee.erase.start", employee_id, job_id=marked)
        ports.queue.send(marked)
    elif job.state == "FAILED":  # asking again retries a failed job from where it stopped
        job.state, job.attempts, job.error = "QUEUED", 0, None
        steps.save(job, ports)
        ports.queue.send(job.job_id)
    elif job.state == "QUEUED":  # the start that stored it may have died before queueing it
        ports.queue.send(job.job_id)
    return job


def job_status(job_id: str, jobs: ErasureJobs) -> dict[str, Any]:
    """What GET /erasures/{id} shows; ``NotFound`` for an unknown job."""
    return public(_existing_in(jobs, job_id))


def public(job: ErasureJob) -> dict[str, Any]:
    """The job as the API shows it: progress, then how much was found and removed (counts
    only: the scan ids would say where and when the employee was seen)."""
    return {
        "job_id": job.job_id,
        "employee_id": job.employee_id,
        "status": job.state,
        "step": job.step,
        "started_at": job.started_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
        "progress": {
            "days_total": job.days_total,
            "days_searched": job.days_searched,
            "photos_checked": job.photos_checked,
            "photos_unreadable": job.photos_unreadable,
        },
        "result": dict(job.result) if job.result is not None else counts(job),
        "attempts": job.attempts,
        "error": job.error,
    }


def counts(job: ErasureJob) -> dict[str, int]:
    """What the job found and removed so far, counted from the ids it keeps while it runs."""
    return {
        "faces_removed": job.faces_removed or 0,
        "unlinked_photos_found": len(job.found),
        "scans_anonymised": len(job.anonymised),
        "scans_purged": len(job.purged),
        "in_flight_purged": len(job.in_flight),
        "photos_deleted": len(set(job.anonymised) | set(job.purged)),
    }


def run_job(
    job_id: str,
    ports: ErasurePorts,
    settings: Settings,
    *,
    receive_count: int = 1,
    time_left: TimeLeft | None = None,
) -> ErasureJob | None:
    """Advance a job as far as this invocation allows; on failure record it and re-raise
    (the queue redelivers), and mark the job FAILED on the queue's last delivery."""
    job = ports.jobs.get(job_id)
    if job is None or job.state in ("DONE", "FAILED"):
        return job  # a duplicate or stale message
    try:
        _advance(job, ports, settings, time_left or (lambda: math.inf))
    except Exception as error:
        job.attempts += 1
        job.error = f"{type(error).__name__}: {error}"[:300]
        if receive_count >= settings.erasure_max_receives:
            job.state = "FAILED"
            ports.log(job.actor, "employee.erase.failed", job.employee_id, job_id=job.job_id)
        steps.save(job, ports)
        raise
    return job


def _advance(job: ErasureJob, ports: ErasurePorts, settings: Settings, time_left: TimeLeft) -> None:
    if job.state == "QUEUED":
        job.state = "RUNNING"
        steps.save(job, ports)
    work: dict[str, Callable[[], bool]] = {
        "search": lambda: steps.search(job, ports, settings, time_left),
        "linked": lambda: steps.linked(job, ports, time_left),
        "unlinked": lambda: steps.unlinked(job, ports, time_left),
        # The record is the tombstone (deleted at the end of "final"); their consents end here.
        "employee": lambda: steps.end_consents(job, ports),
        "access": lambda: steps.remove_from_access_rules(job, ports),
        "faces": lambda: (
            steps.recorded_meanwhile(job, ports, settings, time_left)  # while their faces still match
            and steps.remove_faces(job, ports)
        ),
        "settle": lambda: steps.settled(job, ports, settings),
        "final": lambda: (
            steps.remove_faces(job, ports)  # an enrollment in flight (≤ 60 s) wrote one after "faces"
            and steps.linked(job, ports, time_left)
            and steps.unlinked(job, ports, time_left)
            and steps.in_flight(job, ports, settings, time_left)
            and steps.remove_from_access_rules(job, ports)
            and steps.end_consents(job, ports)  # one written meanwhile; none outlives the id
            and steps.purge_pending(job, ports)
            and steps.delete_employee(job, ports)  # last: the tombstone lifts as the job ends
        ),
    }
    while job.step != "done":
        if not_theirs(job, ports):  # the tombstone lifted: the id may be someone new's
            following = "done"
        elif not work[job.step]():
            if job.step != "settle":  # out of time: a fresh invocation continues at once
                steps.save(job, ports)
                ports.queue.send(job.job_id)
            return
        else:
            following = STEPS[STEPS.index(job.step) + 1]
        if following == "done":  # audited first: a failed audit write is retried, not lost
            result = counts(job)
            ports.log(job.actor, "employee.erase", job.employee_id, job_id=job.job_id, **result)
            job.state, job.finished_at, job.result = "DONE", ports.now(), result
            # Scan ids and copy keys say where and when the employee was seen (the anonymised
            # records stay for the retention window): a finished job keeps the counts only.
            job.found, job.anonymised, job.purged, job.in_flight, job.copies = [], [], [], [], []
        job.step, job.error = following, None
        steps.save(job, ports)


def _existing_in(jobs: ErasureJobs, job_id: str) -> ErasureJob:
    job = jobs.get(job_id)
    if job is None:
        raise NotFound(f"no erasure job {job_id}")
    return job
