"""What facegate relies on inside moto, the local AWS: its state, read in this process, and
the fixes applied to it when local AWS starts.

moto's server is a thread of the process that starts it (``sandbox.stack.LocalAws``), so its
backends are plain objects here: the sandbox reads the emails SES sent from them, and the
tests read what SNS published, back-date an S3 object and fingerprint a whole stage. moto is
pinned (``requirements-dev.txt``); whatever an upgrade renames fails in one module.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

ACCOUNT = "123456789012"  # moto's default account: local AWS has only this one


class MotoState:
    """moto's backends for local AWS's account in one region, each imported on first use."""

    def __init__(self, region: str = "us-east-1") -> None:
        self.region = region

    @functools.cached_property
    def dynamodb(self) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[ACCOUNT][self.region]

    @functools.cached_property
    def s3(self) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[ACCOUNT]["aws"]  # S3 is global: one backend per partition

    @functools.cached_property
    def sqs(self) -> Any:
        from moto.sqs.models import sqs_backends

        return sqs_backends[ACCOUNT][self.region]

    @functools.cached_property
    def sns(self) -> Any:
        from moto.sns.models import sns_backends

        return sns_backends[ACCOUNT][self.region]

    @functools.cached_property
    def ses(self) -> Any:
        from moto.ses.models import ses_backends

        return ses_backends[ACCOUNT][self.region]

    @functools.cached_property
    def cognito(self) -> Any:
        from moto.cognitoidp.models import cognitoidp_backends

        return cognitoidp_backends[ACCOUNT][self.region]

    @functools.cached_property
    def kms(self) -> Any:
        from moto.kms.models import kms_backends

        return kms_backends[ACCOUNT][self.region]

    @functools.cached_property
    def cloudwatch(self) -> Any:
        from moto.cloudwatch.models import cloudwatch_backends

        return cloudwatch_backends[ACCOUNT][self.region]

    @functools.cached_property
    def iam(self) -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[ACCOUNT]["aws"]  # IAM is global: one backend per partition

    @functools.cached_property
    def cloudformation(self) -> Any:
        from moto.cloudformation.models import cloudformation_backends

        return cloudformation_backends[ACCOUNT][self.region]


def fix_local_aws() -> None:
    """What local AWS changes in moto, once per process (applying it again changes nothing)."""
    _serialise_dynamodb_writes()
    _query_one_partition()
    _check_sqs_retention_per_message_in_constant_time()
    _list_services_once()


def _serialise_dynamodb_writes() -> None:
    """Run moto's DynamoDB writes one at a time.

    moto's ``transact_write_items`` deep-copies each table it touches and, when a condition
    fails, puts that copy back: every write that landed meanwhile from another thread is
    undone, and the copy itself races other writes ("dictionary changed size"). DynamoDB
    does neither. The gallery's change log makes failed conditions an everyday event (two
    enrollments in one shard), so unserialised, a parallel import in the sandbox lost faces.
    """
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_facegate_serialised", False):
        return
    lock = threading.RLock()
    for name in ("transact_write_items", "put_item", "update_item", "delete_item", "batch_write_item"):
        method = getattr(DynamoDBBackend, name, None)
        if method is None:
            continue

        # Runs in moto's request threads, which the suite's coverage does not trace (tests/conftest.py).
        def serialised(*args: Any, _method: Any = method, **kwargs: Any) -> Any:  # pragma: no cover
            with lock:
                return _method(*args, **kwargs)

        setattr(DynamoDBBackend, name, functools.wraps(method)(serialised))
    DynamoDBBackend._facegate_serialised = True  # type: ignore[attr-defined]


def _query_one_partition() -> None:
    """Let moto's Query of a table (not an index) read the partition it names, not the table.

    moto's ``Table.query`` lists and sorts every item of the table, then keeps the hash key's:
    each query of a table of n items costs n log n. The audit table holds every audit entry and
    the consent ledger, which the consent gate queries for every face: an import of 500 rows
    spent a sixth of its time in moto's sort. The same candidates, in the same order, from the
    hash key's partition, which moto keeps as a dict of its own (``Table.items[hash_key]``).
    """
    from moto.dynamodb.models.table import Table

    if getattr(Table, "_facegate_partition_query", False):
        return
    if not (hasattr(Table, "all_items") and hasattr(Table, "query")):
        raise RuntimeError("moto's DynamoDB Table no longer queries by that name: review this fix")
    partition = threading.local()  # the (table, hash key) the current thread's query names
    all_items, query = Table.all_items, Table.query

    # Runs in moto's request threads, which the suite's coverage does not trace (tests/conftest.py).
    def partition_items(self: Any) -> list[Any]:  # pragma: no cover
        named = getattr(partition, "named", None)
        if named is None or named[0] is not self:
            return all_items(self)
        stored = self.items.get(named[1])  # never add the key: ``items`` is a defaultdict
        if stored is None:
            return []
        items = list(stored.values()) if self.range_key_attr else [stored]
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    def partition_query(  # pragma: no cover
        self: Any, hash_key: Any, *args: Any, **kwargs: Any
    ) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        partition.named = (self, hash_key) if index_name is None and hash_key is not None else None
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            partition.named = None

    Table.all_items = partition_items  # type: ignore[method-assign]
    Table.query = functools.wraps(query)(partition_query)  # type: ignore[method-assign]
    Table._facegate_partition_query = True  # type: ignore[attr-defined]


def _check_sqs_retention_per_message_in_constant_time() -> None:
    """Let moto's ReceiveMessage check a message's retention without counting the queue.

    moto asks ``get_queue_attributes`` for the retention period of every message it looks
    at, which counts the queue's visible, in-flight and delayed messages each time: one
    receive from a queue of n messages costs n², and draining a backlog of a thousand
    uploads spent a third of its time there. The same period, read from the queue itself.
    """
    from moto.core.utils import unix_time
    from moto.sqs.models import Message, SQSBackend

    if not hasattr(SQSBackend, "is_message_valid_based_on_retention_period"):
        raise RuntimeError("moto's SQS no longer checks retention by that name: review this fix")

    # Runs in moto's request threads, which the suite's coverage does not trace (tests/conftest.py).
    def is_message_valid_based_on_retention_period(  # pragma: no cover
        self: Any, queue_name: str, message: Message
    ) -> bool:
        retention_period = self.get_queue(queue_name).message_retention_period
        return bool(retention_period + message.sent_timestamp / 1000 > unix_time())  # type: ignore[operator]

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]


def _list_services_once() -> None:
    """moto's server lists its own package folder (about 180 ``stat`` calls) to route every
    request; the folders do not change while it runs, so list them once."""
    from moto import backends

    services = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: services
