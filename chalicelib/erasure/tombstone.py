"""Whether the employee record under an erasure job's id is still the one the job marked.

The mark (``EmployeeDirectory.begin_erasure``) lifts only by the job's own last act
(``steps.delete_employee``: noted on the job, then deleted only while it names the job), so
while it names the job nobody can create the id again. Once it has lifted, the id may be
someone new's: no step of the job may touch their faces, scans, rules or record.
"""

from __future__ import annotations

from chalicelib.core.models import ErasureJob
from chalicelib.erasure.steps import ErasurePorts


def not_theirs(job: ErasureJob, ports: ErasurePorts) -> bool:
    """Is the record under the job's id no longer the one it marked (a re-created employee,
    or another job's)? An absent record is still theirs only for a job that never lifted its
    tombstone (one saved before tombstones, whose order deleted the record mid-way)."""
    marked = ports.directory.erasure_of(job.employee_id)
    if marked is not None:
        return marked != job.job_id
    return job.tombstone_lifted or job.employee_id in ports.directory.present([job.employee_id])
