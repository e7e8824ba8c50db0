"""Gallery health jobs in the audit table, and the health queue on SQS.

Jobs live beside the audit entries (target ``gallery-health``, entry = the job id), like
erasure jobs: ids, counts and scores only. The job travels as one JSON attribute (its
scores are floats, which DynamoDB's resource would want as Decimals), with ``faces_done``
beside it for the conditional save. The entry ``latest`` names the latest job: written
only while it still names the job the starter read, so at most one start wins.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalicelib.aws import dynamo
from chalicelib.core.health_jobs import HealthJob
from chalicelib.enrollment.gallery_health import health_message

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_sqs import SQSClient

TARGET = "gallery-health"
LATEST = "latest"  # never a job id: those are 32 hex digits


class DynamoHealthJobs:
    """``HealthJobs`` over the audit table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def latest_id(self) -> str | None:
        item = dynamo.call(
            self._table.get_item, Key={"target": TARGET, "entry": LATEST}, ConsistentRead=True
        ).get("Item")
        return None if item is None else str(item["job_id"])

    def create(self, job: HealthJob, after: str | None) -> bool:
        condition, values = (
            ("attribute_not_exists(entry)", {}) if after is None else ("job_id = :after", {":after": after})
        )
        if not _conditional(
            self._table,
            {"target": TARGET, "entry": LATEST, "job_id": job.job_id},
            condition,
            values,
        ):
            return False
        dynamo.call(self._table.put_item, Item=_item(job))
        return True

    def get(self, job_id: str) -> HealthJob | None:
        item = dynamo.call(
            self._table.get_item, Key={"target": TARGET, "entry": job_id}, ConsistentRead=True
        ).get("Item")
        return None if item is None else HealthJob.from_dict(json.loads(str(item["job"])))

    def save(self, job: HealthJob, faces_done: int) -> bool:
        return _conditional(self._table, _item(job), "faces_done = :read", {":read": faces_done})


def _conditional(table: Table, item: dict[str, Any], condition: str, values: dict[str, Any]) -> bool:
    from botocore.exceptions import ClientError

    extra: dict[str, Any] = {"ExpressionAttributeValues": values} if values else {}
    try:
        dynamo.call(table.put_item, Item=item, ConditionExpression=condition, **extra)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _item(job: HealthJob) -> dict[str, Any]:
    return {
        "target": TARGET,
        "entry": job.job_id,
        "action": "gallery.health.job",
        "faces_done": job.faces_done,
        "job": json.dumps(job.to_dict(), separators=(",", ":")),
    }


class SqsHealthQueue:
    """``HealthQueue`` on the stage's gallery health queue, found by name once per container."""

    def __init__(self, client: SQSClient, queue_name: str) -> None:
        self._sqs = client
        self._name = queue_name
        self._url: str | None = None

    def send(self, job_id: str) -> None:
        if self._url is None:
            self._url = str(self._sqs.get_queue_url(QueueName=self._name)["QueueUrl"])
        self._sqs.send_message(QueueUrl=self._url, MessageBody=health_message(job_id))
