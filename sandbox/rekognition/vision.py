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

from chalicelib.core.config import ImageLimits, Policy
from sandbox.memory_faces import InMemoryFaceStore
from sandbox.rekognition.errors import ServiceError, invalid

if TYPE_CHECKING:
    import numpy as np

    from chalicelib.core.models import BoundingBox, NormalisedImage
    from chalicelib.engines.local import FaceChip, LocalEngine

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # Image.Bytes, as the API reference limits it
MIN_IMAGE_PX = 80  # images narrower or lower than this are refused
MAX_FACES_SEEN = 100  # IndexFaces and the searches report at most this many faces
DETECTION_CONFIDENCE = 99.9
# Faces whose HOG window scores below this are not reported (dlib's own cut-off is 0), as
# Rekognition reports only faces it is confident of. The engine sends JPEG re-encodings, and
# re-encoding can lift a borderline window over 0: astronaut.png's suit patch scores −0.05
# in the PNG the local engine reads and 0.10 in the engine's JPEG, while the faintest real
# face of the test photos (the back row of group.jpg) scores 0.21.
MIN_DETECTION_SCORE = 0.15
# QualityFilter → (smallest face side as a share of the image's shorter side, lowest
# sharpness, lowest brightness). AUTO is the service's own choice, here MEDIUM, whose size
# bar is the developer guide's "40 × 40 px in a 1920 × 1080 image". Otherwise the values are
# the sandbox's, not AWS's.
QUALITY_BARS: dict[str, tuple[float, float, float]] = {
    "LOW": (0.02, 5.0, 5.0),
    "MEDIUM": (40 / 1080, 10.0, 10.0),
    "AUTO": (40 / 1080, 10.0, 10.0),
    "HIGH": (0.08, 25.0, 20.0),
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
        smallest, sharpness, brightness = QUALITY_BARS[quality_filter]
        quality = self.detail["Quality"]
        reasons = []
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
    chips = engine().detect(image)
    scores = _detection_scores(image, [chip.detected.box for chip in chips])
    confident = [chip for chip, score in zip(chips, scores, strict=True) if score >= MIN_DETECTION_SCORE]
    for chip in confident[:MAX_FACES_SEEN]:
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
        seen.append(SeenFace(detail, chip, min(box.width, box.height) / min(image.width, image.height)))
    return seen


@functools.cache
def _detector() -> Any:
    import dlib

    return dlib.get_frontal_face_detector()


def _detection_scores(image: NormalisedImage, boxes: list[BoundingBox]) -> list[float]:
    """The HOG detector's score of each box ``LocalEngine.detect`` found, on the same copy
    of the image (the best-overlapping window of the detector's own run)."""
    import numpy as np
    from PIL import Image

    from chalicelib.engines.local import detection_scale

    scale = detection_scale(image.width, image.height, Policy())  # as engine() detects
    pixels = image.pixels
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        pixels = pixels.resize(size, resample=Image.Resampling.BILINEAR)
    rects, window_scores, _ = _detector().run(np.asarray(pixels), 0, -1.0)
    windows = [
        (rect.left() / scale, rect.top() / scale, (rect.right() + 1) / scale, (rect.bottom() + 1) / scale)
        for rect in rects
    ]

    def overlap(box: BoundingBox, window: tuple[float, float, float, float]) -> float:
        left, top, right, bottom = window
        width = min(box.left + box.width, right) - max(box.left, left)
        height = min(box.top + box.height, bottom) - max(box.top, top)
        inter = max(0.0, width) * max(0.0, height)
        union = box.width * box.height + (right - left) * (bottom - top) - inter
        return inter / union if union else 0.0

    scores = []
    for box in boxes:
        ranked = sorted(zip(windows, window_scores, strict=True), key=lambda w: -overlap(box, w[0]))
        scores.append(float(ranked[0][1]) if ranked else 0.0)
    return scores


def embedding(face: SeenFace) -> np.ndarray:
    """The bundled model's 128-d embedding of one face."""
    return engine().embed(face.chip)
