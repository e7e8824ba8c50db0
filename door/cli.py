"""``facegate-door --config /etc/facegate-door.toml``: one door's agent, until SIGTERM or Ctrl-C.

``--check`` reads the config, opens the camera once and asks the cloud whether the door's
queue answers, then exits: 0 when all is well, 1 otherwise, with what is wrong.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from door.config import AgentConfig, ConfigError, load

if TYPE_CHECKING:
    from door.agent import DoorAgent
    from door.ports import Lock

log = logging.getLogger("door")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="facegate-door", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="the door's TOML config file")
    parser.add_argument("--check", action="store_true", help="check the config, camera and cloud; exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load(args.config)
    except ConfigError as error:
        print(f"facegate-door: {error}", file=sys.stderr)
        return 2
    agent = build(config)
    if args.check:
        return check(agent)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    log.info("door %s: agent started (camera %s)", config.door_id, config.camera.camera_id)
    threads = agent.run(stop)
    stop.wait()
    for thread in threads:
        thread.join(timeout=10)
    shut(agent)
    return 0


def build(config: AgentConfig, *, pin_factory: object | None = None) -> DoorAgent:
    """The agent the config describes, its boto3 clients made here (the one place)."""
    import boto3
    from botocore.config import Config

    from door.agent import DoorAgent, Parts
    from door.camera import OpenCvCamera
    from door.cloud import DoorQueue, Heartbeat, S3DoorEvents
    from door.commands import CommandCheck
    from door.controller import DoorController
    from door.kms import KmsMacVerifier
    from door.spool import Spool
    from door.trigger import FaceDetector, FaceTrigger
    from door.uploader import PhotoUploader
    from door.used_messages import UsedMessages
    from door.watch import DoorWatch, WatchSettings

    cloud, camera, inputs = config.cloud, config.camera, config.inputs
    config.state_dir.mkdir(parents=True, exist_ok=True)
    retries = Config(
        retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=3, read_timeout=25
    )
    endpoint = cloud.endpoint_url or None  # the sandbox's local AWS; None: AWS itself
    door_session = boto3.session.Session(
        cloud.access_key_id, cloud.secret_access_key, region_name=cloud.region
    )
    camera_session = boto3.session.Session(
        camera.access_key_id, camera.secret_access_key, region_name=cloud.region
    )
    kms = door_session.client("kms", config=retries, endpoint_url=endpoint)
    sqs = door_session.client("sqs", config=retries, endpoint_url=endpoint)
    s3 = door_session.client("s3", config=retries, endpoint_url=endpoint)
    memory = UsedMessages(config.state_dir / "used-messages")
    trigger = FaceTrigger(
        FaceDetector(detect_side=camera.detect_side),
        min_face_px=camera.min_face_px,
        burst_frames=camera.burst_frames,
        burst_seconds=camera.burst_seconds,
        attempts=camera.attempts,
        cooldown_seconds=camera.cooldown_seconds,
        decision_timeout=camera.decision_timeout,
    )
    spool = Spool(
        config.state_dir / "spool",
        max_bytes=config.spool_max_mb * 1024 * 1024,
        max_age_seconds=config.spool_max_age_hours * 3600,
    )
    settings = WatchSettings(
        held_open_seconds=inputs.held_open_seconds,
        exit_window_seconds=inputs.exit_seconds,
        debounce_seconds=inputs.debounce_seconds,
        fault_seconds=inputs.fault_seconds,
    )
    namespace = cloud.metrics_namespace or _namespace(cloud.queue_url, config.door_id)
    parts = Parts(
        door_id=config.door_id,
        camera_id=camera.camera_id,
        camera=OpenCvCamera(camera.source, max_side=camera.max_side, loop=camera.loop),
        trigger=trigger,
        uploader=PhotoUploader(
            camera_session.client("s3", config=retries, endpoint_url=endpoint),
            cloud.bucket,
            camera.camera_id,
            spool,
            max_skew_seconds=config.max_skew_seconds,
        ),
        lock=make_lock(config, pin_factory),
        unlock_seconds=config.lock.unlock_seconds,
        watch=DoorWatch(config.door_id, settings, now=time.monotonic()),
        decisions=None,
        commands=CommandCheck(KmsMacVerifier(kms, cloud.command_key), config.door_id, memory)
        if cloud.command_key
        else None,
        queue=DoorQueue(sqs, cloud.queue_url),
        events=S3DoorEvents(s3, cloud.bucket, config.door_id),
        heartbeat=Heartbeat(
            door_session.client("cloudwatch", config=retries, endpoint_url=endpoint),
            namespace,
            config.door_id,
        ),
        state_dir=config.state_dir,
        heartbeat_seconds=config.heartbeat_seconds,
    )
    agent = DoorAgent(parts)
    parts.decisions = DoorController(
        KmsMacVerifier(kms, cloud.signing_key), config.door_id, agent.unlock_for, memory=memory
    )
    if inputs.contact_pin is not None:
        from door.inputs import GpioDoorInputs

        wired = GpioDoorInputs(
            inputs.contact_pin,
            inputs.exit_pin,
            on_door_changed=agent.door_changed,
            on_exit_pressed=agent.exit_pressed,
            pin_factory=pin_factory,
        )
        agent.inputs = wired
        # The door as found: open at start is no alarm by itself (HELD_OPEN follows if it stays).
        parts.watch = DoorWatch(config.door_id, settings, now=time.monotonic(), is_open=wired.is_open)
    return agent


def make_lock(config: AgentConfig, pin_factory: object | None = None) -> Lock:
    from door import locks

    lock = config.lock
    if lock.driver == "gpio":
        return locks.GpioRelayLock(
            lock.gpio_pin, active_high=lock.active_high, fail_secure=lock.fail_secure, pin_factory=pin_factory
        )
    if lock.driver == "http":
        return locks.HttpRelayLock(lock.http_url, lock.http_channel)
    if lock.driver == "command":
        from door.command_lock import CommandLock

        return CommandLock(lock.unlock_command, lock.lock_command)
    return LoggingLock()


class LoggingLock:
    """``driver = "log"``: prints what a relay would do (a bench, a demo; never a real door)."""

    def unlock(self, seconds: float) -> None:
        log.warning("LOCK (log driver): released for %.1f s", seconds)

    def lock(self) -> None:
        log.warning("LOCK (log driver): locked")


def _namespace(queue_url: str, door_id: str) -> str:
    """``facegate/<stage>/doors/<door>`` (``infra.doors.heartbeat_namespace``), the stage read
    from the queue's name ``facegate-<stage>-door-…``: the only namespace the door's key may use."""
    name = queue_url.rstrip("/").rsplit("/", 1)[-1]
    stage = name.removeprefix("facegate-").split("-door-", 1)[0] if name.startswith("facegate-") else "door"
    return f"facegate/{stage}/doors/{door_id}"


def check(agent: DoorAgent) -> int:
    """Open the camera once and receive once: say what works and what does not."""
    problems = []
    frame = None
    for _ in range(50):
        frame = agent.parts.camera.read()
        if frame is not None:
            break
        time.sleep(0.1)
    print(f"camera: {'frames arrive' if frame is not None else 'no frame in 5 s'}")
    if frame is None:
        problems.append("camera")
    agent.queue_step(wait_seconds=0)
    print(f"queue: {agent.cloud_problem or 'answers'}")
    if agent.cloud_problem:
        problems.append("queue")
    return 1 if problems else 0


def shut(agent: DoorAgent) -> None:
    """Lock, and let go of the camera and the pins."""
    try:
        agent.parts.lock.lock()
    except Exception:
        log.exception("could not lock on shutdown")
    agent.parts.camera.close()
    for part in (getattr(agent, "inputs", None), agent.parts.lock):
        close = getattr(part, "close", None)
        if close is not None:
            close()


if __name__ == "__main__":
    sys.exit(main())
