"""facegate's Lambda functions: thin handlers that parse, call one service and return."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

from chalice.app import Chalice, CloudWatchEvent, Cron, Rate, S3Event, SQSEvent

from chalicelib import wiring
from chalicelib.api.access import access_api
from chalicelib.api.consent import consent_api
from chalicelib.api.door_commands import door_commands_api
from chalicelib.api.door_events import door_events_api
from chalicelib.api.employees import employees_api
from chalicelib.api.erasures import erasures_api
from chalicelib.api.faces import faces_api
from chalicelib.api.gallery import gallery_api
from chalicelib.api.http import json_errors
from chalicelib.api.reports import reports_api
from chalicelib.api.scans import scans_api
from chalicelib.api.scim import scim_api
from chalicelib.core.config import Settings
from chalicelib.core.keys import DOOR_EVENTS_PREFIX, ENROLL_PREFIX, INCOMING_PREFIX
from chalicelib.core.observability import configure_logging, emit_report_overdue
from chalicelib.scanning.events import uploads_from_s3_event
from chalicelib.scanning.pipeline import process_upload

app = Chalice(app_name="facegate", configure_logs=False)
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # in Lambda: JSON logs and EMF metrics on stdout
    configure_logging(logging.INFO)
# The camera function of a local-engine stage loads its models now, in Lambda's init phase,
# not at the first scan; wiring decides, and every other function stays lazy.
wiring.warm_up()

# Registered on the app, not a blueprint: a blueprint's middleware would apply app-wide anyway.
app.register_middleware(json_errors, "http")
app.register_blueprint(employees_api)
app.register_blueprint(scans_api)
app.register_blueprint(erasures_api)
app.register_blueprint(gallery_api)
app.register_blueprint(faces_api)
app.register_blueprint(reports_api)
app.register_blueprint(access_api)
app.register_blueprint(door_commands_api)
app.register_blueprint(door_events_api)
app.register_blueprint(scim_api)
app.register_blueprint(consent_api)


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    """Open to all: is the API up, and which stage and engine does it run."""
    settings = Settings.from_env()
    return {"status": "ok", "stage": settings.stage, "engine": settings.engine}


# Read at import: Chalice reads the decorator when it packages or deploys, and it imports
# app.py with the stage's environment variables set, so the stage's FACEGATE_CAMERA_BUCKET
# in .chalice/config.json (written by `make deploy`) is the bucket that triggers it.
CAMERA_BUCKET = os.environ.get("FACEGATE_CAMERA_BUCKET", "facegate-sandbox-camera-123456789012")


@app.on_s3_event(bucket=CAMERA_BUCKET, prefix=INCOMING_PREFIX, events=["s3:ObjectCreated:*"])
def on_camera_upload(event: S3Event) -> None:
    """A camera photo arrived: decide, record, announce."""

    settings = Settings.from_env()
    ports = wiring.pipeline_ports(settings)
    for upload in uploads_from_s3_event(event.to_dict()):
        process_upload(upload, ports, settings)


@app.on_s3_event(
    bucket=CAMERA_BUCKET, prefix=ENROLL_PREFIX, events=["s3:ObjectCreated:*"], name="on_enrollment_upload"
)
def on_enrollment_upload(event: S3Event) -> None:
    """A photo in the drop folder: enroll it as the API would, delete it, tell the admins."""
    from chalicelib.enrollment.drop_folder import enroll_dropped
    from chalicelib.enrollment.employee_rules import new_employee

    settings = Settings.from_env()
    ports = wiring.drop_ports(settings)
    for upload in uploads_from_s3_event(event.to_dict()):
        outcome = enroll_dropped(
            upload, ports, settings.limits, new_employee, policy=settings.policy, consent=settings.consent
        )
        app.log.info("drop folder %s", outcome.to_dict())


@app.on_s3_event(
    bucket=CAMERA_BUCKET, prefix=DOOR_EVENTS_PREFIX, events=["s3:ObjectCreated:*"], name="on_door_event"
)
def on_door_event(event: S3Event) -> None:
    """A door agent reported a door event (held open, forced open, …): record it, tell security."""
    from chalicelib.doors.events import record_door_event

    settings = Settings.from_env()
    ports = wiring.door_event_ports(settings)
    for upload in uploads_from_s3_event(event.to_dict()):
        record_door_event(upload, ports, settings.stage)


# Hourly, so the local report hour needs no cron edit when daylight saving starts or ends.
@app.schedule(Cron(0, "*", "*", "*", "?", "*"), name="daily_report")
def daily_report(event: CloudWatchEvent) -> dict[str, object]:
    """Email facilities the day's summary once its report hour has begun (once per day).

    A manual run may name the day: an event with ``{"detail": {"day": "YYYY-MM-DD"}}``.
    """
    from chalicelib.reporting.reports import report_overdue, run_daily_report  # only this function needs them

    settings = Settings.from_env()
    detail = event.to_dict().get("detail") or {}
    day = detail.get("day") if isinstance(detail, dict) else None
    ports = wiring.report_ports(settings)
    try:
        outcome = run_daily_report(ports, settings, datetime.now(UTC), day)
    finally:  # every run, sent or failed: no gauge at all (the schedule stopped) alarms too
        emit_report_overdue(settings.stage, report_overdue(ports.ledger, settings, datetime.now(UTC)))
    app.log.info("daily report %s", outcome.to_dict())
    return outcome.to_dict()


@app.schedule(Rate(15, unit=Rate.MINUTES), name="gallery_snapshot")
def gallery_snapshot(event: CloudWatchEvent) -> dict[str, object]:
    """Pack the local engine's gallery for cold containers, when it changed (local stages only)."""
    from chalicelib.core.errors import SnapshotRaced
    from chalicelib.engines.gallery_sync import publish_snapshot

    settings = Settings.from_env()
    if settings.engine != "local":
        return {"published": False, "reason": "the stage's engine keeps no gallery of its own"}
    try:
        faces = publish_snapshot(*wiring.gallery_ports(settings))
    except SnapshotRaced as error:  # an import in progress: the next run publishes
        app.log.warning("gallery snapshot not published: %s", error)
        return {"published": False, "reason": str(error)}
    app.log.info("gallery snapshot %s", "unchanged" if faces is None else f"of {faces} faces")
    return {"published": faces is not None, "faces": faces}


# Hourly: the first run of each site day starts the day's sweep, later ones resume a large
# site's where the last stopped (or return at once once the day's is done).
@app.schedule(Cron(30, "*", "*", "*", "?", "*"), name="retention_sweep")
def retention_sweep(event: CloudWatchEvent) -> dict[str, object]:
    """Erase the faces whose retention ran out (by the erasure job); tell admins of those due soon."""
    from chalicelib.erasure.retention import sweep

    settings = Settings.from_env()
    context: Any = event.context  # Lambda's context object; None when called directly
    time_left = (lambda: context.get_remaining_time_in_millis() / 1000) if context else None
    outcome = sweep(wiring.retention_ports(settings), settings, time_left).to_dict()
    app.log.info("retention sweep %s", outcome)
    return outcome


# Read at import, like CAMERA_BUCKET: the stage's FACEGATE_ERASURE_QUEUE in .chalice/config.json.
ERASURE_QUEUE = os.environ.get("FACEGATE_ERASURE_QUEUE", "facegate-sandbox-erasures")


@app.on_sqs_message(queue=ERASURE_QUEUE, batch_size=1, name="erasure_worker")
def erasure_worker(event: SQSEvent) -> None:
    """Run an employee's erasure job as far as this invocation allows (it re-queues the rest)."""
    from chalicelib.erasure.job import run_job
    from chalicelib.erasure.messages import job_id_of

    settings = Settings.from_env()
    context: Any = event.context  # Lambda's context object; None when called directly
    time_left = (lambda: context.get_remaining_time_in_millis() / 1000) if context else None
    for record in event:
        receives = int(record.to_dict().get("attributes", {}).get("ApproximateReceiveCount", "1"))
        run_job(
            job_id_of(record.body),
            wiring.erasure_ports(settings),
            settings,
            receive_count=receives,
            time_left=time_left,
        )


# Read at import, like ERASURE_QUEUE: the stage's FACEGATE_HEALTH_QUEUE in .chalice/config.json.
HEALTH_QUEUE = os.environ.get("FACEGATE_HEALTH_QUEUE", "facegate-sandbox-gallery-health")


@app.on_sqs_message(queue=HEALTH_QUEUE, batch_size=1, name="gallery_health_worker")
def gallery_health_worker(event: SQSEvent) -> None:
    """Run a gallery health job's next slices (bounded; it re-queues the rest)."""
    from chalicelib.enrollment.gallery_health import job_id_of, run_health

    settings = Settings.from_env()
    context: Any = event.context  # Lambda's context object; None when called directly
    time_left = (lambda: context.get_remaining_time_in_millis() / 1000) if context else None
    for record in event:
        receives = int(record.to_dict().get("attributes", {}).get("ApproximateReceiveCount", "1"))
        ports = wiring.health_ports(settings)
        run_health(
            job_id_of(record.body), ports, settings.policy, receive_count=receives, time_left=time_left
        )
