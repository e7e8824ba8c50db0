"""The door agent's hardware and cloud behind roles: what the agent asks of each, not how.

Adapters: ``camera.OpenCvCamera`` (RTSP, HTTP, USB, a video file), ``locks`` (a GPIO relay
through gpiozero, an HTTP relay, a command hook), ``inputs.GpioDoorInputs`` (door contact and
exit button through gpiozero). Tests use the real libraries' own doubles (gpiozero's mock pin
factory, a local HTTP relay, a video file) rather than fakes of our own where they exist.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Pixels = npt.NDArray[np.uint8]  # BGR, height × width × 3, as OpenCV delivers it


class HardwareFailed(Exception):
    """A device did not do what it was asked (a relay that errors, a camera that is gone)."""


@dataclass(frozen=True)
class Frame:
    """One camera frame: its pixels and when the agent read it (``time.monotonic()``)."""

    pixels: Pixels
    read_at: float


class Camera(Protocol):
    def read(self) -> Frame | None:
        """The next frame, or None when the stream gave none (dropped, garbage, not yet back):
        the adapter reconnects by itself, with a backoff, and never raises for a bad stream."""
        ...

    def close(self) -> None: ...


class Lock(Protocol):
    def unlock(self, seconds: float) -> None:
        """Release the door for ``seconds``, then lock again by itself (a relay's own timer
        where it has one). Raises ``HardwareFailed`` when the device refused or did not answer."""
        ...

    def lock(self) -> None:
        """Lock now (lockdown, shutdown). Raises ``HardwareFailed``."""
        ...


class DoorEventKind(enum.StrEnum):
    """What the door itself did, apart from decisions: recorded and announced like a decision."""

    HELD_OPEN = "HELD_OPEN"  # open longer than the set time after a legitimate opening
    FORCED_OPEN = "FORCED_OPEN"  # opened with no unlock and no exit request
    CLOSED = "CLOSED"  # closed again after HELD_OPEN or FORCED_OPEN (the alarm's end)
    LOCK_FAILED = "LOCK_FAILED"  # the relay errored: the door did not open (or did not lock)
    CAMERA_LOST = "CAMERA_LOST"  # the stream stopped giving frames
    CAMERA_BACK = "CAMERA_BACK"
    SPOOL_DROPPED = "SPOOL_DROPPED"  # uploads dropped from a full offline spool
    CLOCK_SKEW = "CLOCK_SKEW"  # the box's clock is off AWS's by more than the limit
    CONTACT_FAULT = "CONTACT_FAULT"  # the door contact would not settle (chatter, a cut wire)
    EVENTS_DROPPED = "EVENTS_DROPPED"  # door events lost from the agent's full outbox


@dataclass(frozen=True)
class DoorEvent:
    """One door event: its kind, the door, when (epoch seconds), and a short detail for people."""

    kind: DoorEventKind
    door_id: str
    at: float
    detail: str = ""
    counts: dict[str, int] = field(default_factory=dict)  # e.g. {"dropped": 3}


class DoorEvents(Protocol):
    def report(self, event: DoorEvent) -> None:
        """Record and announce ``event``; never raises (an event that cannot be sent is kept
        and logged by the adapter)."""
        ...
