"""Erasure jobs in the audit table, and the erasure queue on SQS.

Jobs live beside the audit entries (target ``erasure``, entry = the job id), like the
report ledger: they hold ids and counts only, are kept as long as the audit trail, are
covered by the same point-in-time recovery, and need no table of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.aws import dynamo
from chalicelib.core.models import ErasureJob
from chalicelib.erasure.messages import erasure_message

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_sqs import SQSClient

TARGET = "erasure"


class DynamoErasureJobs:
    """``ErasureJobs`` over the audit table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, job: ErasureJob) -> bool:
        from botocore.exceptions import ClientError

        try:
            dynamo.call(
                self._table.put_item, Item=_item(job), ConditionExpression="attribute_not_exists(entry)"
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, job_id: str) -> ErasureJob | None:
        item = dynamo.call(
            self._table.get_item, Key={"target": TARGET, "entry": job_id}, ConsistentRead=True
        ).get("Item")
        return None if item is None else ErasureJob.from_dict(item)

    def save(self, job: ErasureJob) -> None:
        dynamo.call(self._table.put_item, Item=_item(job))


def _item(job: ErasureJob) -> dict[str, Any]:
    fields = {key: value for key, value in job.to_dict().items() if value is not None}
    return {"target": TARGET, "entry": job.job_id, "action": "erasure.job", **fields}


class SqsErasureQueue:
    """``ErasureQueue`` on the stage's erasure queue, found by name once per container."""

    def __init__(self, client: SQSClient, queue_name: str) -> None:
        self._sqs = client
        self._name = queue_name
        self._url: str | None = None

    def send(self, job_id: str, delay_seconds: int = 0) -> None:
        if self._url is None:
            self._url = str(self._sqs.get_queue_url(QueueName=self._name)["QueueUrl"])
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=erasure_message(job_id),
            DelaySeconds=max(0, min(900, delay_seconds)),
        )
