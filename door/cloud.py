"""The door agent's cloud, as its door identity sees it: its queue, its events, its heartbeat.

Each adapter receives its boto3 client; none raises for the cloud being away: the agent keeps
the door shut and says so (``reachable`` and ``problem``), and tries again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from door.keys import door_event_key
from door.ports import DoorEvent, DoorEventKind

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger(__name__)

OUTBOX_LIMIT = 1000  # door events kept while the cloud is away; the oldest go first
MAX_BODY = 64 * 1024  # no decision or command is this long: a bigger message is refused unread


class DoorQueue:
    """The door's own queue: receive, hand over each body, delete it (a refusal is final)."""

    def __init__(self, sqs: SQSClient, url: str) -> None:
        self._sqs = sqs
        self._url = url
        self.problem = ""  # why the last receive failed, "" when it worked

    def receive(self, wait_seconds: int) -> Iterator[str]:
        """The bodies of one receive (up to 10), each deleted once the caller has it back.

        A failed receive yields nothing and sets ``problem``; a failed delete is logged (the
        message comes back, and its id is refused as a replay)."""
        try:
            messages = self._sqs.receive_message(
                QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
            ).get("Messages", [])
        except Exception as error:  # network, credentials, throttling: the door stays shut
            self.problem = f"queue unreachable: {type(error).__name__}"
            return
        self.problem = ""
        for message in messages:
            body = str(message.get("Body", ""))
            yield body if len(body) <= MAX_BODY else ""
            try:
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
            except Exception as error:
                log.warning("could not delete a handled message: %s", type(error).__name__)


class S3DoorEvents:
    """Door events as JSON objects under ``door-events/<door>/`` (the cloud records and
    announces them); kept in a bounded outbox while S3 cannot be reached."""

    def __init__(self, s3: S3Client, bucket: str, door_id: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._door_id = door_id
        self._outbox: deque[DoorEvent] = deque()
        self._lock = threading.Lock()
        self.dropped = 0  # events lost from a full outbox since start
        self._dropped_told = 0  # of those, how many an EVENTS_DROPPED event has reported
        self.recent: deque[DoorEvent] = deque(maxlen=50)  # what was reported, for the status

    def report(self, event: DoorEvent) -> None:
        log.warning("door event %s at %s: %s", event.kind.value, event.door_id, event.detail)
        with self._lock:
            self.recent.append(event)
            if len(self._outbox) >= OUTBOX_LIMIT:
                self._outbox.popleft()
                self.dropped += 1
            self._outbox.append(event)

    @property
    def pending(self) -> int:
        return len(self._outbox)

    def flush(self) -> bool:
        """Send what waits, oldest first; stop at the first failure. True when all went.

        Once the outbox drains after it overflowed, one EVENTS_DROPPED says how many were lost
        (the outbox keeps the newest; the loss itself is the event)."""
        while True:
            with self._lock:
                if not self._outbox and self.dropped > self._dropped_told:
                    lost, self._dropped_told = self.dropped - self._dropped_told, self.dropped
                    told = _lost(self._door_id, lost)
                    log.warning("door event %s: %s", told.kind.value, told.detail)
                    self._outbox.append(told)
                    self.recent.append(told)
                if not self._outbox:
                    return True
                event = self._outbox[0]
            try:
                self._s3.put_object(
                    Bucket=self._bucket,
                    Key=door_event_key(self._door_id, event.at),
                    Body=json.dumps(event_document(event), sort_keys=True).encode(),
                    ContentType="application/json",
                )
            except Exception as error:
                log.warning("door event kept for later: %s", type(error).__name__)
                return False
            with self._lock:
                if self._outbox and self._outbox[0] is event:
                    self._outbox.popleft()


def _lost(door_id: str, count: int) -> DoorEvent:
    detail = f"{count} door events lost while the cloud was away (the outbox holds {OUTBOX_LIMIT})"
    return DoorEvent(DoorEventKind.EVENTS_DROPPED, door_id, time.time(), detail, {"dropped": count})


def event_document(event: DoorEvent) -> dict[str, Any]:
    """The JSON the cloud reads: ``{"kind", "door_id", "at", "detail", "counts"}``."""
    document = asdict(event)
    document["kind"] = event.kind.value
    return document


class Heartbeat:
    """One CloudWatch datapoint per beat: ``Heartbeat`` with the door, and with each camera
    that gave frames since the last beat. An alarm on a missing beat is the silence alarm."""

    def __init__(self, cloudwatch: CloudWatchClient, namespace: str, door_id: str) -> None:
        self._cloudwatch = cloudwatch
        self._namespace = namespace
        self._door_id = door_id

    def beat(self, cameras_alive: list[str]) -> bool:
        """Send one beat; False (logged) when CloudWatch cannot be reached."""
        data: list[Any] = [
            {"MetricName": "Heartbeat", "Dimensions": [{"Name": "Door", "Value": self._door_id}]}
        ]
        data += [
            {"MetricName": "Heartbeat", "Dimensions": [{"Name": "Camera", "Value": camera}]}
            for camera in cameras_alive
        ]
        for datum in data:
            datum.update(Value=1.0, Unit="Count")
        try:
            self._cloudwatch.put_metric_data(Namespace=self._namespace, MetricData=data)
        except Exception as error:
            log.warning("heartbeat not sent: %s", type(error).__name__)
            return False
        return True
