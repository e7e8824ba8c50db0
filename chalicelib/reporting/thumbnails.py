"""A face from a camera photo, small enough to mail: its box cropped with a margin, a JPEG of a few KB.

The photo is normalised exactly as the pipeline did (``imaging.normalise``: the same byte and
structure checks, the same EXIF turn, the same RGB), because a decision's face box is in
pixels of that upright photo. Whatever the photo or the stored box holds, the answer is a
small JPEG or ``RejectedImage``: never a crash, never a large attachment.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from chalicelib.core.config import ImageLimits
from chalicelib.core.errors import RejectedImage
from chalicelib.core.models import BoundingBox
from chalicelib.scanning.imaging import normalise

THUMBNAIL_PX = 96  # the longer side, at most
MARGIN = 0.25  # of the face box's longer side, added on every side (hair, chin, a little context)
QUALITIES = (75, 60, 45)  # JPEG qualities tried in turn until the file fits
MAX_THUMBNAIL_BYTES = 8 * 1024
MAX_THUMBNAILS = 20  # per email
MAX_TOTAL_BYTES = 120 * 1024  # per email, all thumbnails together
# Per email, reading and cutting together: a 28 MP photo takes 0.6 s of a core here, a 512 MB
# Lambda has a third of one, and an admin's "send it now" runs inside API Gateway's 29 s.
MAX_SECONDS = 10.0


@dataclass(frozen=True)
class Thumbnail:
    """One face as a small JPEG, and the Content-ID the email's HTML refers to it by."""

    jpeg: bytes = field(repr=False)
    width: int
    height: int

    @property
    def content_id(self) -> str:
        """A ``cid:`` name for this image (the same picture gives the same name)."""
        return f"face-{hashlib.sha256(self.jpeg).hexdigest()[:20]}@facegate"


def face_thumbnail(data: bytes, box: BoundingBox, limits: ImageLimits) -> Thumbnail:
    """The face in ``box`` of the photo ``data``, as a JPEG of at most ``THUMBNAIL_PX`` a side.

    Raises ``RejectedImage`` for a photo the pipeline would refuse, a box outside the photo
    or a crop that no quality brings under ``MAX_THUMBNAIL_BYTES``.
    """
    from PIL import Image

    image = normalise(data, limits).pixels
    face = image.crop(crop_box(box, image.width, image.height))
    face.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
    for quality in QUALITIES:
        buffer = io.BytesIO()
        face.save(buffer, "JPEG", quality=quality, optimize=True)  # no EXIF, no metadata
        if buffer.tell() <= MAX_THUMBNAIL_BYTES:
            return Thumbnail(buffer.getvalue(), face.width, face.height)
    raise RejectedImage(f"the face does not fit in {MAX_THUMBNAIL_BYTES} bytes")


def crop_box(box: BoundingBox, width: int, height: int) -> tuple[int, int, int, int]:
    """A square around ``box`` (its longer side plus ``MARGIN`` each way), cut to the photo.

    Raises ``RejectedImage`` when the box is empty or less than a quarter of it (or of the
    photo, for a box larger than the photo) lies inside a ``width`` × ``height`` photo: a
    record from another photo, or a tampered one.
    """
    if box.width <= 0 or box.height <= 0:
        raise RejectedImage(f"the face box is empty: {box.to_dict()}")
    side = max(box.width, box.height) * (1 + 2 * MARGIN)
    centre_x, centre_y = box.left + box.width / 2, box.top + box.height / 2
    left, top = max(0, round(centre_x - side / 2)), max(0, round(centre_y - side / 2))
    right, bottom = min(width, round(centre_x + side / 2)), min(height, round(centre_y + side / 2))
    inside_x = max(0, min(width, box.left + box.width) - max(0, box.left))
    inside_y = max(0, min(height, box.top + box.height) - max(0, box.top))
    shown = inside_x * inside_y  # of the face itself, not of its margin
    if shown * 4 < min(box.width * box.height, width * height) or right - left < 1 or bottom - top < 1:
        raise RejectedImage(f"the face box {box.to_dict()} lies outside the {width}x{height} photo")
    return left, top, right, bottom


class ThumbnailBudget:
    """The caps of one email: ``MAX_THUMBNAILS`` faces, ``MAX_TOTAL_BYTES`` together, and
    ``MAX_SECONDS`` from the first photo read."""

    def __init__(
        self,
        count: int = MAX_THUMBNAILS,
        total_bytes: int = MAX_TOTAL_BYTES,
        seconds: float = MAX_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._count = count
        self._bytes = total_bytes
        self._seconds = seconds
        self._clock = clock
        self._started: float | None = None

    @property
    def spent(self) -> bool:
        """True once no further thumbnail may be made (so no further photo is read); the
        first call starts the clock."""
        now = self._clock()
        if self._started is None:
            self._started = now
        return self._count <= 0 or self._bytes <= 0 or now - self._started >= self._seconds

    def admit(self, thumbnail: Thumbnail) -> bool:
        """Take ``thumbnail`` if it fits what is left; False when it does not."""
        if self._count <= 0 or len(thumbnail.jpeg) > self._bytes:
            return False
        self._count -= 1
        self._bytes -= len(thumbnail.jpeg)
        return True
