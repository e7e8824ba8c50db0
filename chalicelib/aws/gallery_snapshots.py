"""The packed gallery snapshot in the camera bucket (``gallery/``), named by a manifest item
in the faces table.

The manifest, (``#snapshot``, ``#manifest``), holds the object's key and version, its size,
its SHA-256 and the heads it was built at. A reader trusts the object only as far as the
table: it reads the version the manifest names and checks size and digest, so a snapshot
written or swapped by anyone else is refused (and the whole gallery read instead).
Publishing writes a new object, then the manifest in one transaction with a check that every
shard's head is still the one the snapshot was built at, then deletes every other version
under ``gallery/``. The check is what keeps an erased employee out: a run that read the
table before an erasure and publishes after it finds a head moved, writes no manifest and
deletes its own object (``publish`` is False), so no manifest ever names a snapshot older
than the table it was published over.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import TYPE_CHECKING, Any

from chalicelib.aws import dynamo
from chalicelib.aws.faces import head_key
from chalicelib.core.keys import GALLERY_PREFIX
from chalicelib.core.ports import Heads, PackedSnapshot

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client

# Its own partition, not the heads' (#gallery): the snapshot function may then write this
# item and no other (its policy's dynamodb:LeadingKeys); no employee id starts with "#".
MANIFEST_KEY = {"employee_id": "#snapshot", "face_id": "#manifest"}
# 100,000 faces pack into about 30 MB; a manifest naming more than this is not ours.
MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024


class S3GallerySnapshots:
    """``GallerySnapshots`` on the camera bucket and the faces table."""

    def __init__(self, s3: S3Client, bucket: str, faces: Table) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._faces = faces
        # The resource's client speaks plain Python types (see ``DynamoFaceStore``).
        self._client: Any = faces.meta.client

    def latest(self) -> PackedSnapshot | None:
        from botocore.exceptions import BotoCoreError, ClientError

        manifest = self._manifest()
        if manifest is None:
            return None
        try:
            size = int(manifest["size"])
            if not 0 < size <= MAX_SNAPSHOT_BYTES:
                raise ValueError(f"a snapshot of {size} bytes")
            response = self._s3.get_object(
                Bucket=self._bucket, Key=str(manifest["key"]), VersionId=str(manifest["version_id"])
            )
            body = response["Body"]
            try:
                data: bytes = body.read(size + 1)
            finally:
                body.close()
            heads = tuple(int(seq) for seq in manifest["heads"])
        except (ClientError, BotoCoreError, KeyError, ValueError, TypeError) as error:
            log.warning("gallery snapshot not read: %s: %s", type(error).__name__, error)
            return None
        if len(data) != size or hashlib.sha256(data).hexdigest() != manifest.get("sha256"):
            log.warning("gallery snapshot refused: its bytes are not the ones the manifest names")
            return None
        return PackedSnapshot(heads, data)

    def latest_heads(self) -> Heads | None:
        manifest = self._manifest()
        if manifest is None or not self._exists(str(manifest["key"]), str(manifest["version_id"])):
            return None  # a manifest naming a version gone is no snapshot: publish again
        return tuple(int(seq) for seq in manifest["heads"])

    def publish(self, snapshot: PackedSnapshot) -> bool:
        from botocore.exceptions import ClientError

        replacing = self._manifest()
        key = f"{GALLERY_PREFIX}{uuid.uuid4().hex}.snapshot"
        written = self._s3.put_object(
            Bucket=self._bucket, Key=key, Body=snapshot.data, ContentType="application/octet-stream"
        )
        version = written.get("VersionId") or "null"
        manifest = {
            **MANIFEST_KEY,
            "key": key,
            "version_id": version,
            "size": len(snapshot.data),
            "sha256": hashlib.sha256(snapshot.data).hexdigest(),
            "heads": list(snapshot.heads),
        }
        put = {
            "Put": {
                "TableName": self._faces.name,
                "Item": manifest,
                **self._replaceable(replacing, snapshot.heads),
            }
        }
        try:
            dynamo.transact(self._client.transact_write_items, [*self._heads_still(snapshot.heads), put])
        except ClientError as error:
            if "ConditionalCheckFailed" not in dynamo.cancellation_codes(error):
                raise
            self._s3.delete_object(Bucket=self._bucket, Key=key, VersionId=version)
            return False  # the table moved on (it may hold erased faces) or these heads are out
        self.sweep(also_keep=(key, version))
        return True

    def sweep(self, also_keep: tuple[str, str] | None = None) -> None:
        """Delete every version under ``gallery/`` but the one the manifest names (read now)."""
        manifest = self._manifest()
        keep = {also_keep} if also_keep else set()
        if manifest is not None:
            keep.add((str(manifest["key"]), str(manifest["version_id"])))
        paginator = self._s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=GALLERY_PREFIX):
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if (entry["Key"], entry.get("VersionId")) not in keep:
                    self._s3.delete_object(
                        Bucket=self._bucket, Key=entry["Key"], VersionId=entry["VersionId"]
                    )

    def withdraw(self) -> None:
        dynamo.call(self._faces.delete_item, Key=MANIFEST_KEY)
        self.sweep()  # no manifest: nothing is kept

    def _replaceable(self, current: dict[str, Any] | None, heads: Heads) -> dict[str, Any]:
        """The manifest's condition: never over one at the same heads (the same gallery, whose
        publisher's sweep may already have deleted this object, no manifest's yet) unless
        that one, as read before, names an object gone."""
        condition = "attribute_not_exists(heads) OR heads <> :heads"
        values: dict[str, Any] = {":heads": list(heads)}
        names: dict[str, str] = {}
        if current is not None and not self._exists(str(current["key"]), str(current["version_id"])):
            condition += " OR #key = :gone"
            values[":gone"] = str(current["key"])
            names["#key"] = "key"
        condition_part: dict[str, Any] = {
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        return {**condition_part, "ExpressionAttributeNames": names} if names else condition_part

    def _heads_still(self, heads: Heads) -> list[dict[str, Any]]:
        """A check per shard that its head is still ``heads``' (0: no head yet)."""
        checks: list[dict[str, Any]] = []
        for shard, seq in enumerate(heads):
            check: dict[str, Any] = {"TableName": self._faces.name, "Key": head_key(shard)}
            if seq == 0:
                check["ConditionExpression"] = "attribute_not_exists(seq)"
            else:
                check["ConditionExpression"] = "seq = :read"
                check["ExpressionAttributeValues"] = {":read": seq}
            checks.append({"ConditionCheck": check})
        return checks

    def _exists(self, key: str, version: str) -> bool:
        listing = self._s3.list_object_versions(Bucket=self._bucket, Prefix=key)
        return any((v["Key"], v.get("VersionId")) == (key, version) for v in listing.get("Versions", []))

    def _manifest(self) -> dict[str, Any] | None:
        item: dict[str, Any] | None = dynamo.call(
            self._faces.get_item, Key=MANIFEST_KEY, ConsistentRead=True
        ).get("Item")
        return item
