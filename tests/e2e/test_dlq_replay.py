"""`facegate dlq replay` in the sandbox: an event dead-letters, the fault goes, the replay records it.

The event dead-letters the fault-matrix way (the scan log's write refused under the real
boto3 client, the pump's Lambda retries exhausted); the CLI reads the real failed-scans
queue and invokes the real handler through Lambda's Invoke API (``sandbox.lambda_invoke``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest

import app
from chalicelib import wiring
from chalicelib.core.keys import PROCESSED_PREFIX
from chalicelib.core.models import Employee, Reason
from sandbox.enroll import enroll_employee
from sandbox.lambda_invoke import LambdaEndpoint
from sandbox.stack import Stack
from tests.dead_letters import (
    destination_record,
    facegate,
    peek,
    queue_depth,
    replayable,
    s3_event,
    send,
    stored_seconds_ago,
)
from tests.e2e.test_fault_matrix import all_scans
from tests.faults import FaultInjector, injected, table_is


@pytest.fixture
def functions(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaEndpoint]:
    state_file = tmp_path / "sandbox.json"
    monkeypatch.setenv("FACEGATE_SANDBOX_STATE", str(state_file))
    with replayable(stack, state_file) as endpoint:
        yield endpoint


def dead_letter(stack: Stack, photo: Path, name: str, write: str = "PutItem") -> None:
    """Upload ``photo`` while the scan log refuses its ``write`` (a match's is a transaction with
    the erasure check, anyone else's a PutItem): three attempts, then the queue."""
    stack.upload("front-door", name, photo.read_bytes())
    refused = FaultInjector("dynamodb", write, "access denied", table_is(stack.settings.scans_table))
    with injected(refused):
        [handled] = stack.pump(expected=1)
    assert handled.dead_lettered and handled.attempts == 3
    # "could not record": once for the scan, not once per attempt (alerts/unrecorded/<scan-id>)
    assert [n["attributes"]["status"] for n in stack.notifications()] == ["ERROR"]


def test_a_dead_lettered_scan_is_replayed_once_the_fault_is_gone(
    stack: Stack, functions: LambdaEndpoint, photos: Path
) -> None:
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    dead_letter(stack, photos / "obama2.jpg", "avery.jpg", write="TransactWriteItems")
    assert all_scans(stack) == []

    code, out, err = facegate("dlq", "replay", "--dry-run")
    assert code == 0, out + err
    [row] = [line for line in out.splitlines() if "avery.jpg" in line]
    assert "facegate-sandbox-on_camera_upload" in row and "ScanNotRecorded" in row and "would replay" in row
    assert "would replay 1 (nothing invoked or deleted)" in out
    # A dry run invokes nothing, records nothing, and leaves the message visible at once.
    assert functions.invocations == [] and all_scans(stack) == [] and stack.notifications() == []
    assert queue_depth(stack) == (1, 0)

    code, out, err = facegate("dlq", "replay")
    assert code == 0, out + err
    assert "replayed 1" in out and functions.invocations == ["on_camera_upload"]
    [scan] = all_scans(stack)
    # The real photo through the real model: the enrolled employee, let in (the replay came
    # seconds after the photo; a replay minutes later is a TOO_LATE error, never an opening).
    assert (scan.object_key, scan.status.value, scan.decision.employee_id) == (
        "incoming/front-door/avery.jpg",
        "AUTHORIZED",
        "EMP001",
    )
    assert [n["attributes"]["status"] for n in stack.notifications()] == ["AUTHORIZED"]
    assert queue_depth(stack) == (0, 0)

    code, out, _ = facegate("dlq", "replay")
    assert (code, out.strip()) == (0, "facegate-sandbox-failed-scans is empty")


def test_a_dead_letter_with_a_forged_fresh_time_for_an_old_photo_never_opens_the_door(
    stack: Stack, functions: LambdaEndpoint, photos: Path
) -> None:
    """Whoever may write to the queue can rewrite eventTime to "just now", not the time S3
    stored the photo: the 60 s rule measures from the older, so the replay is an ERROR."""
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    event = s3_event(stack, "front-door", "stale.jpg", (photos / "obama2.jpg").read_bytes())
    record = destination_record(event)
    fresh = datetime.now(UTC) - timedelta(seconds=3)
    record["requestPayload"]["Records"][0]["eventTime"] = fresh.isoformat(timespec="milliseconds")
    send(stack, record)
    stored_seconds_ago(stack, "incoming/front-door/stale.jpg", 65)

    code, out, err = facegate("dlq", "replay")

    assert code == 0, out + err  # replayed: the function ran and recorded it
    [scan] = all_scans(stack)
    assert (scan.status.value, scan.decision.reason_code) == ("ERROR", Reason.TOO_LATE)
    assert scan.decision.employee_id == "EMP001"  # recognised all the same, on the record
    assert [n["attributes"]["status"] for n in stack.notifications()] == ["ERROR"]


def test_replaying_an_event_that_was_recorded_meanwhile_changes_nothing(
    stack: Stack, functions: LambdaEndpoint, photos: Path
) -> None:
    dead_letter(stack, photos / "biden.jpg", "stranger.jpg")
    [record] = peek(stack)
    app.on_camera_upload(record["requestPayload"], None)  # S3 delivered it again, and this time it worked
    [scan] = all_scans(stack)
    assert scan.status.value == "UNKNOWN"
    assert [n["attributes"]["status"] for n in stack.notifications()] == ["UNKNOWN"]
    before = _stored(stack)

    code, out, err = facegate("dlq", "replay")

    assert code == 0, out + err
    assert "replayed 1" in out and functions.invocations == ["on_camera_upload"]
    assert all_scans(stack) == [scan]  # no second record, the first unchanged
    assert stack.notifications() == []  # no second alert
    assert _stored(stack) == before  # the same processed copy, no new version
    assert queue_depth(stack) == (0, 0)


def test_foreign_functions_and_malformed_bodies_are_kept_and_do_not_stop_the_others(
    stack: Stack, functions: LambdaEndpoint, photos: Path
) -> None:
    dead_letter(stack, photos / "biden.jpg", "stranger.jpg")
    [genuine] = peek(stack)
    event = genuine["requestPayload"]
    foreign = {
        "another of ours": destination_record(event, "erasure_worker"),
        "another stage's": destination_record(event, stage="prod"),
        "someone else's": destination_record(
            event, arn="arn:aws:lambda:us-east-1:210987654321:function:exfiltrate"
        ),
        "another region's": destination_record(
            event, arn="arn:aws:lambda:eu-west-1:123456789012:function:facegate-sandbox-on_camera_upload"
        ),
    }
    refused = [send(stack, record) for record in foreign.values()]
    malformed = [
        send(stack, body)
        for body in (
            "not json {",
            "[" * 100_000,  # deeper than json.loads goes
            {"requestContext": {"functionArn": 7}, "requestPayload": "x"},
            [1, 2],
        )
    ]

    code, out, err = facegate("--json", "dlq", "replay")

    assert code == 1, out + err
    report: dict[str, Any] = json.loads(out)
    outcomes = {row["message_id"]: row["outcome"] for row in report["messages"]}
    assert [outcomes[message][:9] for message in refused] == ["refused: "] * 4
    assert [outcomes[message][:11] for message in malformed] == ["malformed: "] * 4
    assert report["summary"] == {"replayed": 1, "refused": 4, "malformed": 4, "failed": 0}
    # Only the genuine record reached a function; every other message is back in the queue, visible now.
    assert functions.invocations == ["on_camera_upload"]
    assert queue_depth(stack) == (8, 0)
    assert len(all_scans(stack)) == 1


def _stored(stack: Stack) -> list[tuple[str, str, str]]:
    """Every object version under processed/ (key, version, ETag)."""
    found = stack.s3.list_object_versions(Bucket=stack.settings.camera_bucket, Prefix=PROCESSED_PREFIX)
    return sorted((v["Key"], v["VersionId"], v["ETag"]) for v in found.get("Versions", []))


def test_a_dead_lettered_drop_folder_photo_is_enrolled_by_the_replay(
    stack: Stack, functions: LambdaEndpoint, photos: Path
) -> None:
    stack.drop("EMP010", "avery.jpg", (photos / "obama.jpg").read_bytes(), name="Avery Stone")
    with injected(
        FaultInjector("s3", "GetObject", "server error")
    ):  # S3 down: raised, retried, then the queue
        [handled] = stack.pump(expected=1)
    assert handled.dead_lettered
    [record] = peek(stack)
    assert record["requestContext"]["functionArn"].endswith(":function:facegate-sandbox-on_enrollment_upload")

    code, out, err = facegate("dlq", "replay")

    assert code == 0, out + err
    assert functions.invocations == ["on_enrollment_upload"] and queue_depth(stack) == (0, 0)
    ports = wiring.enrollment_ports(stack.settings)
    assert ports.directory.get("EMP010") == Employee("EMP010", "Avery Stone", enrolled_at=ANY)
    assert len(ports.engine.list_faces("EMP010")) == 1
    [notice] = stack.admin_notifications()
    assert notice["attributes"] == {"event": "enrollment.enrolled", "employee_id": "EMP010"}
