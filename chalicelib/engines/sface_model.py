"""The engine's model: YuNet finds faces (score, five landmarks, pose), SFace embeds them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.core.models import BoundingBox, DetectedFace
from chalicelib.core.observability import timed
from chalicelib.engines import yunet_sface
from chalicelib.engines.face_model import FaceChip, sharpness

if TYPE_CHECKING:
    import numpy as np
    from PIL.Image import Image as PILImage

    from chalicelib.core.config import Policy
    from chalicelib.core.models import NormalisedImage

MODEL_ID = yunet_sface.MODEL_ID
SHARPNESS_PX = 150


class SFaceModel:
    """``FaceModel`` on YuNet and SFace (``yunet_sface``)."""

    model_id = MODEL_ID

    def load(self) -> None:
        yunet_sface.Networks.get()

    def detect(self, image: NormalisedImage, policy: Policy) -> list[FaceChip]:
        """Every face YuNet finds in the frame (its ``MAX_FACES`` most certain), largest
        first; each is aligned only if it is embedded."""
        networks = yunet_sface.Networks.get()
        with timed("detect"):
            found = yunet_sface.detect(image.pixels, networks)
            faces = [self._chip(face, image) for face in found]
        faces = [face for face in faces if face.detected.box.width > 0 and face.detected.box.height > 0]
        faces.sort(key=lambda face: face.detected.box.width * face.detected.box.height, reverse=True)
        return faces

    @staticmethod
    def _chip(face: yunet_sface.YuNetFace, image: NormalisedImage) -> FaceChip:
        left, top = max(0, round(face.left)), max(0, round(face.top))
        right = min(image.width, round(face.left + face.width))
        bottom = min(image.height, round(face.top + face.height))
        box = BoundingBox(left, top, max(0, right - left), max(0, bottom - top))
        yaw, pitch, roll = yunet_sface.pose(face)
        confidence = round(100.0 * face.score, 2)
        detected = DetectedFace(
            box, _sharpness(image, box), yaw=yaw, pitch=pitch, roll=roll, confidence=confidence
        )
        return FaceChip(detected, Unaligned(image.pixels, face))

    def embed(self, face: FaceChip) -> np.ndarray:
        """SFace's unit-length 128-d embedding of a face ``detect`` found (aligned now)."""
        with timed("embed"):
            return yunet_sface.embed(aligned(face), yunet_sface.Networks.get())

    def score(self, squared: float) -> float:
        # Unit vectors: |a − b|² = 2 − 2·cos.
        return yunet_sface.similarity(1.0 - float(squared) / 2.0)

    def squared_at(self, score: float) -> float:
        return 2.0 - 2.0 * yunet_sface.cosine_at(score)


@dataclass(frozen=True)
class Unaligned:
    """A face YuNet found, in the frame it was found in: aligned when it is embedded."""

    frame: PILImage
    face: yunet_sface.YuNetFace


def aligned(face: FaceChip) -> np.ndarray:
    """The face's 112 × 112 chip on the ArcFace template (RGB uint8)."""
    chip: Unaligned = face.chip
    return yunet_sface.aligned_chip(chip.frame, chip.face)


def _sharpness(image: NormalisedImage, box: BoundingBox) -> float:
    """The face box's sharpness at 150 px across, the size dlib's chips had, so the one
    sharpness scale (and ``FACEGATE_MIN_SHARPNESS``) keeps its meaning."""
    import numpy as np
    from PIL import Image

    if not box.width or not box.height:
        return 0.0
    region = image.pixels.crop((box.left, box.top, box.left + box.width, box.top + box.height))
    return sharpness(np.asarray(region.resize((SHARPNESS_PX, SHARPNESS_PX), Image.Resampling.BILINEAR)))
