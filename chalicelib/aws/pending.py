"""Drop-folder photos held for an admin's approval, as objects under ``pending/`` (``PendingFaces``).

One object per held photo, ``pending/<pending-id>``, its facts in the object's user
metadata (percent-encoded: S3 metadata is ASCII). The bucket is versioned, so discarding
purges every version; the lifecycle rule of ``pending/`` expires what nobody decided.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from chalicelib.core.errors import UploadTooLarge
from chalicelib.core.keys import PENDING_ID, PENDING_PREFIX, pending_key
from chalicelib.core.models import PendingFace

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_FIELDS = ("employee_id", "held_at", "uploader", "reason")
_PAGE = 1000  # ListObjectsV2's largest page


class S3PendingFaces:
    """Held photos in the camera bucket."""

    def __init__(self, s3: S3Client, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def hold(self, face: PendingFace, photo: bytes) -> None:
        metadata = {name.replace("_", "-"): quote(str(getattr(face, name)), safe="") for name in _FIELDS}
        self._s3.put_object(
            Bucket=self._bucket, Key=pending_key(face.pending_id), Body=photo, Metadata=metadata
        )

    def count(self, limit: int) -> int:
        return len(self._keys(limit))

    def listing(self, limit: int) -> list[PendingFace]:
        faces = [face for face in (self._head(key) for key in self._keys(limit)) if face is not None]
        return sorted(faces, key=lambda face: (face.held_at, face.pending_id))

    def get(self, pending_id: str, max_bytes: int) -> tuple[PendingFace, bytes] | None:
        from botocore.exceptions import ClientError

        try:
            answer = self._s3.get_object(Bucket=self._bucket, Key=pending_key(pending_id))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        body = answer["Body"]
        try:
            data = body.read(max_bytes + 1)
        finally:
            body.close()
        if len(data) > max_bytes:
            raise UploadTooLarge(f"held photo too large: limit {max_bytes}", answer.get("VersionId"))
        return _face(pending_id, answer.get("Metadata", {})), data

    def discard(self, pending_id: str) -> None:
        key = pending_key(pending_id)
        listing = self._s3.list_object_versions(Bucket=self._bucket, Prefix=key)
        for entry in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
            if entry["Key"] == key:
                self._s3.delete_object(Bucket=self._bucket, Key=key, VersionId=entry["VersionId"])

    def purge_employee(self, employee_id: str) -> int:
        """Every version under ``pending/`` is read for its employee (a held photo's current
        version may be gone while an older one keeps the face); bounded by the lifecycle rule
        and ``MAX_PENDING``, a few hundred heads at most."""
        theirs: set[str] = set()
        versions: dict[str, list[str]] = {}
        pages = self._s3.get_paginator("list_object_versions").paginate(
            Bucket=self._bucket, Prefix=PENDING_PREFIX
        )
        for page in pages:
            for entry in page.get("Versions", []):
                key, version = entry["Key"], entry["VersionId"]
                versions.setdefault(key, []).append(version)
                if key not in theirs and self._names(key, version, employee_id):
                    theirs.add(key)
            for marker in page.get("DeleteMarkers", []):
                versions.setdefault(marker["Key"], []).append(marker["VersionId"])
        for key in sorted(theirs):
            for version in versions[key]:
                self._s3.delete_object(Bucket=self._bucket, Key=key, VersionId=version)
        return len(theirs)

    def _names(self, key: str, version: str, employee_id: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            answer = self._s3.head_object(Bucket=self._bucket, Key=key, VersionId=version)
        except ClientError as error:  # purged since the listing
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchVersion", "404"):
                return False
            raise
        return unquote(answer.get("Metadata", {}).get("employee-id", "")) == employee_id

    def _keys(self, limit: int) -> list[str]:
        answer = self._s3.list_objects_v2(
            Bucket=self._bucket, Prefix=PENDING_PREFIX, MaxKeys=min(max(limit, 1), _PAGE)
        )
        keys = [entry["Key"] for entry in answer.get("Contents", [])]
        return [key for key in keys if PENDING_ID.fullmatch(key[len(PENDING_PREFIX) :])][:limit]

    def _head(self, key: str) -> PendingFace | None:
        from botocore.exceptions import ClientError

        try:
            answer = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:  # approved or rejected since the listing
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return _face(key[len(PENDING_PREFIX) :], answer.get("Metadata", {}))


def _face(pending_id: str, metadata: dict[str, str]) -> PendingFace:
    values = {name: unquote(metadata.get(name.replace("_", "-"), "")) for name in _FIELDS}
    return PendingFace(pending_id=pending_id, **values)
