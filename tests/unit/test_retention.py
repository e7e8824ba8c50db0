"""Retention that runs by itself: the clocks, the daily sweep, its notices and its bounds, with
in-memory ports and an injected clock (``core.retention``, ``erasure.retention``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.core import retention
from chalicelib.core.config import Settings
from chalicelib.core.errors import ConfigError
from chalicelib.core.local_days import iso_ms
from chalicelib.core.models import Decision, Employee, Scan, SearchResult, Status
from chalicelib.core.ports import Page
from chalicelib.enrollment import employees as enrollment
from chalicelib.erasure.retention import ERASE, NOTICE, RetentionPorts, sweep
from chalicelib.erasure.steps import ErasurePorts
from tests.fakes import (
    InMemoryAccessStore,
    InMemoryAdminNotifier,
    InMemoryAuditLog,
    InMemoryConsentLedger,
    InMemoryEmployeeDirectory,
    InMemoryErasureJobs,
    InMemoryErasureQueue,
    InMemoryImageStore,
    InMemoryPendingFaces,
    InMemoryScanLog,
    ScriptedEngine,
    _page,
)
from tests.images import encoded, two_tone

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
SETTINGS = Settings.from_env({"FACEGATE_TIMEZONE": "America/Chicago"})  # 30 days, 36 months


class StaleDirectory(InMemoryEmployeeDirectory):
    """Pages read before another sweep marked anyone: erasing employees still in them (and, as
    the table's key-based pages do, an erasure never shifts the pages after it)."""

    def listing(self, limit: int, token: str | None = None) -> Page[Employee]:
        return _page(sorted(self.employees.values(), key=lambda e: e.employee_id), limit, token)


@dataclass
class Site:
    directory: InMemoryEmployeeDirectory = field(
        default_factory=lambda: InMemoryEmployeeDirectory(
            Employee("EMP001", "Quinn"), Employee("EMP002", "Ada")
        )
    )
    clock: list[datetime] = field(default_factory=lambda: [T0])
    engine: ScriptedEngine = field(
        default_factory=lambda: ScriptedEngine(SearchResult(faces=[], best=None, runner_up=None))
    )
    audit: InMemoryAuditLog = field(default_factory=InMemoryAuditLog)
    scans: InMemoryScanLog = field(default_factory=InMemoryScanLog)
    jobs: InMemoryErasureJobs = field(default_factory=InMemoryErasureJobs)
    queue: InMemoryErasureQueue = field(default_factory=InMemoryErasureQueue)
    admins: InMemoryAdminNotifier = field(default_factory=InMemoryAdminNotifier)

    def at(self, moment: datetime) -> Site:
        self.clock[0] = moment
        return self

    @property
    def now(self) -> datetime:
        return self.clock[0]

    @property
    def enrollment(self) -> enrollment.EnrollmentPorts:
        return enrollment.EnrollmentPorts(
            self.directory,
            self.engine,
            self.audit,
            self.scans,
            InMemoryConsentLedger.granting(),
            lambda: self.now,
        )

    @property
    def ports(self) -> RetentionPorts:
        erasure = ErasurePorts(
            self.directory, self.engine, self.audit, self.scans, InMemoryImageStore(), self.jobs,
            self.queue, "cams", InMemoryAccessStore(), InMemoryConsentLedger(), InMemoryPendingFaces(),
            clock=lambda: self.now,
        )  # fmt: skip
        return RetentionPorts(erasure, self.audit, self.admins)

    def sweep(self, settings: Settings = SETTINGS, **kw: object) -> list[str]:
        """Run the day's sweep; the ids whose erasure it started."""
        return sweep(self.ports, settings, **kw).erased  # type: ignore[arg-type]

    def suspend(self, employee_id: str, active: bool = False) -> Employee:
        return enrollment.update_employee(employee_id, {"active": active}, self.enrollment, "admin")

    def enroll(self, employee_id: str) -> None:
        photo = encoded(two_tone(64, 64), "PNG")
        enrollment.add_face(
            employee_id,
            photo,
            self.enrollment,
            SETTINGS.limits,
            "admin",
            policy=SETTINGS.policy,
            consent=SETTINGS.consent,
        )

    def scanned(self, employee_id: str, when: datetime) -> None:
        stamp = iso_ms(when)
        decision = Decision(Status.AUTHORIZED, employee_id=employee_id, employee_name="x")
        self.scans.record(Scan(f"s-{stamp}", "door", "incoming/door/x.png", "v1", stamp, stamp,
                               when.date().isoformat(), decision, "scripted", 0))  # fmt: skip

    def entries(self, action: str) -> list[dict[str, object]]:
        return [e.details for e in self.audit.entries if e.action == action]


def test_the_settings_default_to_30_days_and_36_months_and_refuse_more_than_three_years() -> None:
    assert (Settings().retention.inactive_days, Settings().retention.no_scan_months) == (30, 36)
    assert Settings.from_env({"FACEGATE_RETENTION_NO_SCAN_MONTHS": "36"}).retention.no_scan_months == 36
    for months in ("37", "48", "0", "-1", "1e3", "thirty"):
        with pytest.raises(ConfigError, match="FACEGATE_RETENTION_NO_SCAN_MONTHS"):
            Settings.from_env({"FACEGATE_RETENTION_NO_SCAN_MONTHS": months})
    for days in ("0", "1096", "x"):
        with pytest.raises(ConfigError, match="FACEGATE_RETENTION_INACTIVE_DAYS"):
            Settings.from_env({"FACEGATE_RETENTION_INACTIVE_DAYS": days})


@pytest.mark.parametrize("days", [1, 7, 30])
def test_a_suspended_employee_is_erased_on_the_inactive_days_th_day_and_not_on_the_day_before(
    days: int,
) -> None:
    settings = replace(SETTINGS, retention=replace(SETTINGS.retention, inactive_days=days))
    site = Site()
    site.suspend("EMP001")  # 06:00 in Chicago
    assert site.at(T0 + timedelta(days=days - 1, hours=17)).sweep(settings) == []  # 23:00 the day before
    assert site.at(T0 + timedelta(days=days, hours=-5)).sweep(settings) == ["EMP001"]  # 01:00 on the day
    assert site.directory.erasing.keys() == {"EMP001"}
    (job,) = site.jobs.jobs.values()
    assert job.actor == retention.ACTOR and site.queue.sent == [(job.job_id, 0)]
    (erased,) = site.entries(ERASE)
    assert erased["employee_id"] == "EMP001" and erased["rule"] == retention.INACTIVE
    assert erased["due"] == iso_ms(T0 + timedelta(days=days))


def test_suspending_again_keeps_the_first_date_and_reactivating_stops_the_clock() -> None:
    site = Site()
    assert site.suspend("EMP001").inactive_since == iso_ms(T0)
    assert site.at(T0 + timedelta(days=10)).suspend("EMP001").inactive_since == iso_ms(T0)
    assert site.at(T0 + timedelta(days=20)).suspend("EMP001", active=True).inactive_since is None
    assert site.at(T0 + timedelta(days=31)).sweep() == []
    assert site.at(T0 + timedelta(days=400)).sweep() == []  # no face, no scan: no clock runs at all


def test_an_employee_created_inactive_starts_the_clock_at_once() -> None:
    site = Site()
    created = enrollment.create_employee(Employee("EMP009", "Leaver", active=False), site.enrollment, "scim")
    assert created.inactive_since == iso_ms(T0) == site.directory.employees["EMP009"].inactive_since


def test_no_scan_for_the_months_erases_and_a_scan_or_a_recent_enrollment_keeps() -> None:
    site = Site()
    site.enroll("EMP001")
    site.at(T0 + timedelta(days=1)).enroll("EMP002")
    assert site.directory.employees["EMP001"].enrolled_at == iso_ms(T0)
    site.at(T0 + timedelta(days=1)).enroll("EMP001")  # a second face: the clock started with the first
    assert site.directory.employees["EMP001"].enrolled_at == iso_ms(T0)
    site.scanned("EMP002", T0 + timedelta(days=300))
    assert site.at(T0 + timedelta(days=301)).sweep() == []  # reads the scan into last_seen
    assert site.directory.employees["EMP002"].last_seen == iso_ms(T0 + timedelta(days=300))
    site.scans.scans.clear()  # the scan record expired (FACEGATE_RETENTION_DAYS): last_seen keeps it
    three_years = retention.add_months(T0, 36)
    assert site.at(three_years - timedelta(days=1)).sweep() == []
    assert site.at(three_years + timedelta(hours=7)).sweep() == ["EMP001"]
    assert site.at(retention.add_months(T0 + timedelta(days=300), 36) + timedelta(hours=7)).sweep() == [
        "EMP002"
    ]
    assert [e["rule"] for e in site.entries(ERASE)] == [retention.NO_SCAN, retention.NO_SCAN]


def test_the_months_setting_decides_and_an_enrollment_yesterday_is_not_due() -> None:
    settings = Settings.from_env({"FACEGATE_RETENTION_NO_SCAN_MONTHS": "1"})
    site = Site()
    site.at(T0 - timedelta(days=1)).enroll("EMP001")
    assert site.at(T0).sweep(settings) == []
    assert site.at(retention.add_months(T0 - timedelta(days=1), 1)).sweep(settings) == ["EMP001"]


def test_a_scan_stated_in_the_future_never_holds_a_face_past_its_schedule() -> None:
    site = Site()
    site.enroll("EMP001")
    site.scanned("EMP001", T0 + timedelta(days=3650))  # a record whose decision time lies ahead
    site.at(T0 + timedelta(days=1)).sweep()
    assert site.directory.employees["EMP001"].last_seen == iso_ms(T0 + timedelta(days=1))


def test_records_older_than_the_clocks_start_them_at_the_first_sweep() -> None:
    site = Site()
    site.directory.employees["EMP001"] = Employee("EMP001", "Quinn", active=False)  # suspended long ago
    site.engine.faces["EMP002"] = ["f1"]  # enrolled before enrolled_at existed
    site.sweep()
    stored = site.directory.employees
    assert (stored["EMP001"].inactive_since, stored["EMP002"].enrolled_at) == (iso_ms(T0), iso_ms(T0))
    assert site.at(T0 + timedelta(days=30, hours=1)).sweep() == ["EMP001"]


def test_admins_are_told_once_per_employee_and_due_date_the_inactive_days_before() -> None:
    site = Site()
    site.suspend("EMP001")  # due T0 + 30 days: within the 30 days' notice from now
    site.sweep()
    assert len(site.admins.published) == 1
    subject, message, attributes = site.admins.published[0]
    assert (
        "1 face(s) due for erasure" in subject
        and "EMP001" in message
        and iso_ms(T0 + timedelta(days=30)) in message
    )
    assert attributes == {"event": NOTICE}
    for day in range(1, 30):
        site.at(T0 + timedelta(days=day, hours=1)).sweep()
    assert len(site.admins.published) == 1
    site.suspend("EMP001", active=True)
    site.at(T0 + timedelta(days=31)).suspend("EMP001")  # a new suspension: a new due date, told again
    site.sweep()
    assert len(site.admins.published) == 2 and "EMP001" in site.admins.published[1][1]


def test_a_notice_that_could_not_be_sent_is_sent_by_the_next_run() -> None:
    site = Site()
    site.suspend("EMP001")
    site.admins.fail_with = RuntimeError("SNS down")
    with pytest.raises(RuntimeError):
        site.sweep()
    site.admins.fail_with = None
    site.at(T0 + timedelta(hours=1)).sweep()
    assert len(site.admins.published) == 1


def test_the_sweep_twice_or_overlapping_starts_one_job_per_employee() -> None:
    site = Site(directory=StaleDirectory(Employee("EMP001", "Quinn"), Employee("EMP002", "Ada")))
    site.suspend("EMP001")
    site.suspend("EMP002")
    site.at(T0 + timedelta(days=31))
    assert site.sweep() == ["EMP001", "EMP002"]
    site.audit.entries = [
        e for e in site.audit.entries if e.action != "retention.sweep"
    ]  # unseen by another run
    assert site.sweep() == []
    assert len(site.jobs.jobs) == 2 and len(site.entries(ERASE)) == 2
    # start_erasure queues a QUEUED job again (its starter may have died before queueing it):
    # the worker takes a job's second message as a duplicate.
    assert {job_id for job_id, _ in site.queue.sent} == set(site.jobs.jobs)


def test_a_large_site_is_swept_in_bounded_runs_that_resume_where_the_last_stopped() -> None:
    people = [Employee(f"EMP{n:04d}", "x", active=False, inactive_since=iso_ms(T0)) for n in range(250)]
    site = Site(directory=StaleDirectory(*people)).at(T0 + timedelta(days=31))
    first = sweep(site.ports, SETTINGS, time_left=lambda: 1.0)  # one page, then out of time
    assert (first.done, first.employees, len(first.erased)) == (False, 100, 100)
    runs = [sweep(site.ports, SETTINGS, time_left=lambda: 1.0) for _ in range(3)]
    assert [(r.done, len(r.erased)) for r in runs] == [(False, 100), (True, 50), (True, 0)]
    assert len(site.jobs.jobs) == 250


def test_the_daily_report_lists_who_was_erased_and_who_is_due_within_the_notice_days() -> None:
    from chalicelib.reporting.report_email import render
    from chalicelib.reporting.reports import build_summary
    from tests.unit.test_reports import Site as ReportSite

    site = Site()
    site.at(T0 - timedelta(days=31)).suspend("EMP001")  # due: erased by today's sweep
    site.at(T0 - timedelta(days=5)).suspend("EMP002")  # due in 25 days: listed, with its day
    site.at(T0 + timedelta(hours=1)).sweep()
    day, settings = "2026-01-05", replace(SETTINGS, report=replace(SETTINGS.report, thumbnails=False))
    report = ReportSite()
    summary = build_summary(day, replace(report.ports, audit=site.audit), settings)
    assert summary.retention.erased == [("EMP001", retention.INACTIVE)]
    assert summary.retention.due_soon == [("EMP002", "2026-01-30", retention.INACTIVE)]
    assert summary.retention.swept
    html, text = render(summary)
    assert "Retention: erasure started today for 1: EMP001 (inactive)" in text
    assert "Due within 30 days: 1: EMP002 on 2026-01-30 (inactive)" in text
    assert "Erasure started today: EMP001 (inactive)" in html and "EMP002 on 2026-01-30" in html
    quiet = build_summary(day, replace(report.ports, audit=InMemoryAuditLog()), settings)
    assert "Retention" not in "".join(render(quiet))


def test_the_published_schedule_is_made_from_each_stages_settings_and_refuses_what_the_code_refuses() -> None:
    import importlib.util
    import json

    from sandbox.stack import PROJECT_DIR

    spec = importlib.util.spec_from_file_location(
        "retention_page", PROJECT_DIR / "docs/hooks/retention_page.py"
    )
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    chalice = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    chalice["stages"]["dev"]["environment_variables"]["FACEGATE_RETENTION_NO_SCAN_MONTHS"] = "12"
    chalice["stages"]["prod"]["environment_variables"]["FACEGATE_RETENTION_INACTIVE_DAYS"] = "14"
    page = hook.render(chalice)
    dev, prod = page.split("## Stage `dev`")[1].split("## Stage `prod`")
    assert "12 months after their last scan" in dev and "30 days after the suspension" in dev
    assert "36 months after their last scan" in prod and "14 days after the suspension" in prod
    chalice["environment_variables"]["FACEGATE_RETENTION_NO_SCAN_MONTHS"] = "37"
    with pytest.raises(ConfigError):  # the build fails as the function would
        hook.render(chalice)
