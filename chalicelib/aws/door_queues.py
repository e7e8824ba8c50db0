"""Each door's own SQS queue as ``DoorQueues``: remote commands go straight to it.

The queue is named ``chalicelib.core.keys.door_queue_name(stage, door_id)`` (``infra/doors.py``
makes it with the door's identity). Looked up by name at every command, not cached: a door
removed since (``make door-remove``) must answer "no queue", not swallow the command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.errors import NotFound
from chalicelib.core.keys import door_queue_name

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# The error codes of a queue that is not there: SQS's JSON protocol, then its query protocol.
NO_QUEUE = frozenset({"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"})


class SqsDoorQueues:
    def __init__(self, client: SQSClient, stage: str) -> None:
        self._sqs = client
        self._stage = stage

    def address(self, door_id: str) -> str:
        from botocore.exceptions import ClientError

        try:
            return str(self._sqs.get_queue_url(QueueName=door_queue_name(self._stage, door_id))["QueueUrl"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in NO_QUEUE:
                raise NotFound(f"door {door_id} has no queue: make door-add DOOR={door_id}") from None
            raise

    def send(self, address: str, body: str) -> None:
        self._sqs.send_message(QueueUrl=address, MessageBody=body)
