"""Faces in request images, seen by the bundled dlib model and described as Rekognition does.

Boxes are ratios of the frame; ``Quality.Sharpness`` is the local model's sharpness and
``Quality.Brightness`` the mean luma of the face box, both 0–100. The HOG detector gives no
confidence through ``LocalEngine.detect``, so every face found reports ``Confidence`` 99.9;
no landmarks or pose are reported.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.config import ImageLimits, Policy
from sandbox.memory_faces import InMemoryFaceStore
from sandbox.rekognition.errors import ServiceError, invalid

if TYPE_CHECKING:
    import numpy as np

    from chalicelib.engines.local import FaceChip, LocalEngine
    from chalicelib.models import NormalisedImage

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # Image.Bytes, as the API reference limits it
MIN_IMAGE_PX = 80  # images narrower or lower than this are refused
MAX_FACES_SEEN = 100  # IndexFaces and the searches report at most this many faces
DETECTION_CONFIDENCE = 99.9
# QualityFilter → (smallest face side in px, lowest sharpness, lowest brightness); AUTO is
# the service's own choice, here MEDIUM. The values are the sandbox's, not AWS's.
QUALITY_BARS: dict[str, tuple[int, float, float]] = {
    "LOW": (20, 5.0, 5.0),
    "MEDIUM": (40, 10.0, 10.0),
    "AUTO": (40, 10.0, 10.0),
    "HIGH": (60, 25.0, 20.0),
}


@dataclass
class SeenFace:
    """One face in a request image: its Rekognition ``FaceDetail`` and its chip for embedding."""

    detail: dict[str, Any]
    chip: FaceChip
    side_px: int  # the shorter side of its box, in pixels of the image

    def problems(self, quality_filter: str) -> list[str]:
        """The ``Reasons`` this face fails ``quality_filter`` with (none for NONE)."""
        if quality_filter not in QUALITY_BARS:
            return []
        smallest, sharpness, brightness = QUALITY_BARS[quality_filter]
        quality = self.detail["Quality"]
        reasons = []
        if self.side_px < smallest:
            reasons.append("SMALL_BOUNDING_BOX")
        if quality["Sharpness"] < sharpness:
            reasons.append("LOW_SHARPNESS")
        if quality["Brightness"] < brightness:
            reasons.append("LOW_BRIGHTNESS")
        return reasons


@functools.cache
def engine() -> LocalEngine:
    """The bundled engine, used only for its ``detect`` and ``embed`` (its store stays empty)."""
    from chalicelib.engines.local import LocalEngine

    return LocalEngine(InMemoryFaceStore(), Policy())


def decode(image: dict[str, Any]) -> NormalisedImage:
    """The request's ``Image`` as upright RGB pixels, or the service's error for it."""
    from chalicelib.errors import RejectedImage
    from chalicelib.imaging import normalise

    if "S3Object" in image or "Bytes" not in image:
        raise invalid("The sandbox endpoint takes images as Bytes only")
    data: bytes = image["Bytes"]
    if len(data) > MAX_IMAGE_BYTES:
        raise ServiceError("ImageTooLargeException", "Image size is too large")
    if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n")):
        raise ServiceError("InvalidImageFormatException", "Request has invalid image format")
    try:
        pixels = normalise(data, ImageLimits(max_bytes=MAX_IMAGE_BYTES))
    except RejectedImage:
        raise ServiceError("InvalidImageFormatException", "Request has invalid image format") from None
    if min(pixels.width, pixels.height) < MIN_IMAGE_PX:
        raise invalid("Image dimensions are too small")
    return pixels


def faces(image: NormalisedImage) -> list[SeenFace]:
    """Every face the bundled model finds, largest first, at most ``MAX_FACES_SEEN``."""
    import numpy as np

    luma = np.asarray(image.pixels.convert("L"), dtype=np.float32)
    seen = []
    for chip in engine().detect(image)[:MAX_FACES_SEEN]:
        box = chip.detected.box
        region = luma[box.top : box.top + box.height, box.left : box.left + box.width]
        brightness = float(region.mean()) / 255.0 * 100.0 if region.size else 0.0
        detail = {
            "BoundingBox": {
                "Width": box.width / image.width,
                "Height": box.height / image.height,
                "Left": box.left / image.width,
                "Top": box.top / image.height,
            },
            "Quality": {"Brightness": round(brightness, 4), "Sharpness": chip.detected.sharpness},
            "Confidence": DETECTION_CONFIDENCE,
        }
        seen.append(SeenFace(detail, chip, min(box.width, box.height)))
    return seen


def embedding(face: SeenFace) -> np.ndarray:
    """The bundled model's 128-d embedding of one face."""
    return engine().embed(face.chip)
