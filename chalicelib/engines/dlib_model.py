"""The engine's first model: dlib's HOG detector, 5-point landmarks and 128-d ResNet.

Kept while a gallery still holds its faces (``docs/engines.md``, upgrading): the engine
embeds a scan with it only to match employees who have no face of the current model yet.
dlib is imported on first use, never at import; without it installed, such faces cannot
be matched (``facegate gallery migration`` lists whose).
"""

from __future__ import annotations

import importlib.util
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import ModelUnavailable
from chalicelib.core.models import BoundingBox, DetectedFace
from chalicelib.core.observability import timed
from chalicelib.core.ports import FIRST_MODEL
from chalicelib.engines.face_model import FaceChip, LoadedOnce, sharpness

if TYPE_CHECKING:
    import numpy as np

    from chalicelib.core.config import Policy
    from chalicelib.core.models import NormalisedImage

MODEL_ID = FIRST_MODEL
# dlib's HOG window is 80x80: faces much smaller than this are not found at a given scale.
HOG_WINDOW_PX = 80
CHIP_PX = 150
# Euclidean distance of dlib embeddings maps onto 0–100: 100·(1 − d/2.5), so the default
# threshold 80 is d = 0.5 (stricter than dlib's customary 0.6, which is 76).
DISTANCE_AT_ZERO = 2.5


class _Models(LoadedOnce):
    """dlib's three models, loaded once per process."""

    # dlib's networks keep per-call state: one inference at a time per process
    # (a Lambda container runs one invocation at a time anyway; the sandbox does not).
    inference = threading.Lock()

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError:
            raise ModelUnavailable("dlib is not installed: the old model's faces cannot be matched") from None
        folder = model_folder()
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        self.embedder = dlib.face_recognition_model_v1(
            str(folder / "dlib_face_recognition_resnet_model_v1.dat")
        )


@contextmanager
def _inference(models: _Models) -> Iterator[None]:
    """Hold the process's one inference lock; how long a scan waits for it is a stage."""
    with timed("inference lock wait"):
        models.inference.acquire()
    try:
        yield
    finally:
        models.inference.release()


def installed() -> bool:
    """Whether dlib and its model files are there to be loaded."""
    return (
        importlib.util.find_spec("dlib") is not None
        and importlib.util.find_spec("face_recognition_models") is not None
    )


def model_folder() -> Path:
    """Where face-recognition-models put its weights, found without importing it.

    Importing the package pulls in ``pkg_resources``, which modern setuptools removed.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "face-recognition-models is not installed: pip install face-recognition-models"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class DlibModel:
    """``FaceModel`` on dlib's models."""

    model_id = MODEL_ID

    def load(self) -> None:
        _Models.get()

    def detect(self, image: NormalisedImage, policy: Policy) -> list[FaceChip]:
        """Every face HOG finds, detected on a copy shrunk by ``detection_scale``;
        landmarks and embeddings use the full-size pixels."""
        import numpy as np

        models = _Models.get()
        pixels = np.asarray(image.pixels, dtype=np.uint8)
        scale = detection_scale(image.width, image.height, policy)
        small = pixels
        if scale < 1.0:
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            small = np.asarray(image.pixels.resize(size, resample=_bilinear()))
        with _inference(models), timed("detect"):
            faces = []
            for rect in models.detector(small, 0):
                left = max(0, round(rect.left() / scale))
                top = max(0, round(rect.top() / scale))
                right = min(image.width, round((rect.right() + 1) / scale))
                bottom = min(image.height, round((rect.bottom() + 1) / scale))
                if right <= left or bottom <= top:
                    continue
                chip = _chip(models, pixels, BoundingBox(left, top, right - left, bottom - top))
                box = BoundingBox(left, top, right - left, bottom - top)
                faces.append(FaceChip(DetectedFace(box=box, sharpness=sharpness(chip)), chip))
        faces.sort(key=lambda face: face.detected.box.width * face.detected.box.height, reverse=True)
        return faces

    def embed(self, face: FaceChip) -> np.ndarray:
        """The 128-d float32 embedding of one face ``detect`` found."""
        import numpy as np

        models = _Models.get()
        with _inference(models), timed("embed"):
            descriptor = models.embedder.compute_face_descriptor(face.chip)
        return np.asarray(descriptor, dtype=np.float32)

    def embed_at(self, image: NormalisedImage, box: BoundingBox) -> np.ndarray:
        """dlib's landmarks and embedding of the face another detector found at ``box``."""
        import numpy as np

        models = _Models.get()
        with _inference(models), timed("old model"):
            chip = _chip(models, np.asarray(image.pixels, dtype=np.uint8), box)
            descriptor = models.embedder.compute_face_descriptor(chip)
        return np.asarray(descriptor, dtype=np.float32)

    def score(self, squared: float) -> float:
        return similarity(math.sqrt(max(0.0, float(squared))))

    def squared_at(self, score: float) -> float:
        return (DISTANCE_AT_ZERO * (1.0 - score / 100.0)) ** 2


def _chip(models: _Models, pixels: Any, box: BoundingBox) -> Any:
    import dlib

    rect = dlib.rectangle(box.left, box.top, box.left + box.width - 1, box.top + box.height - 1)
    return dlib.get_face_chip(pixels, models.landmarks(pixels, rect), size=CHIP_PX)


def detection_scale(width: int, height: int, policy: Policy) -> float:
    """How far a frame is shrunk before the HOG detector sees it.

    No further than the smallest usable face still fills the detector's 80 px window,
    and, for large camera frames, down to ``policy.detect_max_side`` on the long side:
    then faces narrower than 80 × (long side ÷ that) px are not seen at all.
    """
    scale = min(1.0, HOG_WINDOW_PX / policy.min_face_px)
    if policy.detect_max_side:
        scale = min(scale, policy.detect_max_side / max(width, height))
    return scale


def _bilinear() -> Any:
    from PIL import Image

    return Image.Resampling.BILINEAR


def similarity(distance: float) -> float:
    """dlib embedding distance on facegate's 0–100 similarity scale."""
    return round(max(0.0, 100.0 * (1.0 - distance / DISTANCE_AT_ZERO)), 2)
