"""The door agent under a broken door and a hostile network: a relay that errors, a lockdown, a
queue that is away, a full spool, a skewed clock, a camera that goes dark. Each gets a log line
and a recorded door event, and none opens the door.

Real parts where they exist (gpiozero's mock pins, the trigger on real frames, the uploader on
moto's S3, the decision and command checks on signed messages); fakes for the queue and the
camera, whose adapters have their own tests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from gpiozero.pins.mock import MockFactory
from moto import mock_aws

from chalicelib.access.commands import claims_for, message_body
from door.agent import DoorAgent, Parts
from door.cloud import S3DoorEvents
from door.command_lock import CommandLock
from door.commands import CommandCheck
from door.controller import DoorController
from door.locks import GpioRelayLock
from door.ports import DoorEventKind, Frame
from door.spool import Spool
from door.trigger import FaceDetector, FaceTrigger
from door.uploader import PhotoUploader
from door.used_messages import UsedMessages
from door.watch import DoorWatch, WatchSettings
from sandbox.videos import letterbox, read_photo
from tests.door.messages import message, scan
from tests.fakes import InMemorySigner

BUCKET, DOOR = "camera-bucket", "front-door"


class InMemoryDoorQueue:
    """The door's queue as the agent reads it: bodies put here come back once, in order."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.problem = ""
        self.away = False

    def receive(self, wait_seconds: int) -> Iterator[str]:
        if self.away:
            self.problem = "queue unreachable: EndpointConnectionError"
            return
        self.problem = ""
        while self.bodies:
            yield self.bodies.pop(0)


@dataclass
class ScriptedCamera:
    """Frames as scripted: a None is a frame the stream did not give; ``lost_since`` as set."""

    frames: list[Any] = field(default_factory=list)
    lost_since: float | None = None

    def read(self) -> Frame | None:
        pixels = self.frames.pop(0) if self.frames else None
        return None if pixels is None else Frame(pixels, time.monotonic())

    def close(self) -> None:
        pass


@dataclass
class Door:
    agent: DoorAgent
    queue: InMemoryDoorQueue
    relay: Any
    decisions_key: InMemorySigner
    commands_key: InMemorySigner
    camera: ScriptedCamera
    s3: Any

    def decision(self, **changes: Any) -> None:
        captured = datetime.now(UTC) - timedelta(seconds=1)
        self.queue.bodies.append(message(scan(captured=captured, **changes), self.decisions_key))

    def command(self, action: str, seconds: int = 5, door: str = DOOR, ago: float = 0.0) -> None:
        issued = datetime.now(UTC) - timedelta(seconds=ago)
        claims = claims_for(door, action, seconds, "desk-officer", issued, "alias/commands")
        self.queue.bodies.append(message_body(claims, self.commands_key))

    def events(self) -> list[DoorEventKind]:
        return [event.kind for event in self.agent.parts.events.recent]


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client(
            "s3", region_name="us-east-1", endpoint_url="https://s3.us-east-1.amazonaws.com"
        )
        client.create_bucket(Bucket=BUCKET)
        yield client


def make_door(
    tmp_path: Path, s3: Any, detector: FaceDetector, lock: Any = None, spool_bytes: int = 10_000_000
) -> Door:
    decisions_key, commands_key = InMemorySigner(secret=b"decisions"), InMemorySigner(secret=b"commands")
    queue, camera, relay = InMemoryDoorQueue(), ScriptedCamera(), None
    if lock is None:
        factory = MockFactory()
        lock, relay = GpioRelayLock(17, pin_factory=factory), factory.pin(17)
    memory = UsedMessages(tmp_path / "used-messages")
    parts = Parts(
        door_id=DOOR,
        camera_id=DOOR,
        camera=camera,
        trigger=FaceTrigger(detector, burst_frames=2, cooldown_seconds=0.0),
        uploader=PhotoUploader(s3, BUCKET, DOOR, Spool(tmp_path / "spool", max_bytes=spool_bytes)),
        lock=lock,
        unlock_seconds=5.0,
        watch=DoorWatch(DOOR, WatchSettings(held_open_seconds=30), now=time.monotonic()),
        decisions=None,
        commands=CommandCheck(commands_key, DOOR, memory),
        queue=queue,  # type: ignore[arg-type]
        events=S3DoorEvents(s3, BUCKET, DOOR),
        heartbeat=None,
        state_dir=tmp_path,
    )
    agent = DoorAgent(parts)
    parts.decisions = DoorController(decisions_key, DOOR, agent.unlock_for, memory=memory)
    return Door(agent, queue, relay, decisions_key, commands_key, camera, s3)


def test_a_relay_that_errors_keeps_the_door_shut_and_is_a_door_event(
    tmp_path: Path, s3: Any, detector: FaceDetector
) -> None:
    door = make_door(tmp_path, s3, detector, lock=CommandLock(["false"], ["true"]))
    door.decision()
    door.agent.queue_step()
    assert door.events() == [DoorEventKind.LOCK_FAILED]
    # The watch knows the door was not released: an opening now is forced.
    watch, now = door.agent.parts.watch, time.monotonic()
    assert watch.door_changed(now, True) == []  # not settled yet (debounce)
    assert [event.kind for event in watch.tick(now + 0.5)] == [DoorEventKind.FORCED_OPEN]


def test_a_lockdown_refuses_decisions_and_remote_unlocks_until_released_and_survives_a_restart(
    tmp_path: Path, s3: Any, detector: FaceDetector
) -> None:
    door = make_door(tmp_path, s3, detector)
    door.command("lockdown")
    door.agent.queue_step()
    assert door.agent.locked_down and door.agent.status()["locked_down"]
    door.decision(scan_id="b" * 32)
    door.command("unlock")
    door.agent.queue_step()
    assert not door.relay.state
    restarted = make_door(tmp_path, s3, detector)  # the same state folder
    restarted.decision(scan_id="c" * 32)
    restarted.agent.queue_step()
    assert restarted.agent.locked_down and not restarted.relay.state
    restarted.command("release")
    restarted.decision(scan_id="d" * 32)
    restarted.agent.queue_step()
    assert not restarted.agent.locked_down and restarted.relay.state


def test_a_remote_unlock_opens_once_and_a_replay_or_another_doors_command_does_not(
    tmp_path: Path, s3: Any, detector: FaceDetector
) -> None:
    door = make_door(tmp_path, s3, detector)
    door.command("unlock", seconds=3)
    body = door.queue.bodies[-1]
    door.agent.queue_step()
    assert door.relay.state
    door.agent.parts.lock.lock()
    door.queue.bodies += [body]  # replayed
    door.command("unlock", door="server-room")  # genuine, for another door
    claims = claims_for(DOOR, "unlock", 5, "desk-officer", datetime.now(UTC), "alias/commands")
    door.queue.bodies.append(message_body(claims, door.decisions_key))  # the decisions' key: forged
    door.agent.queue_step()
    assert not door.relay.state


def test_a_queue_that_is_away_keeps_the_door_locked_and_says_so(
    tmp_path: Path, s3: Any, detector: FaceDetector, caplog: pytest.LogCaptureFixture
) -> None:
    door = make_door(tmp_path, s3, detector)
    door.queue.away = True
    door.decision()
    assert door.agent.queue_step() == 0
    assert "queue unreachable: EndpointConnectionError: door stays locked" in caplog.text
    door.agent.door_step()
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["cloud"] == "queue unreachable: EndpointConnectionError" and not door.relay.state


def unreachable_s3() -> Any:
    """An S3 client for a cloud that is away: nothing listens on port 9."""
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="camera",
        aws_secret_access_key="camera",
        config=Config(connect_timeout=0.5, retries={"total_max_attempts": 1}),
    )


def person(photos: Path) -> Any:
    return letterbox(read_photo(photos / "obama2.jpg"), (1280, 720))


def nobody() -> Any:
    import numpy as np

    return np.full((720, 1280, 3), 128, np.uint8)


def test_a_photo_the_cloud_cannot_take_is_spooled_and_a_full_spool_is_a_door_event(
    tmp_path: Path, detector: FaceDetector, photos: Path
) -> None:
    away = unreachable_s3()
    door = make_door(tmp_path, away, detector, spool_bytes=150_000)
    frames = [person(photos)] * 2
    for _ in range(3):  # three people; the spool holds one or two of their photos
        door.camera.frames = list(frames)
        while door.camera.frames:
            door.agent.camera_step()
        door.camera.frames = [nobody()] * 2  # they left: the next person is a new presence
        while door.camera.frames:
            door.agent.camera_step()
    assert door.agent.parts.uploader.spooled_count >= 1
    assert DoorEventKind.SPOOL_DROPPED in door.events()
    assert "photo spooled" in door.agent.cloud_problem and not door.relay.state


def test_a_skewed_clock_is_one_door_event(
    tmp_path: Path, s3: Any, detector: FaceDetector, photos: Path
) -> None:
    door = make_door(tmp_path, s3, detector)
    uploader = door.agent.parts.uploader
    uploader._clock = lambda: time.time() + 30  # the box is 30 s ahead of AWS's Date

    def dated(parsed: dict[str, Any], **_: Any) -> None:  # moto sends no Date; S3 always does
        from email.utils import formatdate

        parsed["ResponseMetadata"]["HTTPHeaders"]["date"] = formatdate(time.time(), usegmt=True)

    s3.meta.events.register("after-call.s3.PutObject", dated)
    for _ in range(2):
        door.camera.frames = [person(photos)] * 2
        while door.camera.frames:
            door.agent.camera_step()
        door.agent.parts.trigger.decided("UNKNOWN", time.monotonic())
    assert door.events() == [DoorEventKind.CLOCK_SKEW]  # once, not once per upload


def test_a_camera_that_goes_dark_and_returns_is_two_door_events(
    tmp_path: Path, s3: Any, detector: FaceDetector
) -> None:
    door = make_door(tmp_path, s3, detector)
    door.camera.lost_since = time.monotonic()
    door.agent.camera_step()
    door.agent.camera_step()
    door.camera.lost_since = None
    door.agent.camera_step()
    assert door.events() == [DoorEventKind.CAMERA_LOST, DoorEventKind.CAMERA_BACK]
    door.agent.door_step()  # sent to the bucket, where the cloud records them
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="door-events/")["Contents"]]
    assert len(keys) == 2 and all(key.startswith(f"door-events/{DOOR}/") for key in keys)


def test_events_lost_while_the_cloud_was_away_are_counted_and_reported_once_it_is_back(
    tmp_path: Path, s3: Any, detector: FaceDetector
) -> None:
    from door import cloud

    door = make_door(tmp_path, s3, detector)
    events = door.agent.parts.events
    s3.delete_bucket(Bucket=BUCKET)  # the bucket is away: every put fails
    for _ in range(cloud.OUTBOX_LIMIT + 7):
        door.agent._event(DoorEventKind.FORCED_OPEN, "opened without an unlock")
    assert not events.flush() and events.dropped == 7
    assert door.agent.status()["events_dropped"] == 7
    s3.create_bucket(Bucket=BUCKET)
    assert events.flush()
    kept = s3.list_objects_v2(Bucket=BUCKET, Prefix="door-events/", MaxKeys=2000)["KeyCount"]
    assert kept == cloud.OUTBOX_LIMIT + 1  # the newest, and one EVENTS_DROPPED saying 7 were lost
    assert [event.kind for event in events.recent][-1] is DoorEventKind.EVENTS_DROPPED
    assert events.recent[-1].counts == {"dropped": 7}
    assert events.flush() and events.recent[-1].kind is DoorEventKind.EVENTS_DROPPED  # said once


def test_a_photo_the_disk_refuses_is_counted_as_lost(
    tmp_path: Path, detector: FaceDetector, photos: Path
) -> None:
    away = unreachable_s3()
    door = make_door(tmp_path, away, detector)
    spool_folder = tmp_path / "spool"
    for leftover in spool_folder.iterdir():
        leftover.unlink()
    spool_folder.rmdir()
    spool_folder.write_text("not a folder any more: the disk refuses every write there")
    door.camera.frames = [person(photos)] * 2
    while door.camera.frames:
        door.agent.camera_step()
    assert door.agent.parts.uploader.spool_dropped == 1
    assert DoorEventKind.SPOOL_DROPPED in door.events()


def test_a_release_signed_before_a_lockdown_but_arriving_after_it_is_ignored(
    tmp_path: Path, s3: Any, detector: FaceDetector
) -> None:
    # Two guards act at once: the API stored the lockdown last, so it signed it last; the queue
    # delivers the release after it all the same.
    door = make_door(tmp_path, s3, detector)
    door.command("lockdown", ago=2)
    door.command("release", ago=10)
    door.agent.queue_step()
    assert door.agent.locked_down
    door.decision(scan_id="e" * 32)
    door.agent.queue_step()
    assert not door.relay.state
    door.command("release")  # a later release does end it
    door.agent.queue_step()
    assert not door.agent.locked_down


def test_an_unreadable_lockdown_state_keeps_the_door_locked_down(
    tmp_path: Path, s3: Any, detector: FaceDetector
) -> None:
    (tmp_path / "lockdown.json").write_text("{not json")
    door = make_door(tmp_path, s3, detector)
    door.decision()
    door.agent.queue_step()
    assert door.agent.locked_down and not door.relay.state
