"""Door latency as a person meets it: from the first frame in which the face is detectable to
the relay energising, through real door agents, at 1 and at 5 doors at once.

``python -m bench.door_agents [--quick]`` runs it alone; ``run`` gives ``python -m bench`` its
figures. Each door is a ``facegate-door`` agent (``door.cli.build``) on a video of the enrolled
employee (1 s of an empty doorway, then the person), its own queue, a gpiozero mock relay; the
sandbox's pump hands the S3 events to the real handler with one worker per door. The hops:

- trigger and frame choice: the burst's first frame → the chosen frame's upload starts;
- upload: the camera's PutObject;
- event to decision: the upload done → the decision recorded (the scan's ``processed_at``);
- decision to the door: → the agent received it from its queue;
- verify to relay: → the MAC checked by KMS, the door, freshness, first use → relay asked.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from chalicelib.core.models import Employee
from door.agent import DoorAgent, Trace
from door.cli import build, shut
from door.config import parse
from infra import doors
from sandbox.enroll import enroll_employee
from sandbox.photos import ensure_photos
from sandbox.stack import Stack, running_stack
from sandbox.videos import VIDEO_CACHE, video_from_photos

LEVELS = {1: 8, 5: 3}  # doors at once → rounds
QUICK_LEVELS = {1: 1, 5: 1}
HOPS = (
    ("trigger and frame choice", "burst_started", "upload_started"),
    ("upload (camera PutObject)", "upload_started", "upload_done"),
    ("event to decision", "upload_done", "decided_wall"),
    ("decision to the door", "decided_wall", "received"),
    ("verify to relay", "received", "relay"),
)


def run(photos: Path, levels: dict[int, int] | None = None) -> dict[str, Any]:
    """p50/p95 from the first detectable frame to the relay, per number of doors, with hops."""
    levels = LEVELS if levels is None else levels
    logging.getLogger("door").setLevel(logging.WARNING)
    samples: dict[int, list[dict[str, float]]] = {}
    with running_stack(overrides={}) as stack, tempfile.TemporaryDirectory() as state:
        enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / "obama.jpg"])
        video = video_from_photos(VIDEO_CACHE, [photos / "obama2.jpg"], seconds_each=3.0, blank_between=1.0)
        for count, rounds in levels.items():
            samples[count] = []
            for number in range(rounds + 1):  # the first round warms models, clients, caches
                done = _round(stack, video, count, Path(state) / f"{count}-{number}")
                if number:
                    samples[count] += done
    return summarise(samples)


def _round(stack: Stack, video: Path, count: int, state: Path) -> list[dict[str, float]]:
    """Every door's agent plays the video at once; each uploads once; wait for each relay."""
    agents = [_agent(stack, f"bench-door-{n}", video, state / str(n)) for n in range(count)]
    offset = time.time() - time.monotonic()  # the scans' processed_at is wall time
    try:
        uploading = [threading.Thread(target=_upload_once, args=(agent,)) for agent in agents]
        for thread in uploading:
            thread.start()
        pump = threading.Thread(target=stack.pump, args=(count, 120.0, count))
        pump.start()
        for thread in uploading:
            thread.join()
        receiving = [threading.Thread(target=_until_relay, args=(agent,)) for agent in agents]
        for thread in receiving:
            thread.start()
        for thread in [*receiving, pump]:
            thread.join()
        decided = {n["body"]["object_key"]: n["body"]["processed_at"] for n in stack.notifications()}
        return [_sample(trace, decided, offset) for agent in agents for trace in agent.parts.traces]
    finally:
        for agent in agents:
            shut(agent)


def _agent(stack: Stack, door: str, video: Path, state: Path) -> DoorAgent:
    from gpiozero.pins.mock import MockFactory

    sqs, sns = stack.session.client("sqs"), stack.session.client("sns")
    url, _ = doors.create_queue(sqs, sns, stack.settings.stage, stack.settings.topic_arn, door)
    keys = {"access_key_id": "bench", "secret_access_key": "bench"}
    config = {
        "door_id": door,
        "state_dir": str(state),
        "cloud": {
            "region": "us-east-1",
            "queue_url": url,
            "signing_key": stack.settings.signing_key,
            "bucket": stack.settings.camera_bucket,
            "endpoint_url": os.environ["AWS_ENDPOINT_URL"],
            **keys,
        },
        "camera": {"camera_id": door, "source": str(video), **keys},
        "lock": {"driver": "gpio", "gpio_pin": 17},
    }
    return build(parse(config), pin_factory=MockFactory())


def _upload_once(agent: DoorAgent) -> None:
    for _ in range(400):
        if agent.camera_step() is not None:
            return
    raise RuntimeError(f"door {agent.parts.door_id}: the trigger chose no frame")


def _until_relay(agent: DoorAgent) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(trace.relay for trace in agent.parts.traces):
        agent.queue_step(wait_seconds=1)


def _sample(trace: Trace, decided: dict[str, str], offset: float) -> dict[str, float]:
    at = decided.get(trace.key)
    wall = datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() - offset if at else float("nan")
    sample = {
        name: float(getattr(trace, name)) for name in ("burst_started", "upload_started", "upload_done")
    }
    return {**sample, "decided_wall": wall, "received": trace.received, "relay": trace.relay or float("nan")}


def summarise(samples: dict[int, list[dict[str, float]]]) -> dict[str, Any]:
    """The results' keys: p50/p95 first frame → relay per number of doors; hops and shares."""
    end_to_end = {
        str(n): _percentiles([s["relay"] - s["burst_started"] for s in done]) for n, done in samples.items()
    }
    hops = {
        str(n): {name: _percentiles([s[end] - s[begin] for s in done]) for name, begin, end in HOPS}
        for n, done in samples.items()
    }
    shares = {
        level: {
            name: round(figures["p50_ms"] / max(end_to_end[level]["p50_ms"], 1e-9), 3)
            for name, figures in hop.items()
        }
        for level, hop in hops.items()
    }
    return {
        "door_agent_latency_p50_ms": {level: figures["p50_ms"] for level, figures in end_to_end.items()},
        "door_agent_latency_p95_ms": {level: figures["p95_ms"] for level, figures in end_to_end.items()},
        "door_agent_latency_detail": {
            "samples": {str(n): len(done) for n, done in samples.items()},
            "unlocked": {str(n): sum(s["relay"] == s["relay"] for s in done) for n, done in samples.items()},
            "hops_ms": hops,
            "hop_share_of_p50": shares,
        },
    }


def _percentiles(seconds: list[float]) -> dict[str, float]:
    """Nearest-rank p50 and p95 in milliseconds of the samples that completed."""
    ordered = sorted(value for value in seconds if value == value)  # NaN: never reached
    if not ordered:
        return {"p50_ms": float("nan"), "p95_ms": float("nan")}
    rank = {q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in (0.5, 0.95)}
    return {"p50_ms": round(rank[0.5] * 1000, 1), "p95_ms": round(rank[0.95] * 1000, 1)}


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # local AWS's request log
    parser = argparse.ArgumentParser(prog="python -m bench.door_agents", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one round per level")
    args = parser.parse_args()
    print(json.dumps(run(ensure_photos(), QUICK_LEVELS if args.quick else None), indent=2))


if __name__ == "__main__":
    main()
