"""One door's agent: camera in, photos up, decisions and commands down, the lock and the door watched.

Three loops share one ``DoorAgent``: ``camera_step`` (a frame → the face trigger → an upload),
``queue_step`` (the door's queue → verify → unlock or not; retries told to the trigger) and
``door_step`` (the contact's events, the heartbeat, events sent, the status file). Every path
that cannot be checked keeps the door shut, and the reason is logged and shown in the status.
There is no local allow-list: without the cloud the door stays locked (docs/install-a-door.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from door.cloud import DoorQueue, Heartbeat, S3DoorEvents
from door.commands import CommandCheck, CommandVerdict, message_kind
from door.controller import DoorController, Refused, Unlock
from door.lockdown import LockdownState, write_json_atomically
from door.ports import Camera, DoorEvent, DoorEventKind, HardwareFailed, Lock
from door.trigger import FaceTrigger, Photo
from door.uploader import PhotoUploader
from door.watch import DoorWatch

log = logging.getLogger(__name__)

STATUS_EVERY = 1.0  # seconds between status file writes at most (an SD card wears)


@dataclass
class Trace:
    """One upload's way to the relay, in ``time.monotonic()`` seconds (the bench reads these)."""

    burst_started: float
    frame_read: float
    upload_started: float
    upload_done: float = 0.0
    received: float = 0.0  # the decision came off the door's queue
    decided: float = 0.0  # ... and was verified (MAC by KMS, door, freshness, first use)
    relay: float = 0.0  # the lock was asked to release
    status: str = ""
    key: str = ""  # the photo's object key


@dataclass
class Parts:
    """What the agent drives: built by ``door.cli`` from the config, or by tests and the demo."""

    door_id: str
    camera_id: str
    camera: Camera
    trigger: FaceTrigger
    uploader: PhotoUploader
    lock: Lock
    unlock_seconds: float
    watch: DoorWatch
    decisions: DoorController | None  # None until set by ``attach_decisions``
    commands: CommandCheck | None
    queue: DoorQueue
    events: S3DoorEvents
    heartbeat: Heartbeat | None
    state_dir: Path
    heartbeat_seconds: float = 60.0
    traces: list[Trace] = field(default_factory=list)


class DoorAgent:
    def __init__(self, parts: Parts, clock: Callable[[], float] = time.monotonic) -> None:
        self.parts = parts
        self._clock = clock
        self._lock = threading.Lock()  # the lock, the watch and the status: one thread at a time
        self._waiting: Trace | None = None  # the upload whose decision is awaited
        self._camera_was_lost = False
        self._skew_alarmed = False
        self._spool_dropped = 0
        self._next_beat = 0.0
        self._status_written = 0.0
        self._last_status: dict[str, Any] = {}
        self.cloud_problem = ""
        self.last_decision = ""
        self.inputs: object | None = None  # the contact and exit button (door.inputs), when wired
        self._lockdown = LockdownState(parts.state_dir)

    # The camera loop -------------------------------------------------------------------
    def camera_step(self) -> Photo | None:
        """Read one frame; upload the trigger's choice, if it made one."""
        p = self.parts
        frame = p.camera.read()
        self._camera_health()
        if frame is None:
            return None
        photo = p.trigger.offer(frame)
        if photo is None:
            return None
        now = self._clock()
        trace = Trace(photo.burst_started or photo.read_at, photo.read_at, now)
        taken_at = time.time() - (now - photo.read_at)
        result = p.uploader.upload(photo.jpeg, taken_at)
        trace.upload_done = self._clock()
        if result.uploaded:
            trace.key = result.key
            self._waiting = trace
            p.traces.append(trace)
            log.info("photo up: %s (face %d px, attempt %d)", result.key, photo.face_px, photo.attempt)
        else:
            self.cloud_problem = f"photo spooled: {result.error}; door stays locked"
            p.trigger.decided("ERROR", self._clock())  # nothing will decide it: cool down
        self._upload_health()
        return photo

    def _camera_health(self) -> None:
        lost = getattr(self.parts.camera, "lost_since", None) is not None
        if lost != self._camera_was_lost:
            self._camera_was_lost = lost
            kind = DoorEventKind.CAMERA_LOST if lost else DoorEventKind.CAMERA_BACK
            self._event(kind, f"camera {self.parts.camera_id}")

    def _upload_health(self) -> None:
        uploader = self.parts.uploader
        if uploader.skew_alarm != self._skew_alarmed:
            self._skew_alarmed = uploader.skew_alarm
            if uploader.skew_alarm:
                skew = uploader.skew_seconds or 0.0
                self._event(DoorEventKind.CLOCK_SKEW, f"the box's clock is {skew:+.1f} s off AWS's")
        dropped = uploader.spool_dropped
        if dropped > self._spool_dropped:
            count = dropped - self._spool_dropped
            self._spool_dropped = dropped
            self._event(DoorEventKind.SPOOL_DROPPED, f"{count} spooled photos dropped", {"dropped": count})

    # The queue loop --------------------------------------------------------------------
    def queue_step(self, wait_seconds: int = 20) -> int:
        """One receive from the door's queue; each message verified and acted on. The count."""
        handled = 0
        for body in self.parts.queue.receive(wait_seconds):
            handled += 1
            if self._waiting is not None and not self._waiting.received:
                self._waiting.received = self._clock()
            try:
                if message_kind(body) == "command":
                    self._command(body)
                else:
                    self._decision(body)
            except Exception:  # one bad message must not cost the rest of the batch
                log.exception("a queue message could not be handled: door stays locked")
        self.cloud_problem = self.parts.queue.problem
        if self.cloud_problem:
            log.warning("%s: door stays locked", self.cloud_problem)
        return handled

    def _queue_loop_step(self, stop: threading.Event) -> int:
        handled = self.queue_step(wait_seconds=5)
        if self.cloud_problem:
            stop.wait(2.0)  # the queue is away: ask again soon, not in a tight loop
        return handled

    def _decision(self, body: str) -> None:
        p = self.parts
        if p.decisions is None:
            return
        verdict = p.decisions.handle(body)
        if not verdict.status:
            return  # forged, replayed, stale, another door's: refused and logged by the check
        self.last_decision = f"{verdict.status} at {verdict.camera_id}"
        if verdict.camera_id == p.camera_id:
            now = self._clock()
            if self._waiting is not None:
                self._waiting.decided = self._waiting.decided or now
                self._waiting.status = verdict.status
                self._waiting = None
            p.trigger.decided(verdict.status, now)

    def _command(self, body: str) -> None:
        p = self.parts
        if p.commands is None:
            log.warning("remote command refused: no command key configured")
            return
        verdict = p.commands.handle(body)
        if not verdict.accepted:
            return
        log.info("remote %s by %s (command %s)", verdict.action, verdict.actor, verdict.command_id)
        if verdict.action in ("lockdown", "release"):
            self._set_lockdown(verdict.action == "lockdown", verdict)
        elif verdict.action == "unlock":
            try:
                self.release(float(verdict.seconds), f"remote unlock by {verdict.actor}")
            except Refused as refusal:
                log.warning("remote unlock refused: %s", refusal)

    # The lock ---------------------------------------------------------------------------
    def unlock_for(self, unlock: Unlock) -> None:
        """The decision check's unlock action (the decision is verified, fresh and first
        used by now): raises ``Refused`` when the door cannot open."""
        waiting = self._waiting if unlock.camera_id == self.parts.camera_id else None
        if waiting is not None:
            waiting.decided = self._clock()
        self.release(self.parts.unlock_seconds, f"{unlock.employee_id} at {unlock.camera_id}")
        if waiting is not None:
            waiting.relay = self._clock()

    def release(self, seconds: float, why: str) -> None:
        """Release the lock for ``seconds``; ``Refused`` when locked down or the relay failed."""
        p = self.parts
        with self._lock:
            if self.locked_down:
                raise Refused("the door is locked down")
            # Before the relay answers: a door pulled while it switches is in the window.
            p.watch.unlocked(self._clock(), seconds)
        try:  # outside the agent's lock: a slow relay must not stall the contact and the status
            p.lock.unlock(seconds)
        except HardwareFailed as error:
            with self._lock:
                p.watch.locked(self._clock())
            self._event(DoorEventKind.LOCK_FAILED, str(error))
            raise Refused(f"the lock did not release: {error}") from None
        log.info("door released for %.1f s: %s", seconds, why)

    @property
    def locked_down(self) -> bool:
        return self._lockdown.locked

    def _set_lockdown(self, locked: bool, verdict: CommandVerdict) -> None:
        """Act on a lockdown or a release unless the door holds a later one (``door.lockdown``)."""
        with self._lock:
            if not self._lockdown.accept(locked, verdict.issued_at, verdict.actor, verdict.command_id):
                return
            if not locked:
                log.warning("lockdown released by %s", verdict.actor)
                return
        try:  # the relay is asked outside the agent's lock (a slow relay must not stall the door)
            self.parts.lock.lock()
        except HardwareFailed as error:
            self._event(DoorEventKind.LOCK_FAILED, f"lockdown: {error}")
        with self._lock:
            self.parts.watch.locked(self._clock())
        log.warning("locked down by %s: only the exit button opens the door", verdict.actor)

    # The door loop ----------------------------------------------------------------------
    def door_step(self) -> None:
        """The contact's events, the heartbeat when due, events sent, the status file."""
        p = self.parts
        now = self._clock()
        with self._lock:
            events = p.watch.tick(now)
        for event in events:
            p.events.report(event)
        if p.heartbeat is not None and now >= self._next_beat:
            alive = [] if self._camera_was_lost else [p.camera_id]
            self._next_beat = now + (p.heartbeat_seconds if p.heartbeat.beat(alive) else 5.0)
        p.events.flush()
        self._write_status(now)

    def door_changed(self, now: float, is_open: bool) -> None:
        with self._lock:
            events = self.parts.watch.door_changed(now, is_open)
        for event in events:
            self.parts.events.report(event)

    def exit_pressed(self, now: float) -> None:
        with self._lock:
            self.parts.watch.exit_pressed(now)

    def status(self) -> dict[str, Any]:
        p = self.parts
        door = p.watch.state
        return {
            "door_id": p.door_id,
            "cloud": self.cloud_problem or "reachable",
            "locked_down": self.locked_down,
            "door": {"open": door.is_open, "alarm": door.alarm.value if door.alarm else None},
            "camera": {"id": p.camera_id, "lost": self._camera_was_lost, "trigger": p.trigger.state.value},
            "last_decision": self.last_decision,
            "spooled": p.uploader.spooled_count,
            "clock_skew_seconds": p.uploader.skew_seconds,
            "events_waiting": p.events.pending,
            "events_dropped": p.events.dropped,
        }

    def _write_status(self, now: float) -> None:
        status = self.status()
        changed = status != self._last_status or now - self._status_written > 60
        if changed and now - self._status_written >= STATUS_EVERY:
            write_json_atomically(self.parts.state_dir / "status.json", status)
            self._status_written, self._last_status = now, status

    def _event(self, kind: DoorEventKind, detail: str, counts: dict[str, int] | None = None) -> None:
        self.parts.events.report(DoorEvent(kind, self.parts.door_id, time.time(), detail, counts or {}))

    def run(self, stop: threading.Event) -> list[threading.Thread]:
        """The three loops in threads until ``stop`` is set."""
        loops: list[tuple[str, Callable[[], object], float]] = [
            ("camera", self.camera_step, 0.0),
            ("queue", lambda: self._queue_loop_step(stop), 0.0),
            ("door", self.door_step, 0.1),
        ]
        threads = [
            threading.Thread(
                target=_forever, args=(name, step, pause, stop), name=f"door-{name}", daemon=True
            )
            for name, step, pause in loops
        ]
        for thread in threads:
            thread.start()
        return threads


def _forever(name: str, step: Callable[[], object], pause: float, stop: threading.Event) -> None:
    backoff = 0.5
    while not stop.is_set():
        try:
            result = step()
            backoff = 0.5
        except Exception:  # a loop that dies is a door that stops: log, wait, go on
            log.exception("the %s loop failed; trying again in %.1f s", name, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        if pause or result is None:
            stop.wait(pause or 0.02)
