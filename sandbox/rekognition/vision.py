"""Faces in request images, seen by the bundled model (YuNet + SFace) and described as
Rekognition does.

Boxes are ratios of the frame; ``Confidence`` is YuNet's score and ``Pose`` the yaw, pitch
and roll read off its five landmarks; ``Quality.Sharpness`` is the local model's sharpness
and ``Quality.Brightness`` the mean luma of the face box, all 0–100 but the pose (degrees).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core.config import ImageLimits, Policy
from sandbox.memory_faces import InMemoryFaceStore
from sandbox.rekognition.errors import ServiceError, invalid

if TYPE_CHECKING:
    import numpy as np

    from chalicelib.core.models import NormalisedImage
    from chalicelib.engines.face_model import FaceChip
    from chalicelib.engines.local import LocalEngine

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # Image.Bytes, as the API reference limits it
MIN_IMAGE_PX = 80  # images narrower or lower than this are refused
MAX_FACES_SEEN = 100  # IndexFaces and the searches report at most this many faces
# QualityFilter → (smallest face side as a share of the image's shorter side, lowest
# sharpness, lowest brightness, lowest detection confidence, largest yaw or pitch in
# degrees). AUTO is the service's own choice, here MEDIUM, whose size bar is the developer
# guide's "40 × 40 px in a 1920 × 1080 image". Otherwise the values are the sandbox's, not
# AWS's (YuNet reports no face under 60).
QUALITY_BARS: dict[str, tuple[float, float, float, float, float]] = {
    "LOW": (0.02, 5.0, 5.0, 60.0, 70.0),
    "MEDIUM": (40 / 1080, 10.0, 10.0, 75.0, 45.0),
    "AUTO": (40 / 1080, 10.0, 10.0, 75.0, 45.0),
    "HIGH": (0.08, 25.0, 20.0, 85.0, 30.0),
}


@dataclass
class SeenFace:
    """One face in a request image: its Rekognition ``FaceDetail`` and its chip for embedding."""

    detail: dict[str, Any]
    chip: FaceChip
    side: float  # the shorter side of its box, as a share of the image's shorter side

    def problems(self, quality_filter: str) -> list[str]:
        """The ``Reasons`` this face fails ``quality_filter`` with (none for NONE)."""
        if quality_filter not in QUALITY_BARS:
            return []
        smallest, sharpness, brightness, confidence, turn = QUALITY_BARS[quality_filter]
        quality, pose = self.detail["Quality"], self.detail["Pose"]
        reasons = []
        if max(abs(pose["Yaw"]), abs(pose["Pitch"])) > turn:
            reasons.append("EXTREME_POSE")
        if self.detail["Confidence"] < confidence:
            reasons.append("LOW_CONFIDENCE")
        if self.side < smallest:
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
    from chalicelib.core.errors import RejectedImage
    from chalicelib.scanning.imaging import normalise

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
        box, detected = chip.detected.box, chip.detected
        region = luma[box.top : box.top + box.height, box.left : box.left + box.width]
        brightness = float(region.mean()) / 255.0 * 100.0 if region.size else 0.0
        detail = {
            "BoundingBox": {
                "Width": box.width / image.width,
                "Height": box.height / image.height,
                "Left": box.left / image.width,
                "Top": box.top / image.height,
            },
            "Quality": {"Brightness": round(brightness, 4), "Sharpness": detected.sharpness},
            "Pose": {"Yaw": detected.yaw, "Pitch": detected.pitch, "Roll": detected.roll},
            "Confidence": detected.confidence,
        }
        seen.append(SeenFace(detail, chip, min(box.width, box.height) / min(image.width, image.height)))
    return seen


def embedding(face: SeenFace) -> np.ndarray:
    """The bundled model's 128-d embedding of one face (unit length)."""
    return engine().embed(face.chip)
