"""Reading one upload for the pipeline: its bytes, the version they came from and when S3
stored it, or why it is refused unread (a key outside the layout, a size over the limit)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from chalicelib.core.config import Settings
from chalicelib.core.display import display_text
from chalicelib.core.errors import UploadTooLarge
from chalicelib.core.keys import NO_CAMERA, CameraKey
from chalicelib.core.models import Decision, Reason, Status, Upload
from chalicelib.core.observability import timed
from chalicelib.core.ports import ImageStore
from chalicelib.scanning.outage import describe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fetched:
    """An upload as read: its bytes, the version they came from, or why it is refused unread."""

    data: bytes | None
    version_id: str | None
    refusal: Decision | None = None
    last_modified: datetime | None = None  # when S3 stored it: access and the 60 s rule read it


def fetch(upload: Upload, camera: CameraKey, images: ImageStore, settings: Settings) -> Fetched:
    """Read the photo, or only its version when the key or the size already refuses it."""
    limits = settings.limits
    refusal = None
    if camera.problem is not None:
        code = Reason.BAD_KEY if camera.camera_id == NO_CAMERA else Reason.BAD_CAMERA_ID
        refusal = Decision(Status.REJECTED, reason=camera.problem, reason_code=code)
    elif upload.size is not None and upload.size > limits.max_bytes:
        reason = f"file too large: {upload.size} bytes, limit {limits.max_bytes}"
        refusal = Decision(Status.REJECTED, reason=reason, reason_code=Reason.TOO_LARGE)
    if refusal is not None:
        return Fetched(None, _version_of(upload, images), refusal)
    try:
        with timed("read image"):
            stored = images.read(upload, limits.max_bytes)
    except UploadTooLarge as error:
        refusal = Decision(Status.REJECTED, reason=str(error), reason_code=Reason.TOO_LARGE)
        return Fetched(None, error.version_id, refusal)
    except Exception as error:
        log.exception("could not read %s", display_text(upload.key))
        reason = f"could not read the upload: {describe(error)}"
        return Fetched(None, None, Decision(Status.ERROR, reason=reason, reason_code=Reason.READ_FAILED))
    return Fetched(stored.data, stored.version_id, last_modified=stored.last_modified)


def _version_of(upload: Upload, images: ImageStore) -> str | None:
    try:
        return images.version(upload)
    except Exception:  # the event's own identity serves instead
        log.exception("could not look up the version of %s", display_text(upload.key))
        return None
