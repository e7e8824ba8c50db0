"""Structured JSON logs and CloudWatch metrics in Embedded Metric Format (EMF).

Every log line is one JSON object. A filter scrubs anything that looks like a bearer
token, a JWT or a long base64 run (a photo, an embedding) from messages before they are
written: the code never logs those, and this makes sure a stray exception text does not.

``timed(stage)`` marks a stage of a scan for whoever listens (``listen_to_stages``: the
latency benchmark); nothing listens in Lambda, where it costs one list check.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any, TextIO

NAMESPACE = "facegate"
METRICS = logging.getLogger("facegate.metrics")
_SECRETS = [
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),  # a JWT
    re.compile(r"[A-Za-z0-9+/]{200,}={0,2}"),  # image bytes or embeddings as base64
]
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# Called as listener(stage, started, ended) with time.perf_counter() readings, in the
# thread that ran the stage.
StageListener = Callable[[str, float, float], None]
_STAGE_LISTENERS: list[StageListener] = []
_UNTIMED: AbstractContextManager[None] = nullcontext()


def scrub(text: str) -> str:
    for pattern in _SECRETS:
        text = pattern.sub("[redacted]", text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """JSON on the root logger's handlers (Lambda's own, or a new one to stdout); metric
    records go to stdout as they are, one per line, where CloudWatch reads EMF."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(stream or sys.stdout))
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())
    root.setLevel(level)
    raw = logging.StreamHandler(stream or sys.stdout)
    raw.setFormatter(logging.Formatter("%(message)s"))
    METRICS.handlers = [raw]
    METRICS.propagate = False
    METRICS.setLevel(logging.INFO)
    logging.getLogger("chalicelib").setLevel(level)
    for chatty in ("botocore", "boto3", "urllib3"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def emit_scan_metrics(
    stage: str, status: str, camera_id: str, duration_ms: float, out: TextIO | None = None
) -> None:
    """One EMF record: CloudWatch turns it into the metrics Scans and ScanDuration by status."""
    metrics = [{"Name": "Scans", "Unit": "Count"}, {"Name": "ScanDuration", "Unit": "Milliseconds"}]
    values = {"Stage": stage, "Status": status, "Camera": camera_id, "Scans": 1}
    _emit([["Stage", "Status"], ["Stage"]], metrics, {**values, "ScanDuration": round(duration_ms, 1)})


def emit_door_event(stage: str, kind: str, alarming: bool) -> None:
    """One EMF record: DoorEvents by kind, and DoorAlarms (the alarmed ones) for the alarm."""
    metrics = [{"Name": "DoorEvents", "Unit": "Count"}, {"Name": "DoorAlarms", "Unit": "Count"}]
    values = {"Stage": stage, "Kind": kind, "DoorEvents": 1, "DoorAlarms": int(alarming)}
    _emit([["Stage", "Kind"], ["Stage"]], metrics, values)


def emit_report_overdue(stage: str, overdue: bool) -> None:
    """One EMF record: the gauge ReportOverdue (1 while the latest day due went unsent), by stage.

    The report function emits it on every hourly run; its alarm treats missing data as
    breaching, so a schedule that stopped alarms like a report that was not sent.
    """
    _emit(
        [["Stage"]],
        [{"Name": "ReportOverdue", "Unit": "None"}],
        {"Stage": stage, "ReportOverdue": int(overdue)},
    )


def emit_authorized_unannounced(stage: str) -> None:
    """One EMF record: AuthorizedUnannounced, an AUTHORIZED whose publication failed (the door
    stayed shut and it is never resent late: only this metric's alarm tells anyone)."""
    _emit(
        [["Stage"]],
        [{"Name": "AuthorizedUnannounced", "Unit": "Count"}],
        {"Stage": stage, "AuthorizedUnannounced": 1},
    )


def emit_record_copy_failed(stage: str) -> None:
    """One EMF record: RecordCopyFailed, a scan's ``processed/`` copy (Athena's row) not stored
    this time (a redelivery puts it again)."""
    _emit(
        [["Stage"]], [{"Name": "RecordCopyFailed", "Unit": "Count"}], {"Stage": stage, "RecordCopyFailed": 1}
    )


def _emit(dimensions: list[list[str]], metrics: list[dict[str, str]], values: dict[str, object]) -> None:
    record = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": dimensions, "Metrics": metrics}],
        },
        **values,
    }
    METRICS.info(json.dumps(record))


def listen_to_stages(listener: StageListener) -> Callable[[], None]:
    """Hand every stage ``timed`` marks in this process to ``listener`` until the returned
    function is called."""
    _STAGE_LISTENERS.append(listener)
    return lambda: _STAGE_LISTENERS.remove(listener)


def timed(stage: str) -> AbstractContextManager[None]:
    """A context that times ``stage`` for the listeners, or does nothing when none listens."""
    return _Timed(stage) if _STAGE_LISTENERS else _UNTIMED


class _Timed:
    def __init__(self, stage: str) -> None:
        self._stage = stage
        self._started = 0.0

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, *_: object) -> None:
        ended = time.perf_counter()
        for listener in list(_STAGE_LISTENERS):
            listener(self._stage, self._started, ended)
