"""The access table as the ``AccessStore``: doors, groups, rules and holidays under one token.

Items are (``kind``, ``entry_id``), kind ``door|group|rule|holiday|lockdown``, with the entry's JSON
document (``access_documents.document``) as the map ``document``, read back through the
same strict parsers the API uses, so what is stored is what the API accepted. One extra
item, (``#version``, ``#version``), holds ``token``: a random value every commit replaces
in the same transaction, conditional on the token the writer read, so a container checks
freshness with one consistent GetItem and two writers cannot both win.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.access import documents as access_documents
from chalicelib.access.policy import (
    AccessEntry,
    AccessGroup,
    AccessKey,
    AccessSnapshot,
    Door,
    Holiday,
    Lockdown,
    Rule,
    entry_key,
)
from chalicelib.access.ports import MAX_ACCESS_CHANGES
from chalicelib.aws import dynamo, paging
from chalicelib.core.errors import AccessPolicyUnsettled, InvalidAccessDocument, MalformedResponse

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

VERSION = "#version"
VERSION_KEY = {"kind": VERSION, "entry_id": VERSION}
KINDS = frozenset({"door", "group", "rule", "holiday", "lockdown"})
# A load is retried while commits land during it; they are an admin's edits, rare and
# milliseconds long, so five reads spread over ~0.3 s settle unless something is wrong.
LOAD_ATTEMPTS = 5
LOAD_BACKOFF_SECONDS = 0.02


class DynamoAccessStore:
    """The access policy in one DynamoDB table (see the module docstring for the layout)."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._name = table.name
        # The resource's client speaks plain Python types (see aws/faces), hence Any.
        self._client: Any = table.meta.client
        self.conflicts = 0  # commits sent again after a TransactionConflict

    def version(self) -> str:
        item = dynamo.call(self._table.get_item, Key=VERSION_KEY, ConsistentRead=True).get("Item")
        return "" if item is None else str(item["token"])

    def load(self) -> AccessSnapshot:
        """Every entry, labelled with a version read before the scan and again after it.

        A consistent Scan is consistent per item, not a snapshot: a commit can land between
        its pages, and the version item sits wherever its hash puts it in the scan. So the
        version is read before the scan and after it, and the scan is accepted only when
        both reads agree (tokens are random, never reused): no commit landed in between, so
        the entries are exactly that version's. Were the label newer than the entries, a
        cache would keep stale rules for good; a mix of two commits is a policy nobody
        wrote. While commits keep landing it reads again, then raises ``AccessPolicyUnsettled``.
        """
        for attempt in range(LOAD_ATTEMPTS):
            before = self.version()
            items = list(paging.all_items(self._table.scan, ConsistentRead=True))
            if self.version() == before:
                return _snapshot(before, items)
            time.sleep(random.uniform(0, LOAD_BACKOFF_SECONDS * 2**attempt))
        raise AccessPolicyUnsettled(f"the access policy changed during each of {LOAD_ATTEMPTS} reads")

    def commit(
        self, expected_version: str, put: Sequence[AccessEntry] = (), delete: Sequence[AccessKey] = ()
    ) -> bool:
        from botocore.exceptions import ClientError

        changes: dict[AccessKey, dict[str, Any]] = {}
        for kind, entry_id in delete:
            if kind not in KINDS:  # never the version item
                raise ValueError(f"no access entry kind {kind!r}")
            changes[(kind, entry_id)] = {
                "Delete": {"TableName": self._name, "Key": {"kind": kind, "entry_id": entry_id}}
            }
        for entry in put:  # after the deletes: a key both put and deleted is put (one item each)
            kind, entry_id = entry_key(entry)
            document = access_documents.document(entry)
            # Stored only if it reads back: an unreadable item would fail every load, every door.
            access_documents.entry_from(kind, entry_id, document)
            item = {"kind": kind, "entry_id": entry_id, "document": document}
            changes[(kind, entry_id)] = {"Put": {"TableName": self._name, "Item": item}}
        if len(changes) > MAX_ACCESS_CHANGES:
            raise ValueError(
                f"{len(changes)} access entries in one commit; one atomic write holds {MAX_ACCESS_CHANGES}"
            )
        try:
            dynamo.transact(
                self._client.transact_write_items,
                [*changes.values(), self._new_version(expected_version)],
                on_conflict=self._conflicted,
            )
        except ClientError as error:
            codes = dynamo.cancellation_codes(error)
            if codes and codes[-1] == "ConditionalCheckFailed":  # the version item: it moved
                return False
            raise
        return True

    def _new_version(self, expected: str) -> dict[str, Any]:
        put: dict[str, Any] = {
            "TableName": self._name,
            "Item": {**VERSION_KEY, "token": uuid.uuid4().hex},
            "ExpressionAttributeNames": {"#token": "token"},
        }
        if expected == "":
            put["ConditionExpression"] = "attribute_not_exists(#token)"
        else:
            put["ConditionExpression"] = "#token = :expected"
            put["ExpressionAttributeValues"] = {":expected": expected}
        return {"Put": put}

    def _conflicted(self) -> None:
        self.conflicts += 1


def _snapshot(version: str, items: list[dict[str, Any]]) -> AccessSnapshot:
    entries = sorted(
        (_entry(item) for item in items if item["kind"] != VERSION), key=lambda entry: entry_key(entry)
    )
    return AccessSnapshot(
        version,
        doors=tuple(entry for entry in entries if isinstance(entry, Door)),
        groups=tuple(entry for entry in entries if isinstance(entry, AccessGroup)),
        rules=tuple(entry for entry in entries if isinstance(entry, Rule)),
        holidays=tuple(entry for entry in entries if isinstance(entry, Holiday)),
        lockdowns=tuple(entry for entry in entries if isinstance(entry, Lockdown)),
    )


def _entry(item: dict[str, Any]) -> AccessEntry:
    """The stored document parsed as the API parses a body; one it would refuse is unreadable."""
    kind, entry_id = str(item["kind"]), str(item["entry_id"])
    document = item.get("document")
    if not isinstance(document, dict):
        raise MalformedResponse(f"unreadable access item {kind}/{entry_id}")
    try:
        return access_documents.entry_from(kind, entry_id, document)
    except InvalidAccessDocument as error:
        raise MalformedResponse(f"unreadable access item {kind}/{entry_id}: {error}") from None
