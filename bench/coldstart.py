"""The camera function's cold start, init apart from first invoke, and the memory/cost curve.

Each run is a fresh handler process against local AWS (moto, in this process), as Lambda
starts one: ``import app`` with the function's ``AWS_LAMBDA_FUNCTION_NAME`` is the init
phase, then the first invoke handles one real photo. Warm: the camera function's own name,
so ``wiring.warm_up`` loads the engine during init. Lazy (before the warm-up existed):
another function's name, so nothing warms and the first invoke loads everything. The warm
processes then handle the same photo again (a warm invoke, to compare the first with) and
camera frames at 640×480 and 1080p, whose CPU time (``process_time``
of the handler process: ours, not moto's) feeds the memory/cost curve of ``bench.cost``.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cost
from bench.frames import frames
from bench.speed import _locator, enrolled_engine
from chalicelib import wiring
from chalicelib.core.keys import PROCESSED_PREFIX, camera_key
from chalicelib.core.models import Employee
from sandbox.enroll import enroll_employee
from sandbox.stack import PROJECT_DIR, LocalAws, Stack, patched_environ, stage_environment

STAGE = "sandbox"
CAMERA_FUNCTION = wiring.camera_function_name(STAGE)
OTHER_FUNCTION = f"facegate-{STAGE}-on_enrollment_upload"  # same init, nothing warmed
SIZES = ("640", "1080")
RESULTS = Path(__file__).resolve().parent / "results.json"  # what `python -m bench` writes

_HANDLER = textwrap.dedent(
    """
    import json, sys, time
    clock = lambda: (time.perf_counter(), time.process_time())
    events = json.loads(sys.argv[1])
    start = clock()
    import app
    init = clock()
    app.on_camera_upload(events[0], None)
    first = clock()
    steady = []
    for size, event in events[1:]:
        before = clock()
        app.on_camera_upload(event, None)
        after = clock()
        steady.append([size, after[0] - before[0], after[1] - before[1]])
    status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
    print(json.dumps({
        "init_s": init[0] - start[0], "init_cpu_s": init[1] - start[1],
        "first_s": first[0] - init[0], "first_cpu_s": first[1] - init[1],
        "steady": steady, "peak_rss_mb": int(status) / 1024,
    }))
    """
)


def run(photos: Path, runs: int = 7, steady_per_size: int = 3) -> dict[str, Any]:
    """``cold_start`` and the memory/cost curve made from its figures (bench/__main__ calls this)."""
    figures = cold_start(photos, runs, steady_per_size)
    scans = {
        size: (figures[f"local_scan_cpu_{size}_s"], figures[f"local_scan_wait_{size}_s"]) for size in SIZES
    }
    figures["memory_cost_curve"] = cost.memory_cost_curve(scans, figures["local_init_cpu_s"])
    return figures


def cold_start(photos: Path, runs: int = 7, steady_per_size: int = 3) -> dict[str, Any]:
    """Medians over ``runs`` fresh processes of each kind, interleaved (load hits both alike)."""
    engine = enrolled_engine(photos)  # only to frame the face as a door camera would
    jpegs = {size: _jpeg(frames(photos, size, _locator(engine))["obama2.jpg"]) for size in SIZES}
    aws = LocalAws()
    warm: list[dict[str, Any]] = []
    lazy: list[dict[str, Any]] = []
    try:
        with patched_environ({**aws.environment(), **stage_environment(STAGE, {})}):
            wiring.reset()
            stack = Stack(aws)
            enroll_employee(stack, Employee("EMP001", "A"), [photos / "obama.jpg"])
            photo = (photos / "obama2.jpg").read_bytes()
            for number in range(runs):
                for kind, results in (("warm", warm), ("lazy", lazy)):
                    events: list[Any] = [_event(stack, f"{kind}-{number}.jpg", photo)]
                    if kind == "warm":
                        for size, body in {"photo": photo, **jpegs}.items():
                            for repeat in range(steady_per_size):
                                events.append([size, _event(stack, f"{size}-{number}-{repeat}.jpg", body)])
                    function = CAMERA_FUNCTION if kind == "warm" else OTHER_FUNCTION
                    results.append(_handler_process(events, function))
            statuses = _decided(stack)
            wiring.reset()
    finally:
        aws.stop()
    expected = runs * (2 + 3 * steady_per_size)
    assert statuses == {"AUTHORIZED": expected}, statuses  # every timed scan let the person in
    return _summary(warm, lazy)


def _summary(warm: list[dict[str, Any]], lazy: list[dict[str, Any]]) -> dict[str, Any]:
    def median(rows: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(row[key] for row in rows))

    figures: dict[str, Any] = {
        "local_init_s": round(median(warm, "init_s"), 3),
        "local_init_cpu_s": round(median(warm, "init_cpu_s"), 3),
        "local_first_invoke_after_init_s": round(median(warm, "first_s"), 3),
        "local_init_lazy_s": round(median(lazy, "init_s"), 3),
        "local_first_invoke_lazy_s": round(median(lazy, "first_s"), 3),
        "local_first_invoke_lazy_cpu_s": round(median(lazy, "first_cpu_s"), 3),
        "local_cold_start_runs": len(warm),
        "peak_rss_mb_local_warm": round(median(warm, "peak_rss_mb"), 1),
    }
    for size in ("photo", *SIZES):
        samples = [(wall, cpu) for row in warm for name, wall, cpu in row["steady"] if name == size]
        wall = statistics.median(sample[0] for sample in samples)
        cpu = statistics.median(sample[1] for sample in samples)
        figures[f"local_scan_{size}_s"] = round(wall, 3)
        figures[f"local_scan_cpu_{size}_s"] = round(cpu, 3)
        figures[f"local_scan_wait_{size}_s"] = round(max(0.0, wall - cpu), 3)  # moto's, on this machine
    return figures


def _handler_process(events: list[Any], function: str) -> dict[str, Any]:
    env = {**os.environ, "AWS_LAMBDA_FUNCTION_NAME": function}
    result = subprocess.run(
        [sys.executable, "-c", _HANDLER, json.dumps(events)],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def _event(stack: Stack, name: str, body: bytes) -> dict[str, Any]:
    """An S3 event for a new object, made just before its process starts (the 60 s rule)."""
    bucket = stack.settings.camera_bucket
    key = camera_key("front-door", name)
    version = stack.s3.put_object(Bucket=bucket, Key=key, Body=body)["VersionId"]
    record = {
        "eventName": "ObjectCreated:Put",
        "eventTime": datetime.now(UTC).isoformat(),
        "s3": {"bucket": {"name": bucket}, "object": {"key": key, "versionId": version, "size": len(body)}},
    }
    return {"Records": [record]}


def _decided(stack: Stack) -> dict[str, int]:
    """How many scans of each status the processed copies hold."""
    bucket = stack.settings.camera_bucket
    counts: dict[str, int] = {}
    for page in stack.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PROCESSED_PREFIX):
        for entry in page.get("Contents", []):
            line = stack.s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
            status = str(json.loads(line)["status"])
            counts[status] = counts.get(status, 0) + 1
    return counts


def _jpeg(frame: Any) -> bytes:
    buffer = io.BytesIO()
    frame.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def main() -> int:
    """``python -m bench.coldstart``: measure, and merge the figures into bench/results.json."""
    from sandbox.photos import ensure_photos

    figures = run(ensure_photos())
    results = json.loads(RESULTS.read_text())
    results.update(figures)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
