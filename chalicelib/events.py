"""Reading S3 event notifications into ``Upload``s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from chalicelib.models import Upload


def uploads_from_s3_event(event: Mapping[str, Any]) -> list[Upload]:
    """Every object-created record of an S3 event (keys arrive URL-encoded)."""
    uploads = []
    for record in event.get("Records", []):
        if not str(record.get("eventName", "ObjectCreated")).startswith("ObjectCreated"):
            continue
        s3 = record["s3"]
        obj = s3["object"]
        size = obj.get("size")
        uploader = (record.get("userIdentity") or {}).get("principalId")
        uploads.append(
            Upload(
                bucket=s3["bucket"]["name"],
                key=unquote_plus(obj["key"]),
                version_id=obj.get("versionId") or None,
                sequencer=obj.get("sequencer") or obj.get("eTag") or None,
                event_time=str(record.get("eventTime", "")),
                size=None if size is None else int(size),
                uploader=str(uploader) if uploader else None,
            )
        )
    return uploads
