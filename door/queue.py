"""The door's queue: receive, hand each message to the controller, delete it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from door.controller import DoorController, Verdict

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def drain(sqs: SQSClient, queue_url: str, controller: DoorController, wait_seconds: int = 0) -> list[Verdict]:
    """Handle messages until the queue answers with none; return what the door did.

    Every message is deleted once handled, refused or not: a refusal is final (a retry of
    a forgery is still a forgery, and a genuine decision retried later is stale).
    """
    verdicts: list[Verdict] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        ).get("Messages", [])
        if not messages:
            return verdicts
        for message in messages:
            verdicts.append(controller.handle(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
