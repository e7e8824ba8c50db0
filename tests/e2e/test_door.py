"""The door end to end: camera upload → signed SNS decision → door queue → controller → unlock.

moto does not enforce the topic policy, so anyone may publish here: these forgeries are
stopped by the signature alone (the policy's content is checked in tests/infra).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.models import Employee
from door.controller import Unlock
from sandbox.door import publish_forgery, publish_raw, run_door
from sandbox.enroll import enroll_employee
from sandbox.stack import PROJECT_DIR, Stack


def test_an_authorized_upload_unlocks_once_and_forgeries_and_replays_do_not(
    stack: Stack, photos: Path
) -> None:
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    enroll_employee(stack, Employee("EMP002", "Jordan Lee"), [photos / "biden.jpg"])
    unlocks: list[Unlock] = []
    _, read_queue = run_door(stack, {"front-door"}, unlocks.append)
    stack.upload("front-door", "avery.jpg", (photos / "obama2.jpg").read_bytes())
    stack.upload("front-door", "stranger.png", (photos / "astronaut.png").read_bytes())
    assert [event.error for event in stack.pump(expected=2)] == [None, None]
    [verdict] = read_queue()  # the stranger's UNKNOWN is filtered out before the door's queue
    assert verdict.unlocked and [(u.employee_id, u.camera_id) for u in unlocks] == [("EMP001", "front-door")]
    genuine = next(n["body"] for n in stack.notifications() if n["attributes"]["status"] == "AUTHORIZED")

    publish_forgery(stack, "EMP002", "front-door")
    publish_forgery(stack, "EMP002", "front-door", signed=False)
    publish_raw(stack, genuine)  # replayed verbatim by someone who saw it
    tampered = {**genuine, "signature": {**genuine["signature"]}}
    tampered["signature"]["payload"] = tampered["signature"]["payload"].replace("EMP001", "EMP002")
    publish_raw(stack, tampered)
    reasons = sorted(v.reason.split(": ")[-1] for v in read_queue())
    assert len(reasons) == 4
    assert reasons.count("invalid signature") == 2
    assert "unsigned or unreadable message" in reasons
    assert any("replay" in reason for reason in reasons)
    assert len(unlocks) == 1


def test_a_door_ignores_another_doors_camera(stack: Stack, photos: Path) -> None:
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    unlocks: list[Unlock] = []
    _, read_queue = run_door(stack, {"back-door"}, unlocks.append)
    stack.upload("front-door", "avery.jpg", (photos / "obama2.jpg").read_bytes())
    stack.pump(expected=1)
    [verdict] = read_queue()
    assert not verdict.unlocked and "front-door" in verdict.reason and unlocks == []


@pytest.mark.fresh_stack
def test_the_door_stays_shut_when_the_decision_cannot_be_signed(stack: Stack, photos: Path) -> None:
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    # moto ignores a disabled key's state; without its alias GenerateMac fails as KMS would.
    stack.session.client("kms").delete_alias(AliasName=stack.settings.signing_key)
    _, read_queue = run_door(stack, {"front-door"})
    stack.upload("front-door", "avery.jpg", (photos / "obama2.jpg").read_bytes())
    [event] = stack.pump(expected=1)
    assert event.error is None  # an AUTHORIZED that failed to go out is never retried: it would be late
    assert read_queue() == [] and stack.notifications() == []
    [scan] = stack.session.client("dynamodb").scan(TableName=stack.settings.scans_table)["Items"]
    assert scan["status"]["S"] == "AUTHORIZED" and scan["notification"]["S"] == "FAILED"


def test_the_door_command_unlocks_for_the_decision_on_its_queue(stack: Stack, photos: Path) -> None:
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    stack.upload("front-door", "avery.jpg", (photos / "obama2.jpg").read_bytes())
    stack.pump(expected=1)
    publish_forgery(stack, "EMP002", "front-door")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    command = [sys.executable, "-m", "door", "--queue-url", stack.names["door_queue"]]
    command += ["--key", stack.settings.signing_key, "--camera", "front-door", "--once"]
    result = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "door unlocks for EMP001 at front-door\n"
    assert "door stays shut: invalid signature" in result.stderr


def test_the_door_controller_needs_only_what_its_managed_policy_grants(stack: Stack, photos: Path) -> None:
    from tests.infra.test_template import as_list, resource

    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    stack.upload("front-door", "avery.jpg", (photos / "obama2.jpg").read_bytes())
    stack.pump(expected=1)
    calls: set[tuple[str, str]] = set()

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        target = params.get("QueueUrl") if service == "sqs" else params.get("KeyId")
        calls.add((f"{service}:{model.name}", str(target)))

    stack.session.events.register("provide-client-params", record)
    try:
        _, read_queue = run_door(stack, {"front-door"})
        assert [verdict.unlocked for verdict in read_queue()] == [True]
    finally:
        stack.session.events.unregister("provide-client-params", record)
    granted = {
        action: statement["Resource"]
        for statement in resource("DoorControllerPolicy")["PolicyDocument"]["Statement"]
        for action in as_list(statement["Action"])
    }
    targets = {"DoorQueue.Arn": stack.names["door_queue"], "SigningKey.Arn": stack.settings.signing_key}
    assert calls <= {(action, targets[resource_]) for action, resource_ in granted.items()}, calls
    assert {action for action, _ in calls} == {"sqs:ReceiveMessage", "sqs:DeleteMessage", "kms:VerifyMac"}
