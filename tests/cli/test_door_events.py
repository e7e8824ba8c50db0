"""Door events end to end: a door agent reports (held open, forced open, …) into its folder of
the bucket; the door-event function records it once, tells security on the decisions topic (no
door's queue takes it), and the API, the CLI and the day's report show it."""

from __future__ import annotations

import json
import time
from pathlib import Path

from door.cloud import S3DoorEvents
from door.ports import DoorEvent, DoorEventKind
from sandbox.door import run_door
from sandbox.resources import SANDBOX_DOORS
from sandbox.stack import Stack
from tests.cli.conftest import RunCli, ServedSandbox


def report(stack: Stack, door: str, kind: DoorEventKind, detail: str, **counts: int) -> None:
    agent = S3DoorEvents(stack.s3, stack.settings.camera_bucket, door)  # as the door agent sends them
    agent.report(DoorEvent(kind, door, time.time(), detail, counts))
    assert agent.flush()


def test_a_door_event_is_recorded_announced_to_security_and_listed(
    logged_in: ServedSandbox, run_cli: RunCli
) -> None:
    stack = logged_in.stack
    report(stack, "front-door", DoorEventKind.FORCED_OPEN, "opened without an unlock or an exit")
    report(stack, "server-room", DoorEventKind.SPOOL_DROPPED, "3 spooled photos dropped", dropped=3)
    assert [event.error for event in stack.pump(expected=2)] == [None, None]

    alerts = sorted(stack.notifications(), key=lambda note: note["subject"])
    assert [note["subject"] for note in alerts] == [
        "Door event: FORCED_OPEN at front-door",
        "Door event: SPOOL_DROPPED at server-room",
    ]
    assert alerts[0]["attributes"] == {"status": "FORCED_OPEN", "kind": "door_event", "door": "front-door"}
    for door in SANDBOX_DOORS:  # no door's queue takes a door event (they filter on door_id)
        assert run_door(stack, door)[1]() == []

    code, out, err = run_cli("--json", "doors", "events")
    assert code == 0, err
    listed = json.loads(out)["items"]
    assert [(e["door_id"], e["kind"], e["counts"]) for e in listed] == [
        ("front-door", "FORCED_OPEN", {}),
        ("server-room", "SPOOL_DROPPED", {"dropped": 3}),
    ]
    code, out, err = run_cli("doors", "events", "server-room")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].split() == ["AT", "DOOR_ID", "KIND", "DETAIL", "COUNTS"]
    assert len(lines) == 2 and "SPOOL_DROPPED" in lines[1] and "dropped=3" in lines[1]


def test_what_is_not_an_agents_event_is_not_recorded(stack: Stack, tmp_path: Path) -> None:
    bucket = stack.settings.camera_bucket
    stack.s3.put_object(Bucket=bucket, Key="door-events/front-door/note.txt", Body=b"{}")
    forged = {"kind": "CLOSED", "door_id": "server-room", "at": time.time(), "detail": ""}
    key = "door-events/front-door/20261207T180000.000Z-0123456789abcdef.json"  # another door's name inside
    stack.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(forged).encode())
    assert [event.error for event in stack.pump(expected=2)] == [None, None]
    assert stack.notifications() == []
    items = stack.session.client("dynamodb").scan(TableName=stack.settings.audit_table)["Items"]
    assert [item for item in items if item["target"]["S"] == "door-events"] == []
