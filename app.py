"""facegate's Lambda functions: thin handlers that parse, call one service and return."""

from __future__ import annotations

import logging
import os

from chalice.app import Chalice, S3Event

from chalicelib.api.employees import employees_api
from chalicelib.api.scans import scans_api
from chalicelib.config import Settings
from chalicelib.events import uploads_from_s3_event
from chalicelib.pipeline import process_upload

app = Chalice(app_name="facegate")
app.log.setLevel(logging.INFO)
logging.getLogger("chalicelib").setLevel(logging.INFO)

app.register_blueprint(employees_api)
app.register_blueprint(scans_api)


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    """Open to all: is the API up, and which stage and engine does it run."""
    settings = Settings.from_env()
    return {"status": "ok", "stage": settings.stage, "engine": settings.engine}


# Read at import, because Chalice reads the decorator when it deploys: export
# FACEGATE_CAMERA_BUCKET before `chalice deploy` for any bucket but the dev default.
CAMERA_BUCKET = os.environ.get("FACEGATE_CAMERA_BUCKET", "facegate-dev-camera")
INCOMING_PREFIX = "incoming/"


@app.on_s3_event(bucket=CAMERA_BUCKET, prefix=INCOMING_PREFIX, events=["s3:ObjectCreated:*"])
def on_camera_upload(event: S3Event) -> None:
    """A camera photo arrived: decide, record, announce."""
    from chalicelib import wiring

    settings = Settings.from_env()
    ports = wiring.pipeline_ports(settings)
    for upload in uploads_from_s3_event(event.to_dict()):
        process_upload(upload, ports, settings)
