"""``S3PendingFaces.purge_employee`` against moto's versioned S3: the erasure's purge of
held drop-folder photos reaches every version, and only the employee's (B2)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.aws.pending import S3PendingFaces
from chalicelib.core.keys import pending_key
from chalicelib.core.models import PendingFace

BUCKET = "cams"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def _face(pending_id: str, employee_id: str) -> PendingFace:
    return PendingFace(pending_id, employee_id, "2026-03-10T09:30:00.000Z", "hr", "r")


def test_every_version_of_every_held_photo_of_the_employee_goes(s3: Any) -> None:
    store = S3PendingFaces(s3, BUCKET)
    mine, hidden, theirs = "a" * 32, "b" * 32, "c" * 32
    store.hold(_face(mine, "EMP001"), b"one")
    store.hold(_face(hidden, "EMP001"), b"two")
    s3.delete_object(Bucket=BUCKET, Key=pending_key(hidden))  # only a delete marker on top
    store.hold(_face(theirs, "EMP0010"), b"three")  # a prefix of the id is someone else
    assert store.purge_employee("EMP001") == 2
    left = s3.list_object_versions(Bucket=BUCKET, Prefix="pending/")
    keys = {entry["Key"] for entry in left.get("Versions", []) + left.get("DeleteMarkers", [])}
    assert keys == {pending_key(theirs)}
    assert store.purge_employee("EMP001") == 0  # idempotent: a resumed job finds none
