"""The erasure queue delivered to the real ``erasure_worker``, as Lambda's SQS trigger would
(and the gallery health queue to ``gallery_health_worker``, the same way).

A message sent with ``DelaySeconds`` is received only once the delay has passed (local
AWS honours it). A failed run leaves its message to be received again a second later;
the queue's redrive policy dead-letters it after its last receive, as in AWS.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from sandbox.handled import HandledEvent

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType
    from mypy_boto3_sqs.type_defs import MessageTypeDef

log = logging.getLogger(__name__)
ACCOUNT_ARN = "arn:aws:sqs:us-east-1:123456789012"
COUNTS: list[QueueAttributeNameType] = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
]


def run_erasures(
    sqs: SQSClient, queue_name: str, timeout: float, handler: str = "erasure_worker"
) -> list[HandledEvent]:
    """Deliver ``queue_name``'s messages to the app's ``handler`` until none is left or waits."""
    import app

    url = str(sqs.get_queue_url(QueueName=queue_name)["QueueUrl"])
    handled: list[HandledEvent] = []
    deadline = time.monotonic() + timeout
    while True:
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=0,
            VisibilityTimeout=1,
            AttributeNames=["All"],
        ).get("Messages", [])
        for message in messages:
            handled.append(_deliver(getattr(app, handler), sqs, url, queue_name, message))
        if not messages:
            if time.monotonic() >= deadline or not _pending(sqs, url):
                return handled
            time.sleep(0.2)


def _deliver(worker: Any, sqs: SQSClient, url: str, queue_name: str, message: MessageTypeDef) -> HandledEvent:
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": f"{ACCOUNT_ARN}:{queue_name}",
        "awsRegion": "us-east-1",
    }
    try:
        worker({"Records": [record]}, None)  # the decorated handler, as Lambda calls it
    except Exception as error:  # Lambda leaves the message in the queue for another receive
        log.exception("queue worker failed")
        return HandledEvent([message["MessageId"]], f"{type(error).__name__}: {error}")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return HandledEvent([message["MessageId"]], None)


def _pending(sqs: SQSClient, url: str) -> bool:
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=COUNTS)["Attributes"]
    return any(int(counts.get(name, 0)) for name in COUNTS)
