"""Fail closed, lose nothing: every external step of a scan × every kind of fault.

The photo is an enrolled employee's, the case where a wrong answer opens the door. Each
fault is injected under the real boto3 clients, so the SDK's standard retry mode acts on
it; the event goes through the sandbox's pump, which retries and dead-letters as Lambda.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.aws.scans import DynamoScanLog
from chalicelib.core.models import Employee, Reason, Scan
from sandbox.enroll import enroll_employee
from sandbox.handled import HandledEvent
from sandbox.stack import Stack
from tests.faults import FAULTS, TRANSIENT, FaultInjector, injected, table_is

STEPS: dict[str, Callable[[Stack], FaultInjector]] = {}


def step(name: str) -> Callable[[Callable[[Stack, str], FaultInjector]], None]:
    def register(build: Callable[[Stack, str], FaultInjector]) -> None:
        STEPS[name] = build  # type: ignore[assignment]

    return register


@step("S3 read")
def _s3_read(stack: Stack, fault: str) -> FaultInjector:
    return FaultInjector("s3", "GetObject", fault)


@step("engine")
def _engine(stack: Stack, fault: str) -> FaultInjector:
    return FaultInjector("dynamodb", "GetItem", fault, table_is(stack.settings.faces_table))


@step("faces table scan")
def _gallery_load(stack: Stack, fault: str) -> FaultInjector:
    # The container's first scan loads the gallery: a failed load must not become an empty
    # gallery (every face UNKNOWN until the next enrollment) but this scan's ERROR.
    return FaultInjector("dynamodb", "Scan", fault, table_is(stack.settings.faces_table))


@step("access version read")
def _access_version(stack: Stack, fault: str) -> FaultInjector:
    # Every scan of a recognised employee reads the policy's version token: a failed read is
    # this scan's ERROR (ACCESS_FAILED), never the built-in rule or a cached policy.
    return FaultInjector("dynamodb", "GetItem", fault, table_is(stack.settings.access_table))


@step("access policy load")
def _access_load(stack: Stack, fault: str) -> FaultInjector:
    # A container's first scan loads the whole policy: a failed load is not cached as an
    # empty (or the never-configured) policy.
    return FaultInjector("dynamodb", "Scan", fault, table_is(stack.settings.access_table))


@step("scan log write")
def _record(stack: Stack, fault: str) -> FaultInjector:
    # The matrix's photo is a match: its record is written in one transaction with the
    # check that the employee is not being erased.
    return FaultInjector("dynamodb", "TransactWriteItems", fault, table_is(stack.settings.scans_table))


@step("SNS publish")
def _publish(stack: Stack, fault: str) -> FaultInjector:
    return FaultInjector("sns", "Publish", fault)


@step("KMS sign")
def _sign(stack: Stack, fault: str) -> FaultInjector:
    return FaultInjector("kms", "GenerateMac", fault)


@step("processed copy")
def _processed(stack: Stack, fault: str) -> FaultInjector:
    return FaultInjector("s3", "PutObject", fault)


ACCESS_STEPS = ("access version read", "access policy load")


def scan_of(stack: Stack) -> Scan | None:
    items = stack.session.client("dynamodb").scan(TableName=stack.settings.scans_table)["Items"]
    return (
        DynamoScanLog(wiring.table(stack.settings.scans_table)).get(items[0]["scan_id"]["S"])
        if items
        else None
    )


@pytest.fixture
def enrolled(stack: Stack, photos: Path) -> Stack:
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    return stack


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("where", list(STEPS))
def test_a_fault_never_opens_the_door_and_nothing_is_lost(
    enrolled: Stack, photos: Path, where: str, fault: str
) -> None:
    stack = enrolled
    injector = STEPS[where](stack, fault)  # type: ignore[call-arg]
    stack.upload("front-door", "avery.jpg", (photos / "obama2.jpg").read_bytes())
    with injected(injector):
        [handled] = stack.pump(expected=1)
    notices = stack.notifications()
    scan = scan_of(stack)
    outcome = _outcome(where, fault, handled, scan, notices, stack)

    # The door: no AUTHORIZED announcement unless nothing about the decision failed.
    opened = [n for n in notices if n["attributes"]["status"] == "AUTHORIZED"]
    if where == "processed copy":
        assert outcome == "recorded" and len(opened) == 1  # a convenience copy failed, not the decision
    else:
        assert opened == [], (where, fault, notices)
    # Nothing lost: a record, or the event in the dead-letter queue.
    assert outcome in ("recorded", "dead-lettered")
    # Retries: transient faults are retried by the SDK, permanent ones are not.
    per_call = injector.attempts / max(1, handled.attempts)
    if fault in TRANSIENT:
        assert per_call >= 3, (where, fault, injector.attempts)
    elif fault == "access denied":
        assert injector.attempts <= handled.attempts * 2, (where, fault, injector.attempts)


def _outcome(
    where: str, fault: str, handled: HandledEvent, scan: Scan | None, notices: list[Any], stack: Stack
) -> str:
    if where == "scan log write":
        assert scan is None and handled.dead_lettered and handled.attempts == 3
        [dead] = stack.dead_letters()
        assert dead["requestPayload"]["Records"][0]["s3"]["object"]["key"].endswith("avery.jpg")
        assert dead["responsePayload"]["errorType"] == "ScanNotRecorded"
        # Security heard of it once, not once per delivery (the marker under alerts/).
        assert [n["attributes"]["status"] for n in notices] == ["ERROR"]
        return "dead-lettered"
    assert scan is not None, (where, fault)
    if where in ("S3 read", "engine", "faces table scan", *ACCESS_STEPS):
        expected = "REJECTED" if (where, fault) == ("S3 read", "malformed response") else "ERROR"
        assert scan.status.value == expected, (where, fault, scan.decision.reason)
        assert [n["attributes"]["status"] for n in notices] == [expected]
    if where in ACCESS_STEPS:
        assert scan.decision.reason_code is Reason.ACCESS_FAILED, (where, fault)
        assert scan.decision.employee_id == "EMP001"  # recognised, then kept out
    if where in ("SNS publish", "KMS sign"):  # an AUTHORIZED that cannot be signed is not sent
        assert scan.status.value == "AUTHORIZED" and scan.notification == "FAILED"
        assert notices == [] and handled.error is None  # a late AUTHORIZED is never sent
    return "recorded"


def test_faces_table_scan_page_unreadable(enrolled: Stack, photos: Path) -> None:
    """An unreadable gallery page: that scan is a recorded ERROR, the next one is decided
    right by the same container (the failed load was not cached as an empty gallery)."""
    stack = enrolled
    faces_scan = FaultInjector(
        "dynamodb", "Scan", "malformed response", table_is(stack.settings.faces_table), times=1
    )
    with injected(faces_scan):  # one container (engine, cached gallery) throughout
        stack.upload("front-door", "first.jpg", (photos / "obama2.jpg").read_bytes())
        [first] = stack.pump(expected=1)
        stack.upload("front-door", "second.jpg", (photos / "obama2.jpg").read_bytes())
        [second] = stack.pump(expected=1)
    assert faces_scan.attempts == 1 and first.error is None and second.error is None
    scans = {scan.object_key.rsplit("/", 1)[1]: scan for scan in all_scans(stack)}
    failed, recovered = scans["first.jpg"], scans["second.jpg"]
    decided = [(scan.status.value, scan.decision.reason_code) for scan in (failed, recovered)]
    assert decided == [("ERROR", Reason.ENGINE_FAILED), ("AUTHORIZED", None)]
    assert "MalformedResponse" in (failed.decision.reason or "")
    assert recovered.decision.employee_id == "EMP001"
    assert [n["attributes"]["status"] for n in stack.notifications()] == ["ERROR", "AUTHORIZED"]


def all_scans(stack: Stack) -> list[Scan]:
    log = DynamoScanLog(wiring.table(stack.settings.scans_table))
    items = stack.session.client("dynamodb").scan(TableName=stack.settings.scans_table)["Items"]
    return [scan for item in items if (scan := log.get(item["scan_id"]["S"])) is not None]


def test_a_failed_alert_is_published_by_the_retry(stack: Stack, photos: Path) -> None:
    stack.upload("front-door", "hall.png", (photos / "coffee.png").read_bytes())
    with injected(FaultInjector("sns", "Publish", "access denied", times=1)):
        [handled] = stack.pump(expected=1)
    assert handled.attempts == 2 and handled.error is None
    [notice] = stack.notifications()
    assert notice["attributes"]["status"] == "NO_FACE"
    scan = scan_of(stack)
    assert scan is not None and scan.notification == "SENT"
