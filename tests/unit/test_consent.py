"""Biometric consent through the services and the drop folder, on the in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.core.config import ConsentSettings, ImageLimits, Policy, Settings
from chalicelib.core.errors import ConfigError, ConsentMissing, InvalidConsent
from chalicelib.core.keys import enroll_key
from chalicelib.core.models import Employee, SearchResult
from chalicelib.enrollment import consent
from chalicelib.enrollment import employees as enrollment
from chalicelib.enrollment.employees import EnrollmentPorts
from tests.fakes import (
    InMemoryAuditLog,
    InMemoryConsentLedger,
    InMemoryEmployeeDirectory,
    InMemoryScanLog,
    ScriptedEngine,
)
from tests.images import encoded, two_tone
from tests.unit.test_drop_folder import HR, Drop

AT = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
PHOTO = encoded(two_tone(), "PNG")
REQUIRED = ConsentSettings(required=True, notice_version="2026-12")


@pytest.fixture
def ports() -> EnrollmentPorts:
    return EnrollmentPorts(
        directory=InMemoryEmployeeDirectory(Employee("EMP001", "Quinn Zebedee")),
        engine=ScriptedEngine(SearchResult(faces=[], best=None, runner_up=None)),
        audit=InMemoryAuditLog(),
        scans=InMemoryScanLog(),
        consents=InMemoryConsentLedger(),  # nobody has consented
        clock=lambda: AT,
    )


def enroll(ports: EnrollmentPorts, rule: ConsentSettings = REQUIRED) -> str:
    record = enrollment.add_face(
        "EMP001", PHOTO, ports, ImageLimits(), "admin", policy=Policy(), consent=rule
    )
    return record.face_id


def test_no_face_is_stored_without_consent_and_the_refusal_is_audited(ports: EnrollmentPorts) -> None:
    with pytest.raises(ConsentMissing, match="no consent to biometric notice 2026-12"):
        enroll(ports)
    assert ports.engine.faces == {}  # type: ignore[attr-defined]
    [entry] = ports.audit.entries  # type: ignore[attr-defined]
    assert (entry.action, entry.details["reason"]) == ("face.refused", "no_consent")


def test_consent_to_the_notice_in_force_lets_the_face_in(ports: EnrollmentPorts) -> None:
    record = consent.give_consent("EMP001", "paper", "F-17", ports, REQUIRED, "hr-admin")
    assert (record.notice_version, record.given_at, record.recorded_by) == (
        "2026-12",
        "2026-03-10T09:30:00.000Z",
        "hr-admin",
    )
    assert enroll(ports)
    shown = consent.consent_of("EMP001", ports, REQUIRED)
    assert shown["current"] is True and [r["reference"] for r in shown["history"]] == ["F-17"]


def test_consent_to_an_older_notice_does_not_cover_a_new_face(ports: EnrollmentPorts) -> None:
    consent.give_consent("EMP001", "e-signature", "sig-1", ports, ConsentSettings(True, "2025-06"), "admin")
    with pytest.raises(ConsentMissing):
        enroll(ports)  # the notice in force is 2026-12
    assert consent.consent_of("EMP001", ports, REQUIRED)["current"] is False
    consent.give_consent("EMP001", "e-signature", "sig-2", ports, REQUIRED, "admin")
    assert enroll(ports)


def test_withdrawn_consent_covers_nothing_and_says_when_and_by_whom(ports: EnrollmentPorts) -> None:
    consent.give_consent("EMP001", "paper", "F-1", ports, REQUIRED, "admin")
    assert consent.withdraw_consent("EMP001", ports, "dpo") == 1
    with pytest.raises(ConsentMissing):
        enroll(ports)
    [record] = ports.consents.history("EMP001")
    assert (record.withdrawn_at, record.withdrawn_by) == ("2026-03-10T09:30:00.000Z", "dpo")


def test_with_consent_not_required_a_face_needs_none(ports: EnrollmentPorts) -> None:
    assert enroll(ports, ConsentSettings(required=False))


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"method": "verbal", "reference": "x"}, "method must be one of"),
        ({"method": "paper"}, "reference must be"),
        ({"method": "paper", "reference": "  "}, "reference must be"),
        ({"method": "paper", "reference": "a\nb"}, "reference must be"),
        ({"method": "paper", "reference": "x" * 201}, "reference must be"),
        ({"method": "paper", "reference": "x", "when": "yesterday"}, "unknown consent field"),
    ],
)
def test_a_consent_needs_a_known_method_and_a_short_printable_reference(
    body: dict[str, object], problem: str
) -> None:
    with pytest.raises(InvalidConsent, match=problem):
        consent.consent_fields(body)


def test_the_export_names_employees_who_exist_and_keeps_the_erased_nameless(ports: EnrollmentPorts) -> None:
    ports.directory.create(Employee("EMP002", "Avery Stone"))
    for employee_id in ("EMP002", "EMP001"):
        consent.give_consent(employee_id, "paper", f"F-{employee_id}", ports, REQUIRED, "admin")
    ports.directory.delete("EMP002")  # erased: the consent stays, the name does not
    first = consent.export_page(1, None, ports)
    rest = consent.export_page(1, first.next_token, ports)
    assert [(row["employee_id"], row["name"]) for row in [*first.items, *rest.items]] == [
        ("EMP001", "Quinn Zebedee"),
        ("EMP002", ""),
    ]
    assert rest.next_token is None


def test_the_settings_read_true_or_false_and_a_notice_version() -> None:
    assert Settings.from_env({}).consent == ConsentSettings(True, "2026-12")  # on unless a stage says off
    read = Settings.from_env({"FACEGATE_CONSENT_REQUIRED": "false", "FACEGATE_CONSENT_NOTICE_VERSION": "v2"})
    assert read.consent == ConsentSettings(False, "v2")
    for bad in ({"FACEGATE_CONSENT_REQUIRED": "on"}, {"FACEGATE_CONSENT_NOTICE_VERSION": "a b"}):
        with pytest.raises(ConfigError):
            Settings.from_env(bad)


def required_drop() -> Drop:
    drop = Drop()
    drop.consents.grant_all = None  # nobody has consented
    return drop


def test_the_drop_folder_refuses_a_photo_without_consent_and_creates_no_one() -> None:
    drop = required_drop()
    outcome = drop.run(drop.put(enroll_key("EMP002", "a.png"), name="Avery Stone"))
    assert not outcome.enrolled and "no consent to biometric notice" in (outcome.reason or "")
    assert "EMP002" not in drop.directory.employees and drop.engine.faces == {}
    assert drop.events() == ["enrollment.refused"]


def test_the_drop_folder_records_the_consent_its_metadata_states() -> None:
    drop = required_drop()
    metadata = {"name": "Avery Stone", "consent-method": "paper", "consent-reference": "HR-42"}
    outcome = drop.run(drop.put_with(enroll_key("EMP002", "a.png"), metadata))
    assert outcome.enrolled
    [record] = drop.consents.history("EMP002")
    assert (record.method, record.reference, record.recorded_by) == ("paper", "HR-42", HR)


def test_the_drop_folder_refuses_a_malformed_consent() -> None:
    drop = required_drop()
    metadata = {"name": "Avery Stone", "consent-method": "shrug", "consent-reference": "HR-42"}
    outcome = drop.run(drop.put_with(enroll_key("EMP002", "a.png"), metadata))
    assert not outcome.enrolled and "method must be one of" in (outcome.reason or "")
    assert drop.consents.records == [] and "EMP002" not in drop.directory.employees
