"""Local AWS with moto's growing costs taken out (``sandbox/moto_internals.py``) still answers as AWS does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
import pytest

from sandbox.moto_internals import MotoState
from sandbox.stack import LocalAws

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@pytest.mark.parametrize(("age_seconds", "received"), [(0, ["sent"]), (59, ["sent"]), (61, [])])
def test_a_message_is_received_only_within_the_queues_retention(
    local_aws: LocalAws, age_seconds: int, received: list[str]
) -> None:
    sqs: SQSClient = boto3.session.Session().client("sqs")
    url = sqs.create_queue(QueueName="retention", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    try:
        sqs.send_message(QueueUrl=url, MessageBody="sent")
        [message] = MotoState().sqs.queues["retention"]._messages
        sent: Any = message.sent_timestamp  # moto keeps milliseconds
        message.sent_timestamp = sent - age_seconds * 1000
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        assert [message["Body"] for message in answer.get("Messages", [])] == received
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_local_aws_checks_retention_with_its_own_check(local_aws: LocalAws) -> None:
    from moto.sqs.models import SQSBackend

    check = SQSBackend.is_message_valid_based_on_retention_period
    assert check.__module__ == "sandbox.moto_internals"  # installed when local AWS started
