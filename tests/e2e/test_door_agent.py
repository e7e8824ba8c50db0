"""The door agent end to end in the sandbox: a video at the door → the face trigger → one
upload with the camera's key → the real pipeline → the door's own queue → the relay.

The relay is gpiozero's own mock pin (the library's test double); the agent is built from a
config by ``door.cli.build``, as ``facegate-door`` builds it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from chalicelib.core.models import Employee
from door.agent import DoorAgent
from door.cli import build, shut
from door.config import parse
from sandbox.door import door_queue
from sandbox.enroll import enroll_employee
from sandbox.stack import LocalAws, Stack
from sandbox.videos import VIDEO_CACHE, video_from_photos

RELAY_PIN = 17


def agent_config(stack: Stack, aws: LocalAws, door: str, video: Path, state: Path) -> dict[str, Any]:
    return {
        "door_id": door,
        "state_dir": str(state),
        "cloud": {
            "region": "us-east-1",
            "queue_url": door_queue(stack, door),
            "signing_key": stack.settings.signing_key,
            "access_key_id": "door-key",
            "secret_access_key": "door-secret",
            "bucket": stack.settings.camera_bucket,
            "endpoint_url": aws.endpoint,
        },
        "camera": {
            "camera_id": door,
            "source": str(video),
            "access_key_id": "camera-key",
            "secret_access_key": "camera-secret",
        },
        "lock": {"driver": "gpio", "gpio_pin": RELAY_PIN, "unlock_seconds": 5.0},
    }


@pytest.fixture
def front_door(
    stack: Stack, local_aws: LocalAws, photos: Path, tmp_path: Path
) -> Iterator[tuple[DoorAgent, Any]]:
    enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
    video = video_from_photos(VIDEO_CACHE, [photos / "obama2.jpg"], seconds_each=3.0, blank_between=1.0)
    factory = MockFactory()
    agent = build(parse(agent_config(stack, local_aws, "front-door", video, tmp_path)), pin_factory=factory)
    yield agent, factory.pin(RELAY_PIN)
    shut(agent)


def upload_once(agent: DoorAgent, frames: int = 200) -> None:
    for _ in range(frames):
        if agent.camera_step() is not None:
            return
    raise AssertionError("the trigger chose no frame")


def test_a_person_at_the_door_is_one_upload_and_their_decision_energises_the_relay(
    stack: Stack, front_door: tuple[DoorAgent, Any]
) -> None:
    agent, relay = front_door
    upload_once(agent)
    for _ in range(60):  # the rest of the video: the same person, no second upload
        agent.camera_step()
    listed = stack.s3.list_objects_v2(Bucket=stack.settings.camera_bucket, Prefix="incoming/front-door/")
    assert [item["Key"].count("/") for item in listed.get("Contents", [])] == [2]
    assert [event.error for event in stack.pump(expected=1)] == [None]
    assert not relay.state
    assert agent.queue_step(wait_seconds=1) == 1
    assert relay.state  # energised: a fail-secure strike released
    [trace] = agent.parts.traces
    assert trace.status == "AUTHORIZED"
    assert trace.burst_started <= trace.frame_read <= trace.upload_started <= trace.upload_done
    assert trace.upload_done <= trace.decided <= trace.relay
    agent.door_step()
    status = json.loads((agent.parts.state_dir / "status.json").read_text())
    assert status["cloud"] == "reachable" and status["last_decision"] == "AUTHORIZED at front-door"


def test_a_replayed_decision_does_not_open_the_door_after_a_restart(
    stack: Stack, local_aws: LocalAws, front_door: tuple[DoorAgent, Any], tmp_path: Path
) -> None:
    agent, relay = front_door
    upload_once(agent)
    stack.pump(expected=1)
    [genuine] = [n["body"] for n in stack.notifications() if n["attributes"]["status"] == "AUTHORIZED"]
    agent.queue_step(wait_seconds=1)
    assert relay.state
    shut(agent)
    assert not relay.state  # locked on shutdown
    factory = MockFactory()  # a new process: the same state folder, a fresh relay
    config = agent_config(stack, local_aws, "front-door", Path("/nonexistent.avi"), tmp_path)
    restarted = build(parse(config), pin_factory=factory)
    try:
        from sandbox.door import publish_raw

        publish_raw(stack, genuine)  # someone replays the genuine decision within its minute
        assert restarted.queue_step(wait_seconds=1) == 1
        assert not factory.pin(RELAY_PIN).state
    finally:
        shut(restarted)
