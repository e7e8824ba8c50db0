"""Where each scan's time goes, traced from outside the handler.

Three sources, none of which costs the Lambda anything: the stages the pipeline and the
local engine mark with ``observability.timed``, every AWS call the handler's clients make
(botocore's event hooks on ``wiring``'s cached clients), and the pipeline's own EMF
metric ``ScanDuration``. Each is attributed to the upload whose photo the calling thread
last fetched (the ``GetObject`` a scan starts with names its key).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib import wiring
from chalicelib.core import observability

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from chalicelib.core.config import Settings

READ_STAGE = "read image"  # the pipeline's first stage: when the handler started on a photo
PUBLISH_CALL = "sns Publish"  # the decision leaves the handler with this call (moto delivers inside it)


@dataclass
class Trace:
    """One upload's instants (``time.perf_counter()``) and its stages' seconds."""

    key: str
    scan_id: str = ""  # from the version the camera's put made
    put_started: float = 0.0
    put_ended: float = 0.0
    handler_started: float | None = None
    publish_started: float | None = None
    received: float | None = None
    scan_duration_ms: float | None = None  # the EMF metric, as CloudWatch would get it
    retries: int = 0  # AWS calls the SDK retried (in the sandbox: moto's own 500s)
    stages: dict[str, float] = field(default_factory=dict)  # summed when a stage repeats

    def add(self, stage: str, started: float, ended: float) -> None:
        self.stages[stage] = self.stages.get(stage, 0.0) + (ended - started)
        if stage == READ_STAGE:
            self.handler_started = started
        elif stage == PUBLISH_CALL:
            self.publish_started = started


class ScanTraces:
    """Collects ``Trace``s while entered; ``expect`` names an upload before it is put."""

    def __init__(self, settings: Settings) -> None:
        self._roles = {
            settings.scans_table: "scans",
            settings.faces_table: "faces",
            settings.employees_table: "employees",
            settings.access_table: "access",
        }
        self._traces: dict[str, Trace] = {}
        self._current: dict[int, Trace] = {}  # thread → the upload it is scanning
        self._calls = threading.local()  # started calls, innermost last
        self._lock = threading.Lock()
        self._undo: list[Any] = []

    def expect(self, key: str) -> Trace:
        with self._lock:
            trace = self._traces[key] = Trace(key)
        return trace

    def __enter__(self) -> ScanTraces:
        self._undo.append(observability.listen_to_stages(self._stage))
        clients: list[BaseClient] = [wiring.client(service) for service in ("s3", "kms", "sns")]
        clients.append(wiring.table(next(iter(self._roles))).meta.client)
        for client in clients:
            events = client.meta.events
            events.register("before-parameter-build", self._call_started)
            events.register("after-call", self._call_ended)
            events.register("after-call-error", self._call_failed)
            self._undo.append(lambda events=events: _unregister(events, self))
        metrics = observability.METRICS
        saved = (metrics.level, metrics.propagate)
        handler = _MetricsHandler(self)
        metrics.addHandler(handler)
        metrics.setLevel(logging.INFO)
        metrics.propagate = False

        def restore() -> None:
            metrics.removeHandler(handler)
            metrics.setLevel(saved[0])
            metrics.propagate = saved[1]

        self._undo.append(restore)
        return self

    def __exit__(self, *_: object) -> None:
        while self._undo:
            self._undo.pop()()

    def current(self) -> Trace | None:
        return self._current.get(threading.get_ident())

    def _stage(self, stage: str, started: float, ended: float) -> None:
        trace = self.current()
        if trace is not None:
            trace.add(stage, started, ended)

    def _call_started(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "GetObject" and model.service_model.service_name == "s3":
            trace = self._traces.get(str(params.get("Key")))
            if trace is not None:
                self._current[threading.get_ident()] = trace
        label = f"{model.service_model.service_name} {model.name}"
        role = self._roles.get(str(params.get("TableName")))
        self._started().append((f"{label} {role}" if role else label, time.perf_counter()))

    def _call_ended(self, parsed: dict[str, Any], **_: Any) -> None:
        ended = time.perf_counter()
        started = self._started()
        if started:
            label, at = started.pop()
            self._stage(label, at, ended)
        trace = self.current()
        if trace is not None:
            trace.retries += int(parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0))

    def _call_failed(self, **_: Any) -> None:
        if self._started():
            self._started().pop()

    def _started(self) -> list[tuple[str, float]]:
        calls: list[tuple[str, float]] | None = getattr(self._calls, "started", None)
        if calls is None:
            calls = self._calls.started = []
        return calls


def _unregister(events: Any, traces: ScanTraces) -> None:
    events.unregister("before-parameter-build", traces._call_started)
    events.unregister("after-call", traces._call_ended)
    events.unregister("after-call-error", traces._call_failed)


class _MetricsHandler(logging.Handler):
    """Reads ``ScanDuration`` off the pipeline's EMF line, in the thread that emitted it."""

    def __init__(self, traces: ScanTraces) -> None:
        super().__init__(logging.INFO)
        self._traces = traces

    def emit(self, record: logging.LogRecord) -> None:
        trace = self._traces.current()
        duration = json.loads(record.getMessage()).get("ScanDuration")
        if trace is not None and duration is not None:
            trace.scan_duration_ms = float(duration)
