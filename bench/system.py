"""Whole-system figures: throughput, cold start, memory, Rekognition calls, report reads."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.bytecode import app_as_shipped
from chalicelib import wiring
from chalicelib.aws.scans import DynamoScanLog, scan_item
from chalicelib.core.keys import camera_key
from chalicelib.core.models import Decision, Employee, Scan, Status
from sandbox.enroll import enroll_employee
from sandbox.stack import PROJECT_DIR, LocalAws, Stack, patched_environ, running_stack, stage_environment

PRICE_PER_FACE_SEARCH_USD = 0.001  # Rekognition image API, us-east-1, first million a month
PRICE_PER_STORED_FACE_MONTH_USD = 0.00001


def throughput(photos: Path, uploads: int = 48, workers: int = 2) -> dict[str, float]:
    """Real photos through bucket → event → handler with ``workers`` concurrent invocations."""
    names = ["obama2.jpg", "obama3.jpg", "biden.jpg", "astronaut.png", "coffee.png", "group.jpg"]
    with running_stack() as stack:
        enroll_employee(stack, Employee("EMP001", "A"), [photos / "obama.jpg"])
        enroll_employee(stack, Employee("EMP002", "B"), [photos / "biden.jpg"])
        for number in range(uploads):
            name = names[number % len(names)]
            stack.upload("front-door", f"{number:03d}-{name}", (photos / name).read_bytes())
        started = time.perf_counter()
        handled = stack.pump(expected=uploads, workers=workers)
        elapsed = time.perf_counter() - started
    assert len(handled) == uploads and all(event.error is None for event in handled)
    return {"throughput_photos_per_s": round(uploads / elapsed, 2), "throughput_workers": workers}


_IMPORT = "import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"


def cold_import(runs: int = 9) -> dict[str, float]:
    """``import boto3, app`` (Rekognition stage) against ``import boto3, chalice``, fresh
    processes that write no bytecode (as in Lambda), our code as ``make deploy`` ships it:
    with its pycs (bench.bytecode has it without)."""
    env = {**os.environ, "FACEGATE_ENGINE": "rekognition", "PYTHONDONTWRITEBYTECODE": "1"}
    ours, baseline = [], []
    with tempfile.TemporaryDirectory() as shipped:
        app_as_shipped(Path(shipped))
        for _ in range(runs):  # interleaved, so load on the machine hits both alike
            ours.append(_seconds("import boto3, app", env, cwd=Path(shipped)))
            baseline.append(_seconds("import boto3, chalice", env))
    modules = subprocess.run(
        [sys.executable, "-c", "import sys, app; print(' '.join(sorted(sys.modules)))"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    heavy = sorted(name for name in ("numpy", "dlib", "PIL.Image", "jwt", "jinja2") if name in modules)
    return {
        "cold_import_app_ms": round(statistics.median(ours) * 1000, 1),
        "cold_import_boto3_chalice_ms": round(statistics.median(baseline) * 1000, 1),
        "cold_import_ratio_rekognition": round(statistics.median(ours) / statistics.median(baseline), 3),
        "cold_import_heavy_modules": heavy,  # type: ignore[dict-item]
    }


def _seconds(statement: str, env: dict[str, str], cwd: Path = PROJECT_DIR) -> float:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT.format(statement=statement)],
        cwd=cwd, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(result.stdout.strip())


_FIRST_SCAN = textwrap.dedent(
    """
    import json, sys, time
    started = time.perf_counter()
    import app
    app.on_camera_upload(json.loads(sys.argv[1]), None)
    elapsed = time.perf_counter() - started
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
    status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
    print(json.dumps({"first_scan_s": elapsed, "peak_rss_mb": int(status) / 1024}))
    """
)


def first_scan_and_memory(photos: Path) -> dict[str, float]:
    """A fresh handler process (local engine): first scan incl. model load, and peak RSS."""
    aws = LocalAws()
    try:
        with patched_environ({**aws.environment(), **stage_environment("sandbox", {})}):
            wiring.reset()
            stack = Stack(aws)
            enroll_employee(stack, Employee("EMP001", "A"), [photos / "obama.jpg"])
            bucket = stack.settings.camera_bucket
            key = camera_key("front-door", "first.jpg")
            version = stack.s3.put_object(Bucket=bucket, Key=key, Body=(photos / "obama2.jpg").read_bytes())
            record = {
                "eventName": "ObjectCreated:Put",
                "eventTime": datetime.now(UTC).isoformat(),
                "s3": {"bucket": {"name": bucket}, "object": {"key": key, "versionId": version["VersionId"]}},
            }
            result = subprocess.run(
                [sys.executable, "-c", _FIRST_SCAN, json.dumps({"Records": [record]})],
                cwd=PROJECT_DIR, env=dict(os.environ), capture_output=True, text=True, check=True,
            )  # fmt: skip
            wiring.reset()
    finally:
        aws.stop()
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        "local_first_scan_s": round(figures["first_scan_s"], 2),
        "peak_rss_mb_local": round(figures["peak_rss_mb"], 1),
    }


def rekognition_calls() -> dict[str, float]:
    """Calls per scan and per enrollment, counted by the local Rekognition endpoint (real
    HTTP from the unmodified engine and boto3 client); the cost they imply."""

    from chalicelib.core.config import ImageLimits, Policy
    from chalicelib.engines.rekognition import RekognitionEngine
    from chalicelib.scanning.imaging import normalise
    from sandbox.photos import ensure_photos
    from sandbox.rekognition import RekognitionEndpoint

    photos = ensure_photos()
    collection = "facegate-bench-faces"
    with RekognitionEndpoint(port=0) as endpoint:
        client = endpoint.client()
        client.create_collection(CollectionId=collection)
        engine = RekognitionEngine(client, collection, Policy.for_engine("rekognition"))
        before = len(endpoint.calls)
        engine.add_face("EMP001", normalise((photos / "obama.jpg").read_bytes(), ImageLimits()))
        enrollment = endpoint.calls[before:]
        before = len(endpoint.calls)
        engine.search(normalise((photos / "obama2.jpg").read_bytes(), ImageLimits()))
        per_scan = len(endpoint.calls) - before
    per_enrollment = len(enrollment)
    billed_per_enrollment = sum(call in ("IndexFaces", "AssociateFaces") for call in enrollment)
    return {
        "rekognition_calls_per_scan": per_scan,
        "rekognition_calls_per_enrollment": per_enrollment,
        "cost_per_1000_scans_usd": round(1000 * per_scan * PRICE_PER_FACE_SEARCH_USD, 2),
        "cost_per_enrolled_photo_usd": round(billed_per_enrollment * PRICE_PER_FACE_SEARCH_USD, 4),
        "cost_per_stored_face_month_usd": PRICE_PER_STORED_FACE_MONTH_USD,
    }


def report_reads(
    day_scans: int = 10_000, other_days: int = 9, per_other_day: int = 1_000
) -> dict[str, float]:
    """Items the daily report reads per item of its day, with ten days in the table."""
    from chalicelib.reporting.reports import ReportPorts, build_summary

    with running_stack() as stack:
        table = wiring.table(stack.settings.scans_table)
        day = datetime(2026, 3, 10, 15, tzinfo=UTC)
        with table.batch_writer() as batch:
            for offset in range(other_days + 1):
                count = day_scans if offset == 0 else per_other_day
                for number in range(count):
                    at = day - timedelta(days=offset) + timedelta(seconds=number * 3)
                    batch.put_item(Item=scan_item(_synthetic(f"{offset:02d}{number:030d}", at)))
        read = {"items": 0}
        client = table.meta.client

        def counter(parsed: dict[str, Any], **_: Any) -> None:
            read["items"] += int(parsed.get("ScannedCount", 0))

        client.meta.events.register("after-call.dynamodb.Query", counter)
        ports = ReportPorts(
            scans=DynamoScanLog(table), images=_Links(), mailer=None,  # type: ignore[arg-type]
            ledger=_NoLedger(), camera_bucket=stack.settings.camera_bucket,
        )  # fmt: skip
        started = time.perf_counter()
        summary = build_summary("2026-03-10", ports, stack.settings)
        build_s = time.perf_counter() - started
        client.meta.events.unregister("after-call.dynamodb.Query", counter)
    assert summary.total == day_scans
    return {
        "report_day_scans": day_scans,
        "report_items_read_per_day_item": round(read["items"] / day_scans, 3),
        "report_build_s": round(build_s, 2),
    }


def record_and_notify(repeats: int = 40) -> dict[str, float]:
    """p50/p95 of the conditional scan write plus the SNS publish (against local AWS:
    moto's latency on this machine, not DynamoDB's and SNS's)."""
    from bench.speed import _percentiles
    from chalicelib.aws.kms import KmsMessageSigner
    from chalicelib.aws.sns import SnsNotifier

    with running_stack() as stack:
        scans = DynamoScanLog(wiring.table(stack.settings.scans_table))
        signer = KmsMessageSigner(wiring.client("kms"), stack.settings.signing_key)
        notifier = SnsNotifier(wiring.client("sns"), stack.settings.topic_arn, signer)
        numbers = iter(range(10**6))

        def one() -> None:
            scan = _synthetic(f"{next(numbers):032d}", datetime.now(UTC))
            scans.record(scan)
            notifier.publish(scan)

        return _percentiles(one, repeats)


class _NoLedger:
    """A ``ReportLedger`` with no past reports: building a summary only asks for totals."""

    def claim(self, day: str, now: datetime, lease_seconds: int) -> str | None:
        return "bench"

    def sent(self, day: str, totals: dict[str, int], token: str) -> bool:
        return True

    def release(self, day: str, reason: str, token: str) -> None:
        pass

    def totals(self, day: str) -> dict[str, int] | None:
        return None


class _Links:
    """The one image-store call a summary makes: a link per scan (no S3 signing in the timing)."""

    def link(self, bucket: str, key: str, version_id: str | None, expires_in: int) -> str:
        return f"memory://{bucket}/{key}?version={version_id}&expires_in={expires_in}"


def _synthetic(scan_id: str, at: datetime) -> Scan:
    iso = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    local_day = (at - timedelta(hours=5)).date().isoformat()  # Chicago after 8 March (CDT)
    decision = Decision(Status.AUTHORIZED, employee_id=f"E{int(scan_id[-4:]) % 300:03d}", employee_name="N",
                        similarity=90.0, faces_in_frame=1)  # fmt: skip
    key = camera_key("front-door", f"{scan_id}.jpg")
    return Scan(scan_id, "front-door", key, "v1", iso, iso, local_day, decision, "local", 0)


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)
