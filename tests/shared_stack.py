"""One stack per test module, reset between tests, and the proof that each reset restored it.

Building a stack (moto reset, the template, queues, the user pool, the alarms) was the
suite's biggest single cost: 547 builds, about 45 % of pytest. Most tests only use the stage
— they write employees, upload photos, read decisions — and never change the stage itself.
So ``stack`` is built once per module (per worker) and, after each test, ``reset_data``
empties what tests write: every table's items, every object version, every queue's messages,
the pool's users, the emails SES sent and what SNS published. Then ``fingerprint`` — the stage's resources
and settings *and* its data — must equal the fingerprint it had when it was built: a test
that changed anything the reset does not restore (a queue created, a subscription, an
alarm's state, a bucket's notifications, a CloudFormation update) fails, names what it
changed, and the next test gets a stack built afresh. Such tests ask for ``fresh_stack``.

Modules whose tests only read a stage they prepare once use ``read_only_stack``: no reset,
the fingerprint is compared before and after each test instead.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from chalicelib import wiring
from sandbox.stack import LocalAws, Stack

if TYPE_CHECKING:
    import boto3.session


class SharedStage:
    """A module's stage: built on first use and again whenever local AWS was reset since."""

    def __init__(self, aws: LocalAws) -> None:
        self.aws = aws
        self.stack: Stack | None = None
        self.built_at = -1  # which of local AWS's resets the stack was built after
        self.as_built: dict[str, str] = {}
        self.attributes: dict[str, object] = {}

    def get(self) -> Stack:
        if self.stack is None or self.built_at != self.aws.resets:
            self.aws.reset()
            wiring.reset()
            self.stack = Stack(self.aws)
            self.built_at = self.aws.resets
            reset_data(self.stack)  # S3's test event in the uploads queue: every test starts alike
            self.as_built = fingerprint(self.stack)
            self.attributes = dict(vars(self.stack))  # a test may point them elsewhere
        return self.stack

    def restore(self) -> list[str]:
        """Empty the data and name what still differs from the stage as built (then forget it)."""
        assert self.stack is not None
        vars(self.stack).update(self.attributes)
        try:
            reset_data(self.stack)
            changed = changes(self.as_built, fingerprint(self.stack))
        except Exception:
            self.stack = None
            raise
        if changed:
            self.stack = None  # the next test gets a stage built afresh
        return changed


# Queue attributes that change when nothing a test did matters (moto fills them on every read).
VOLATILE_QUEUE_ATTRIBUTES = {"LastModifiedTimestamp", "CreatedTimestamp"}


def fingerprint(stack: Stack) -> dict[str, str]:
    """A digest per part of the stage: ``{"table:…": …, "bucket:…": …, "queue:…": …, …}``."""
    session = stack.session
    parts: dict[str, Any] = {}
    parts.update(_tables(session))
    parts.update(_buckets(session))
    parts.update(_queues(session))
    parts.update(_topics(session))
    parts["user pool"] = _user_pool(stack)
    aliases = session.client("kms").list_aliases()["Aliases"]
    parts["kms aliases"] = sorted((alias["AliasName"], alias.get("TargetKeyId", "")) for alias in aliases)
    alarms = session.client("cloudwatch").describe_alarms()["MetricAlarms"]
    parts["alarms"] = sorted((a["AlarmName"], a["StateValue"], a["ActionsEnabled"]) for a in alarms)
    parts["iam users"] = sorted(user["UserName"] for user in session.client("iam").list_users()["Users"])
    stacks = session.client("cloudformation").describe_stacks()["Stacks"]
    parts["cloudformation"] = sorted(
        (one["StackName"], one["StackStatus"], sorted(map(json.dumps, one.get("Parameters", []))))
        for one in stacks
    )
    ses = session.client("ses")
    parts["ses identities"] = sorted(ses.list_identities()["Identities"])
    parts["sent emails and notifications"] = _sent_messages(session)
    return {name: _digest(value) for name, value in parts.items()}


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The parts whose digest differs (or that appeared or vanished), by name."""
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def reset_data(stack: Stack) -> None:
    """Empty what tests write — items, object versions, messages, users, sent emails — and
    nothing else: what remains is compared with the stage as built."""
    session = stack.session
    dynamodb = session.client("dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
        keys = [key["AttributeName"] for key in schema]
        pages = dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        items = [{name: item[name] for name in keys} for page in pages for item in page["Items"]]
        for start in range(0, len(items), 25):  # BatchWriteItem's most
            batch: Any = [{"DeleteRequest": {"Key": key}} for key in items[start : start + 25]]
            dynamodb.batch_write_item(RequestItems={table: batch})
    s3 = session.client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        while True:  # the first page again until there is none: paging while deleting skips some
            page = s3.list_object_versions(Bucket=bucket["Name"])
            versions: list[Any] = [
                {"Key": version["Key"], "VersionId": version["VersionId"]}
                for version in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            ]
            if not versions:
                break
            s3.delete_objects(Bucket=bucket["Name"], Delete={"Objects": versions, "Quiet": True})
    sqs = session.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        sqs.purge_queue(QueueUrl=url)
    cognito, pool = stack.cognito, stack.names["user_pool_id"]
    for user in cognito.list_users(UserPoolId=pool)["Users"]:
        cognito.admin_delete_user(UserPoolId=pool, Username=user["Username"])
    _forget_sent_messages(session)


def _moto_backends(session: boto3.session.Session) -> tuple[Any, Any]:
    """moto's SES and SNS backends of this process (the server is a thread of it)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    region = session.region_name or "us-east-1"
    return ses_backends[DEFAULT_ACCOUNT_ID][region], sns_backends[DEFAULT_ACCOUNT_ID][region]


def _forget_sent_messages(session: boto3.session.Session) -> None:
    """What SES sent and SNS published: no API forgets either, and tests read both where moto
    keeps them (``sandbox/mailbox.py``, the published alert texts)."""
    ses, sns = _moto_backends(session)
    ses.sent_messages.clear()
    ses.sent_message_count = 0
    for topic in sns.topics.values():
        topic.sent_notifications.clear()


def _sent_messages(session: boto3.session.Session) -> Any:
    ses, sns = _moto_backends(session)
    return len(ses.sent_messages), sorted((arn, len(t.sent_notifications)) for arn, t in sns.topics.items())


def _tables(session: boto3.session.Session) -> dict[str, Any]:
    dynamodb = session.client("dynamodb")
    parts: dict[str, Any] = {}
    for table in dynamodb.list_tables()["TableNames"]:
        described = dynamodb.describe_table(TableName=table)["Table"]
        shape = [described.get(key) for key in ("KeySchema", "GlobalSecondaryIndexes", "StreamSpecification")]
        pages = dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        items = [item for page in pages for item in page["Items"]]
        parts[f"table:{table}"] = (shape, sorted(json.dumps(item, sort_keys=True) for item in items))
    return parts


def _buckets(session: boto3.session.Session) -> dict[str, Any]:
    s3 = session.client("s3")
    parts: dict[str, Any] = {}
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        versions = []
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            versions += [(v["Key"], v["VersionId"], v.get("ETag", "")) for v in page.get("Versions", [])]
            versions += [(m["Key"], m["VersionId"], "delete marker") for m in page.get("DeleteMarkers", [])]
        answer = s3.get_bucket_notification_configuration(Bucket=name)
        notifications = {key: value for key, value in answer.items() if key != "ResponseMetadata"}
        status = s3.get_bucket_versioning(Bucket=name).get("Status", "")
        parts[f"bucket:{name}"] = (status, notifications, sorted(versions))
    return parts


def _queues(session: boto3.session.Session) -> dict[str, Any]:
    sqs = session.client("sqs")
    parts: dict[str, Any] = {}
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        kept = {key: value for key, value in attributes.items() if key not in VOLATILE_QUEUE_ATTRIBUTES}
        parts[f"queue:{url.rsplit('/', 1)[-1]}"] = kept
    return parts


def _topics(session: boto3.session.Session) -> dict[str, Any]:
    sns = session.client("sns")
    topics = sorted(topic["TopicArn"] for topic in sns.list_topics()["Topics"])
    subscriptions = []
    for subscription in sns.list_subscriptions()["Subscriptions"]:
        arn = subscription["SubscriptionArn"]
        attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        kept = {k: v for k, v in attributes.items() if k in ("FilterPolicy", "RawMessageDelivery")}
        where = (subscription["TopicArn"], subscription["Protocol"], subscription["Endpoint"])
        subscriptions.append((*where, kept))
    return {"topics": topics, "subscriptions": sorted(subscriptions, key=json.dumps)}


def _user_pool(stack: Stack) -> Any:
    cognito, pool = stack.cognito, stack.names["user_pool_id"]
    users = []
    for user in cognito.list_users(UserPoolId=pool)["Users"]:
        groups = cognito.admin_list_groups_for_user(UserPoolId=pool, Username=user["Username"])["Groups"]
        names = sorted(group["GroupName"] for group in groups)
        users.append((user["Username"], user["Enabled"], user["UserStatus"], names))
    pool_groups = sorted(group["GroupName"] for group in cognito.list_groups(UserPoolId=pool)["Groups"])
    clients = cognito.list_user_pool_clients(UserPoolId=pool)["UserPoolClients"]
    return (sorted(users), pool_groups, sorted(client["ClientName"] for client in clients))


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, default=str).encode()).hexdigest()
