"""One stack for a module's tests that only read it, and the check that they did.

Building a stack (moto reset, the template, queues, the user pool, the alarms) is the
suite's biggest single cost, and most parametrised cases — a hostile input refused, an
attack answered 403, a checked read failing closed — never change it. A module whose tests
all only read says so with

    @pytest.fixture
    def stack(read_only_stack: Stack) -> Stack:
        return read_only_stack

and may prepare what they read in a module-scoped override of ``shared_stack``. Each test is
then checked, before and after, against a fingerprint of everything a test could leave
behind (every table's items, every object version, every queue's messages, the pool's users
and their groups): a test that changed any of it fails and names what changed. Stacks a
test changes stay function-scoped (``stack`` in ``tests/conftest.py``).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.stack import Stack


def fingerprint(stack: Stack) -> dict[str, str]:
    """A digest per part of the stack's state: ``{"table:…": …, "bucket:…": …, …}``."""
    session = stack.session
    parts: dict[str, Any] = {}
    dynamodb = session.client("dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        pages = dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        items = [item for page in pages for item in page["Items"]]
        parts[f"table:{table}"] = sorted(json.dumps(item, sort_keys=True) for item in items)
    s3 = session.client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        versions = []
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            versions += [(v["Key"], v["VersionId"], v.get("ETag", "")) for v in page.get("Versions", [])]
            versions += [(m["Key"], m["VersionId"], "delete marker") for m in page.get("DeleteMarkers", [])]
        parts[f"bucket:{name}"] = sorted(versions)
    sqs = session.client("sqs")
    counts = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=counts)["Attributes"]  # type: ignore[arg-type]
        parts[f"queue:{url.rsplit('/', 1)[-1]}"] = attributes
    cognito, pool = stack.cognito, stack.names["user_pool_id"]
    users = []
    for user in cognito.list_users(UserPoolId=pool)["Users"]:
        groups = cognito.admin_list_groups_for_user(UserPoolId=pool, Username=user["Username"])["Groups"]
        names = sorted(group["GroupName"] for group in groups)
        users.append((user["Username"], user["Enabled"], user["UserStatus"], names))
    parts["user pool"] = sorted(users)
    return {name: _digest(value) for name, value in parts.items()}


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, default=str).encode()).hexdigest()


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The parts whose digest differs (or that appeared or vanished), by name."""
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
