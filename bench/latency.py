"""Door latency, end to end, in the sandbox: from the camera's ``PutObject`` to the decision
arriving on the door's queue (the decisions topic's subscription filtered to the door).

``python -m bench.latency [--quick]`` runs it alone and prints the tables; ``run`` gives
``python -m bench`` its figures. Cameras put real photos of an enrolled employee, each
under a new key (a new scan), ``concurrency`` at once; the sandbox's event pump hands the
S3 events to the real handler with as many workers; ``ScanTraces`` says where the time went.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.scan_trace import ScanTraces, Trace
from chalicelib.core.keys import camera_key
from chalicelib.core.models import Employee, Upload
from chalicelib.scanning.pipeline import scan_id_for
from sandbox.door import door_queue, run_door
from sandbox.enroll import enroll_employee
from sandbox.handled import HandledEvent
from sandbox.photos import ensure_photos
from sandbox.stack import Stack, running_stack

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

CAMERA = "front-door"
ENROLLED = "obama.jpg"
PROBES = ("obama2.jpg", "obama3.jpg")  # the enrolled employee, other photos: AUTHORIZED
ROUNDS = {1: 20, 5: 6, 20: 3}  # concurrency → rounds of that many uploads at once
QUICK_ROUNDS = {1: 3, 5: 1, 20: 1}
ARRIVAL_TIMEOUT_S = 60.0  # past the 60 s rule an AUTHORIZED is never sent anyway
AFTER_PUMP_S = 3.0
HOPS = (  # name, from, to: instants of a Trace
    ("camera PUT (moto queues the S3 event inside it)", "put_started", "put_ended"),
    ("S3 event queue + pump poll", "put_ended", "handler_started"),
    ("handler: photo read → decision published", "handler_started", "publish_started"),
    ("SNS Publish → door queue → received", "publish_started", "received"),
    ("end to end", "put_started", "received"),
)


def run(photos: Path, rounds: dict[int, int] | None = None) -> dict[str, Any]:
    """p50/p95 door latency per concurrency and the per-hop budget, in a sandbox of its own."""
    rounds = ROUNDS if rounds is None else rounds
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # 20 threads, pools of 10
    with running_stack(overrides={}) as stack:
        enroll_employee(stack, Employee("EMP001", "Avery Stone"), [photos / ENROLLED])
        door = DoorQueue(stack)
        cameras = _camera_client(stack)
        _round(stack, photos, cameras, door, ["warm-up.jpg"], Trace)  # model load, clients, caches
        traces: dict[int, list[Trace]] = {}
        with ScanTraces(stack.settings) as tracer:
            for concurrency, count in rounds.items():
                traces[concurrency] = []
                for number in range(count):
                    names = [f"c{concurrency}-r{number}-{n}.jpg" for n in range(concurrency)]
                    traces[concurrency] += _round(stack, photos, cameras, door, names, tracer.expect)
    return summarise(traces, door.unlocked)


class DoorQueue:
    """The door's queue, long-polled as the door controller does; after the timing, the
    controller's verdict on each message (its MAC checked by KMS)."""

    def __init__(self, stack: Stack) -> None:
        self.url = door_queue(stack, CAMERA)
        self.sqs: SQSClient = stack.session.client("sqs")
        self.controller, _ = run_door(stack, CAMERA)
        self.unlocked: set[str] = set()  # scan ids the controller opened the door for

    def await_scans(self, expected: dict[str, Trace], pump: threading.Thread) -> None:
        """Receive until every expected scan's AUTHORIZED came, or ``AFTER_PUMP_S`` after the
        pump handled every event (moto delivers during the Publish), or 60 s in all."""
        deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
        bodies: list[str] = []
        while any(trace.received is None for trace in expected.values()) and time.monotonic() < deadline:
            if not pump.is_alive():
                deadline = min(deadline, time.monotonic() + AFTER_PUMP_S)
            response = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            received = time.perf_counter()
            for message in response.get("Messages", []):
                claims = json.loads(message["Body"])
                trace = expected.get(str(claims.get("scan_id")))
                if trace is not None and claims.get("status") == "AUTHORIZED":
                    trace.received = received
                bodies.append(message["Body"])
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        for body in bodies:
            if self.controller.handle(body).unlocked:
                self.unlocked.add(str(json.loads(body)["scan_id"]))


def _camera_client(stack: Stack) -> S3Client:
    """Enough connections for every camera at once: they are separate devices."""
    from botocore.config import Config

    return stack.session.client("s3", config=Config(max_pool_connections=32))


def _round(
    stack: Stack,
    photos: Path,
    cameras: S3Client,
    door: DoorQueue,
    names: list[str],
    expect: Callable[[str], Trace],
) -> list[Trace]:
    """Every camera puts its photo at once (one per name); wait for every decision."""
    bucket = stack.settings.camera_bucket
    traces = [expect(camera_key(CAMERA, name)) for name in names]
    bodies = [(photos / PROBES[n % len(PROBES)]).read_bytes() for n in range(len(names))]
    handled: list[HandledEvent] = []
    workers = len(names)
    pump = threading.Thread(target=lambda: handled.extend(stack.pump(workers, 120.0, workers)))
    pump.start()
    time.sleep(0.3)  # the pump is polling when the cameras put, as under `sandbox up`
    together = threading.Barrier(workers)

    def put(trace: Trace, body: bytes) -> None:
        together.wait()
        trace.put_started = time.perf_counter()
        version = cameras.put_object(Bucket=bucket, Key=trace.key, Body=body)["VersionId"]
        trace.put_ended = time.perf_counter()
        trace.scan_id = scan_id_for(Upload(bucket, trace.key, version, None, ""))

    puts = [threading.Thread(target=put, args=pair) for pair in zip(traces, bodies, strict=True)]
    for thread in puts:
        thread.start()
    for thread in puts:
        thread.join()
    door.await_scans({trace.scan_id: trace for trace in traces}, pump)
    pump.join()
    failed = [event.error for event in handled if event.error]
    if failed:
        raise RuntimeError(f"scans failed: {failed}")
    return traces


def summarise(traces: dict[int, list[Trace]], unlocked: set[str]) -> dict[str, Any]:
    """The results' keys: p50/p95 per concurrency; hops, stages and counts in the detail."""
    arrived = {str(c): [t for t in ts if t.received is not None] for c, ts in traces.items()}
    hops = {level: _hops(done) for level, done in arrived.items()}
    return {
        "door_latency_p50_ms": {level: figures["end to end"]["p50_ms"] for level, figures in hops.items()},
        "door_latency_p95_ms": {level: figures["end to end"]["p95_ms"] for level, figures in hops.items()},
        "door_latency_detail": {
            "uploads": {str(c): len(ts) for c, ts in traces.items()},
            "authorized_arrived": {level: len(done) for level, done in arrived.items()},
            "door_unlocked": {str(c): sum(t.scan_id in unlocked for t in ts) for c, ts in traces.items()},
            "aws_calls_retried": {str(c): sum(t.retries for t in ts) for c, ts in traces.items()},
            "hops_ms": hops,
            "stages_ms": {level: _stages(done) for level, done in arrived.items()},
        },
    }


def _hops(traces: list[Trace]) -> dict[str, dict[str, float]]:
    return {
        name: _percentiles([getattr(trace, end) - getattr(trace, begin) for trace in traces])
        for name, begin, end in HOPS
    }


def _stages(traces: list[Trace]) -> dict[str, dict[str, float]]:
    """Each stage a scan went through, in the order first seen; a stage a scan skipped is 0."""
    names = dict.fromkeys(stage for trace in traces for stage in trace.stages)
    stages = {name: _percentiles([trace.stages.get(name, 0.0) for trace in traces]) for name in names}
    durations = [t.scan_duration_ms / 1000 for t in traces if t.scan_duration_ms is not None]
    stages["ScanDuration (EMF: start → recorded)"] = _percentiles(durations)
    return stages


def _percentiles(seconds: list[float]) -> dict[str, float]:
    """Nearest-rank p50 and p95 in milliseconds (with 20 samples, p95 is the slowest)."""
    if not seconds:
        return {"p50_ms": float("nan"), "p95_ms": float("nan")}
    ordered = sorted(seconds)
    rank = {q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in (0.5, 0.95)}
    return {"p50_ms": round(rank[0.5] * 1000, 1), "p95_ms": round(rank[0.95] * 1000, 1)}


def table(results: dict[str, Any]) -> str:
    """The end-to-end figures, then each hop and stage, p50 / p95 per concurrency."""
    detail = results["door_latency_detail"]
    levels = list(results["door_latency_p50_ms"])
    rows = [["", *(f"{level} at once" for level in levels)]]
    counts = ("uploads", "authorized_arrived", "door_unlocked", "aws_calls_retried")
    rows.append(["uploads / AUTHORIZED arrived / unlocked / calls retried"])
    rows[-1] += [" / ".join(str(detail[count][level]) for count in counts) for level in levels]
    for section in ("hops_ms", "stages_ms"):
        rows.append([section.removesuffix("_ms") + " (p50 / p95 ms)"])
        names = dict.fromkeys(name for level in levels for name in detail[section][level])
        for name in names:
            cells = [detail[section][c].get(name, {"p50_ms": "", "p95_ms": ""}) for c in levels]
            rows.append([f"  {name}", *(f"{cell['p50_ms']} / {cell['p95_ms']}" for cell in cells)])
    width = [max(len(row[n]) for row in rows if len(row) > n) for n in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width[n]) for n, cell in enumerate(row)) for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round at 5 and 20, three at 1")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # local AWS's request log
    results = run(ensure_photos(), QUICK_ROUNDS if args.quick else ROUNDS)
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
