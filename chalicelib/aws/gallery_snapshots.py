"""The packed gallery snapshot in the camera bucket (``gallery/``), named by a manifest item
in the faces table.

The manifest, (``#gallery``, ``#snapshot``), holds the object's key and version, its size,
its SHA-256 and the heads it was built at. A reader trusts the object only as far as the
table: it reads the version the manifest names and checks size and digest, so a snapshot
written or swapped by anyone else is refused (and the whole gallery read instead).
Publishing writes a new object, then the manifest, then deletes every other version under
``gallery/``: an erased employee's embeddings do not outlive the next snapshot.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import TYPE_CHECKING, Any

from chalicelib.aws import dynamo
from chalicelib.aws.faces import GALLERY
from chalicelib.keys import GALLERY_PREFIX
from chalicelib.ports import Heads, PackedSnapshot

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client

MANIFEST_KEY = {"employee_id": GALLERY, "face_id": "#snapshot"}
# 100,000 faces pack into about 30 MB; a manifest naming more than this is not ours.
MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024


class S3GallerySnapshots:
    """``GallerySnapshots`` on the camera bucket and the faces table."""

    def __init__(self, s3: S3Client, bucket: str, faces: Table) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._faces = faces

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
        return None if manifest is None else tuple(int(seq) for seq in manifest["heads"])

    def publish(self, snapshot: PackedSnapshot) -> None:
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
        dynamo.call(self._faces.put_item, Item=manifest)
        self._delete_all_but(key, version)

    def _manifest(self) -> dict[str, Any] | None:
        item: dict[str, Any] | None = dynamo.call(
            self._faces.get_item, Key=MANIFEST_KEY, ConsistentRead=True
        ).get("Item")
        return item

    def _delete_all_but(self, key: str, version: str) -> None:
        paginator = self._s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=GALLERY_PREFIX):
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if (entry["Key"], entry.get("VersionId")) != (key, version):
                    self._s3.delete_object(
                        Bucket=self._bucket, Key=entry["Key"], VersionId=entry["VersionId"]
                    )
