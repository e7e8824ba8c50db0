"""The door's decision check on a sandbox door's queue, and a forger to test it with."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime

from door.controller import DoorController, Unlock, Verdict
from door.kms import KmsMacVerifier
from door.queue import drain
from sandbox.stack import Stack


def door_queue(stack: Stack, door_id: str) -> str:
    """The url of ``door_id``'s queue (the sandbox's doors: ``sandbox.resources.SANDBOX_DOORS``)."""
    return stack.names[f"door_queue:{door_id}"]


def run_door(
    stack: Stack, door_id: str, unlock: Callable[[Unlock], None] = lambda _: None
) -> tuple[DoorController, Callable[[], list[Verdict]]]:
    """A controller for ``door_id`` (what the door agent builds) and a call that drains its queue."""
    verifier = KmsMacVerifier(stack.session.client("kms"), stack.settings.signing_key)
    controller = DoorController(verifier, door_id, unlock)
    sqs = stack.session.client("sqs")
    return controller, lambda: drain(sqs, door_queue(stack, door_id), controller)


def publish_forgery(stack: Stack, employee_id: str, door_id: str, *, signed: bool = True) -> None:
    """What any principal allowed to publish could send: a well-formed AUTHORIZED with a made-up MAC."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    claims = {
        "v": "facegate-decision/2",
        "scan_id": os.urandom(16).hex(),
        "status": "AUTHORIZED",
        "camera_id": door_id,
        "door_id": door_id,
        "employee_id": employee_id,
        "captured_at": now,
        "decided_at": now,
        "key_id": stack.settings.signing_key,
    }
    body: dict[str, object] = {**claims, "similarity": 99.0}
    if signed:
        body["signature"] = {
            "algorithm": "HMAC_SHA_256",
            "key_id": stack.settings.signing_key,
            "payload": json.dumps(claims, sort_keys=True, separators=(",", ":")),
            "mac": base64.b64encode(os.urandom(32)).decode(),
        }
    publish_raw(stack, body)


def publish_raw(stack: Stack, body: dict[str, object]) -> None:
    """Publish ``body`` straight to the decisions topic, as an AUTHORIZED for its door."""
    machine = json.dumps(body, sort_keys=True)
    door = str(body.get("door_id") or body.get("camera_id"))
    stack.session.client("sns").publish(
        TopicArn=stack.settings.topic_arn,
        Subject="✅ Authorized",
        Message=json.dumps({"default": "Authorized", "sqs": machine}),
        MessageStructure="json",
        MessageAttributes={
            "status": {"DataType": "String", "StringValue": "AUTHORIZED"},
            "camera_id": {"DataType": "String", "StringValue": str(body.get("camera_id"))},
            "door_id": {"DataType": "String", "StringValue": door},
            "employee_id": {"DataType": "String", "StringValue": str(body.get("employee_id"))},
        },
    )
