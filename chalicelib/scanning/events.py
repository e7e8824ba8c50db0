"""Reading S3 event notifications into ``Upload``s."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from chalicelib.core.display import display_text
from chalicelib.core.models import Upload

log = logging.getLogger(__name__)


def uploads_from_s3_event(event: Mapping[str, Any]) -> list[Upload]:
    """Every object-created record of an S3 event (keys arrive URL-encoded).

    A record no S3 event holds (no bucket or key, a size that is no byte count, a key that is
    not URL-encoded UTF-8: a forged or replayed one) is left out with a warning saying why,
    rather than failing the whole event on every retry; ``facegate_cli.dead_letters`` calls the
    same records malformed."""
    uploads = []
    for record in event.get("Records", []):
        if isinstance(record, Mapping) and not str(record.get("eventName", "ObjectCreated")).startswith(
            "ObjectCreated"
        ):
            continue
        upload = _upload(record)
        if isinstance(upload, str):
            log.warning("S3 record refused: %s", upload)
        else:
            uploads.append(upload)
    return uploads


def _upload(record: Any) -> Upload | str:
    """The record's upload, or why it has none."""
    s3 = record.get("s3") if isinstance(record, Mapping) else None
    bucket = s3.get("bucket") if isinstance(s3, Mapping) else None
    obj = s3.get("object") if isinstance(s3, Mapping) else None
    if not (isinstance(bucket, Mapping) and isinstance(obj, Mapping)):
        return "no bucket or object"
    name, raw_key, size = bucket.get("name"), obj.get("key"), obj.get("size")
    if not isinstance(name, str) or not isinstance(raw_key, str):
        return "no bucket name or key"
    key = decoded_key(raw_key)
    if key is None:
        return f"the key {display_text(raw_key, 200)} is not URL-encoded UTF-8"
    if size is not None and (type(size) is not int or size < 0):
        return f"the size of {display_text(key, 200)} is not a byte count"
    identity = record.get("userIdentity")
    uploader = identity.get("principalId") if isinstance(identity, Mapping) else None
    return Upload(
        bucket=name,
        key=key,
        version_id=obj.get("versionId") or None,
        sequencer=obj.get("sequencer") or obj.get("eTag") or None,
        event_time=str(record.get("eventTime", "")),
        size=size,
        uploader=str(uploader) if uploader else None,
    )


def decoded_key(raw: str) -> str | None:
    """The key ``raw`` names (``unquote_plus``), or None when it is not URL-encoded UTF-8:
    invalid UTF-8 once decoded, or a lone surrogate (a JSON escape no S3 event carries)."""
    try:
        key = unquote_plus(raw, errors="strict")
        key.encode("utf-8")
    except UnicodeError:
        return None
    return key
