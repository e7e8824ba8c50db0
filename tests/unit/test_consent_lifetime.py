"""A consent is one person's: one lifetime of an employee id. The erasure job ends every
consent of the id, one given before the id's current creation covers nobody, a consent
written while an erasure began is undone, and a refused drop keeps no consent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.core.config import ConsentSettings, Policy
from chalicelib.core.errors import ConsentMissing, NotFound
from chalicelib.core.keys import enroll_key
from chalicelib.core.models import ConsentRecord, Employee, SearchResult
from chalicelib.enrollment import consent
from chalicelib.enrollment import employees as enrollment
from chalicelib.enrollment.drop_folder import enroll_dropped
from chalicelib.enrollment.employee_rules import new_employee
from chalicelib.enrollment.employees import EnrollmentPorts
from chalicelib.erasure.job import run_job, start_erasure
from tests.fakes import (
    InMemoryAuditLog,
    InMemoryConsentLedger,
    InMemoryEmployeeDirectory,
    InMemoryScanLog,
    ScriptedEngine,
)
from tests.unit.test_drop_folder import LIMITS, Drop
from tests.unit.test_erasure import SETTINGS, World

REQUIRED = ConsentSettings(required=True, notice_version="2026-12")
T0 = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def later(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ports(clock: Clock) -> EnrollmentPorts:
    return EnrollmentPorts(
        directory=InMemoryEmployeeDirectory(),
        engine=ScriptedEngine(SearchResult(faces=[], best=None, runner_up=None)),
        audit=InMemoryAuditLog(),
        scans=InMemoryScanLog(),
        consents=InMemoryConsentLedger(),  # nobody has consented
        clock=clock,
    )


@pytest.mark.parametrize("gap", [{"milliseconds": 1}, {"days": 400}])
def test_an_earlier_holders_consent_never_covers_the_id_created_again(
    ports: EnrollmentPorts, clock: Clock, gap: dict[str, float]
) -> None:
    """Even if a consent escaped the erasure (a store restored, a job of an older release):
    one given before the id's current creation is another person's."""
    enrollment.create_employee(Employee("EMP100", "Alice Arden"), ports, "admin")
    consent.give_consent("EMP100", "paper", "F-1", ports, REQUIRED, "hr")
    clock.later(**gap)
    ports.directory.delete("EMP100")  # erased (the job's last step)
    enrollment.create_employee(Employee("EMP100", "Bob Brook"), ports, "scim")
    with pytest.raises(ConsentMissing):
        enrollment.require_consent("EMP100", ports, REQUIRED, "scim")
    assert consent.consent_of("EMP100", ports, REQUIRED)["current"] is False
    # the import (and a drop) records the new person's own consent instead of trusting Alice's
    assert consent.record_stated_consent("EMP100", ("import", "roster"), ports, REQUIRED, "hr") is not None
    enrollment.require_consent("EMP100", ports, REQUIRED, "hr")  # now theirs
    names = [row["name"] for row in consent.export_page(10, None, ports).items]
    assert names == ["", "Bob Brook"]  # Alice's row is never labelled with Bob's name


def test_the_erasure_ends_every_consent_of_the_id_and_keeps_them() -> None:
    world = World()
    world.consents.give(ConsentRecord("EMP001", "2026-12", "2026-03-01T00:00:00.000Z", "paper", "F", "hr"))
    world.consents.give(ConsentRecord("EMP001", "2026-11", "2026-02-01T00:00:00.000Z", "import", "c", "hr"))
    world.consents.give(ConsentRecord("EMP002", "2026-12", "2026-03-01T00:00:00.000Z", "paper", "G", "hr"))
    settling = replace(SETTINGS, erasure_settle_seconds=60)
    job = start_erasure("EMP001", world.ports, "admin")
    run_job(job.job_id, world.ports, settling)  # up to the settle step: ended as it began
    assert all(r.withdrawn_at for r in world.consents.history("EMP001"))
    # one written meanwhile by a request that read the employee before the erasure
    world.consents.give(ConsentRecord("EMP001", "2026-12", "2026-03-10T15:00:01.000Z", "paper", "L", "hr"))
    world.clock[0] += timedelta(seconds=61)
    assert run_job(job.job_id, world.ports, settling).state == "DONE"  # type: ignore[union-attr]
    history = world.consents.history("EMP001")
    assert len(history) == 3  # kept for the auditor
    assert {r.withdrawn_by for r in history} == {f"erasure {job.job_id}"}
    assert world.consents.history("EMP002")[0].withdrawn_at is None  # nobody else's


def test_a_consent_written_as_the_erasure_begins_is_undone(ports: EnrollmentPorts) -> None:
    enrollment.create_employee(Employee("EMP100", "Alice Arden"), ports, "admin")
    give = ports.consents.give

    def racing_give(record: ConsentRecord) -> None:  # DELETE …/consent lands between read and write
        consent.withdraw_consent("EMP100", ports, "admin")
        ports.directory.begin_erasure("EMP100", "job-1")
        give(record)

    ports.consents.give = racing_give  # type: ignore[method-assign]
    with pytest.raises(NotFound):
        consent.give_consent("EMP100", "paper", "F-2", ports, REQUIRED, "hr")
    assert [r.withdrawn_at is not None for r in ports.consents.history("EMP100")] == [True]
    assert consent.consent_of("EMP100", ports, REQUIRED)["current"] is False


def run(drop: Drop, key: str, data: bytes, **metadata: str) -> None:
    upload = drop.put_with(key, {"consent-method": "paper", "consent-reference": "F-9", **metadata}, data)
    outcome = enroll_dropped(upload, drop.ports, LIMITS, new_employee, policy=Policy(), consent=REQUIRED)
    assert outcome.reason and not outcome.enrolled and not outcome.pending_id, outcome


@pytest.mark.parametrize("data", [b"not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 4, b""])
def test_a_junk_drop_records_no_consent_and_waits_for_nobody(data: bytes) -> None:
    drop = Drop()
    drop.consents.grant_all = None  # nobody has consented
    run(drop, enroll_key("EMP001", "junk.png"), data)  # an existing employee: it would wait
    run(drop, enroll_key("EMP050", "junk.png"), data, name="New Hire")
    assert drop.consents.records == [] and drop.pending.held == {}


@pytest.mark.parametrize("faces", [0, 2])
def test_a_photo_without_one_face_records_no_consent_and_is_not_held(faces: int) -> None:
    drop = Drop()
    drop.consents.grant_all = None
    drop.engine.result = SearchResult(faces=drop.engine.result.faces * faces)
    run(drop, enroll_key("EMP001", "nobody.png"), encoded_photo())
    assert drop.consents.records == [] and drop.pending.held == {}


def test_a_refusal_after_the_consent_was_recorded_undoes_it() -> None:
    from chalicelib.core.errors import EnrollmentError

    drop = Drop()
    drop.consents.grant_all = None
    drop.engine.add_fails_with = EnrollmentError("no face found in the photo")
    run(drop, enroll_key("EMP060", "a.png"), encoded_photo(), name="New Hire")
    assert "EMP060" not in drop.directory.employees
    assert [r.withdrawn_by for r in drop.consents.history("EMP060")] == ["AWS:AIDAHRSYSTEM"]


def encoded_photo() -> bytes:
    from tests.unit.test_drop_folder import PHOTO

    return PHOTO
