"""Two door agents in the sandbox, as ``facegate-door`` runs them by real doors: the front door
and the server room, each on a video of someone at its door, with gpiozero's mock pins for the
relay and the door contact.

``door_agents_demo`` shows each door unlocking only for its own decision, a door held open
past its time, and (``remote_unlock``) security buzzing the server room open from the API.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from door.agent import DoorAgent
from door.cli import build, shut
from door.config import parse
from sandbox.door import door_queue
from sandbox.stack import Stack
from sandbox.videos import VIDEO_CACHE, video_from_photos

RELAY_PIN, CONTACT_PIN, EXIT_PIN = 17, 27, 22
UNLOCK_SECONDS, HELD_OPEN_SECONDS = 3.0, 2.0  # the demo's; a site's defaults are 5 s and 30 s


@dataclass
class DemoDoor:
    """One door's agent with its mock pins: read ``relay.state``, drive ``contact``."""

    agent: DoorAgent
    relay: Any
    contact: Any

    @property
    def name(self) -> str:
        return self.agent.parts.door_id


def demo_config(stack: Stack, door: str, camera: str, video: Path, state: Path) -> dict[str, Any]:
    """The config ``facegate-door`` would read at this door (the sandbox's local AWS; any keys)."""
    keys = {"access_key_id": "sandbox", "secret_access_key": "sandbox"}
    return {
        "door_id": door,
        "state_dir": str(state),
        "cloud": {
            "region": stack.session.region_name or "us-east-1",
            "queue_url": door_queue(stack, door),
            "signing_key": stack.settings.signing_key,
            "command_key": os.environ.get("FACEGATE_COMMAND_KEY", ""),
            "bucket": stack.settings.camera_bucket,
            "endpoint_url": stack.aws.endpoint,
            **keys,
        },
        "camera": {"camera_id": camera, "source": str(video), **keys},
        "lock": {"driver": "gpio", "gpio_pin": RELAY_PIN, "unlock_seconds": UNLOCK_SECONDS},
        "inputs": {"contact_pin": CONTACT_PIN, "exit_pin": EXIT_PIN, "held_open_seconds": HELD_OPEN_SECONDS},
    }


@contextmanager
def demo_door(stack: Stack, door: str, camera: str, video: Path, state: Path) -> Iterator[DemoDoor]:
    from gpiozero.pins.mock import MockFactory

    factory = MockFactory()
    agent = build(parse(demo_config(stack, door, camera, video, state)), pin_factory=factory)
    contact = factory.pin(CONTACT_PIN)
    contact.drive_low()  # the door is shut (a normally closed contact pulled up: low is closed)
    try:
        yield DemoDoor(agent, factory.pin(RELAY_PIN), contact)
    finally:
        shut(agent)


def door_agents_demo(stack: Stack, photos: Path, state: Path) -> None:
    """Avery at the front door and at the server room: one unlock, one refusal, then the
    front door held open; each agent reads only its own door's queue."""
    avery = video_from_photos(VIDEO_CACHE, [photos / "obama2.jpg"], seconds_each=3.0, blank_between=1.0)
    print("\nTwo door agents (facegate-door), each on a video of Avery at its door:")
    with (
        demo_door(stack, "front-door", "front-door", avery, state / "front-door") as front,
        demo_door(stack, "server-room", "server-room-cam", avery, state / "server-room") as server_room,
    ):
        for door in (front, server_room):
            photo = _upload_once(door.agent)
            print(f"  {door.name}: face {photo} px seen; the best of the burst uploaded once")
        stack.pump(expected=2)
        for door in (front, server_room):
            door.agent.queue_step(wait_seconds=1)
            relay = "energised (door released)" if door.relay.state else "off (door stays locked)"
            print(f"  {door.name}: {door.agent.last_decision} -> relay {relay}")
        held_open(front)
        recorded = [
            event for event in stack.pump(expected=len(front.agent.parts.events.recent)) if not event.error
        ]
        print(f"  {front.name}: {len(recorded)} door events recorded, security told (facegate doors events)")
        remote_unlock(stack, server_room)


def _upload_once(agent: DoorAgent) -> int:
    for _ in range(400):
        photo = agent.camera_step()
        if photo is not None:
            return photo.face_px
    raise RuntimeError(f"door {agent.parts.door_id}: nobody seen in the video")


def held_open(door: DemoDoor) -> None:
    """Avery opens the released door and it stays open past its time: HELD_OPEN (once the
    release and the held-open time are both over), then CLOSED when it shuts."""
    events = door.agent.parts.events
    door.contact.drive_high()  # the contact opens (normally closed: high is open)
    deadline = time.monotonic() + UNLOCK_SECONDS + HELD_OPEN_SECONDS + 5.0
    while time.monotonic() < deadline and not events.recent:
        door.agent.door_step()
        time.sleep(0.1)
    door.contact.drive_low()
    time.sleep(0.3)  # past the contact's debounce
    door.agent.door_step()
    kinds = ", ".join(event.kind.value for event in events.recent)
    print(f"  {door.name}: opened and left open over {HELD_OPEN_SECONDS:.0f} s -> door events {kinds}")


def remote_unlock(stack: Stack, door: DemoDoor) -> None:
    """Security buzzes the door open from the API: a signed command on the door's own queue."""
    import requests

    from sandbox.api_server import LocalApi

    api = LocalApi(port=0, quiet=True)
    try:
        answer = requests.post(
            f"{api.url}/doors/{door.name}/unlock",
            json={"reason": "courier with a delivery for IT", "seconds": 5},
            headers={"Authorization": f"Bearer {stack.token('security', 'desk-officer')}"},
            timeout=30,
        )
    finally:
        api.stop()
    answer.raise_for_status()
    door.agent.queue_step(wait_seconds=1)
    relay = "energised (door released)" if door.relay.state else "off (door stays locked)"
    print(f"  {door.name}: security's remote unlock (POST /doors/{door.name}/unlock) -> relay {relay}")
