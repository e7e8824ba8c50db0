"""When an employee's face is due for erasure, and the retention schedule as figures.

Two rules (``FACEGATE_RETENTION_INACTIVE_DAYS``, ``FACEGATE_RETENTION_NO_SCAN_MONTHS``), each
a clock on the employee record: ``inactive_since`` (set when they are suspended or deactivated,
cleared when reactivated) plus the inactive days, and the no-scan clock (the later of
``enrolled_at``, their first face, and ``last_seen``, their newest scan the sweep has read)
plus the months. The earlier of the two is the due instant. Pure: the sweep
(``chalicelib.erasure.retention``), the daily report and the docs hook share it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.core.config import RetentionSettings, Settings
from chalicelib.core.models import Employee

# The audit's partition of retention entries (erasures started, notices, sweep progress).
TARGET = "retention"
ACTOR = "retention"  # the actor of every erasure the sweep starts
INACTIVE = "inactive"  # the rule names, as the audit, the notice and the report show them
NO_SCAN = "no_scan"
# The actions of its entries: the sweep's progress (with who is due soon), an erasure it started,
# a notice it sent (filed at the due instant: one per employee and due instant).
SWEEP, ERASE, NOTICE = "retention.sweep", "retention.erase", "retention.notice"


@dataclass(frozen=True)
class Due:
    """One employee's erasure: when, and by which rule."""

    employee_id: str
    at: datetime
    rule: str  # INACTIVE or NO_SCAN


def due(employee: Employee, schedule: RetentionSettings) -> Due | None:
    """When ``employee``'s faces are due for erasure (the earlier rule), or None when no clock
    runs: active with no face enrolled and no scan seen."""
    found: list[Due] = []
    if not employee.active and employee.inactive_since:
        start = parse(employee.inactive_since)
        found.append(Due(employee.employee_id, start + timedelta(days=schedule.inactive_days), INACTIVE))
    clocks = [parse(at) for at in (employee.enrolled_at, employee.last_seen) if at]
    if clocks:
        found.append(Due(employee.employee_id, add_months(max(clocks), schedule.no_scan_months), NO_SCAN))
    return min(found, key=lambda d: d.at) if found else None


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` ``months`` calendar months later (the 31st becomes the month's last day)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def parse(at: str) -> datetime:
    """A stored instant (UTC ISO-8601, ``Z``) as an aware datetime."""
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


@dataclass(frozen=True)
class ScheduleRow:
    """One line of the published retention schedule."""

    kept: str
    how_long: str
    destroyed: str
    by: str


def schedule_rows(settings: Settings) -> list[ScheduleRow]:
    """The retention schedule a stage's settings make, as the docs publish it (the retention
    schedule page; the consent notice may reuse it). Figures only from ``settings``."""
    r = settings.retention
    job = "the erasure job (`chalicelib/erasure/`), started by the `retention_sweep` function (each site day)"
    return [
        ScheduleRow(
            "Face templates, enrollment photos and the record of a suspended or deactivated employee",
            f"{r.inactive_days} days after the suspension (admins are told {r.inactive_days} days before)",
            "faces removed from the face engine, photos and named scan records deleted, "
            "the employee record and their access-rule entries deleted",
            job,
        ),
        ScheduleRow(
            "Face templates, enrollment photos and the employee record of an employee who is not seen",
            f"{r.no_scan_months} months after their last scan, or after their first face if that is later "
            f"(never scanned); admins are told {r.inactive_days} days before",
            "as above",
            job,
        ),
        ScheduleRow(
            "Scan records, camera photos and their processed copies",
            f"{settings.retention_days} days",
            "DynamoDB TTL and S3 lifecycle rules (up to about two days late)",
            "AWS, by the table's TTL and the bucket's lifecycle (`infra/template.yaml`)",
        ),
    ]
