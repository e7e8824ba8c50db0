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
from typing import Any

from chalicelib import wiring
from sandbox.moto_internals import MotoState
from sandbox.stack import LocalAws, Stack


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
TABLE_SHAPE = ("KeySchema", "GlobalSecondaryIndexes", "StreamSpecification")


def fingerprint(stack: Stack) -> dict[str, str]:
    """A digest per part of the stage: ``{"table:…": …, "bucket:…": …, "queue:…": …, …}``.

    Read from moto's state in this process (the server is a thread of it), not through the
    API: after every test, forty API calls cost more than most tests (about 0.25 s, twice that
    under coverage); a dictionary walk costs about a millisecond and sees the same resources.
    A thread still running from the test (a pump that outlived its join) may change a
    dictionary during the walk: the walk is tried again, then the error is the test's.
    """
    for _ in range(2):
        try:
            return _fingerprint(stack)
        except RuntimeError:  # "dictionary changed size during iteration"
            continue
    return _fingerprint(stack)


def _fingerprint(stack: Stack) -> dict[str, str]:
    moto = _StageParts(stack.session.region_name or "us-east-1")
    parts: dict[str, Any] = {}
    parts.update(moto.tables())
    parts.update(moto.buckets())
    parts.update(moto.queues())
    parts.update(moto.topics())
    parts["user pool"] = moto.user_pool(stack.names["user_pool_id"])
    aliases = moto.kms.list_aliases()
    parts["kms aliases"] = sorted((alias.alias_name, alias.target_key_id) for alias in aliases)
    alarms = moto.cloudwatch.describe_alarms()
    parts["alarms"] = sorted((alarm.name, alarm.state_value, alarm.actions_enabled) for alarm in alarms)
    parts["iam users"] = sorted(moto.iam.users)
    parts["cloudformation"] = sorted(
        (one.name, one.status, sorted(one.parameters.items())) for one in moto.cloudformation.stacks.values()
    )
    parts["ses identities"] = sorted(moto.ses.list_identities(None))
    parts["sent emails and notifications"] = (
        len(moto.ses.sent_messages),
        sorted((arn, len(topic.sent_notifications)) for arn, topic in moto.sns.topics.items()),
    )
    return {name: _digest(value) for name, value in parts.items()}


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The parts whose digest differs (or that appeared or vanished), by name."""
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def reset_data(stack: Stack) -> None:
    """Empty what tests write — items, object versions, messages, users, sent emails — and
    nothing else: what remains is compared with the stage as built.

    The deletes go through the API, as a client's would, so moto's own bookkeeping follows;
    moto's state only says which tables, buckets, queues and users hold something to delete.
    """
    moto = MotoState(stack.session.region_name or "us-east-1")
    _empty_tables(moto, stack.dynamodb)
    _empty_buckets(moto, stack.s3)
    for queue in moto.sqs.queues.values():
        if queue._messages:  # visible, in flight or delayed
            stack.sqs.purge_queue(QueueUrl=queue.physical_resource_id)
    cognito, pool = stack.cognito, stack.names["user_pool_id"]
    for username in list(moto.cognito.user_pools[pool].users):
        cognito.admin_delete_user(UserPoolId=pool, Username=username)
    # No API forgets what SES sent or SNS published; tests read both where moto keeps them
    # (``sandbox/mailbox.py``, the published alert texts).
    moto.ses.sent_messages.clear()
    moto.ses.sent_message_count = 0
    for topic in moto.sns.topics.values():
        topic.sent_notifications.clear()


def _empty_tables(moto: MotoState, dynamodb: Any) -> None:
    for name, table in moto.dynamodb.tables.items():
        if not table.all_items():
            continue
        keys = [key["AttributeName"] for key in table.schema]
        pages = dynamodb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True)
        items = [{key: item[key] for key in keys} for page in pages for item in page["Items"]]
        for start in range(0, len(items), 25):  # BatchWriteItem's most
            batch: Any = [{"DeleteRequest": {"Key": key}} for key in items[start : start + 25]]
            dynamodb.batch_write_item(RequestItems={name: batch})


def _empty_buckets(moto: MotoState, s3: Any) -> None:
    for name, bucket in moto.s3.buckets.items():
        while bucket.keys:  # the first page again until there is none: paging while deleting skips some
            page = s3.list_object_versions(Bucket=name)
            versions: list[Any] = [
                {"Key": version["Key"], "VersionId": version["VersionId"]}
                for version in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            ]
            if not versions:
                break
            s3.delete_objects(Bucket=name, Delete={"Objects": versions, "Quiet": True})


class _StageParts(MotoState):
    """The stage's parts, as the fingerprint reads them from moto's state."""

    def tables(self) -> dict[str, Any]:
        parts: dict[str, Any] = {}
        for name, table in self.dynamodb.tables.items():
            described = table.describe()["TableDescription"]
            shape = [described.get(key) for key in TABLE_SHAPE]
            rows = (item.to_json()["Attributes"] for item in table.all_items())
            items = sorted(json.dumps(row, sort_keys=True) for row in rows)
            parts[f"table:{name}"] = (shape, items)
        return parts

    def buckets(self) -> dict[str, Any]:
        parts: dict[str, Any] = {}
        for name, bucket in self.s3.buckets.items():
            versions = [
                (key.name, key.version_id, getattr(key, "etag", "delete marker"))
                for _, listed in bucket.keys._iterlists()
                for key in listed
            ]
            parts[f"bucket:{name}"] = (bucket.versioning_status, _notifications(bucket), sorted(versions))
        return parts

    def queues(self) -> dict[str, Any]:
        return {
            f"queue:{name}": {k: v for k, v in queue.attributes.items() if k not in VOLATILE_QUEUE_ATTRIBUTES}
            for name, queue in self.sqs.queues.items()
        }

    def topics(self) -> dict[str, Any]:
        subscriptions = [
            (
                one.topic.arn,
                one.protocol,
                one.endpoint,
                {k: v for k, v in one.attributes.items() if k in ("FilterPolicy", "RawMessageDelivery")},
            )
            for one in self.sns.subscriptions.values()
        ]
        return {"topics": sorted(self.sns.topics), "subscriptions": sorted(subscriptions, key=json.dumps)}

    def user_pool(self, pool_id: str) -> Any:
        pool = self.cognito.user_pools.get(pool_id)
        if pool is None:
            return None
        users = sorted(
            (name, user.enabled, user.status, sorted(group.group_name for group in user.groups))
            for name, user in pool.users.items()
        )
        clients = sorted(client.extended_config.get("ClientName", "") for client in pool.clients.values())
        return (users, sorted(pool.groups), clients)


def _notifications(bucket: Any) -> Any:
    configuration = bucket.notification_configuration
    if configuration is None:
        return None
    return {
        kind: sorted((one.id, one.arn, sorted(one.events), one.filters) for one in notifications)
        for kind in ("topic", "queue", "cloud_function")
        for notifications in [getattr(configuration, kind)]
    }


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, default=str).encode()).hexdigest()
