"""The retention sweep: erase, by the erasure job, the faces whose retention has run out, and
tell the admins ``FACEGATE_RETENTION_INACTIVE_DAYS`` before (``core.retention`` says when).

Once per site day, resumable: an hourly schedule runs ``sweep``, which pages through the
employees from where the day's last run stopped (its progress is an audit entry under
``core.retention.TARGET``) and stops with ``SAFETY_SECONDS`` left; once a day's sweep is
done, later runs that day return at once. For each employee, it:

- advances the no-scan clock: their newest scan in the ``by_employee`` index (records live
  ``FACEGATE_RETENTION_DAYS``; a daily read never misses one) becomes ``last_seen``;
- starts the clocks of records older than the clocks: an inactive employee without
  ``inactive_since``, an employee with faces and no ``enrolled_at``, both from now;
- due by the end of the site day (never a day late, at most hours early): starts the erasure
  job (``start_erasure``, actor ``retention``: one job per employee, however often or
  concurrently asked) and audits it once per job;
- due within the inactive days: one notice to the admins per employee and due instant
  (sent, then recorded: a crash between the two sends it again, never loses it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.core import retention
from chalicelib.core.config import Settings
from chalicelib.core.display import display_text
from chalicelib.core.local_days import iso_ms, utc_span
from chalicelib.core.models import AuditEntry, Employee
from chalicelib.core.ports import AdminNotifier, AuditTrail
from chalicelib.erasure.job import start_erasure
from chalicelib.erasure.steps import ErasurePorts, local_day

PAGE = 100  # employees per directory page
SAFETY_SECONDS = 60.0  # stop with this much of the invocation left; the next run resumes
LISTED = 200  # due-soon employees listed per progress entry (the rest counted): a bounded item
SWEEP, ERASE, NOTICE = retention.SWEEP, retention.ERASE, retention.NOTICE


@dataclass(frozen=True)
class RetentionPorts:
    erasure: ErasurePorts  # the directory, engine, scans, audit and jobs the sweep reads and starts
    trail: AuditTrail  # the day's progress and the notices already sent, read back
    admins: AdminNotifier


@dataclass
class SweepOutcome:
    day: str
    done: bool
    employees: int = 0
    erased: list[str] = field(default_factory=list)
    noticed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "day": self.day,
            "done": self.done,
            "employees": self.employees,
            "erased": len(self.erased),
            "noticed": len(self.noticed),
        }


def sweep(
    ports: RetentionPorts, settings: Settings, time_left: Callable[[], float] | None = None
) -> SweepOutcome:
    """Run (or resume) the site day's sweep as far as this invocation allows."""
    left = time_left or (lambda: math.inf)
    now = ports.erasure.clock()
    day = local_day(iso_ms(now), settings).isoformat()
    start, end = utc_span(day, settings.timezone)
    cutoff = retention.parse(end)  # the day's sweep erases whoever is due by the day's end
    entries = ports.trail.between(retention.TARGET, start, end)
    # The day's own entries: a run that crossed midnight filed its progress under the next day.
    progress = [e.details for e in entries if e.action == SWEEP and e.details.get("day") == day]
    outcome = SweepOutcome(day, done=bool(progress) and bool(progress[-1].get("done")))
    if outcome.done:
        return outcome
    token: str | None = str(progress[-1]["token"]) if progress and progress[-1].get("token") else None
    horizon = now + timedelta(days=settings.retention.inactive_days)
    noticed = _notices_sent(ports.trail, now, horizon)
    soon: list[retention.Due] = []
    while True:
        page = ports.erasure.directory.listing(PAGE, token)
        page_soon: list[retention.Due] = []
        for employee in page.items:
            due = retention.due(_clocked(employee, ports, now), settings.retention)
            if due is not None and due.at < cutoff:
                if _erase(due, ports):
                    outcome.erased.append(due.employee_id)
            elif due is not None and due.at <= horizon:
                page_soon.append(due)
        outcome.employees += len(page.items)
        fresh = [d for d in page_soon if (d.employee_id, iso_ms(d.at)) not in noticed]
        _notify(fresh, ports, settings)
        outcome.noticed += [d.employee_id for d in fresh]
        soon += page_soon
        token = page.next_token
        if token is None or left() < SAFETY_SECONDS:
            break
    outcome.done = token is None
    _progress(ports, day, token, outcome, soon)
    return outcome


def _clocked(employee: Employee, ports: RetentionPorts, now: datetime) -> Employee:
    """``employee`` with their clocks advanced as far as the records say (and stored so)."""
    directory, at = ports.erasure.directory, iso_ms(now)
    newest = ports.erasure.scans.by_employee(employee.employee_id, 1).items
    # When we decided, not when the photo says it was taken (a time a client may state),
    # and never later than now: a future ``last_seen`` would keep a face past its schedule.
    seen = min(iso_ms(retention.parse(newest[0].processed_at)), at) if newest else None
    if seen is not None and (employee.last_seen is None or seen > employee.last_seen):
        directory.stamp(employee.employee_id, "last_seen", seen)
        employee = replace(employee, last_seen=seen)
    if not employee.active and employee.inactive_since is None:  # suspended before the clocks
        directory.stamp(employee.employee_id, "inactive_since", at)
        employee = replace(employee, inactive_since=at)
    unclocked = employee.enrolled_at is None and employee.last_seen is None
    if unclocked and ports.erasure.engine.list_faces(employee.employee_id):  # enrolled before the clocks
        directory.stamp(employee.employee_id, "enrolled_at", at)
        employee = replace(employee, enrolled_at=at)
    return employee


def _erase(due: retention.Due, ports: RetentionPorts) -> bool:
    """Start the employee's erasure job (or find the one running); audit it once per job."""
    job = start_erasure(due.employee_id, ports.erasure, retention.ACTOR)
    if job.actor != retention.ACTOR:  # an admin's erasure began meanwhile: theirs, not ours
        return False
    details = {"employee_id": due.employee_id, "job_id": job.job_id, "rule": due.rule, "due": iso_ms(due.at)}
    entry = AuditEntry(job.started_at, retention.ACTOR, ERASE, retention.TARGET, details)
    return ports.erasure.audit.record(entry, unique=job.job_id)


def _notices_sent(trail: AuditTrail, now: datetime, horizon: datetime) -> set[tuple[str, str]]:
    """(employee, due instant) of every notice already sent for a due instant to come: a
    notice is filed at its due instant, so this is one read of the coming window."""
    entries = trail.between(retention.TARGET, iso_ms(now), iso_ms(horizon + timedelta(milliseconds=1)))
    return {(str(e.details.get("employee_id")), e.at) for e in entries if e.action == NOTICE}


def _notify(fresh: list[retention.Due], ports: RetentionPorts, settings: Settings) -> None:
    """Tell the admins of ``fresh`` in one message, then record each notice (at its due
    instant, unique per employee: a repeated record is one entry)."""
    if not fresh:
        return
    subject = f"facegate {display_text(settings.stage, 20)}: {len(fresh)} face(s) due for erasure"
    lines = [
        f"{display_text(d.employee_id, 64)}: erased from {iso_ms(d.at)} ({_why(d.rule, settings)})"
        for d in fresh
    ]
    message = "\n".join(
        ["These employees' faces will be erased by the retention schedule:", *lines, "", _HOW_TO_KEEP]
    )
    ports.admins.publish(subject, message, {"event": NOTICE})
    now = iso_ms(ports.erasure.clock())
    for d in fresh:
        details = {"employee_id": d.employee_id, "rule": d.rule, "sent_at": now}
        entry = AuditEntry(iso_ms(d.at), retention.ACTOR, NOTICE, retention.TARGET, details)
        ports.erasure.audit.record(entry, unique=f"notice/{d.employee_id}")


_HOW_TO_KEEP = (
    "To keep an employee, reactivate them (PATCH /employees/{id} with active true) "
    "or have them scan at a door."
)


def _why(rule: str, settings: Settings) -> str:
    r = settings.retention
    if rule == retention.INACTIVE:
        return f"suspended or deactivated for {r.inactive_days} days"
    return f"no scan for {r.no_scan_months} months"


def _progress(
    ports: RetentionPorts, day: str, token: str | None, outcome: SweepOutcome, soon: list[retention.Due]
) -> None:
    """Where the day's sweep stopped, with what this run erased and found due soon (the
    daily report reads these entries)."""
    listed = [{"employee_id": d.employee_id, "due": iso_ms(d.at), "rule": d.rule} for d in soon[:LISTED]]
    details: dict[str, Any] = {
        "day": day,
        "token": token,
        "done": outcome.done,
        "employees": outcome.employees,
        "erased": len(outcome.erased),
        "due_soon": listed,
        "due_soon_total": len(soon),
    }
    ports.erasure.log(retention.ACTOR, SWEEP, retention.TARGET, **details)
